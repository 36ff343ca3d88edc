from sqlalchemy import Engine, inspect

from db import migrate


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    migrate(engine)  # a second run must be a no-op
    tables = set(inspect(engine).get_table_names())
    assert {"sources", "articles", "sightings", "fetch_log", "runs"} <= tables


def test_migrations_match_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from db.models import Base

    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


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
