"""Writes of the collection stage: sources, articles once per identity, sightings, fetch log.

An article's identity is its canonical URL, else (for entries without a link) a content
hash; a GUID that looks globally unique also finds an existing article.  Inserts use the
dialect's ``INSERT … ON CONFLICT DO NOTHING`` so two writers racing on one URL still end
with one row, and each article is committed on its own: a crash loses at most the article
in flight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from config.errors import StorageError
from db.engine import storage_errors
from db.models import Article, FetchLog, Run, Sighting, Source
from db.times import as_utc, utc_naive


@dataclass(frozen=True)
class SourceSpec:
    """What the database needs to know of a configured source."""

    key: str
    name: str
    kind: str
    url: str
    language: str | None
    weight: float
    enabled: bool


@dataclass(frozen=True)
class SourceState:
    """A source's conditional-request and health state, read before a crawl."""

    id: int
    key: str
    url: str
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    state: str
    retry_after_until: datetime | None
    next_check_at: datetime | None
    failure_score: float
    consecutive_failures: int
    poll_interval_seconds: float | None


@dataclass(frozen=True)
class NewArticle:
    """An article as the crawler hands it to storage."""

    source_key: str
    identity: str
    canonical_url: str | None
    url: str | None
    guid: str | None
    content_hash: str
    title: str
    summary: str
    text: str
    language: str | None
    author: str | None
    published_at: datetime | None
    is_fetched: bool
    extract_error: str | None = None


@dataclass(frozen=True)
class StoreResult:
    """What storing one article did."""

    article_id: int
    is_new: bool
    is_new_sighting: bool


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise StorageError(f"database dialect {dialect!r} is not supported; use SQLite or PostgreSQL")


def sync_sources(session: Session, specs: Sequence[SourceSpec], now: datetime) -> dict[str, int]:
    """Insert new sources and update changed ones from the configuration; return key → id.

    A source no longer in the configuration is kept (its articles and sightings refer to
    it) but disabled, so it stops showing up as failing or silent.
    """
    existing = {s.key: s for s in session.scalars(select(Source))}
    configured = {spec.key for spec in specs}
    for key, stored in existing.items():
        if key not in configured:
            stored.enabled = False
    for spec in specs:
        row = existing.get(spec.key)
        if row is None:
            row = Source(
                key=spec.key, name=spec.name, kind=spec.kind, url=spec.url,
                language=spec.language, weight=spec.weight, enabled=spec.enabled,
                created_at=utc_naive(now), state="active", failure_score=0.0,
                consecutive_failures=0,
            )
            session.add(row)
            existing[spec.key] = row
            continue
        if row.url != spec.url or row.kind != spec.kind:
            # A new address is a new conversation: old validators mean nothing there.
            row.etag = row.last_modified = row.content_hash = None
        row.name, row.kind, row.url = spec.name, spec.kind, spec.url
        row.language, row.weight, row.enabled = spec.language, spec.weight, spec.enabled
    session.flush()
    return {key: row.id for key, row in existing.items()}


def source_states(session: Session, keys: Iterable[str]) -> dict[str, SourceState]:
    """Read the crawl state of the given sources."""
    rows = session.scalars(select(Source).where(Source.key.in_(list(keys))))
    return {
        r.key: SourceState(
            id=r.id, key=r.key, url=r.url, etag=r.etag, last_modified=r.last_modified,
            content_hash=r.content_hash, state=r.state,
            retry_after_until=as_utc(r.retry_after_until), next_check_at=as_utc(r.next_check_at),
            failure_score=r.failure_score, consecutive_failures=r.consecutive_failures,
            poll_interval_seconds=r.poll_interval_seconds,
        )
        for r in rows
    }


def known_identities(session: Session, identities: Iterable[str]) -> set[str]:
    """Which of ``identities`` are already stored (batched, one query per 500)."""
    wanted = list(dict.fromkeys(identities))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(session.scalars(select(Article.identity).where(Article.identity.in_(chunk))))
    return found


def _id_of(session: Session, identity: str) -> int | None:
    return session.scalar(select(Article.id).where(Article.identity == identity))


def _add_sighting(session: Session, article_id: int, source_id: int, url: str | None,
                  title: str, seen_at: datetime) -> bool:
    """Insert the sighting unless the source saw the article before; whether it is new."""
    stmt = (
        _insert(session)(Sighting)
        .values(article_id=article_id, source_id=source_id, url=url, title=title,
                seen_at=seen_at)
        .on_conflict_do_nothing(index_elements=["article_id", "source_id"])
        .returning(Sighting.id)
    )
    return session.scalar(stmt) is not None


def _find_existing(session: Session, article: NewArticle) -> int | None:
    found = _id_of(session, article.identity)
    if found is None and article.guid and _is_global_guid(article.guid):
        found = session.scalar(select(Article.id).where(Article.guid == article.guid).limit(1))
    return found


def _is_global_guid(guid: str) -> bool:
    # Feeds often number entries 1, 2, 3…: only URI-like GUIDs identify across sources.
    return ":" in guid and len(guid) >= 12


def store_article(
    session: Session, article: NewArticle, source_id: int, now: datetime
) -> StoreResult:
    """Store an article once and record the sighting; commit before returning."""
    seen_at = utc_naive(now)
    with storage_errors(f"could not store article {article.identity}", session):
        article_id = _find_existing(session, article)
        is_new = False
        if article_id is None:
            stmt = (
                _insert(session)(Article)
                .values(
                    identity=article.identity, canonical_url=article.canonical_url,
                    url=article.url, guid=article.guid, content_hash=article.content_hash,
                    title=article.title, summary=article.summary, text=article.text,
                    language=article.language, author=article.author,
                    published_at=utc_naive(article.published_at), first_seen_at=seen_at,
                    source_id=source_id, is_fetched=article.is_fetched,
                    extract_error=article.extract_error,
                )
                .on_conflict_do_nothing(index_elements=["identity"])
                .returning(Article.id)
            )
            article_id = session.scalar(stmt)
            is_new = article_id is not None
            if article_id is None:  # another writer won the race
                article_id = _id_of(session, article.identity)
        assert article_id is not None
        is_new_sighting = _add_sighting(session, article_id, source_id, article.url,
                                        article.title, seen_at)
        session.commit()
    return StoreResult(article_id=article_id, is_new=is_new, is_new_sighting=is_new_sighting)


def record_sighting(
    session: Session, identity: str, url: str | None, title: str, source_id: int, now: datetime
) -> bool | None:
    """Record that a stored article was seen in a source.

    Returns None when no article has that identity yet, else whether the sighting is new.
    """
    article_id = _id_of(session, identity)
    if article_id is None:
        session.rollback()
        return None
    added = _add_sighting(session, article_id, source_id, url, title, utc_naive(now))
    session.commit()
    return added


@dataclass(frozen=True)
class SourceOutcome:
    """How one pass over one source ended."""

    source_key: str
    status: str  # ok | not_modified | unchanged | error | skipped
    started_at: datetime
    finished_at: datetime
    http_status: int | None = None
    new_count: int = 0
    seen_count: int = 0
    item_count: int = 0
    pages_fetched: int = 0
    error: str | None = None
    error_kind: str | None = None  # hard | soft | temporary
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    retry_after_until: datetime | None = None
    ttl_seconds: float | None = None
    max_age_seconds: float | None = None


@dataclass(frozen=True)
class HealthAfter:
    """A source's health counters after an outcome was recorded."""

    failure_score: float
    consecutive_failures: int
    poll_interval_seconds: float | None


FAILURE_WEIGHTS = {"hard": 1.0, "soft": 0.5, "temporary": 0.25}


def record_outcome(
    session: Session, source_id: int, outcome: SourceOutcome, run_id: int | None
) -> HealthAfter:
    """Write the fetch log row and update the source's validators and health."""
    source = session.get(Source, source_id)
    if source is None:
        raise StorageError(f"source id {source_id} vanished from the database during a crawl")
    finished = utc_naive(outcome.finished_at)
    source.last_checked_at = finished
    if outcome.new_count:
        # Once per pass rather than once per article: it only feeds the "silent" check.
        source.last_new_article_at = finished
    if outcome.status == "error":
        weight = FAILURE_WEIGHTS.get(outcome.error_kind or "hard", 1.0)
        source.failure_score = (source.failure_score or 0.0) + weight
        source.consecutive_failures = (source.consecutive_failures or 0) + 1
        source.last_error = outcome.error
        source.last_error_at = finished
    else:
        source.failure_score = 0.0
        source.consecutive_failures = 0
        source.last_success_at = finished
        if outcome.status == "ok":
            # Validators are saved only once every item of the pass is stored, so a
            # crash mid-pass makes the next pass read the feed again (nothing lost).
            source.etag = outcome.etag
            source.last_modified = outcome.last_modified
            source.content_hash = outcome.content_hash
    if outcome.retry_after_until is not None:
        source.retry_after_until = utc_naive(outcome.retry_after_until)
    session.add(
        FetchLog(
            run_id=run_id, source_id=source_id, started_at=utc_naive(outcome.started_at),
            finished_at=finished, status=outcome.status, http_status=outcome.http_status,
            new_count=outcome.new_count, seen_count=outcome.seen_count,
            pages_fetched=outcome.pages_fetched, item_count=outcome.item_count,
            error=outcome.error, error_kind=outcome.error_kind,
        )
    )
    health = HealthAfter(source.failure_score, source.consecutive_failures,
                         source.poll_interval_seconds)
    session.commit()
    return health


def set_schedule(session: Session, source_id: int, *, next_check_at: datetime,
                 interval_seconds: float, state: str) -> None:
    """Store when a source is next due, its polling interval and its state."""
    session.execute(
        update(Source).where(Source.id == source_id).values(
            next_check_at=utc_naive(next_check_at), poll_interval_seconds=interval_seconds,
            state=state,
        )
    )
    session.commit()


def due_source_keys(session: Session, keys: Sequence[str], now: datetime) -> list[str]:
    """Those of ``keys`` whose next check has come (or was never planned), in order."""
    moment = utc_naive(now)
    rows = session.execute(
        select(Source.key, Source.next_check_at).where(Source.key.in_(list(keys)))
    ).all()
    due = {key for key, next_at in rows if next_at is None or next_at <= moment}
    return [key for key in keys if key in due]


def start_run(session: Session, kind: str, now: datetime) -> int:
    """Open a run row and return its id."""
    run = Run(kind=kind, started_at=utc_naive(now), status="running")
    session.add(run)
    session.commit()
    return run.id


def finish_run(session: Session, run_id: int, status: str, now: datetime, detail: str = "") -> None:
    """Close a run row."""
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(status=status, finished_at=utc_naive(now), detail=detail or None)
    )
    session.commit()
