"""Alembic environment: runs on the connection handed over by ``db.engine.migrate``."""

from __future__ import annotations

from alembic import context

from db.models import Base
from db.search import is_schema_object

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=is_schema_object,
)
with context.begin_transaction():
    context.run_migrations()
