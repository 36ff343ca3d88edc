"""The crawl child's view of the database: batched writes for one run, progress events.

:class:`CrawlStore` buffers what the crawl found and writes it with
:func:`db.store.store_batch` every ``batch_size`` items or when :meth:`CrawlStore.flush`
is called (the pipeline does so every second and at the end of each source), one
transaction per batch on one connection held for the crawl (so SQLite's pragmas run
once).  A source's outcome is written in the same transaction as its last articles:
its validators are never stored before every article of the pass is.  Polling
decisions are not taken here; the parent takes them from the ``source`` events.

Progress is written as JSON Lines on a stream (the crawl child's stdout), which the
parent turns into a progress display and into the next checks.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Connection, Engine

from crawler.plan import CrawlPlan
from db import store as db_store
from db.engine import storage_errors
from db.store import NewArticle, SeenEntry, SourceOutcome

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


class KnownIdentities:
    """Which entries are stored already: the plan's per-source sets first, then the
    database for the rest (articles another source stored), one query per document."""

    def __init__(self, engine: Engine, plan: CrawlPlan) -> None:
        self.engine = engine
        self.by_source = {s.config.key: s.known for s in plan.sources}
        self._conn: Connection | None = None

    def __call__(self, source_key: str, identities: Iterable[str]) -> set[str]:
        """The subset of ``identities`` that is stored."""
        own = self.by_source.get(source_key, frozenset())
        wanted = list(identities)
        known = {i for i in wanted if i in own}
        rest = [i for i in wanted if i not in known]
        if rest:
            if self._conn is None:
                self._conn = self.engine.connect()
            with storage_errors("could not read the stored articles"):
                known |= db_store.known_identities(self._conn, rest)
                self._conn.rollback()  # end the read: hold no snapshot open
        return known

    def close(self) -> None:
        """Release the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class CrawlStore:
    """Batched storage for one crawl run, with source keys mapped to ids."""

    def __init__(self, engine: Engine, plan: CrawlPlan, *, events: IO[str] | None = None,
                 clock: Clock = utc_now, batch_size: int = 100) -> None:
        self.engine = engine
        self.run_id = plan.run_id
        self.source_ids = {s.config.key: s.state.id for s in plan.sources}
        self.keys = {source_id: key for key, source_id in self.source_ids.items()}
        self.events = events
        self.clock = clock
        self.batch_size = batch_size
        self.articles: list[tuple[int, NewArticle]] = []
        self.sightings: list[SeenEntry] = []
        self.waiting: list[SeenEntry] = []  # sightings of articles another source fetches
        self.outcomes: list[SourceOutcome] = []
        self.new: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()
        self.finished: set[str] = set()
        self.started_at = clock()
        self._conn: Connection | None = None

    def progress(self, event: str, **fields: Any) -> None:
        """Emit one progress event (a JSON line) if a stream was given."""
        if self.events is None:
            return
        self.events.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        self.events.flush()

    def add_article(self, source_key: str, article: NewArticle) -> None:
        """Store ``article`` with the next batch."""
        self.articles.append((self.source_ids[source_key], article))
        self._flush_if_full()

    def add_sighting(self, source_key: str, identity: str, url: str | None,
                     title: str) -> None:
        """Record a sighting of a stored (or being stored) article with the next batch."""
        self.sightings.append(SeenEntry(self.source_ids[source_key], identity, url, title))
        self._flush_if_full()

    def finish_source(self, outcome: SourceOutcome) -> None:
        """Store what is pending and then the source's outcome, in one transaction."""
        self.outcomes.append(outcome)
        self.flush()

    def unfinished(self) -> list[str]:
        """Sources of the plan without an outcome yet."""
        queued = {o.source_key for o in self.outcomes}
        return [key for key in self.source_ids if key not in self.finished | queued]

    def _flush_if_full(self) -> None:
        if len(self.articles) + len(self.sightings) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        """Write the pending batch (and outcomes) in one transaction, then announce it."""
        if not (self.articles or self.sightings or self.outcomes):
            return
        articles, sightings, outcomes = self.articles, [*self.waiting, *self.sightings], \
            self.outcomes
        self.articles, self.sightings, self.outcomes = [], [], []
        if self._conn is None:
            self._conn = self.engine.connect()
        conn = self._conn
        announced: list[SourceOutcome] = []
        with storage_errors(f"could not store {len(articles)} articles"), conn.begin():
            result = db_store.store_batch(conn, articles, sightings, self.clock())
            self.waiting = list(result.unresolved)
            for source_id, count in result.new.items():
                self.new[self.keys[source_id]] += count
            for source_id, count in result.seen.items():
                self.seen[self.keys[source_id]] += count
            for outcome in outcomes:
                key = outcome.source_key
                # Sightings still waiting for another source's fetch will be recorded;
                # they count as "seen again" for this source now.
                waiting = sum(1 for s in self.waiting if s.source_id == self.source_ids[key])
                outcome = replace(outcome, new_count=self.new.pop(key, 0),
                                  seen_count=self.seen.pop(key, 0) + waiting)
                db_store.record_outcome(conn, self.source_ids[key], outcome, self.run_id)
                announced.append(outcome)
        new_by_source = Counter({self.keys[k]: v for k, v in result.new.items()})
        for key, count in new_by_source.items():
            self.progress("stored", source=key, new=count)
        for outcome in announced:
            self.finished.add(outcome.source_key)
            self.progress(
                "source", source=outcome.source_key, status=outcome.status,
                new=outcome.new_count, seen=outcome.seen_count, pages=outcome.pages_fetched,
                error=outcome.error, http_status=outcome.http_status,
                ttl_seconds=outcome.ttl_seconds, max_age_seconds=outcome.max_age_seconds,
                retry_after_until=(outcome.retry_after_until.isoformat()
                                   if outcome.retry_after_until else None),
            )

    def close(self, stopped_reason: str | None = None) -> None:
        """Write what is pending; sources left unfinished get an error outcome."""
        now = self.clock()
        for key in self.unfinished():
            self.outcomes.append(SourceOutcome(
                source_key=key, status="error", started_at=self.started_at, finished_at=now,
                error_kind="temporary",
                error="collection stopped before the source was finished "
                      f"({stopped_reason or 'the crawl ended'})"))
        self.flush()  # waiting sightings get their last chance here
        if self._conn is not None:
            self._conn.close()
            self._conn = None
