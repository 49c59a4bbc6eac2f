"""The roles a principal can hold; what each may call is the API's access table (``api/access.py``)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """One role per user or token. Deny by default: a role may do only what the access table grants."""

    ADMIN = "admin"
    """Users, tokens and settings; never adjudicates."""
    SUPERVISOR = "supervisor"
    """Creates deployments and their watchlists; authorises someone else's deployment."""
    OPERATOR = "operator"
    """Watches live alerts and makes the first-stage adjudication."""
    ENGAGEMENT = "engagement"
    """The engagement officer: second-stage adjudication and the outcome."""
    AUDITOR = "auditor"
    """Reads records, alerts and the audit chain; changes nothing."""
    DEVICE = "device"
    """A machine token bound to one deployment: submits frames or templates to it, nothing else."""


HUMAN_ROLES = frozenset(Role) - {Role.DEVICE}
"""Roles a user (a person with a password) may hold; ``device`` is for tokens only."""
