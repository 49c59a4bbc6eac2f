"""Opening the store: migrations to head on both databases, the key check, SQLite's settings."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import SecretStr

from openlfr.config import StoreConfig
from openlfr.errors import StoreKeyError
from openlfr.store import audit
from openlfr.store.crypto import Cipher, generate_key, parse_key
from openlfr.store.db import Store, schema_version, sqlite_path


def test_migrations_reach_the_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from openlfr.store.models import Base

    assert schema_version(store) is not None
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"the models and the migrations differ: {diff}"


def test_reopening_with_its_key_works(store_config: StoreConfig) -> None:
    Store.open(store_config).close()
    reopened = Store.open(store_config)
    with reopened.session() as s:
        assert audit.verify(s).ok
    reopened.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_wrong_key_fails_clearly_and_changes_nothing(store_config: StoreConfig) -> None:
    store = Store.open(store_config)
    with store.session() as s:
        audit.record(s, "officer", audit.AuditAction.LOGIN)
    db_file = sqlite_path(store)
    store.close()
    before = _digest(db_file) if db_file else None
    wrong = store_config.model_copy(update={"key": SecretStr(generate_key())})
    with pytest.raises(StoreKeyError, match=r"not the key the store .* was created with; nothing was changed"):
        Store.open(wrong)
    if db_file:
        assert _digest(db_file) == before
    again = Store.open(store_config)
    with again.session() as s:
        verdict = audit.verify(s)
    assert verdict.ok and verdict.entries == 2  # store.created, login: nothing added by the failed open
    again.close()


def test_no_key_is_refused_outside_development_mode(tmp_path: Path) -> None:
    with pytest.raises(StoreKeyError, match="no encryption key"):
        Store.open(StoreConfig(data_dir=tmp_path))
    dev = Store.open(StoreConfig(data_dir=tmp_path, dev_mode=True))
    assert (tmp_path / "dev-only.key").stat().st_mode & 0o077 == 0
    dev.close()


def test_bad_key_text_is_named() -> None:
    with pytest.raises(StoreKeyError, match="not URL-safe base64"):
        parse_key("not a key!", "the test")
    with pytest.raises(StoreKeyError, match="16 bytes; it must be 32"):
        parse_key("AAAAAAAAAAAAAAAAAAAAAA==", "the test")


def test_cipher_binds_the_context() -> None:
    cipher = Cipher(parse_key(generate_key(), "test"))
    blob = cipher.encrypt(b"face", "alert-probe:a1")
    assert b"face" not in blob
    assert cipher.decrypt(blob, "alert-probe:a1") == b"face"
    with pytest.raises(StoreKeyError, match="alert-probe:a2"):
        cipher.decrypt(blob, "alert-probe:a2")


def test_sqlite_runs_in_wal_with_synchronous_commits(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_derived_secrets_depend_on_the_key_and_the_label() -> None:
    key = parse_key(generate_key(), "test")
    cipher = Cipher(key)
    assert cipher.derive("csrf") == Cipher(key).derive("csrf")
    assert len(cipher.derive("csrf")) == 32
    assert cipher.derive("csrf") != cipher.derive("other")
    assert cipher.derive("csrf") != Cipher(parse_key(generate_key(), "test")).derive("csrf")
    assert key not in cipher.derive("csrf")
