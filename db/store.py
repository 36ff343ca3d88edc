"""Writes of the collection stage: sources, articles once per identity, sightings, fetch log.

An article's identity is its canonical URL, else (for entries without a link) a content
hash; a GUID that looks globally unique also finds an existing article.  The crawl writes
in batches (:func:`store_batch`), with Core statements on one connection, each batch in its
caller's transaction: a crash loses at most the batch in flight.  Inserts use the
dialect's ``INSERT … ON CONFLICT DO NOTHING`` so two writers racing on one URL still end
with one row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from config.errors import StorageError
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
    timezone: str | None = None
    outlet: str | None = None


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
class SeenEntry:
    """An entry whose article is (probably) stored already: record the sighting only."""

    source_id: int
    identity: str
    url: str | None
    title: str


@dataclass(frozen=True)
class BatchResult:
    """What storing one batch did."""

    new: dict[int, int]  # source id -> articles stored for the first time
    seen: dict[int, int]  # source id -> entries that were stored already
    stored: dict[str, int]  # identity -> article id, for every article of the batch
    unresolved: tuple[SeenEntry, ...]  # sightings whose article is not stored (yet)


def _insert_for(dialect: str) -> Any:
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
                timezone=spec.timezone, outlet=spec.outlet, created_at=utc_naive(now),
                state="active", failure_score=0.0, consecutive_failures=0,
            )
            session.add(row)
            existing[spec.key] = row
            continue
        if row.url != spec.url or row.kind != spec.kind:
            # A new address is a new conversation: old validators mean nothing there.
            row.etag = row.last_modified = row.content_hash = None
        row.name, row.kind, row.url = spec.name, spec.kind, spec.url
        row.language, row.weight, row.enabled = spec.language, spec.weight, spec.enabled
        row.timezone, row.outlet = spec.timezone, spec.outlet
    session.flush()
    return {key: row.id for key, row in existing.items()}


def source_time_zones(session: Session) -> dict[str, str]:
    """Source key → its own IANA time zone, for the sources that have one."""
    return {key: zone for key, zone in session.execute(
        select(Source.key, Source.timezone).where(Source.timezone.is_not(None))
    ).all() if zone}


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


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _ids_by_identity(conn: Connection, identities: Iterable[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(identities))
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        found.update(conn.execute(
            select(Article.identity, Article.id).where(Article.identity.in_(chunk))).all())
    return found


def _ids_by_guid(conn: Connection, guids: Iterable[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(guids))
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        for guid, article_id in conn.execute(
                select(Article.guid, Article.id).where(Article.guid.in_(chunk))
                .order_by(Article.id)):
            found.setdefault(str(guid), article_id)
    return found


def known_identities(conn: Connection, identities: Iterable[str]) -> set[str]:
    """Which of ``identities`` are already stored (one query per 500)."""
    return set(_ids_by_identity(conn, identities))


def known_identities_by_source(session: Session, source_ids: Sequence[int]) -> dict[int, set[str]]:
    """The identities of the articles each source has shown before (one query)."""
    known: dict[int, set[str]] = {source_id: set() for source_id in source_ids}
    if not source_ids:
        return known
    rows = session.execute(
        select(Sighting.source_id, Article.identity)
        .join(Article, Article.id == Sighting.article_id)
        .where(Sighting.source_id.in_(list(source_ids)))
    ).all()
    for source_id, identity in rows:
        known[source_id].add(identity)
    return known


def store_batch(
    conn: Connection,
    articles: Sequence[tuple[int, NewArticle]],
    sightings: Sequence[SeenEntry],
    now: datetime,
) -> BatchResult:
    """Store a batch of articles (each once) and sightings, in the caller's transaction.

    ``articles`` pairs a source id with what the crawl found; an article whose identity
    (or globally unique GUID) is stored already only gets its sighting.  Inserts are
    ``ON CONFLICT DO NOTHING`` so a concurrent writer cannot make a duplicate.
    """
    seen_at = utc_naive(now)
    insert = _insert_for(conn.dialect.name)
    new: Counter[int] = Counter()
    seen: Counter[int] = Counter()
    firsts: dict[str, tuple[int, NewArticle]] = {}
    repeats: list[SeenEntry] = []
    for source_id, article in articles:
        if article.identity in firsts:
            repeats.append(SeenEntry(source_id, article.identity, article.url, article.title))
        else:
            firsts[article.identity] = (source_id, article)
    stored = _ids_by_identity(conn, firsts)
    by_guid = _ids_by_guid(conn, [a.guid for i, (_, a) in firsts.items()
                                  if i not in stored and a.guid and _is_global_guid(a.guid)])
    rows: list[dict[str, Any]] = []
    for identity, (source_id, article) in firsts.items():
        if identity in stored:
            continue
        if article.guid and article.guid in by_guid:
            stored[identity] = by_guid[article.guid]
            continue
        rows.append({
            "identity": identity, "canonical_url": article.canonical_url, "url": article.url,
            "guid": article.guid, "content_hash": article.content_hash,
            "title": article.title, "summary": article.summary, "text": article.text,
            "language": article.language, "author": article.author,
            "published_at": utc_naive(article.published_at), "first_seen_at": seen_at,
            "source_id": source_id, "is_fetched": article.is_fetched,
            "extract_error": article.extract_error, "tagged_version": None,
        })
    inserted: dict[str, int] = {}
    if rows:
        result = conn.execute(
            insert(Article).on_conflict_do_nothing(index_elements=["identity"])
            .returning(Article.identity, Article.id),
            rows,
        )
        inserted = dict(result.all())
        lost = [r["identity"] for r in rows if r["identity"] not in inserted]
        stored.update(inserted)
        stored.update(_ids_by_identity(conn, lost))  # another writer won the race
    for identity, (source_id, _article) in firsts.items():
        (new if identity in inserted else seen)[source_id] += 1
    pending = [*repeats, *sightings]
    missing = [s.identity for s in pending if s.identity not in stored]
    stored_elsewhere = _ids_by_identity(conn, missing)
    sighting_rows: dict[tuple[int, int], dict[str, Any]] = {}
    for identity, (source_id, article) in firsts.items():
        if identity in stored:
            sighting_rows.setdefault((stored[identity], source_id), {
                "article_id": stored[identity], "source_id": source_id, "url": article.url,
                "title": article.title, "seen_at": seen_at})
    unresolved: list[SeenEntry] = []
    for entry in pending:
        article_id = stored.get(entry.identity) or stored_elsewhere.get(entry.identity)
        if article_id is None:
            unresolved.append(entry)
            continue
        seen[entry.source_id] += 1
        sighting_rows.setdefault((article_id, entry.source_id), {
            "article_id": article_id, "source_id": entry.source_id, "url": entry.url,
            "title": entry.title, "seen_at": seen_at})
    if sighting_rows:
        conn.execute(
            insert(Sighting).on_conflict_do_nothing(index_elements=["article_id", "source_id"]),
            list(sighting_rows.values()),
        )
    return BatchResult(new=dict(new), seen=dict(seen), stored=stored,
                       unresolved=tuple(unresolved))


def _is_global_guid(guid: str) -> bool:
    # Feeds often number entries 1, 2, 3…: only URI-like GUIDs identify across sources.
    return ":" in guid and len(guid) >= 12


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
class Health:
    """A source's health counters and polling interval, as stored."""

    failure_score: float
    consecutive_failures: int
    poll_interval_seconds: float | None


FAILURE_WEIGHTS = {"hard": 1.0, "soft": 0.5, "temporary": 0.25}


def record_outcome(conn: Connection, source_id: int, outcome: SourceOutcome,
                   run_id: int | None) -> None:
    """Write the fetch log row and update the source's validators and health, in the
    caller's transaction (the one that stored the source's last articles)."""
    row = conn.execute(
        select(Source.failure_score, Source.consecutive_failures).where(Source.id == source_id)
    ).first()
    if row is None:
        raise StorageError(f"source id {source_id} vanished from the database during a crawl")
    finished = utc_naive(outcome.finished_at)
    values: dict[str, Any] = {"last_checked_at": finished}
    if outcome.new_count:
        # Once per pass rather than once per article: it only feeds the "silent" check.
        values["last_new_article_at"] = finished
    if outcome.status == "error":
        weight = FAILURE_WEIGHTS.get(outcome.error_kind or "hard", 1.0)
        values.update(failure_score=(row.failure_score or 0.0) + weight,
                      consecutive_failures=(row.consecutive_failures or 0) + 1,
                      last_error=outcome.error, last_error_at=finished)
    else:
        values.update(failure_score=0.0, consecutive_failures=0, last_success_at=finished)
        if outcome.status == "ok":
            # Validators are saved only once every item of the pass is stored, so a
            # crash mid-pass makes the next pass read the feed again (nothing lost).
            values.update(etag=outcome.etag, last_modified=outcome.last_modified,
                          content_hash=outcome.content_hash)
    if outcome.retry_after_until is not None:
        values["retry_after_until"] = utc_naive(outcome.retry_after_until)
    conn.execute(update(Source).where(Source.id == source_id).values(**values))
    conn.execute(insert(FetchLog).values(
        run_id=run_id, source_id=source_id, started_at=utc_naive(outcome.started_at),
        finished_at=finished, status=outcome.status, http_status=outcome.http_status,
        new_count=outcome.new_count, seen_count=outcome.seen_count,
        pages_fetched=outcome.pages_fetched, item_count=outcome.item_count,
        error=outcome.error, error_kind=outcome.error_kind,
    ))


def health_of(session: Session, source_ids: Sequence[int]) -> dict[int, Health]:
    """The stored health of the given sources (one query)."""
    rows = session.execute(
        select(Source.id, Source.failure_score, Source.consecutive_failures,
               Source.poll_interval_seconds).where(Source.id.in_(list(source_ids)))
    ).all()
    return {r.id: Health(r.failure_score or 0.0, r.consecutive_failures or 0,
                         r.poll_interval_seconds) for r in rows}


@dataclass(frozen=True)
class Schedule:
    """When a source is next due, at which polling interval, in which state."""

    source_id: int
    next_check_at: datetime
    interval_seconds: float
    state: str


def set_schedules(session: Session, schedules: Sequence[Schedule]) -> None:
    """Store the next checks of several sources (one statement) and commit."""
    if not schedules:
        return
    session.execute(
        update(Source),
        [{"id": s.source_id, "next_check_at": utc_naive(s.next_check_at),
          "poll_interval_seconds": s.interval_seconds, "state": s.state} for s in schedules],
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


def start_run(session: Session, kind: str, now: datetime, holder: str) -> int:
    """Open a run row held by ``holder`` (host:pid) and return its id."""
    run = Run(kind=kind, started_at=utc_naive(now), status="running", detail=holder)
    session.add(run)
    session.commit()
    return run.id


def close_abandoned_runs(session: Session, kind: str, now: datetime,
                         is_dead: Callable[[str], bool]) -> list[int]:
    """Close as crashed the runs still "running" whose holder process is dead."""
    rows = session.execute(
        select(Run.id, Run.detail).where(Run.kind == kind, Run.status == "running")
    ).all()
    dead = [r.id for r in rows if r.detail and is_dead(r.detail)]
    if dead:
        session.execute(
            update(Run).where(Run.id.in_(dead)).values(
                status="crashed", finished_at=utc_naive(now),
                detail="the process running it died"))
        session.commit()
    return dead


def finish_run(session: Session, run_id: int, status: str, now: datetime, detail: str = "") -> None:
    """Close a run row."""
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(status=status, finished_at=utc_naive(now), detail=detail or None)
    )
    session.commit()
