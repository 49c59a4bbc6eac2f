"""The store's tables (SQLAlchemy 2, typed): deployments, their watchlists, alerts, adjudication, retention, audit,
and who may act (users, API tokens, browser sessions).

What is personal data and what happens to it:

- ``EntryTemplate`` rows hold a watchlist entry's template and aligned face, both encrypted. They are
  deleted when the deployment ends; the ``WatchlistEntry`` row (ids, category, reason, source) stays for
  the record.
- ``AlertRow.probe_jpeg`` / ``watchlist_jpeg`` are encrypted and cleared when their retention ends
  (``store/retention.py``), unless a ``LegalHold`` names the alert; the row and its counts stay.
- Nothing is stored about a face that raised no alert: ``DeploymentRun`` keeps counts only.

Secrets are never stored: a user's password only as its argon2id hash, an API token's and a browser
session's secret only as its SHA-256 (they are 32 random bytes, so a fast hash suffices: there is
nothing to guess).

Nothing is edited in place where a record matters: adjudication is a series of ``Adjudication`` events
(a correction is a new event that ``supersedes`` an earlier one), and every action is an ``AuditEntry``
in a hash chain (``store/audit.py``). Every row that decides something is ``Sealed`` (a MAC under the
store key) and its changes are bound into that chain (``store/seal.py``, ``store/integrity.py``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Sealed:
    """A row that decides something: ``row_mac`` seals its content under the store key (``store/seal.py``)."""

    row_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Meta(Base):
    """Key-value facts about the store itself (the encryption key check)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Deployment(Sealed, Base):
    """One use of live facial recognition: where, why, on whose authority, with what watchlist and threshold."""

    __tablename__ = "deployments"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft|authorised|live|ended|closed
    location_name: Mapped[str] = mapped_column(String(256))
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    planned_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    planned_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    threshold_source: Mapped[str | None] = mapped_column(String(16), nullable=True)  # calibrated|manual
    threshold_justification: Mapped[str | None] = mapped_column(Text, nullable=True)
    calibration_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    embedder: Mapped[str | None] = mapped_column(String(128), nullable=True)
    watchlist_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    watchlist_manifest_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    """The imported watchlist's manifest without templates: similarity map, calibration, names."""
    scoring_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The watchlist's score normalisation (cohort templates and statistics, ``.npz``), encrypted;
    deleted with the templates when the deployment ends."""
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    authorised_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    authorised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    watchlist_destroyed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    """Marked by a supervisor for the public notice (``/public``): place, times, purpose and record only."""
    published_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    cameras: Mapped[list[DeploymentCamera]] = relationship(
        back_populates="deployment", cascade="all, delete-orphan", order_by="DeploymentCamera.position"
    )
    entries: Mapped[list[WatchlistEntry]] = relationship(
        back_populates="deployment", cascade="all, delete-orphan", order_by="WatchlistEntry.position"
    )


class DeploymentCamera(Sealed, Base):
    __tablename__ = "deployment_cameras"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    camera_id: Mapped[str] = mapped_column(String(64))
    config_json: Mapped[str] = mapped_column(Text)
    """The camera's ``CameraConfig`` as JSON (source, analysis rate...)."""
    deployment: Mapped[Deployment] = relationship(back_populates="cameras")
    __table_args__ = (UniqueConstraint("deployment_id", "camera_id"),)


class WatchlistEntry(Sealed, Base):
    """One person on a deployment's watchlist and the grounds for it (kept after the deployment, for the record)."""

    __tablename__ = "watchlist_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    """Cleared when the watchlist is destroyed."""
    category: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    image_source: Mapped[str] = mapped_column(Text)
    expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    under_18: Mapped[bool] = mapped_column(Boolean, default=False)
    under_18_justification: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deployment: Mapped[Deployment] = relationship(back_populates="entries")
    templates: Mapped[list[EntryTemplate]] = relationship(back_populates="entry", cascade="all, delete-orphan")
    __table_args__ = (UniqueConstraint("deployment_id", "subject_id"),)


class EntryTemplate(Sealed, Base):
    """A template of a watchlist entry and its enrolment face, encrypted; deleted when the deployment ends."""

    __tablename__ = "entry_templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("watchlist_entries.id"), index=True)
    template_id: Mapped[str] = mapped_column(String(128))
    record_json: Mapped[str] = mapped_column(Text)
    """The watchlist ``TemplateRecord`` (source image name and hash, box, quality)."""
    vector_enc: Mapped[bytes] = mapped_column(LargeBinary)
    face_jpeg_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    entry: Mapped[WatchlistEntry] = relationship(back_populates="templates")


class DeploymentRun(Sealed, Base):
    """One run of a live deployment's cameras (a restart after a crash is a new run): counts only."""

    __tablename__ = "deployment_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    frames: Mapped[int] = mapped_column(BigInteger, default=0)
    faces_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    """Face detections in analysed frames."""
    tracks: Mapped[int] = mapped_column(BigInteger, default=0)
    """People's passes (tracks) seen."""
    faces_searched: Mapped[int] = mapped_column(BigInteger, default=0)
    alerts: Mapped[int] = mapped_column(BigInteger, default=0)


class AlertRow(Sealed, Base):
    """An alert raised by a live deployment, committed before any notification leaves."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Alert.alert_id
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("watchlist_entries.id"), nullable=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    track_id: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(256), nullable=True)
    category: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    details_json: Mapped[str] = mapped_column(Text)
    """Times and box (``alert/serialize.py`` without the images)."""
    probe_jpeg_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    watchlist_jpeg_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    images_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    data_purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Adjudication(Sealed, Base):
    """One adjudication event on an alert. Never updated: a correction is a new row that ``supersedes`` one."""

    __tablename__ = "adjudications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))  # operator|engagement|outcome
    decision: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    supersedes: Mapped[int | None] = mapped_column(ForeignKey("adjudications.id"), nullable=True)


class LegalHold(Sealed, Base):
    """Keeps an alert's data past its retention, for a named case, until released."""

    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    case_ref: Mapped[str] = mapped_column(String(256))
    placed_by: Mapped[str] = mapped_column(String(128))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Purge(Sealed, Base):
    """What one retention purge deleted (the counts survive the data)."""

    __tablename__ = "purges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    data_type: Mapped[str] = mapped_column(String(32))
    cutoff: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """One action, chained: ``hash`` = SHA-256 over the previous entry's hash and this entry's content."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target: Mapped[str | None] = mapped_column(String(256), nullable=True)
    details_json: Mapped[str] = mapped_column(Text)
    rows_json: Mapped[str] = mapped_column(Text, default="", server_default="")
    """The rows its transaction changed, ``[[table, id, row MAC or null if deleted], ...]`` ("" before 0004)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (Index("ix_audit_log_deployment", "deployment_id"),)


class AuditHead(Base):
    """The chain's last sequence number and hash, one row, locked while appending (also catches truncation)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """HMAC of ``seq`` and ``hash`` under the store key: the chain cannot be rewritten without the key."""


class User(Sealed, Base):
    """A person who logs in to the service, with one role; disabled, never deleted (the audit names them)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    """argon2id, in the PHC string format (parameters and salt included)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    """Failed logins in a row since the last success (or reset)."""
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Sealed, Base):
    """A machine's credential: one role, an expiry, revocable; a device token is bound to one deployment."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 (hex) of the secret, which is shown once and never stored."""
    deployment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Sealed, Base):
    """A browser login: the cookie's secret as SHA-256, an absolute expiry, and when it was last used."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
