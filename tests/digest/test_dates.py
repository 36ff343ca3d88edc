"""Weeks and dates written as readers of each language write them."""

from __future__ import annotations

from datetime import date

import pytest

from digest.dates import format_date, format_period


@pytest.mark.parametrize(("first", "last", "ja", "en"), [
    (date(2026, 11, 30), date(2026, 12, 6), "2026年11月30日〜12月6日", "30 Nov – 6 Dec 2026"),
    (date(2026, 11, 23), date(2026, 11, 29), "2026年11月23日〜29日", "23–29 Nov 2026"),
    (date(2026, 12, 28), date(2027, 1, 3), "2026年12月28日〜2027年1月3日",
     "28 Dec 2026 – 3 Jan 2027"),
])
def test_a_week_is_written_with_each_part_once(first: date, last: date, ja: str,
                                               en: str) -> None:
    assert format_period(first, last, "ja") == ja
    assert format_period(first, last, "en") == en


def test_a_date_reads_naturally_in_both_languages() -> None:
    assert format_date(date(2026, 11, 3), "ja") == "2026年11月3日"
    assert format_date(date(2026, 11, 3), "en") == "3 Nov 2026"
