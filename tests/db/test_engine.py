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
