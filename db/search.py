"""Reading stored articles: filtered lists, full-text search, one article with its context.

Contract: :func:`search_articles` takes an :class:`ArticleQuery` (words, theme, source,
language, a time window, article ids to keep or leave out) and returns one page of
:class:`ArticleHit`, newest first, or best match first when there are words.  Callers get
plain frozen dataclasses; ORM rows stay here.

Search is substring search, so Japanese (no spaces between words) and English work alike.
Every word of the query must be in the title or the text (``"…"`` keeps a phrase whole);
past :data:`COUNT_LIMIT` matches the count stops ("1000+") and the list is newest first.
SQLite answers from the FTS5 trigram table (migrations ``0002_search`` and
``0004_search_speed``) ranked by BM25 (title hits count three times); a word of one or two
characters (``難民``, ``UN``) is looked up as the indexed trigrams that start with it.
PostgreSQL answers from one pg_trgm GIN index over the whole document (``0004``), ranked
by title hits, then hits in the lead; there a word under three characters has no trigram
and is matched with LIKE, which reads rows until the page is full (every row when the word
is nowhere).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    column,
    func,
    literal,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from db.engine import storage_errors
from db.models import Article, ArticleTag, Sighting, Source
from db.times import as_utc, utc_naive

TRIGRAM = 3  # shortest word the trigram indexes can serve
LEAD_CHARS = 400  # "in the lead" for PostgreSQL's ranking
# Matches are counted up to this many; past it the list is newest first instead of best
# first: scoring tens of thousands of articles costs more than the 200 ms a search may
# take, and says little (the words are common).
COUNT_LIMIT = 1000
# SQLite: a word of one or two characters is looked up as the trigrams starting with it
# while there are at most this many (``UN``: a few dozen); past it, it is common enough
# for LIKE to fill a page from the newest rows.
EXPAND_LIMIT = 400
_SEARCH = table("articles_search", column("rowid"))
_SPACE = re.compile(r"\s+")


def search_words(query: str) -> tuple[str, ...]:
    """The words of a query: split on spaces (full-width too), ``"…"`` kept whole."""
    cleaned = query.replace("\u3000", " ").replace("“", '"').replace("”", '"').strip()
    try:
        parts = shlex.split(cleaned)
    except ValueError:  # an unbalanced quote: take the words as they are
        parts = cleaned.replace('"', " ").split()
    words = [_SPACE.sub(" ", p).strip() for p in parts]
    return tuple(dict.fromkeys(w for w in words if w))


SEARCH_TABLE = "articles_search"
SEARCH_INDEXES = frozenset({"ix_articles_search_trgm",  # 0004_search_speed
                            "ix_articles_title_trgm", "ix_articles_body_trgm"})  # 0002


def is_schema_object(name: str | None, type_: str, parent_names: object = None) -> bool:
    """Alembic's ``include_name``: False for what migration ``0002_search`` keeps outside
    the models (SQLite's FTS5 table with its shadow tables, PostgreSQL's trigram indexes)."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(SEARCH_TABLE)
    return not (type_ == "index" and name in SEARCH_INDEXES)

@dataclass(frozen=True)
class ArticleQuery:
    """What to list: every field narrows the result; empty ones do not."""

    words: tuple[str, ...] = ()
    theme: str | None = None
    source: str | None = None
    language: str | None = None
    since: datetime | None = None  # first seen at or after
    until: datetime | None = None  # first seen before
    only_ids: frozenset[int] | None = None
    except_ids: frozenset[int] = field(default_factory=frozenset)
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class ArticleHit:
    """One listed article; ``text`` is the stored text (or the feed summary)."""

    id: int
    title: str
    url: str | None
    source: str
    source_name: str
    language: str | None
    published_at: datetime | None
    first_seen_at: datetime
    themes: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class SearchPage:
    """One page of a list: how many articles match in all (at most :data:`COUNT_LIMIT`,
    ``is_more`` when there are more), and this page of them."""

    total: int
    hits: tuple[ArticleHit, ...]
    is_more: bool = False


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _document() -> ColumnElement[Any]:
    """PostgreSQL: the title, a line break, the text and the feed summary, in the "C"
    collation (ASCII case folding): the expression of 0004_search_speed's trigram index,
    so that every word of a query is one condition on one index, which intersects them
    before any row is read.  No query word holds a line break, so none spans title and text."""
    return (Article.title.op("||")(literal("\n")).op("||")(Article.text)
            .op("||")(literal(" ")).op("||")(Article.summary)).collate("C")


def _word_matches(word: str, *, is_sqlite: bool) -> ColumnElement[bool]:
    pattern = _like(word)
    if is_sqlite:  # SQLite's LIKE already ignores ASCII case
        body = Article.text.op("||")(literal(" ")).op("||")(Article.summary)
        return or_(Article.title.like(pattern, escape="\\"), body.like(pattern, escape="\\"))
    if word.lower() != word.upper():  # ILIKE costs ~5x LIKE per row; kana and kanji have no case
        return _document().ilike(pattern, escape="\\")
    return _document().like(pattern, escape="\\")


def _fts_phrase(words: Sequence[str]) -> str:
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def _filters(query: ArticleQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.theme:
        conditions.append(Article.id.in_(
            select(ArticleTag.article_id).where(ArticleTag.theme_id == query.theme)))
    if query.source:
        conditions.append(Article.id.in_(
            select(Sighting.article_id).join(Source, Source.id == Sighting.source_id)
            .where(Source.key == query.source)))
    if query.language:
        conditions.append(or_(Article.language == query.language,
                              Article.language.like(f"{query.language}-%")))
    if query.since is not None:
        conditions.append(Article.first_seen_at >= utc_naive(query.since))
    if query.until is not None:
        conditions.append(Article.first_seen_at < utc_naive(query.until))
    if query.only_ids is not None:
        conditions.append(Article.id.in_(sorted(query.only_ids)) if query.only_ids
                          else literal(False))
    if query.except_ids:
        conditions.append(Article.id.not_in(sorted(query.except_ids)))
    return conditions


def _ranked(session: Session, query: ArticleQuery) -> tuple[Select[Any], Any, Any]:
    """The matching ids (as a select), the best-first order and the newest-first order."""
    base = select(Article.id).where(*_filters(query))
    newest = (Article.first_seen_at.desc(), Article.id.desc())
    if not query.words:
        return base, newest, newest
    # Cheapest test first (a row failing it skips the others): words without case (LIKE,
    # not ILIKE), then longer words, which are the rarer ones.
    words = sorted(query.words, key=lambda w: (w.lower() != w.upper(), -len(w)))
    long_words = [w for w in words if len(w) >= TRIGRAM]
    short_words = [w for w in words if len(w) < TRIGRAM]
    is_sqlite = session.get_bind().dialect.name == "sqlite"
    if is_sqlite:
        expanded: list[str] = []
        for word in short_words:
            terms = _trigrams_from(session, word)
            if terms == []:  # in no stored text at all
                base = base.where(literal(False))
            elif terms is None or long_words:
                # too common to list (LIKE fills a page from the newest rows), or the
                # long words' matches are few enough to test, and they alone rank
                base = base.where(_word_matches(word, is_sqlite=True))
            else:
                expanded.append("(" + " OR ".join(_fts_phrase([t]) for t in terms) + ")")
        if long_words:
            base = (base.join(_SEARCH, _SEARCH.c.rowid == Article.id)
                    .where(text("articles_search MATCH :phrase")
                           .bindparams(phrase=_fts_phrase(long_words))))
            # ids grow with first sight: the FTS index hands them out newest first
            return (base, (text("bm25(articles_search, 3.0, 1.0)"), *newest),
                    (_SEARCH.c.rowid.desc(),))
        if expanded:
            base = (base.join(_SEARCH, _SEARCH.c.rowid == Article.id)
                    .where(text("articles_search MATCH :phrase")
                           .bindparams(phrase=" AND ".join(expanded))))
            return base, (_title_rank(query.words).desc(), *newest), (_SEARCH.c.rowid.desc(),)
        return base, (_title_rank(query.words).desc(), *newest), newest
    base = base.where(*(_word_matches(w, is_sqlite=False) for w in short_words + long_words))
    lead = func.left(Article.text, LEAD_CHARS)
    rank = _title_rank(query.words) * 3 + sum(
        (case((lead.ilike(_like(w), escape="\\"), 1), else_=0) for w in query.words),
        start=literal(0))
    return base, (rank.desc(), *newest), newest


def _trigrams_from(session: Session, word: str) -> list[str] | None:
    """SQLite: the indexed trigrams that start with ``word`` (one or two characters), or
    None past :data:`EXPAND_LIMIT`.  Migration ``0004_search_speed`` ends every indexed
    column with a space, so each occurrence of the word starts one of these trigrams."""
    start = word.lower()
    terms = list(session.scalars(
        text("SELECT term FROM articles_search_terms WHERE term >= :start AND term < :end "
             "LIMIT :limit")
        .bindparams(start=start, end=start + "\U0010ffff", limit=EXPAND_LIMIT + 1)))
    return None if len(terms) > EXPAND_LIMIT else terms


def _title_rank(words: Sequence[str]) -> ColumnElement[int]:
    return sum((case((Article.title.ilike(_like(w), escape="\\"), 1), else_=0) for w in words),
               start=literal(0))


def search_articles(session: Session, query: ArticleQuery) -> SearchPage:
    """One page of the articles that match ``query``, with how many match in all."""
    with storage_errors("searching the stored articles failed"):
        base, best_first, newest_first = _ranked(session, query)
        # Counting stops past COUNT_LIMIT: a common word matches most of the store,
        # and reading every match only to count it would cost seconds.
        total = _count(session, base)
        is_more = total > COUNT_LIMIT
        # PostgreSQL, many matches: walk the newest-first index and test rows until the
        # page is full (a few dozen rows), instead of re-reading every match the trigram
        # index proposes only to sort them.
        is_walked = (is_more and bool(query.words)
                     and session.get_bind().dialect.name == "postgresql")
        if is_walked:
            _read_by_id(session, True)
        try:
            order = newest_first if is_more else best_first
            ids = list(session.scalars(base.order_by(*order).limit(query.limit)
                                       .offset(query.offset)))
        finally:
            if is_walked:
                _read_by_id(session, False)
        hits = _hits(session, ids)
    return SearchPage(total=min(total, COUNT_LIMIT), hits=tuple(hits), is_more=is_more)


def _read_by_id(session: Session, is_on: bool) -> None:
    """PostgreSQL: read rows newest first through the (first_seen_at, id) index, not
    through the trigram index (which would propose every match in the store) nor the
    whole table (which the planner picks when it misjudges how common the words are)."""
    value = "off" if is_on else "on"
    session.execute(text(f"SET LOCAL enable_bitmapscan = {value}"))
    session.execute(text(f"SET LOCAL enable_seqscan = {value}"))


def _count(session: Session, matches: Select[Any]) -> int:
    """How many rows ``matches`` selects, counting no further than COUNT_LIMIT + 1."""
    capped = matches.limit(COUNT_LIMIT + 1).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0


def _hits(session: Session, ids: Sequence[int]) -> list[ArticleHit]:
    if not ids:
        return []
    rows = {
        row.id: row for row in session.execute(
            select(Article.id, Article.title, Article.canonical_url, Article.url,
                   Article.language, Article.published_at, Article.first_seen_at,
                   Article.text, Article.summary, Source.key, Source.name)
            .join(Source, Source.id == Article.source_id)
            .where(Article.id.in_(ids)))
    }
    themes: dict[int, list[str]] = {}
    for article_id, theme_id in session.execute(
        select(ArticleTag.article_id, ArticleTag.theme_id)
        .where(ArticleTag.article_id.in_(ids))
        .order_by(ArticleTag.score.desc(), ArticleTag.theme_id)
    ):
        themes.setdefault(article_id, []).append(theme_id)
    return [
        ArticleHit(
            id=r.id, title=r.title or "", url=r.canonical_url or r.url, source=r.key,
            source_name=r.name, language=r.language, published_at=as_utc(r.published_at),
            first_seen_at=as_utc(r.first_seen_at), themes=tuple(themes.get(r.id, [])),
            text=r.text or r.summary or "",
        )
        for r in (rows[i] for i in ids if i in rows)
    ]


@dataclass(frozen=True)
class Seen:
    """One sighting of an article: the outlet, its link and title there, when."""

    source: str
    source_name: str
    url: str | None
    title: str | None
    seen_at: datetime


@dataclass(frozen=True)
class Tag:
    """A theme an article carries, its score and the reasons as stored."""

    theme_id: str
    score: float
    reasons: tuple[tuple[str, str, int], ...]  # (term, field, count)


@dataclass(frozen=True)
class ArticleDetail:
    """One article with everything the article page shows."""

    hit: ArticleHit
    author: str | None
    tags: tuple[Tag, ...]
    sightings: tuple[Seen, ...]
    tagged_version: str | None


def _reasons(value: object) -> tuple[tuple[str, str, int], ...]:
    found = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("term"), str):
                count = item.get("count")
                found.append((item["term"], str(item.get("field") or ""),
                              count if isinstance(count, int) else 1))
    return tuple(found)


def article_detail(session: Session, article_id: int) -> ArticleDetail | None:
    """The article with ``article_id`` and its tags and sightings; None if there is none."""
    with storage_errors("reading an article failed"):
        hits = _hits(session, [article_id])
        if not hits:
            return None
        row = session.execute(select(Article.author, Article.tagged_version)
                              .where(Article.id == article_id)).one()
        tags = tuple(
            Tag(t.theme_id, float(t.score), _reasons(t.reasons))
            for t in session.scalars(select(ArticleTag).where(ArticleTag.article_id == article_id)
                                     .order_by(ArticleTag.score.desc()))
        )
        sightings = tuple(
            Seen(key, name, url, title, as_utc(seen_at))
            for key, name, url, title, seen_at in session.execute(
                select(Source.key, Source.name, Sighting.url, Sighting.title, Sighting.seen_at)
                .join(Source, Source.id == Sighting.source_id)
                .where(Sighting.article_id == article_id)
                .order_by(Sighting.seen_at, Sighting.id))
        )
    return ArticleDetail(hit=hits[0], author=row.author, tags=tags, sightings=sightings,
                         tagged_version=row.tagged_version)


def sources_with_articles(session: Session) -> list[tuple[str, str]]:
    """(key, name) of every stored source, by name: the source filter's choices."""
    with storage_errors("reading the sources failed"):
        return [(k, n) for k, n in session.execute(
            select(Source.key, Source.name).order_by(Source.name, Source.key))]

