"""indexes for a million articles: the week window and export read (first_seen_at, id)

Revision ID: 0003_scale_indexes
Revises: 0002_search
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0003_scale_indexes'
down_revision: str | None = '0002_search'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The digest's week window and `export --since` page through articles by
    # (first_seen_at, id); one composite index serves both (docs/design-notes.md,
    # "A million articles"), and the single-column one it replaces is dropped.
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_first_seen_at')
        batch_op.create_index('ix_articles_first_seen_id', ['first_seen_at', 'id'], unique=False)
    # `status` counts sightings per source: an index-only scan instead of reading the table.
    with op.batch_alter_table('sightings', schema=None) as batch_op:
        batch_op.create_index('ix_sightings_source_id', ['source_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sightings', schema=None) as batch_op:
        batch_op.drop_index('ix_sightings_source_id')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_first_seen_id')
        batch_op.create_index('ix_articles_first_seen_at', ['first_seen_at'], unique=False)
