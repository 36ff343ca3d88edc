"""Engine and session factory; migrations applied with Alembic on start.

SQLite is opened in WAL mode with a busy timeout so the CLI, the scheduler and a crawl
child can share one file; foreign keys are switched on (SQLite leaves them off).
Migrations run under a lock (a PostgreSQL advisory lock; SQLite's write lock, taken with
``BEGIN IMMEDIATE``), so two commands started at once on a new database both succeed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from config.errors import StorageError

log = logging.getLogger(__name__)

DEFAULT_DB_URL = "sqlite:///var/migwatch.sqlite3"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_PASSWORD_IN_URL = re.compile(r"([^:/@\s'\"]+:)[^@\s'\"/]*@")


def hide_password(text: str) -> str:
    """``text`` with any ``user:password@`` in it (a URL, with or without scheme) masked."""
    return _PASSWORD_IN_URL.sub(r"\1***@", text)


def create_db_engine(url: str) -> Engine:
    """Create an engine for ``url``; for SQLite the parent folder is created."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(
            f"database URL {hide_password(url)!r} is not valid; use sqlite:///path.sqlite3 "
            "or postgresql+psycopg://user@host/db"
        ) from exc
    shown = parsed.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create {str(folder)!r} for the database {shown}: "
                    f"{exc.strerror or exc}; check --db / MIGWATCH_DB_URL"
                ) from exc
        kwargs["poolclass"] = NullPool
    elif parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise StorageError(
            f"database URL {shown!r} cannot be used: {hide_password(str(exc))}"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def storage_errors(message: str, session: Session | None = None) -> Iterator[None]:
    """Raise a SQLAlchemy error of the block as ``StorageError("<message>: <error>")``,
    rolling ``session`` back first when one is given."""
    try:
        yield
    except SQLAlchemyError as exc:
        if session is not None:
            session.rollback()
        raise StorageError(f"{message}: {exc}") from exc


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs our migrations on ``engine``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


# PostgreSQL advisory lock key of the migrations: "miw" + 2 (the scheduler's is + 1).
MIGRATION_LOCK_KEY = 0x6D6977_02


def _is_at_head(engine: Engine, cfg: Config) -> bool:
    """Whether the schema is already at the newest revision (a read, no lock)."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(ScriptDirectory.from_config(cfg).get_heads())


def _sqlite_migration_engine(engine: Engine) -> Engine:
    """An engine on the same file whose transactions start with ``BEGIN IMMEDIATE``.

    pysqlite starts no transaction before DDL, so two processes creating the schema of a
    new file interleave their CREATE TABLEs ("table deliveries already exists").  Here the
    whole upgrade is one transaction holding SQLite's write lock from its first statement;
    a second process waits for it (busy timeout), then finds the schema at head.
    """
    locked = create_engine(engine.url, poolclass=NullPool)

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        _sqlite_pragmas(dbapi_connection, record)
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves

    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(locked, "connect", on_connect)
    event.listen(locked, "begin", on_begin)
    return locked


def _upgrade(engine: Engine) -> None:
    """Upgrade to head inside one transaction that holds the migration lock."""
    cfg = alembic_config(engine)
    if _is_at_head(engine, cfg):
        return
    sqlite = engine.dialect.name == "sqlite"
    # An in-memory database lives in its one connection's process alone: nothing to race.
    sqlite_file = sqlite and engine.url.database not in (None, "", ":memory:")
    target = _sqlite_migration_engine(engine) if sqlite_file else engine
    try:
        with target.begin() as connection:
            if not sqlite:
                # Two first uses of a new PostgreSQL database both ran CREATE TYPE/TABLE
                # ("UniqueViolation pg_type_typname_nsp_index"): the loser now waits here,
                # then Alembic reads the committed version and has nothing left to do.
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                   {"k": MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    finally:
        if sqlite_file:
            target.dispose()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent, safe to call on every start,
    and from several processes at once: the migrations run under a lock)."""
    try:
        _upgrade(engine)
    except OperationalError as exc:
        raise StorageError(
            f"database {engine.url.render_as_string(hide_password=True)} is unreachable: "
            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}; "
            "check --db / MIGWATCH_DB_URL and that the server is running"
        ) from exc
    except SQLAlchemyError as exc:
        raise StorageError(f"database migration failed: {exc}") from exc
