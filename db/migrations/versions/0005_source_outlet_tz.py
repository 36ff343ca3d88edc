"""a source's own time zone and outlet name, from sources.yaml

Revision ID: 0005_source_outlet_tz
Revises: 0004_search_speed
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_source_outlet_tz'
down_revision: str | None = '0004_search_speed'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both nullable: a source without them uses the configured zone and its domain.
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('outlet', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sources', schema=None) as batch_op:
        batch_op.drop_column('outlet')
        batch_op.drop_column('timezone')
