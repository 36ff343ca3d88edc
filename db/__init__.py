"""Storage: SQLAlchemy 2 models, the engine factory, dialect-aware writes, Alembic migrations.

ORM rows never leave this package: callers get plain frozen dataclasses from
``db.store`` and ``db.queries``.  SQLite (WAL) and PostgreSQL behave the same.
"""

from db.engine import DEFAULT_DB_URL, create_db_engine, migrate, session_factory

__all__ = ["DEFAULT_DB_URL", "create_db_engine", "migrate", "session_factory"]
