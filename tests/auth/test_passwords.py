"""Passwords: argon2id with the documented parameters, verification that never raises, the policy."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from openlfr.auth import passwords
from openlfr.auth.passwords import check_policy, dummy_verify, hash_password, needs_rehash, verify_password
from openlfr.errors import UserError


def test_a_hash_is_argon2id_with_the_documented_parameters() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=1$")
    assert "correct horse battery" not in hashed
    assert hash_password("correct horse battery") != hashed  # a fresh salt each time
    assert not needs_rehash(hashed)


def test_verify_says_yes_or_no_and_never_raises() -> None:
    hashed = hash_password("correct horse battery")
    assert verify_password(hashed, "correct horse battery")
    assert verify_password(hashed, "correct horse battery".replace("a", "\uff41"))  # NFKC: a fullwidth 'a' is 'a'
    assert not verify_password(hashed, "correct horse batterY")
    assert not verify_password(hashed, "")
    assert not verify_password("not a hash", "correct horse battery")
    assert not verify_password("", "x")


def test_a_hash_with_other_parameters_verifies_and_asks_to_be_remade() -> None:
    old = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).hash("correct horse battery")
    assert verify_password(old, "correct horse battery")
    assert needs_rehash(old)
    assert needs_rehash("not a hash")


def test_the_dummy_hash_has_todays_parameters() -> None:
    assert not needs_rehash(passwords._DUMMY_HASH)  # else an unknown user would cost a different time
    dummy_verify("anything")  # returns, whatever the password


@pytest.mark.parametrize(
    ("password", "username", "problems"),
    [
        ("correct horse battery", "alice", []),
        ("Tr0ub4dor&3xyz", None, []),
        ("short1!", None, ["the password is 7 characters; it must be at least 12"]),
        ("aaaaaaaaaaaaaaaa", None, ["the password is one character repeated"]),
        ("abababababababab", None, ["the password uses fewer than 5 different characters"]),
        ("sgt.creator", "sgt.creator", ["the password is 11 characters; it must be at least 12",
                                        "the password is or contains the username"]),
        ("my name is alice.w, ok", "alice.w", ["the password is or contains the username"]),
        ("ALICE.W is my name", "alice.w", ["the password is or contains the username"]),
        ("ab" + "cdefghijklmn", "ab", []),  # a two-letter username may appear inside
        ("x" * 1025, None, ["the password is 1025 characters; it may be at most 1024",
                            "the password is one character repeated"]),
    ],
)  # fmt: skip
def test_policy(password: str, username: str | None, problems: list[str]) -> None:
    if not problems:
        check_policy(password, 12, username)
        return
    with pytest.raises(UserError) as caught:
        check_policy(password, 12, username)
    assert list(caught.value.problems) == problems
    assert password not in str(caught.value)
