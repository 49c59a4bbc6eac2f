"""Requests to the deployment services, shared by the API (request bodies) and the CLI: the same
fields, the same bounds, and the same validation (the service's own), whichever way they arrive."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from openlfr.config import CameraConfig


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


class DeploymentCreate(_Request):
    """A new draft deployment: where, why, when, with which cameras (the CLI's ``deployment create`` too)."""

    name: str = Field(max_length=256)
    location_name: str = Field(max_length=256)
    purpose: str = Field(max_length=4000)
    legal_basis: str = Field(max_length=4000)
    planned_start: datetime
    planned_end: datetime
    cameras: list[CameraConfig] = Field(max_length=64)
    latitude: float | None = Field(None, ge=-90.0, le=90.0)
    longitude: float | None = Field(None, ge=-180.0, le=180.0)


class ThresholdRequest(_Request):
    """With no ``value``: the watchlist's calibrated threshold. With one: set by hand, justified."""

    value: float | None = Field(None, ge=0.0, le=1.0)
    justification: str = Field("", max_length=4000)
