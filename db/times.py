"""Times in the database: naive UTC on both dialects, aware UTC everywhere else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def utc_naive(moment: datetime) -> datetime: ...
@overload
def utc_naive(moment: None) -> None: ...
def utc_naive(moment: datetime | None) -> datetime | None:
    """A time as stored: naive UTC (an aware time is converted, a naive one taken as UTC)."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time read back as an aware UTC datetime."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
