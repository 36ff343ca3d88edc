"""Job runs that chain the stages: collect (and then tag), the same for CLI and scheduler.

The orchestrator reads like the pipeline: choose sources → sync them into the database →
crawl in a child process → summarise from the fetch log.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from config.errors import ConfigError, did_you_mean
from config.schema import SourceConfig
from crawler.process import ChildResult, run_crawl_child
from db import store as db_store
from db.queries import FetchSummary, run_fetches
from digest.tagging.loader import load_theme_set
from digest.tagging.store import TagRunSummary, tag_stored_articles
from migwatch.context import AppContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CollectSummary:
    """What a collection pass did, per source."""

    run_id: int
    fetches: tuple[FetchSummary, ...]
    deferred: tuple[tuple[str, datetime], ...]  # sources a server asked us to leave alone
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


def select_sources(all_sources: Sequence[SourceConfig], keys: Sequence[str]) -> list[SourceConfig]:
    """Enabled sources, or exactly the named ones (enabled or not)."""
    if not keys:
        return [s for s in all_sources if s.enabled]
    by_key = {s.key: s for s in all_sources}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        hints = "".join(did_you_mean(k, by_key) for k in unknown)
        raise ConfigError(
            f"unknown source key(s): {', '.join(unknown)}"
            + (hints or "; see `migwatch sources list`")
        )
    return [by_key[k] for k in dict.fromkeys(keys)]


def spec_of(source: SourceConfig) -> db_store.SourceSpec:
    """The database's view of a configured source."""
    return db_store.SourceSpec(
        key=source.key, name=source.name, kind=source.kind, url=source.url,
        language=source.language, weight=source.weight, enabled=source.enabled,
    )


def collect(
    app: AppContext,
    keys: Sequence[str] = (),
    *,
    now: datetime | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    on_child_start: Callable[[subprocess.Popen[str]], None] | None = None,
    log_level: str = "ERROR",
) -> CollectSummary:
    """One collection pass over the chosen sources."""
    now = now or datetime.now(UTC)
    configured = app.sources
    chosen = select_sources(configured, keys)
    sessions = app.sessions
    with sessions() as session:
        db_store.sync_sources(session, [spec_of(s) for s in configured], now)
        session.commit()
        states = db_store.source_states(session, [s.key for s in chosen])
        deferred = tuple(
            (s.key, state.retry_after_until)
            for s in chosen
            if (state := states[s.key]).retry_after_until and state.retry_after_until > now
        )
        deferred_keys = {key for key, _ in deferred}
        crawl_keys = [s.key for s in chosen if s.key not in deferred_keys]
        run_id = db_store.start_run(session, "collect", now)
    child = None
    if crawl_keys:
        child = run_crawl_child(app.config_path, app.db_url, run_id, crawl_keys,
                                on_event=on_event, on_start=on_child_start,
                                log_level=log_level)
    with sessions() as session:
        fetches = tuple(run_fetches(session, run_id))
        status = "ok" if all(f.status != "error" for f in fetches) else "partial"
        if child is not None and child.returncode != 0:
            status = "crashed"
        db_store.finish_run(session, run_id, status, datetime.now(UTC),
                            detail=f"{sum(f.new_count for f in fetches)} new")
    if child is not None and child.returncode != 0:
        last_line = (child.stderr_tail.strip().splitlines() or ["(no output)"])[-1]
        log.error("collect status=error crawl child exited with %s: %s", child.returncode,
                  last_line)
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
    return CollectSummary(run_id=run_id, fetches=fetches, deferred=deferred, child=child)


def tag(app: AppContext, *, retag_all: bool = False) -> TagRunSummary:
    """Tag stored articles not yet tagged with the current themes (or all of them)."""
    theme_set = load_theme_set(app.config_path).theme_set
    return tag_stored_articles(app.sessions, theme_set, retag_all=retag_all)
