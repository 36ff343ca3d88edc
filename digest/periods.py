"""Digest periods: an issue is one ISO week (Monday 00:00 to Monday 00:00) in the
configured time zone.

Weeks are written ``2026-W48`` (ISO 8601 week date, the year being the ISO year).
Bounds come back as aware UTC datetimes; the database stores naive UTC, so ``db/``
strips the zone at the seam.  Nothing here reads the clock: ``now`` is always given.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from config.errors import ConfigError
from db.times import as_utc

_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


def parse_week(text: str) -> str:
    """Normalise ``2026-W48`` (also ``2026w48``) or raise ConfigError naming the problem."""
    match = _WEEK.match(text)
    if not match:
        raise ConfigError(f"--week {text!r} is not an ISO week; write it like 2026-W48")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ConfigError(f"--week {text!r}: {year} has no ISO week {week}") from exc
    return f"{year:04d}-W{week:02d}"


def week_of(moment: datetime, tz: tzinfo) -> str:
    """The ISO week (in ``tz``) that contains the aware datetime ``moment``."""
    local = as_utc(moment).astimezone(tz)
    iso = local.isocalendar()
    return f"{iso.year:04d}-W{iso.week:02d}"


def iso_week_bounds(week: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """Start and end (exclusive) of ``week`` in ``tz``, as aware UTC datetimes."""
    normal = parse_week(week)
    year, number = int(normal[:4]), int(normal[6:])
    monday = date.fromisocalendar(year, number, 1)
    start = datetime.combine(monday, time(0), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def current_week(now: datetime, tz: tzinfo) -> str:
    """The week in progress at ``now``."""
    return week_of(now, tz)


def last_complete_week(now: datetime, tz: tzinfo) -> str:
    """The most recent week that ended at or before ``now``."""
    return previous_week(current_week(now, tz), tz)


def previous_week(week: str, tz: tzinfo) -> str:
    """The week before ``week``."""
    start, _ = iso_week_bounds(week, tz)
    return week_of(start - timedelta(seconds=1), tz)


def is_week_complete(week: str, now: datetime, tz: tzinfo) -> bool:
    """Whether ``week`` has ended at ``now``."""
    _, end = iso_week_bounds(week, tz)
    return end <= as_utc(now)
