"""search speed: SQLite answers words of one or two characters from the trigram index

SQLite: the FTS5 trigram table is rebuilt with a space after the title and after the body,
so every character of the text starts at least one trigram, and an ``fts5vocab`` table
lists those trigrams.  ``db.search`` then turns a word of one or two characters into the
trigrams that start with it (``UN`` → ``"un "`` OR ``"uni"`` …) instead of reading every
row with LIKE.  PostgreSQL: one pg_trgm GIN index on the whole document (title, a line
break, text, summary) replaces the two of ``0002_search``: every word of a query is then a
condition on the same index, which intersects their trigrams before reading any row,
where the planner used to take one word's index and re-read each of its matches.

Revision ID: 0004_search_speed
Revises: 0003_scale_indexes
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0004_search_speed'
down_revision: str | None = '0003_scale_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# db.search builds the same expression; no query word holds a line break
_DOCUMENT = "(title || E'\\n' || text || ' ' || summary) COLLATE \"C\""


def _rebuild(end: str) -> None:
    """The FTS5 table and its triggers, each indexed column followed by ``end``."""
    def title(row: str) -> str:
        return f"{row}.title || {end}" if end else f"{row}.title"

    def body(row: str) -> str:
        return f"{row}.text || ' ' || {row}.summary" + (f" || {end}" if end else "")

    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS articles_search_{name}")
    op.execute("DROP TABLE IF EXISTS articles_search")
    op.execute("CREATE VIRTUAL TABLE articles_search USING fts5("
               "title, body, content='', tokenize='trigram')")
    op.execute("INSERT INTO articles_search(rowid, title, body) "
               f"SELECT id, {title('articles')}, {body('articles')} FROM articles")
    op.execute(f"""CREATE TRIGGER articles_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_search(rowid, title, body)
        VALUES (new.id, {title('new')}, {body('new')});
    END""")
    op.execute(f"""CREATE TRIGGER articles_search_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_search(articles_search, rowid, title, body)
        VALUES ('delete', old.id, {title('old')}, {body('old')});
    END""")
    op.execute(f"""CREATE TRIGGER articles_search_update
        AFTER UPDATE OF title, text, summary ON articles BEGIN
        INSERT INTO articles_search(articles_search, rowid, title, body)
        VALUES ('delete', old.id, {title('old')}, {body('old')});
        INSERT INTO articles_search(rowid, title, body)
        VALUES (new.id, {title('new')}, {body('new')});
    END""")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("' '")
        op.execute("CREATE VIRTUAL TABLE articles_search_terms "
                   "USING fts5vocab(articles_search, 'row')")
    else:
        op.execute("CREATE INDEX ix_articles_search_trgm ON articles USING gin ("
                   f"({_DOCUMENT}) gin_trgm_ops)")
        op.execute("DROP INDEX IF EXISTS ix_articles_body_trgm")
        op.execute("DROP INDEX IF EXISTS ix_articles_title_trgm")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS articles_search_terms")
        _rebuild("")
    else:
        op.execute("CREATE INDEX ix_articles_title_trgm ON articles "
                   "USING gin ((title COLLATE \"C\") gin_trgm_ops)")
        op.execute("CREATE INDEX ix_articles_body_trgm ON articles "
                   "USING gin (((text || ' ' || summary) COLLATE \"C\") gin_trgm_ops)")
        op.execute("DROP INDEX IF EXISTS ix_articles_search_trgm")
