"""Request and response bodies of the API that are not already the services' own views.

Responses that a service already returns as a frozen view (``DeploymentView``, ``AlertSummary``,
``UserView``...) are returned as they are: FastAPI describes them in the OpenAPI document from their
types, and the CLI's ``--json`` prints the same views, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from openlfr.auth.roles import Role
from openlfr.review.adjudication import AdjudicationEvent, Stage
from openlfr.review.alerts import AlertDetail, AlertSummary, HoldView


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


class LoginRequest(_Body):
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=1024)


class LoginResponse(BaseModel):
    username: str
    role: Role
    csrf_token: str
    """Send it as the ``X-CSRF-Token`` header with every request that changes something."""
    expires_at: datetime


class Me(BaseModel):
    actor: str
    kind: str
    role: Role | None
    deployment_id: str | None = None


class PasswordChange(_Body):
    old_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class UserCreate(_Body):
    username: str = Field(min_length=1, max_length=64)
    role: Role
    password: str = Field(min_length=1, max_length=1024)


class PasswordReset(_Body):
    new_password: str = Field(min_length=1, max_length=1024)


class TokenCreate(_Body):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    role: Role
    days: int = Field(ge=1, le=3650)
    deployment_id: str | None = Field(None, max_length=64)


class TokenCreated(BaseModel):
    name: str
    role: Role
    expires_at: datetime
    secret: str
    """Shown once: the server keeps only its hash."""


class PublishRequest(_Body):
    """Mark the deployment for the public notice (``true``, the default) or withdraw it (``false``)."""

    published: bool = True


class EnrolmentLine(BaseModel):
    """One uploaded image's fate: accepted (with its template) or rejected with its reason."""

    subject_id: str
    image: str
    accepted: bool
    reason: str | None = None
    template_id: str | None = None


class WatchlistUploaded(BaseModel):
    deployment_id: str
    watchlist: str
    entries: int
    images: int
    accepted: int
    rejected: int
    report: list[EnrolmentLine]
    calibrated: bool
    threshold: float | None


class AdjudicationRequest(_Body):
    stage: Stage
    decision: str = Field(min_length=1, max_length=64)
    note: str = Field("", max_length=4000)
    supersedes: int | None = None


class HoldRequest(_Body):
    case_ref: str = Field(min_length=1, max_length=256)


class Health(BaseModel):
    status: str
    store: str | None = None
    live_deployments: int | None = None
    problems: list[str] = []


@dataclass(frozen=True, slots=True)
class AlertDetailOut:
    """An alert as shown: its summary, events and holds; the images are at their own URLs."""

    summary: AlertSummary
    details_json: str
    """Times (capture, raised, latency), box and frames, as the sinks write them (without images)."""
    events: tuple[AdjudicationEvent, ...]
    holds: tuple[HoldView, ...]
    probe_url: str | None
    watchlist_url: str | None

    @classmethod
    def of(cls, detail: AlertDetail) -> AlertDetailOut:
        base = f"/api/v1/alerts/{detail.summary.id}"
        return cls(
            summary=detail.summary,
            details_json=detail.details_json,
            events=detail.events,
            holds=detail.holds,
            probe_url=f"{base}/probe.jpg" if detail.probe_jpeg is not None else None,
            watchlist_url=f"{base}/watchlist.jpg" if detail.watchlist_jpeg is not None else None,
        )
