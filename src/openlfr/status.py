"""The deployment lifecycle's states, in a module of their own.

Both ``deploy/`` (which moves a deployment through them) and ``review/`` (which refuses to store an
alert for a deployment that is not live) need them; kept here, with nothing but the standard library,
so that ``review/`` does not import ``deploy/`` and the arrows of the flow run one way.
"""

from __future__ import annotations

from enum import StrEnum


class DeploymentStatus(StrEnum):
    """The lifecycle: draft -> authorised -> live -> ended -> closed (a change to an authorised
    deployment's watchlist or threshold sends it back to draft)."""

    DRAFT = "draft"
    AUTHORISED = "authorised"
    LIVE = "live"
    ENDED = "ended"
    CLOSED = "closed"
