"""The one exception tree of openlfr.

Adapters (dlib, LiteRT, ONNX Runtime, Pillow, the file system) translate the errors of the library
they wrap into these, with ``raise Ours(...) from exc``, so that callers catch one family and a user
sees one clear line::

    OpenLFRError
    ├── ConfigError              a setting is missing, unknown or out of range
    ├── ModelError               a model file cannot be used
    │   ├── ModelNotFoundError   the file is not there (names it and the package that ships it)
    │   └── ModelCorruptError    the file is there but does not load
    ├── ImageError               an image cannot be used; ``reason`` is a short machine-readable code
    ├── WatchlistError           a watchlist cannot be made, read or used
    │   ├── WatchlistFormatError the file is not a watchlist, or one of an unknown format version
    │   ├── EmbedderMismatchError the watchlist was made by another embedder (or model version)
    │   └── UncalibratedError    its threshold was not calibrated for this embedder and normalisation
    ├── EnrolmentError           nothing usable could be enrolled
    ├── SourceError              a video source cannot be opened or read
    ├── StoreError               the store cannot be opened, migrated or written
    │   ├── StoreKeyError        no encryption key, or not the key this store was made with
    │   └── AuditChainError      the audit chain cannot be appended to (a broken head)
    ├── DeploymentError          a deployment action is not allowed, or what it needs is missing
    │   ├── DeploymentStateError not in this state (the message says what it needs)
    │   ├── DeploymentNotReadyError cannot go live (names every entry and field missing)
    │   └── FusionNotStoredError a watchlist fusing two embedders cannot be stored in a deployment yet
    └── ReviewError              an alert cannot be found, shown, adjudicated, held or released
"""

from __future__ import annotations


class OpenLFRError(Exception):
    """Base class of every error openlfr raises on purpose."""


class ConfigError(OpenLFRError):
    """A configuration value is missing, unknown or invalid."""


class ModelError(OpenLFRError):
    """A model file cannot be used."""


class ModelNotFoundError(ModelError):
    """A model file is missing."""


class ModelCorruptError(ModelError):
    """A model file exists but cannot be loaded."""


class ImageError(OpenLFRError):
    """An image cannot be read or used.

    ``reason`` is one of a small set of codes (``empty_file``, ``not_an_image``, ``truncated``,
    ``too_large``, ``unreadable``, ``unsupported_mode``) that reports and JSON output carry.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class WatchlistError(OpenLFRError):
    """A watchlist cannot be made, read or used."""


class WatchlistFormatError(WatchlistError):
    """The file is not a watchlist of a format version this openlfr reads."""


class EmbedderMismatchError(WatchlistError):
    """The watchlist's templates were made by a different embedder than the one configured."""


class UncalibratedError(WatchlistError):
    """Live matching refused: the threshold was not calibrated for this embedder and normalisation."""


class EnrolmentError(OpenLFRError):
    """Enrolment could not produce a usable watchlist."""


class SourceError(OpenLFRError):
    """A video source cannot be opened or read."""


class StoreError(OpenLFRError):
    """The store cannot be opened, migrated, read or written."""


class StoreKeyError(StoreError):
    """No encryption key was given, or it is not the key the store was created with."""


class AuditChainError(StoreError):
    """The audit chain's head does not match its last entry: appending would hide tampering."""


class DeploymentError(OpenLFRError):
    """A deployment action is not allowed in the deployment's state, or what it needs is missing."""


class DeploymentStateError(DeploymentError):
    """The action is not allowed in the deployment's current state (the message says what it needs)."""


class DeploymentNotReadyError(DeploymentError):
    """The deployment cannot go live: its message names every entry and field that is missing."""


class ReviewError(OpenLFRError):
    """An alert cannot be found, shown, adjudicated, held or released as asked."""


class FusionNotStoredError(DeploymentError):
    """A watchlist that fuses two embedders' scores cannot be stored in a deployment (not yet supported)."""
