"""Reads for the command line: run summaries, source health, article export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from db.models import Article, ArticleTag, FetchLog, Run, Sighting, Source
from db.times import as_utc, utc_naive


@dataclass(frozen=True)
class FetchSummary:
    """One source's line in a collect summary."""

    source_key: str
    status: str
    new_count: int
    seen_count: int
    pages_fetched: int
    http_status: int | None
    error: str | None


def run_fetches(session: Session, run_id: int) -> list[FetchSummary]:
    """The fetch-log rows of one run, one per source."""
    rows = session.execute(
        select(Source.key, FetchLog)
        .join(Source, Source.id == FetchLog.source_id)
        .where(FetchLog.run_id == run_id)
        .order_by(FetchLog.id)
    ).all()
    return [
        FetchSummary(key, log.status, log.new_count, log.seen_count, log.pages_fetched,
                     log.http_status, log.error)
        for key, log in rows
    ]


@dataclass(frozen=True)
class SourceHealth:
    """What ``migwatch status`` shows of one source."""

    key: str
    name: str
    kind: str
    enabled: bool
    state: str
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_new_article_at: datetime | None
    consecutive_failures: int
    failure_score: float
    last_error: str | None
    last_error_at: datetime | None
    next_check_at: datetime | None
    retry_after_until: datetime | None
    created_at: datetime
    article_count: int


def source_health(session: Session, *, with_counts: bool = True) -> list[SourceHealth]:
    """Every stored source with its health and article count (times aware UTC), by key.

    The counts read every sighting (an index-only scan of ``ix_sightings_source_id``);
    the digest, which shows no counts, asks ``with_counts=False`` (counts are then 0).
    """
    counts: dict[int, int] = {}
    if with_counts:
        counts = {source_id: int(n) for source_id, n in session.execute(
            select(Sighting.source_id, func.count()).group_by(Sighting.source_id))}
    return [
        SourceHealth(
            key=s.key, name=s.name, kind=s.kind, enabled=s.enabled, state=s.state,
            last_checked_at=as_utc(s.last_checked_at), last_success_at=as_utc(s.last_success_at),
            last_new_article_at=as_utc(s.last_new_article_at),
            consecutive_failures=s.consecutive_failures, failure_score=s.failure_score,
            last_error=s.last_error, last_error_at=as_utc(s.last_error_at),
            next_check_at=as_utc(s.next_check_at),
            retry_after_until=as_utc(s.retry_after_until), created_at=as_utc(s.created_at),
            article_count=counts.get(s.id, 0),
        )
        for s in session.scalars(select(Source).order_by(Source.key))
    ]


@dataclass(frozen=True)
class RunInfo:
    """A job run."""

    kind: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    detail: str | None


def article_count(session: Session) -> int:
    """How many articles are stored."""
    return session.scalar(select(func.count()).select_from(Article)) or 0


def last_runs(session: Session, limit: int = 5) -> list[RunInfo]:
    """The most recent runs, newest first."""
    rows = session.scalars(select(Run).order_by(Run.id.desc()).limit(limit))
    return [
        RunInfo(r.kind, as_utc(r.started_at), as_utc(r.finished_at), r.status, r.detail)
        for r in rows
    ]


@dataclass(frozen=True)
class ExportRow:
    """One article as exported."""

    id: int
    canonical_url: str | None
    title: str
    text: str
    language: str | None
    author: str | None
    published_at: datetime | None
    first_seen_at: datetime
    source_key: str
    sighting_keys: tuple[str, ...]
    themes: tuple[str, ...]


def export_articles(session: Session, since: datetime | None = None,
                    batch_size: int = 1000) -> Iterator[ExportRow]:
    """Stream stored articles (oldest first seen first) with their sightings and themes.

    Keyset pages on ``(first_seen_at, id)`` (index ``ix_articles_first_seen_id``): each
    page is an index range read and plain rows, so memory stays flat however many
    articles there are, and no transaction stays open across the whole export.
    """
    keys = dict(session.execute(select(Source.id, Source.key)).all())
    columns = (Article.id, Article.canonical_url, Article.title, Article.text, Article.summary,
               Article.language, Article.author, Article.published_at, Article.first_seen_at,
               Article.source_id)
    after: tuple[datetime, int] | None = None
    while True:
        query = select(*columns).order_by(Article.first_seen_at, Article.id).limit(batch_size)
        if after is not None:
            query = query.where(tuple_(Article.first_seen_at, Article.id) > tuple_(*after))
        elif since is not None:
            query = query.where(Article.first_seen_at >= utc_naive(since))
        batch = session.execute(query).all()
        session.rollback()  # end the read: no snapshot held between pages
        if not batch:
            return
        ids = [row.id for row in batch]
        sightings: dict[int, list[str]] = {}
        for article_id, source_id in session.execute(
            select(Sighting.article_id, Sighting.source_id)
            .where(Sighting.article_id.in_(ids)).order_by(Sighting.id)
        ):
            sightings.setdefault(article_id, []).append(keys.get(source_id, "?"))
        themes: dict[int, list[str]] = {}
        for article_id, theme_id in session.execute(
            select(ArticleTag.article_id, ArticleTag.theme_id)
            .where(ArticleTag.article_id.in_(ids))
            .order_by(ArticleTag.article_id, ArticleTag.score.desc())
        ):
            themes.setdefault(article_id, []).append(theme_id)
        session.rollback()
        for row in batch:
            yield ExportRow(
                id=row.id, canonical_url=row.canonical_url, title=row.title,
                text=row.text or row.summary, language=row.language, author=row.author,
                published_at=as_utc(row.published_at), first_seen_at=as_utc(row.first_seen_at),
                source_key=keys.get(row.source_id, "?"),
                sighting_keys=tuple(sightings.get(row.id, [])),
                themes=tuple(themes.get(row.id, [])),
            )
        last = batch[-1]
        after = (last.first_seen_at, last.id)
