"""The polling decider: adaptive intervals, server hints, backoff, pause and probe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config.schema import ScheduleSettings
from crawler.polling import PollState, plan_next_check

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SCHEDULE = ScheduleSettings.model_validate({"min_interval": "15m", "max_interval": "24h",
                                            "pause_after_failures": 3, "probe_interval": "1d"})


def state(**changes: object) -> PollState:
    base: dict[str, object] = {"status": "ok", "new_count": 0, "failure_score": 0.0,
                               "consecutive_failures": 0, "previous_interval_seconds": 3600.0,
                               "fixed_interval": None}
    base.update(changes)
    return PollState(**base)  # type: ignore[arg-type]


def test_a_busy_source_is_polled_more_often_and_a_quiet_one_less() -> None:
    busy = plan_next_check(state(new_count=5), SCHEDULE, NOW)
    quiet = plan_next_check(state(status="not_modified"), SCHEDULE, NOW)
    assert busy.interval_seconds == 1800 and quiet.interval_seconds == 5400
    assert busy.next_check_at == NOW + timedelta(seconds=1800)


def test_intervals_stay_within_the_configured_bounds() -> None:
    assert plan_next_check(state(new_count=1, previous_interval_seconds=1000.0), SCHEDULE,
                           NOW).interval_seconds == 900
    assert plan_next_check(state(previous_interval_seconds=80000.0), SCHEDULE,
                           NOW).interval_seconds == 86400


def test_server_hints_win_over_a_shorter_guess() -> None:
    ttl = plan_next_check(state(new_count=3, ttl_seconds=7200.0), SCHEDULE, NOW)
    max_age = plan_next_check(state(new_count=3, max_age_seconds=10800.0), SCHEDULE, NOW)
    assert ttl.interval_seconds == 7200 and max_age.interval_seconds == 10800
    later = NOW + timedelta(hours=5)
    assert plan_next_check(state(retry_after_until=later), SCHEDULE, NOW).next_check_at == later


def test_a_fixed_interval_turns_adaptation_off() -> None:
    fixed = state(new_count=9, fixed_interval=timedelta(minutes=30))
    assert plan_next_check(fixed, SCHEDULE, NOW).interval_seconds == 1800


def test_failures_back_off_then_pause_and_probe_daily() -> None:
    first = plan_next_check(state(status="error", failure_score=1.0, consecutive_failures=1),
                            SCHEDULE, NOW)
    second = plan_next_check(state(status="error", failure_score=2.0, consecutive_failures=2),
                             SCHEDULE, NOW)
    assert (first.state, first.next_check_at) == ("active", NOW + timedelta(minutes=15))
    assert second.next_check_at == NOW + timedelta(minutes=30)
    paused = plan_next_check(state(status="error", failure_score=3.0, consecutive_failures=3),
                             SCHEDULE, NOW)
    assert (paused.state, paused.next_check_at) == ("paused", NOW + timedelta(days=1))
    recovered = plan_next_check(state(status="ok", new_count=1), SCHEDULE, NOW)
    assert recovered.state == "active"


def test_temporary_failures_weigh_less_than_hard_ones() -> None:
    # four temporary failures (0.25 each) are one hard failure: no pause yet
    decision = plan_next_check(state(status="error", failure_score=1.0, consecutive_failures=4),
                               SCHEDULE, NOW)
    assert decision.state == "active"
