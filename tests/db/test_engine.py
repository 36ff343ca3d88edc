from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect

from config.errors import StorageError
from db import create_db_engine, migrate


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    migrate(engine)  # a second run must be a no-op
    tables = set(inspect(engine).get_table_names())
    assert {"sources", "articles", "sightings", "fetch_log", "runs"} <= tables


def test_migrations_match_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from db.models import Base
    from db.search import is_schema_object

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": is_schema_object})
        assert compare_metadata(context, Base.metadata) == []


def test_a_source_removed_from_the_configuration_is_disabled_not_deleted(engine: Engine) -> None:
    from datetime import UTC, datetime

    from db import session_factory
    from db.models import Source
    from db.store import SourceSpec, sync_sources

    now = datetime(2026, 11, 28, tzinfo=UTC)
    specs = [SourceSpec(key, key, "feed", f"https://{key}.example/feed", None, 1.0, True)
             for key in ("kept", "dropped")]
    with session_factory(engine)() as session:
        sync_sources(session, specs, now)
        session.commit()
        sync_sources(session, specs[:1], now)
        session.commit()
        enabled = {s.key: s.enabled for s in session.query(Source)}
    assert enabled == {"kept": True, "dropped": False}


def test_a_database_url_error_never_shows_the_password(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as bad_driver:
        create_db_engine("postgresql+nosuchdriver://me:s3cret@127.0.0.1/db")
    with pytest.raises(StorageError) as not_a_url:
        create_db_engine("me:s3cret@127.0.0.1/db")
    for caught in (bad_driver, not_a_url):
        assert "s3cret" not in str(caught.value)
    assert "me:***@127.0.0.1" in str(bad_driver.value)


def test_a_sqlite_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
    with pytest.raises(StorageError) as caught:
        create_db_engine(f"sqlite:///{tmp_path}/afile/db/migwatch.sqlite3")
    message = str(caught.value)
    assert f"{tmp_path}/afile/db" in message and "MIGWATCH_DB_URL" in message
    assert "\n" not in message
