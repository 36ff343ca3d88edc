"""Engine and session factory; migrations applied with Alembic on start.

SQLite is opened in WAL mode with a busy timeout so the CLI, the scheduler and a crawl
child can share one file; foreign keys are switched on (SQLite leaves them off).
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
from sqlalchemy import Engine, create_engine, event
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


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent, safe to call on every start)."""
    try:
        with engine.begin() as connection:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise StorageError(
            f"database {engine.url.render_as_string(hide_password=True)} is unreachable: "
            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}; "
            "check --db / MIGWATCH_DB_URL and that the server is running"
        ) from exc
    except SQLAlchemyError as exc:
        raise StorageError(f"database migration failed: {exc}") from exc
