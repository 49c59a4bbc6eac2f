"""Passwords: argon2id hashes, verification that never raises for a wrong password, and the policy.

The parameters (argon2-cffi's ``PasswordHasher``):

- ``type=ID``: argon2id, the variant RFC 9106 recommends (resists both GPU cracking and side channels);
- ``memory_cost=65536`` KiB (64 MiB) and ``time_cost=3`` passes, ``parallelism=1``: RFC 9106's second
  recommended setting (for memory-constrained servers), about 0.1-0.3 s a hash on one core, which is
  what a login may cost and what makes an offline guess expensive;
- ``salt_len=16``, ``hash_len=32`` bytes.

A hash made with other parameters still verifies; ``needs_rehash`` says it should be replaced with one
made with these (``Users.authenticate`` does so on the next successful login).

Passwords are NFKC-normalised before hashing and verifying (as NIST SP 800-63B advises), so the same
password typed on two keyboards that produce different code points for it still matches.
"""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from openlfr.errors import UserError

TIME_COST = 3
MEMORY_COST_KIB = 64 * 1024
PARALLELISM = 1
MAX_LENGTH = 1024
"""Longer passwords are refused: hashing megabytes on request would be a cheap denial of service."""
MIN_DISTINCT = 5
MIN_USERNAME_IN_PASSWORD = 4
"""A username this long or longer may not appear anywhere in the password (a shorter one: not be all of it)."""

_HASHER = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_COST_KIB,
    parallelism=PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=1$A2kOD7FfpHuyYbuiHumZLg$7SINfIVLEnXIQNOHCQDsYwmvEelp/gYXqm1qLXlz00w"
"""The hash of a password no account has, made once with the parameters above, for ``dummy_verify``."""


def _normal(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (PHC string: parameters, random salt, hash)."""
    return _HASHER.hash(_normal(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from; False (never an error) for a wrong
    password or a hash that is not an argon2 hash."""
    try:
        return _HASHER.verify(password_hash, _normal(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether ``password_hash`` was made with other parameters than today's (so should be remade)."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


def dummy_verify(password: str) -> None:
    """Spend the time of one verification, for a login whose username is unknown, so that a wrong
    username and a wrong password take the same time (no one learns which usernames exist)."""
    verify_password(_DUMMY_HASH, password)


def check_policy(password: str, min_length: int, username: str | None = None) -> None:
    """Refuse a weak password with a ``UserError`` whose ``problems`` name every rule it breaks."""
    pw = _normal(password)
    problems: list[str] = []
    if len(pw) < min_length:
        problems.append(f"the password is {len(pw)} characters; it must be at least {min_length}")
    if len(pw) > MAX_LENGTH:
        problems.append(f"the password is {len(pw)} characters; it may be at most {MAX_LENGTH}")
    if pw and len(set(pw)) == 1:
        problems.append("the password is one character repeated")
    elif len(set(pw)) < MIN_DISTINCT:
        problems.append(f"the password uses fewer than {MIN_DISTINCT} different characters")
    if username and (
        pw.casefold() == username.casefold()
        or (len(username) >= MIN_USERNAME_IN_PASSWORD and username.casefold() in pw.casefold())
    ):
        problems.append("the password is or contains the username")
    if problems:
        raise UserError("weak password: " + "; ".join(problems), problems=problems)
