"""Read side of the digest: the week's candidate articles, last week's counts, source health.

Everything comes out as plain frozen dataclasses; ORM rows stay here.  Times going in
may be aware (converted to naive UTC, as stored); times coming out are naive UTC.

Backfill rule: an article first seen in the window whose ``published_at`` is more than
``backfill_days`` before the window start is old news a newly added source brought in,
and is left out.  Articles without a publication date are kept (first sight is all we
know).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from db.engine import storage_errors
from db.models import Article, ArticleTag, Sighting, Source
from db.times import utc_naive

BACKFILL_DAYS = 7


@dataclass(frozen=True)
class SightingRow:
    """Where an article was seen: the source and the link it gave."""

    source_key: str
    source_name: str
    source_weight: float
    url: str | None
    title: str | None
    seen_at: datetime
    source_url: str = ""
    source_outlet: str | None = None  # the outlet configured in sources.yaml, if any


@dataclass(frozen=True)
class TagRow:
    """A theme an article carries, its score and the matched terms (most frequent first)."""

    theme_id: str
    score: float
    terms: tuple[str, ...]


@dataclass(frozen=True)
class CandidateArticle:
    """An article first seen in the digest window, with its sightings and tags."""

    id: int
    title: str
    summary: str
    url: str | None
    language: str | None
    published_at: datetime | None
    first_seen_at: datetime
    sightings: tuple[SightingRow, ...]
    tags: tuple[TagRow, ...]


def _window(start: datetime, end: datetime, backfill_days: int) -> Any:
    start_n, end_n = utc_naive(start), utc_naive(end)
    oldest = start_n - timedelta(days=backfill_days)
    return and_(
        Article.first_seen_at >= start_n,
        Article.first_seen_at < end_n,
        or_(Article.published_at.is_(None), Article.published_at >= oldest),
    )


def _terms(reasons: Any) -> tuple[str, ...]:
    """Matched terms from stored reasons, most frequent first; junk entries ignored."""
    counts: dict[str, int] = {}
    if isinstance(reasons, list):
        for item in reasons:
            if isinstance(item, dict) and isinstance(item.get("term"), str):
                count = item.get("count")
                weight = count if isinstance(count, int) and count > 0 else 1
                counts[item["term"]] = counts.get(item["term"], 0) + weight
    return tuple(sorted(counts, key=lambda term: (-counts[term], term)))


def load_candidates(
    session: Session, start: datetime, end: datetime, *, backfill_days: int = BACKFILL_DAYS
) -> list[CandidateArticle]:
    """Articles first seen in [start, end), backfill excluded, with sightings and tags."""
    window = _window(start, end, backfill_days)
    ids = select(Article.id).where(window).scalar_subquery()
    with storage_errors("reading the digest's articles failed"):
        articles = session.execute(
            select(
                Article.id, Article.title, Article.summary, Article.url, Article.canonical_url,
                Article.language, Article.published_at, Article.first_seen_at,
                Source.key, Source.name, Source.weight, Source.url.label("source_url"),
                Source.outlet.label("source_outlet"),
            )
            .join(Source, Source.id == Article.source_id)
            .where(window)
            .order_by(Article.first_seen_at, Article.id)
        ).all()
        sightings: dict[int, list[SightingRow]] = defaultdict(list)
        for seen in session.execute(
            select(
                Sighting.article_id, Source.key, Source.name, Source.weight,
                Sighting.url, Sighting.title, Sighting.seen_at, Source.url, Source.outlet,
            )
            .join(Source, Source.id == Sighting.source_id)
            .where(Sighting.article_id.in_(ids))
            .order_by(Sighting.seen_at, Sighting.id)
        ):
            sightings[seen[0]].append(SightingRow(*seen[1:]))
        tags: dict[int, list[TagRow]] = defaultdict(list)
        for article_id, theme_id, score, reasons in session.execute(
            select(ArticleTag.article_id, ArticleTag.theme_id, ArticleTag.score, ArticleTag.reasons)
            .where(ArticleTag.article_id.in_(ids))
            .order_by(ArticleTag.id)
        ):
            tags[article_id].append(TagRow(theme_id, float(score), _terms(reasons)))
    result = []
    for row in articles:
        seen_in = sightings.get(row.id) or [
            # the first source is normally a sighting too; tolerate a crawler that skipped it
            SightingRow(row.key, row.name, row.weight, row.url, row.title, row.first_seen_at,
                        row.source_url, row.source_outlet)
        ]
        result.append(
            CandidateArticle(
                id=row.id,
                title=row.title or "",
                summary=row.summary or "",
                url=row.canonical_url or row.url,
                language=row.language,
                published_at=row.published_at,
                first_seen_at=row.first_seen_at,
                sightings=tuple(seen_in),
                tags=tuple(tags.get(row.id, ())),
            )
        )
    return result


def count_by_theme(
    session: Session, start: datetime, end: datetime, *, backfill_days: int = BACKFILL_DAYS
) -> dict[str, int]:
    """Number of new articles per theme in [start, end), by the same rules as candidates."""
    query = (
        select(ArticleTag.theme_id, func.count(func.distinct(ArticleTag.article_id)))
        .join(Article, Article.id == ArticleTag.article_id)
        .where(_window(start, end, backfill_days))
        .group_by(ArticleTag.theme_id)
    )
    with storage_errors("counting last week's articles failed"):
        return {theme_id: int(count) for theme_id, count in session.execute(query)}


def count_articles(
    session: Session, start: datetime, end: datetime, *, backfill_days: int = BACKFILL_DAYS
) -> int:
    """Number of new articles in [start, end)."""
    with storage_errors("counting articles failed"):
        value = session.scalar(
            select(func.count(Article.id)).where(_window(start, end, backfill_days))
        )
    return int(value or 0)
