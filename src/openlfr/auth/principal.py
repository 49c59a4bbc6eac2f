"""The principal: who is acting, as established by a login, a token, or the operating system."""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from enum import StrEnum

from openlfr.auth.roles import Role


class PrincipalKind(StrEnum):
    USER = "user"
    TOKEN = "token"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting. ``actor`` is what the audit log records: the username for a user,
    ``token:<name>`` for a machine token, ``local:<os user>`` for a CLI command on the server."""

    actor: str
    kind: PrincipalKind
    role: Role | None
    """None only for the local CLI, whose powers are those of whoever can read the store's key."""
    user_id: int | None = None
    token_id: int | None = None
    deployment_id: str | None = None
    """The deployment a device token is bound to."""


def local_principal() -> Principal:
    """The operating-system user running this process, from the kernel's uid (not from $USER or
    $LOGNAME, which anyone can set)."""
    try:
        name = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no passwd entry (some containers)
        name = f"uid{os.getuid()}"
    return Principal(actor=f"local:{name}", kind=PrincipalKind.LOCAL, role=None)
