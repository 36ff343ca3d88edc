"""The crawl's view of the database: reads and writes for one run, plus progress events.

Progress is written as JSON Lines on a stream (the crawl child's stdout), which the parent
process turns into a progress display; nothing here knows about terminals.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from sqlalchemy.orm import Session, sessionmaker

from config.schema import ScheduleSettings
from crawler.polling import PollState, plan_next_check
from db import store as db_store
from db.store import NewArticle, SourceOutcome, StoreResult


class CrawlStore:
    """Database access for one crawl run, with source keys mapped to ids."""

    def __init__(self, sessions: sessionmaker[Session], source_ids: dict[str, int],
                 run_id: int | None, *, schedule: ScheduleSettings | None = None,
                 fixed_intervals: dict[str, timedelta | None] | None = None,
                 events: IO[str] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.schedule = schedule or ScheduleSettings.model_validate({})
        self.fixed_intervals = fixed_intervals or {}
        self.source_ids = source_ids
        self.run_id = run_id
        self.events = events
        self.clock = clock or (lambda: datetime.now(UTC))
        self._session = sessions()

    def progress(self, event: str, **fields: Any) -> None:
        """Emit one progress event (a JSON line) if a stream was given."""
        if self.events is None:
            return
        self.events.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        self.events.flush()

    def known_identities(self, identities: list[str]) -> set[str]:
        """Which identities are stored already."""
        found = db_store.known_identities(self._session, identities)
        self._session.rollback()  # end the read transaction; don't hold snapshots open
        return found

    def store_article(self, source_key: str, article: NewArticle) -> StoreResult:
        """Store one article and its sighting (committed)."""
        return db_store.store_article(
            self._session, article, self.source_ids[source_key], self.clock()
        )

    def record_sighting(self, source_key: str, identity: str, url: str | None,
                        title: str) -> bool:
        """Record a sighting of a stored article; False if the article is not stored yet."""
        added = db_store.record_sighting(
            self._session, identity, url, title, self.source_ids[source_key], self.clock()
        )
        return added is not None

    def record_outcome(self, source_key: str, outcome: SourceOutcome, *, new_count: int,
                       seen_count: int) -> None:
        """Store a source's outcome and announce it."""
        outcome = replace(outcome, new_count=new_count, seen_count=seen_count)
        source_id = self.source_ids[source_key]
        health = db_store.record_outcome(self._session, source_id, outcome, self.run_id)
        decision = plan_next_check(
            PollState(
                status=outcome.status, new_count=new_count,
                failure_score=health.failure_score,
                consecutive_failures=health.consecutive_failures,
                previous_interval_seconds=health.poll_interval_seconds,
                fixed_interval=self.fixed_intervals.get(source_key),
                ttl_seconds=outcome.ttl_seconds, max_age_seconds=outcome.max_age_seconds,
                retry_after_until=outcome.retry_after_until,
            ),
            self.schedule, self.clock(),
        )
        db_store.set_schedule(self._session, source_id, next_check_at=decision.next_check_at,
                              interval_seconds=decision.interval_seconds, state=decision.state)
        self.progress(
            "source", source=source_key, status=outcome.status, new=new_count, seen=seen_count,
            pages=outcome.pages_fetched, error=outcome.error, http_status=outcome.http_status,
            state=decision.state, next_check_at=decision.next_check_at.isoformat(),
        )

    def close(self) -> None:
        """Release the session."""
        self._session.close()
