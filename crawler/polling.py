"""When to look at a source again: adaptive polling, backoff and the pause lifecycle.

A pure decider handed ``now`` (no clock, no database).  A source that keeps bringing new
articles is polled more often, a quiet one less often, always within
``[min_interval, max_interval]``; what the server says wins over our guess: ``<ttl>``
(RSS 2.0), ``Cache-Control: max-age`` (RFC 9111 §5.2.2.1) and ``Retry-After``
(RFC 9110 §10.2.3).  A failing source backs off exponentially; once its weighted failures
reach ``pause_after_failures`` it is paused and only probed once per ``probe_interval``,
and the first success makes it active again.  A source with its own ``interval`` in
sources.yaml keeps that interval (no adaptation), but still honours the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from config.schema import ScheduleSettings

BUSY_FACTOR = 0.5
QUIET_FACTOR = 1.5
START_MULTIPLE = 4  # a new source starts at 4 x min_interval (1 h with the defaults)


@dataclass(frozen=True)
class PollState:
    """What the decider needs to know of a source after a pass."""

    status: str  # ok | not_modified | unchanged | error
    new_count: int
    failure_score: float  # after this pass
    consecutive_failures: int  # after this pass
    previous_interval_seconds: float | None
    fixed_interval: timedelta | None
    ttl_seconds: float | None = None
    max_age_seconds: float | None = None
    retry_after_until: datetime | None = None


@dataclass(frozen=True)
class NextCheck:
    """The decision: when, at which interval, and in which state."""

    next_check_at: datetime
    interval_seconds: float
    state: str  # active | paused


def plan_next_check(state: PollState, schedule: ScheduleSettings, now: datetime) -> NextCheck:
    """Decide the next check of a source from the outcome of its last pass."""
    low = schedule.min_interval.total_seconds()
    high = schedule.max_interval.total_seconds()
    previous = state.previous_interval_seconds or low * START_MULTIPLE
    if state.status == "error":
        if state.failure_score >= schedule.pause_after_failures:
            wait = schedule.probe_interval.total_seconds()
            return _honour_retry_after(
                NextCheck(now + timedelta(seconds=wait), previous, "paused"), state)
        backoff = min(high, low * 2 ** max(0, state.consecutive_failures - 1))
        if state.fixed_interval is not None:
            backoff = max(backoff, state.fixed_interval.total_seconds())
        return _honour_retry_after(
            NextCheck(now + timedelta(seconds=backoff), previous, "active"), state)
    if state.fixed_interval is not None:
        interval = state.fixed_interval.total_seconds()
    else:
        factor = BUSY_FACTOR if state.new_count > 0 else QUIET_FACTOR
        interval = min(high, max(low, previous * factor))
    hints = [h for h in (state.ttl_seconds, state.max_age_seconds) if h]
    if hints:
        interval = max(interval, min(high, max(hints)))
    return _honour_retry_after(NextCheck(now + timedelta(seconds=interval), interval, "active"),
                               state)


def _honour_retry_after(decision: NextCheck, state: PollState) -> NextCheck:
    until = state.retry_after_until
    if until is not None and until > decision.next_check_at:
        return NextCheck(until, decision.interval_seconds, decision.state)
    return decision
