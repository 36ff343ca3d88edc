"""One collection pass, read top to bottom: plan → crawl → store → schedule → report.

:func:`collect` is the one entry point for the CLI, the daemon and a queue worker:

1. **plan** — in this process: the configured sources are synced into the database; of
   the chosen ones (or the due ones), those a server asked us to leave alone are
   deferred, those another pass is crawling are skipped (each crawled source is leased,
   see :func:`db.instance.lease_sources`); for the rest the stored state and the
   identities each has shown before are read once;
2. **crawl** — a child process gets the plan on stdin and the database URL in its
   environment (:mod:`crawler.process`), fetches and extracts;
3. **store** — the child writes in batches as it goes (:mod:`crawler.store`);
4. **schedule** — here again, after storage: the next check of every source that
   finished, from its outcome and stored health (:func:`crawler.polling.plan_next_check`);
5. **report** — the fetch log of the run, per source.

A run left "running" by a process that died is closed as crashed when the next pass
starts.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.schema import ScheduleSettings, Settings, SourceConfig
from crawler.plan import CrawlPlan, SourcePlan
from crawler.polling import PollState, plan_next_check
from crawler.process import ChildResult, run_crawl_child
from db import store as db_store
from db.instance import (
    SourceLeases,
    is_dead_here,
    lease_sources,
    release_sources,
    this_process,
)
from db.queries import FetchSummary, run_fetches
from db.store import Schedule, SourceState

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(hours=6)  # a crawl that takes longer is presumed dead elsewhere
ProgressHandler = Callable[[dict[str, Any]], None]


class CollectContext(Protocol):
    """What a pass needs: the configuration and the database."""

    @property
    def db_url(self) -> str: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def sources(self) -> list[SourceConfig]: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def sessions(self) -> sessionmaker[Session]: ...


@dataclass(frozen=True)
class CollectReport:
    """What a collection pass did, per source."""

    run_id: int
    fetches: tuple[FetchSummary, ...]
    deferred: tuple[tuple[str, datetime], ...]  # sources a server asked us to leave alone
    busy: tuple[tuple[str, str], ...]  # sources another pass is crawling, with its holder
    child: ChildResult | None

    @property
    def failed(self) -> list[FetchSummary]:
        """The sources that failed."""
        return [f for f in self.fetches if f.status == "error"]

    @property
    def new_count(self) -> int:
        """New articles stored."""
        return sum(f.new_count for f in self.fetches)


# The one-line messages of crawler.outcomes for a host that cannot be reached at all.
_UNREACHABLE_MARKS = ("not found (DNS)", "refused the connection", "did not answer within")


def is_unreachable(error: str | None) -> bool:
    """Whether a source's error says its host could not be reached (DNS, connection)."""
    return bool(error) and any(mark in (error or "") for mark in _UNREACHABLE_MARKS)


def network_looks_down(fetches: Sequence[FetchSummary]) -> bool:
    """Most of a pass (at least three sources, more than half) failed to reach its host."""
    unreachable = sum(1 for f in fetches if f.status == "error" and is_unreachable(f.error))
    return unreachable >= 3 and unreachable * 2 > len(fetches)


def spec_of(source: SourceConfig) -> db_store.SourceSpec:
    """The database's view of a configured source."""
    return db_store.SourceSpec(
        key=source.key, name=source.name, kind=source.kind, url=source.url,
        language=source.language, weight=source.weight, enabled=source.enabled,
        timezone=source.timezone, outlet=source.outlet,
    )


@dataclass(frozen=True)
class _Planned:
    run_id: int
    chosen: list[SourceConfig]
    states: dict[str, SourceState]
    deferred: tuple[tuple[str, datetime], ...]


def collect(
    context: CollectContext,
    sources: Sequence[SourceConfig] | None = None,
    *,
    now: datetime | None = None,
    only_due: bool = False,
    on_event: ProgressHandler | None = None,
    on_child_start: Callable[[subprocess.Popen[str]], None] | None = None,
    log_level: str = "ERROR",
    workers: int | None = None,
) -> CollectReport:
    """One collection pass over ``sources`` (default: the enabled ones; with
    ``only_due``, those of them whose next check has come)."""
    now = now or datetime.now(UTC)
    started = time.monotonic()
    holder = this_process()
    planned = _plan(context, sources, now, holder, only_due=only_due)
    crawl_keys = [s.key for s in planned.chosen
                  if s.key not in {key for key, _ in planned.deferred}]
    outcomes: dict[str, dict[str, Any]] = {}
    child: ChildResult | None = None
    status = "crashed"
    leases = SourceLeases((), {})
    try:
        leases = lease_sources(context.engine, crawl_keys, now, ttl=LEASE_TTL, holder=holder,
                               run_id=planned.run_id)
        for key, other in leases.busy.items():
            log.warning("source=%s status=skipped another collection (%s) is crawling it",
                        key, other)
        plan = _crawl_plan(context, planned, leases.taken)
        if plan.sources:
            def relay(event: dict[str, Any]) -> None:
                if event.get("event") == "source":
                    outcomes[str(event.get("source"))] = event
                if on_event is not None:
                    on_event(event)

            child = run_crawl_child(plan, context.db_url, on_event=relay,
                                    on_start=on_child_start, log_level=log_level,
                                    workers=workers)
        status = "ok"
    except BaseException:
        status = "stopped"
        raise
    finally:
        # What was stored is scheduled even when the crawl was interrupted.
        finished_at = now + timedelta(seconds=time.monotonic() - started)
        with context.sessions() as session:
            schedule_next_checks(session, planned.chosen, planned.states, outcomes,
                                 context.settings.schedule, finished_at)
        release_sources(context.engine, leases.taken, holder=holder, run_id=planned.run_id)
        if status != "ok":
            _finish(context, planned.run_id, status, finished_at)
    return _report(context, planned, leases.busy, child)


def _plan(context: CollectContext, sources: Sequence[SourceConfig] | None, now: datetime,
          holder: str, *, only_due: bool) -> _Planned:
    configured = context.sources
    chosen = [s for s in configured if s.enabled] if sources is None else list(sources)
    with context.sessions() as session:
        crashed = db_store.close_abandoned_runs(session, "collect", now, is_dead_here)
        if crashed:
            log.warning("collect runs %s were left running by a process that died; "
                        "closed as crashed", ", ".join(map(str, crashed)))
        db_store.sync_sources(session, [spec_of(s) for s in configured], now)
        session.commit()
        if only_due:
            due = set(db_store.due_source_keys(session, [s.key for s in chosen], now))
            chosen = [s for s in chosen if s.key in due]
        states = db_store.source_states(session, [s.key for s in chosen])
        deferred = tuple(
            (s.key, state.retry_after_until)
            for s in chosen
            if (state := states[s.key]).retry_after_until and state.retry_after_until > now
        )
        run_id = db_store.start_run(session, "collect", now, holder)
    return _Planned(run_id, chosen, states, deferred)


def _crawl_plan(context: CollectContext, planned: _Planned, keys: Sequence[str]) -> CrawlPlan:
    wanted = set(keys)
    chosen = [s for s in planned.chosen if s.key in wanted]
    with context.sessions() as session:
        known = db_store.known_identities_by_source(
            session, [planned.states[s.key].id for s in chosen])
    return CrawlPlan(
        run_id=planned.run_id, settings=context.settings,
        sources=tuple(SourcePlan(s, planned.states[s.key],
                                 frozenset(known[planned.states[s.key].id]))
                      for s in chosen),
    )


def schedule_next_checks(session: Session, chosen: Sequence[SourceConfig],
                         states: dict[str, SourceState], outcomes: dict[str, dict[str, Any]],
                         schedule: ScheduleSettings, now: datetime) -> None:
    """Decide and store the next check of every source whose pass ended."""
    finished = [s for s in chosen if s.key in outcomes]
    health = db_store.health_of(session, [states[s.key].id for s in finished])
    decisions = []
    for source in finished:
        event = outcomes[source.key]
        source_id = states[source.key].id
        stored = health[source_id]
        retry = event.get("retry_after_until")
        decision = plan_next_check(
            PollState(
                status=str(event.get("status")), new_count=int(event.get("new") or 0),
                failure_score=stored.failure_score,
                consecutive_failures=stored.consecutive_failures,
                previous_interval_seconds=stored.poll_interval_seconds,
                fixed_interval=source.interval,
                ttl_seconds=event.get("ttl_seconds"),
                max_age_seconds=event.get("max_age_seconds"),
                retry_after_until=datetime.fromisoformat(retry) if retry else None,
            ),
            schedule, now,
        )
        decisions.append(Schedule(source_id, decision.next_check_at, decision.interval_seconds,
                                  decision.state))
    db_store.set_schedules(session, decisions)


def _finish(context: CollectContext, run_id: int, status: str, now: datetime,
            detail: str = "") -> None:
    with context.sessions() as session:
        db_store.finish_run(session, run_id, status, now, detail=detail)


def _report(context: CollectContext, planned: _Planned, busy: dict[str, str],
            child: ChildResult | None) -> CollectReport:
    with context.sessions() as session:
        fetches = tuple(run_fetches(session, planned.run_id))
    status = "ok" if all(f.status != "error" for f in fetches) else "partial"
    if child is not None and child.returncode != 0:
        status = "crashed"
        last_line = (child.stderr_tail.strip().splitlines() or ["(no output)"])[-1]
        log.error("collect status=error crawl child exited with %s: %s", child.returncode,
                  last_line)
    _finish(context, planned.run_id, status, datetime.now(UTC),
            detail=f"{sum(f.new_count for f in fetches)} new")
    offline = network_looks_down(fetches)
    if offline:
        log.warning("collect status=offline the network looks unreachable: %d of %d sources "
                    "could not reach their host", sum(is_unreachable(f.error) for f in fetches),
                    len(fetches))
    for fetch in fetches:
        # A source that failed (a 404, a refused connection) is a warning: the run went on;
        # when the network is down, the line above said it once for all of them.
        failed = fetch.status == "error" and not (offline and is_unreachable(fetch.error))
        log.log(logging.WARNING if failed else logging.INFO,
                "source=%s status=%s new=%d seen=%d pages=%d%s", fetch.source_key,
                fetch.status, fetch.new_count, fetch.seen_count, fetch.pages_fetched,
                f" error={fetch.error!r}" if fetch.error else "")
    return CollectReport(run_id=planned.run_id, fetches=fetches, deferred=planned.deferred,
                         busy=tuple(busy.items()), child=child)
