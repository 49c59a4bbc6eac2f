"""The store: SQLite (WAL) in a data directory by default, PostgreSQL by URL; migrated by Alembic on open.

``Store.open`` checks the encryption key against the store *before* it changes anything, then brings
the schema to the newest migration. On SQLite every transaction starts with ``BEGIN IMMEDIATE`` (a
writer never meets a lock half-way through), commits are synchronous (``synchronous=FULL``: a
committed alert survives a crash of the process or the machine) and deleted rows are overwritten
(``secure_delete``), so purged faces do not linger in free pages.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from openlfr.config import StoreConfig
from openlfr.errors import StoreError, StoreKeyError
from openlfr.store.crypto import Cipher, load_key
from openlfr.store.models import Meta
from openlfr.store.seal import ROW_MAC_LABEL, Sealer, attach

log = logging.getLogger("openlfr.store")

SQLITE_FILE = "openlfr.sqlite"
_KEY_CHECK = b"openlfr store key check"
_MIGRATIONS = Path(__file__).with_name("migrations")


class Store:
    """An open store: ``session()`` for work, ``cipher`` for the encrypted columns."""

    def __init__(self, engine: Engine, cipher: Cipher) -> None:
        self.engine = engine
        self.cipher = cipher
        self.sealer = Sealer(cipher.derive(ROW_MAC_LABEL))
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        attach(self._sessions, self.sealer)

    @classmethod
    def open(cls, config: StoreConfig) -> Store:
        """Open (creating or migrating) the store ``config`` names; StoreKeyError if the key is not its key."""
        cipher = Cipher(load_key(config))
        engine = _engine(config)
        try:
            store = cls(engine, cipher)
            store._check_key()  # before any change: a wrong key must leave the store as it was
            upgrade(engine, store.sealer)
            store._remember_key()
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(f"cannot open the store at {describe_url(engine.url)}: {exc.orig}") from exc
        except BaseException:
            engine.dispose()
            raise
        return store

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def description(self) -> str:
        """The store's URL with any password hidden."""
        return describe_url(self.engine.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()

    def _check_key(self) -> None:
        if not inspect(self.engine).has_table(Meta.__tablename__):
            return
        with self.session() as session:
            row = session.get(Meta, "key_check")
            if row is None:
                return
            try:
                self.cipher.decrypt(base64.b64decode(row.value), "meta:key_check")
            except StoreKeyError as exc:
                raise StoreKeyError(
                    f"the encryption key (id {self.cipher.key_id}) is not the key the store at {self.description} "
                    "was created with; nothing was changed. Give the store's own key (LFR_STORE__KEY or "
                    "store.key_file)."
                ) from exc

    def _remember_key(self) -> None:
        from openlfr.store import audit

        with self.session() as session:
            audit.ensure_head(session)
            if session.get(Meta, "key_check") is None:
                blob = self.cipher.encrypt(_KEY_CHECK, "meta:key_check")
                session.add(Meta(key="key_check", value=base64.b64encode(blob).decode("ascii")))
                audit.record(session, "system", audit.AuditAction.STORE_CREATED, details={"key_id": self.cipher.key_id})


def describe_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def store_url(config: StoreConfig) -> URL:
    """The URL of the store ``config`` names (SQLite in ``data_dir`` unless ``url`` is set)."""
    if config.url:
        try:
            return make_url(config.url)
        except ArgumentError as exc:
            raise StoreError(f"store.url is not a database URL: {exc}") from exc
    return URL.create("sqlite", database=str(config.data_dir / SQLITE_FILE))


def _engine(config: StoreConfig) -> Engine:
    url = store_url(config)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        engine = create_engine(url, connect_args={"timeout": 30.0})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use store.url {describe_url(url)}: {exc}") from exc


def _sqlite_on_connect(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "secure_delete=ON", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(engine: Engine, sealer: Sealer) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    cfg.attributes["sealer"] = sealer  # 0004 seals the rows already there
    return cfg


def upgrade(engine: Engine, sealer: Sealer) -> None:
    """Bring the schema to the newest migration (creating it in an empty database)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine, sealer), "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate the store at {describe_url(engine.url)}: {exc}") from exc


def schema_version(store: Store) -> str | None:
    with store.session() as session:
        if not inspect(store.engine).has_table("alembic_version"):
            return None
        return session.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def sqlite_path(store: Store) -> Path | None:
    """The SQLite file of ``store`` (None for PostgreSQL)."""
    return Path(store.engine.url.database) if store.is_sqlite and store.engine.url.database else None


def checkpoint(store: Store) -> None:
    """SQLite: fold the write-ahead log into the database file and truncate it (deleted bytes go with it)."""
    if store.is_sqlite:
        raw = store.engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
