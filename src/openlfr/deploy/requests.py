"""Requests to the deployment services, shared by the API (request bodies) and the CLI: the same
fields, the same bounds, and the same validation (the service's own), whichever way they arrive."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openlfr.config import CameraConfig
from openlfr.errors import ConfigError


class _Request(BaseModel):
    """Bounds on size only: what a value means is checked by the service, one place for API and CLI."""

    model_config = ConfigDict(extra="forbid", str_max_length=10_000)

    @classmethod
    def build(cls, **fields: object) -> Self:
        """The request from ``fields``; ConfigError naming each bad field (the CLI's one-line error)."""
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            bad = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"invalid {cls.__name__}: {bad}") from exc


class DeploymentCreate(_Request):
    """A new draft deployment: where, why, when, with which cameras (the CLI's ``deployment create`` too)."""

    name: str = Field(max_length=256)
    location_name: str = Field(max_length=256)
    purpose: str = Field(max_length=4000)
    legal_basis: str = Field(max_length=4000)
    planned_start: datetime
    planned_end: datetime
    cameras: list[CameraConfig] = Field(max_length=64)
    latitude: float | None = None
    longitude: float | None = None


class ThresholdRequest(_Request):
    """With no ``value``: the watchlist's calibrated threshold. With one: set by hand, justified."""

    value: float | None = None
    justification: str = Field("", max_length=4000)
