"""ISO weeks in the configured time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from config.errors import ConfigError
from digest.periods import (
    current_week,
    is_week_complete,
    iso_week_bounds,
    last_complete_week,
    parse_week,
    previous_week,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")


def test_week_bounds_are_monday_midnight_in_the_configured_zone() -> None:
    start, end = iso_week_bounds("2026-W48", TOKYO)
    assert start == datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


def test_week_bounds_follow_daylight_saving_changes() -> None:
    # the week of 2026-03-08 starts in EST and ends in EDT: 167 hours long
    start, end = iso_week_bounds("2026-W10", NEW_YORK)
    assert start == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)


def test_last_complete_week_on_monday_morning_in_tokyo_is_the_week_just_ended() -> None:
    monday_morning = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
    assert last_complete_week(monday_morning, TOKYO) == "2026-W48"
    assert current_week(monday_morning, TOKYO) == "2026-W49"


def test_sunday_evening_utc_is_already_monday_in_tokyo() -> None:
    sunday_utc = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)
    assert current_week(sunday_utc, TOKYO) == "2026-W49"
    assert current_week(sunday_utc, NEW_YORK) == "2026-W48"


def test_iso_years_differ_from_calendar_years_at_new_year() -> None:
    assert current_week(datetime(2027, 1, 1, 3, 0, tzinfo=UTC), TOKYO) == "2026-W53"
    assert previous_week("2027-W01", TOKYO) == "2026-W53"
    assert last_complete_week(datetime(2026, 1, 5, 1, 0, tzinfo=UTC), TOKYO) == "2026-W01"


def test_week_completeness_depends_on_now() -> None:
    assert is_week_complete("2026-W48", datetime(2026, 11, 29, 15, 0, tzinfo=UTC), TOKYO)
    assert not is_week_complete("2026-W48", datetime(2026, 11, 29, 14, 59, tzinfo=UTC), TOKYO)


@pytest.mark.parametrize("text", ["2026-W48", "2026w48", " 2026-w48 ", "2026W48"])
def test_parse_week_normalises_spellings(text: str) -> None:
    assert parse_week(text) == "2026-W48"


@pytest.mark.parametrize("text", ["2026-48", "last week", "2025-W53", "2026-W00", ""])
def test_parse_week_rejects_what_is_not_an_iso_week(text: str) -> None:
    with pytest.raises(ConfigError, match="--week"):
        parse_week(text)
