"""full-text search over article titles and text, Japanese included

SQLite: an FTS5 table with the trigram tokenizer (substring search, so Japanese needs no
word splitting), kept in step with ``articles`` by triggers.  PostgreSQL: pg_trgm GIN
indexes on the same text, which ``ILIKE '%…%'`` uses for Japanese and English alike.
The searched document is the title, then the text and the feed summary
(``db.search`` builds the same expression).

Revision ID: 0002_search
Revises: 0001
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0002_search'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BODY_NEW = "new.text || ' ' || new.summary"
_BODY_OLD = "old.text || ' ' || old.summary"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE articles_search USING fts5("
                   "title, body, content='', tokenize='trigram')")
        op.execute("INSERT INTO articles_search(rowid, title, body) "
                   "SELECT id, title, text || ' ' || summary FROM articles")
        op.execute(f"""CREATE TRIGGER articles_search_insert AFTER INSERT ON articles BEGIN
            INSERT INTO articles_search(rowid, title, body) VALUES (new.id, new.title, {_BODY_NEW});
        END""")
        op.execute(f"""CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN
            INSERT INTO articles_search(articles_search, rowid, title, body)
            VALUES ('delete', old.id, old.title, {_BODY_OLD});
        END""")
        op.execute(f"""CREATE TRIGGER articles_search_update
            AFTER UPDATE OF title, text, summary ON articles BEGIN
            INSERT INTO articles_search(articles_search, rowid, title, body)
            VALUES ('delete', old.id, old.title, {_BODY_OLD});
            INSERT INTO articles_search(rowid, title, body) VALUES (new.id, new.title, {_BODY_NEW});
        END""")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # COLLATE "C": ILIKE then folds ASCII case per character instead of lowering the
        # whole text first (about 3x faster); db.search uses the same expressions.
        op.execute("CREATE INDEX ix_articles_title_trgm ON articles "
                   "USING gin ((title COLLATE \"C\") gin_trgm_ops)")
        op.execute("CREATE INDEX ix_articles_body_trgm ON articles "
                   "USING gin (((text || ' ' || summary) COLLATE \"C\") gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS articles_search_{name}")
        op.execute("DROP TABLE IF EXISTS articles_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_articles_body_trgm")
        op.execute("DROP INDEX IF EXISTS ix_articles_title_trgm")
