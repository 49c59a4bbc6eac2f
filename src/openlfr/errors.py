"""The one exception tree of openlfr.

Adapters (dlib, LiteRT, ONNX Runtime, Pillow, the file system) translate the errors of the library
they wrap into these, with ``raise Ours(...) from exc``, so that callers catch one family and a user
sees one clear line::

    OpenLFRError
    ├── ConfigError              a setting is missing, unknown or out of range
    │   └── SigningKeyError      no key to sign or verify watchlist and cohort files, or not a valid one
    ├── ModelError               a model file cannot be used
    │   ├── ModelNotFoundError   the file is not there (names it and the package that ships it)
    │   └── ModelCorruptError    the file is there but does not load
    ├── ImageError               an image cannot be used; ``reason`` is a short machine-readable code
    ├── WatchlistError           a watchlist cannot be made, read or used
    │   ├── WatchlistFormatError the file is not a watchlist, or one of an unknown format version
    │   ├── EmbedderMismatchError the watchlist was made by another embedder (or model version)
    │   ├── UncalibratedError    its threshold was not calibrated for this embedder and normalisation
    │   └── FileSignatureError   a watchlist or cohort file is unsigned, altered, or signed with another key
    ├── EnrolmentError           nothing usable could be enrolled
    ├── GalleryError             a gallery cannot be made, opened, imported into or searched
    │   ├── GalleryIndexError    its index file is missing, corrupt or altered ('lfr gallery rebuild')
    │   ├── GalleryEmbedderError the gallery was made by another embedder (or model version)
    │   └── GalleryNotFoundError the service offers no gallery of that name
    ├── SourceError              a video source cannot be opened or read
    ├── StoreError               the store cannot be opened, migrated or written
    │   ├── StoreKeyError        no encryption key, or not the key this store was made with
    │   └── AuditChainError      the audit chain cannot be appended to (a broken head)
    │       └── RowSealError     a row to be changed no longer matches its seal (``table``, ``row_id``)
    ├── DeploymentError          a deployment action is not allowed, or what it needs is missing
    │   ├── DeploymentNotFoundError no deployment with that id
    │   ├── DeploymentStateError not in this state (the message says what it needs)
    │   ├── DeploymentNotReadyError cannot go live (``problems`` names every entry and field missing)
    │   ├── SeparationOfDutiesError one person may not do both (authorise their own deployment)
    │   └── FusionNotStoredError a watchlist fusing two embedders cannot be stored in a deployment yet
    ├── ReviewError              an alert cannot be shown, adjudicated, held or released as asked
    │   └── AlertNotFoundError   no alert with that id
    ├── AuthError                who is asking could not be established, or may not do this
    │   ├── NotAuthenticatedError no valid session or token (or it expired, or was revoked)
    │   ├── LoginFailedError     wrong username or password (deliberately not saying which)
    │   ├── AccountLockedError   too many failed logins: locked until ``until``
    │   ├── CsrfError            a state-changing browser request without its CSRF token, or from another origin
    │   └── PermissionDeniedError the principal's role may not do this
    ├── UserError                a user or token cannot be made or changed (name, role, weak password, duplicate)
    ├── UploadRefusedError       an upload is refused whole: a path for a name, not an image, unnamed or missing files
    ├── EdgeError                an edge device and the service cannot work together as asked
    │   ├── TemplateRefusedError a device's template cannot be matched (another embedder, another size)
    │   └── HitNotFoundError     no such hit to send a crop for (unknown, expired, or its crop already sent)
    ├── ClusterError             the Ray cluster cannot run the cameras (not installed, not reachable, SQLite store)
    ├── AlertFormatError         a message is not an alert in openlfr's JSON form (alert/serialize.py)
    └── RequestLimitError        a request breaks a limit (size, count, pixels, rows); ``problems`` per item
        └── RateLimitedError     too many requests or login attempts in a minute

Every error has a stable ``code`` (what an API client matches on) and ``problems`` (one line per thing
that is wrong, when there are several): callers read fields, never parse the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar


class OpenLFRError(Exception):
    """Base class of every error openlfr raises on purpose.

    ``code`` names the kind of error for machines (the API's ``error`` field); ``problems`` lists each
    thing that is wrong when there are several (each also in the message, for a person).
    """

    code: ClassVar[str] = "error"

    def __init__(self, message: str = "", *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[str, ...] = tuple(problems)


class ConfigError(OpenLFRError):
    """A configuration value is missing, unknown or invalid."""

    code = "config_invalid"


class SigningKeyError(ConfigError):
    """No key to sign or verify watchlist and cohort files with, or the one given is not a valid key."""

    code = "signing_key"


class ModelError(OpenLFRError):
    """A model file cannot be used."""

    code = "model_unusable"


class ModelNotFoundError(ModelError):
    """A model file is missing."""

    code = "model_not_found"


class ModelCorruptError(ModelError):
    """A model file exists but cannot be loaded."""

    code = "model_corrupt"


class ImageError(OpenLFRError):
    """An image cannot be read or used.

    ``reason`` is one of a small set of codes (``empty_file``, ``not_an_image``, ``truncated``,
    ``too_large``, ``unreadable``, ``unsupported_mode``, ``multi_page``, ``too_slow``) that reports and JSON
    output carry.
    """

    code = "image_unusable"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WatchlistError(OpenLFRError):
    """A watchlist cannot be made, read or used."""

    code = "watchlist_invalid"


class WatchlistFormatError(WatchlistError):
    """The file is not a watchlist of a format version this openlfr reads."""

    code = "watchlist_format"


class EmbedderMismatchError(WatchlistError):
    """The watchlist's templates were made by a different embedder than the one configured."""

    code = "embedder_mismatch"


class GalleryError(OpenLFRError):
    """A gallery cannot be made, opened, imported into or searched."""

    code = "gallery_invalid"


class GalleryIndexError(GalleryError):
    """A gallery's index file is missing, corrupt or altered; its records are intact and rebuild it."""

    code = "gallery_index"


class GalleryEmbedderError(GalleryError):
    """The gallery's templates were made by a different embedder than the one configured."""

    code = "embedder_mismatch"


class GalleryNotFoundError(GalleryError):
    """The service offers no gallery of that name (``[api] gallery_dir``)."""

    code = "gallery_not_found"


class UncalibratedError(WatchlistError):
    """Live matching refused: the threshold was not calibrated for this embedder and normalisation."""

    code = "uncalibrated"


class FileSignatureError(WatchlistError):
    """A watchlist or cohort file cannot be trusted: ``reason`` is ``unsigned``, ``altered`` (its content or
    signature changed since it was signed) or ``wrong_key`` (signed with key ``signed_key_id``, not this
    machine's ``local_key_id``)."""

    code = "file_signature"

    def __init__(self, message: str, *, reason: str, signed_key_id: str = "", local_key_id: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.signed_key_id = signed_key_id
        self.local_key_id = local_key_id


class EnrolmentError(OpenLFRError):
    """Enrolment could not produce a usable watchlist."""

    code = "enrolment_failed"


class SourceError(OpenLFRError):
    """A video source cannot be opened or read."""

    code = "source_unusable"


class StoreError(OpenLFRError):
    """The store cannot be opened, migrated, read or written."""

    code = "store_error"


class StoreKeyError(StoreError):
    """No encryption key was given, or it is not the key the store was created with."""

    code = "store_key"


class AuditChainError(StoreError):
    """The audit chain's head does not match its last entry: appending would hide tampering."""

    code = "audit_chain_broken"


class RetentionFloorError(OpenLFRError):
    """A purge, or a run's settings, asked to keep alert data for less than the floor an admin set."""

    code = "retention_below_floor"

    def __init__(self, message: str, *, floor_days: int, asked_days: int, data_type: str) -> None:
        super().__init__(message)
        self.floor_days = floor_days
        self.asked_days = asked_days
        self.data_type = data_type


class RowSealError(AuditChainError):
    """A row about to be changed no longer matches its seal: it was edited behind the program's back,
    and changing it now would seal over the edit."""

    code = "row_seal_broken"

    def __init__(self, message: str, table: str, row_id: str) -> None:
        super().__init__(message)
        self.table = table
        self.row_id = row_id


class DeploymentError(OpenLFRError):
    """A deployment action is not allowed in the deployment's state, or what it needs is missing."""

    code = "deployment_invalid"


class DeploymentStateError(DeploymentError):
    """The action is not allowed in the deployment's current state (the message says what it needs)."""

    code = "deployment_state"


class DeploymentNotReadyError(DeploymentError):
    """The deployment cannot go live: its message names every entry and field that is missing."""

    code = "deployment_not_ready"


class ReviewError(OpenLFRError):
    """An alert cannot be found, shown, adjudicated, held or released as asked."""

    code = "review_invalid"


class FusionNotStoredError(DeploymentError):
    """A watchlist that fuses two embedders' scores cannot be stored in a deployment (not yet supported)."""

    code = "fusion_not_stored"


class DeploymentNotFoundError(DeploymentError):
    """No deployment has that id."""

    code = "deployment_not_found"


class SeparationOfDutiesError(DeploymentError):
    """One person may not do both steps (authorise a deployment they created)."""

    code = "separation_of_duties"


class AlertNotFoundError(ReviewError):
    """No alert has that id."""

    code = "alert_not_found"


class AuthError(OpenLFRError):
    """Who is asking could not be established, or may not do what they asked."""

    code = "auth_error"


class NotAuthenticatedError(AuthError):
    """No valid session or token: none given, expired, revoked, or its user disabled."""

    code = "not_authenticated"


class LoginFailedError(AuthError):
    """Wrong username or password; the message never says which."""

    code = "login_failed"


class AccountLockedError(AuthError):
    """Too many failed logins: the account (or the client address) is locked until ``until`` (UTC)."""

    code = "account_locked"

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class CsrfError(AuthError):
    """A state-changing browser request without its CSRF token, or from another origin."""

    code = "csrf_refused"


class PermissionDeniedError(AuthError):
    """The principal's role may not do this."""

    code = "permission_denied"


class UserError(OpenLFRError):
    """A user or token cannot be made or changed: bad name or role, weak password, duplicate, unknown."""

    code = "user_invalid"


class RequestLimitError(OpenLFRError):
    """A request breaks a limit (size, count, pixels, rows, rate); ``problems`` names each offending item."""

    code = "limit_exceeded"


class RateLimitedError(RequestLimitError):
    """Too many requests (or login attempts) in a minute from one principal or address."""

    code = "rate_limited"


class EdgeError(OpenLFRError):
    """An edge device and the service cannot work together as asked (the device's one-line error)."""

    code = "edge_failed"


class TemplateRefusedError(EdgeError):
    """A device's template cannot be matched: made by another embedder, or not the watchlist's size."""

    code = "template_refused"


class HitNotFoundError(EdgeError):
    """No hit with that id for the deployment: never made, expired, or its crop already sent."""

    code = "hit_not_found"


class ClusterError(OpenLFRError):
    """The cameras cannot run on the Ray cluster: Ray missing or unreachable, or a store it cannot share."""

    code = "cluster_failed"


class AlertFormatError(OpenLFRError):
    """A message is not an alert in openlfr's JSON form, with its images."""

    code = "alert_invalid"


class UploadRefusedError(OpenLFRError):
    """An upload is refused whole (nothing stored): ``problems`` names each bad file or manifest row."""

    code = "upload_refused"
