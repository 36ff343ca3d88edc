"""Dates as news pages and feeds print them, in English and Japanese, into aware times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crawler.dates import date_in_url, find_date_in_text, parse_date

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # ISO 8601
        ("2025-03-23T14:05:00+09:00", utc(2025, 3, 23, 5, 5)),
        ("2025-03-23T05:05:00Z", utc(2025, 3, 23, 5, 5)),
        ("2025-03-23T14:05:00", utc(2025, 3, 23, 5, 5)),
        ("2025-03-23", utc(2025, 3, 22, 15, 0)),
        # RFC 822 / 1123 as in RSS pubDate
        ("Sun, 23 Mar 2025 05:05:00 GMT", utc(2025, 3, 23, 5, 5)),
        ("Tue, 18 Mar 2025 10:00:00 -0400", utc(2025, 3, 18, 14, 0)),
        ("Tue, 18 Mar 2025 10:00:00 EDT", utc(2025, 3, 18, 14, 0)),
        ("Tue, 18 Mar 2025 19:00:00 JST", utc(2025, 3, 18, 10, 0)),
        ("Tue, 18 Mar 2025 10:00:00 +0000", utc(2025, 3, 18, 10, 0)),
        # Japanese, Western years
        ("2025年3月23日", utc(2025, 3, 22, 15, 0)),
        ("2025年3月23日(日) 14時05分", utc(2025, 3, 23, 5, 5)),
        ("2025年3月23日（日）午後2時5分", utc(2025, 3, 23, 5, 5)),
        ("2025年3月23日 14:05", utc(2025, 3, 23, 5, 5)),
        ("2025年3月23日 14:05 更新", utc(2025, 3, 23, 5, 5)),
        ("2025/3/23", utc(2025, 3, 22, 15, 0)),
        ("2025/03/23 09:30", utc(2025, 3, 23, 0, 30)),
        ("2025.3.23", utc(2025, 3, 22, 15, 0)),
        ("２０２５年３月２３日", utc(2025, 3, 22, 15, 0)),
        # Japanese eras
        ("令和7年3月23日", utc(2025, 3, 22, 15, 0)),
        ("令和７年３月２３日", utc(2025, 3, 22, 15, 0)),
        ("令和元年5月1日", utc(2019, 4, 30, 15, 0)),
        ("平成31年4月30日", utc(2019, 4, 29, 15, 0)),
        ("平成2年1月10日", utc(1990, 1, 9, 15, 0)),
        ("R7.3.23", utc(2025, 3, 22, 15, 0)),
        ("H31.4.30", utc(2019, 4, 29, 15, 0)),
        # English prose
        ("18 March 2025", utc(2025, 3, 17, 15, 0)),
        ("March 18, 2025", utc(2025, 3, 17, 15, 0)),
        ("Sept. 5, 2024", utc(2024, 9, 4, 15, 0)),
    ],
)
def test_known_forms_parse_to_the_instant_in_the_configured_zone(
    value: str, expected: datetime
) -> None:
    parsed = parse_date(value, TOKYO, now=NOW)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=9)


def test_a_date_without_time_is_midnight_in_the_configured_zone() -> None:
    geneva = ZoneInfo("Europe/Zurich")
    assert parse_date("18 March 2025", geneva) == utc(2025, 3, 17, 23, 0)
    assert parse_date("2025年3月23日", timezone(timedelta(hours=-5))) == utc(2025, 3, 23, 5, 0)


@pytest.mark.parametrize(
    "value",
    [
        "2025年13月1日",
        "2025/2/30",
        "令和0年5月1日",
        "令和1年4月30日",  # the era began on 1 May 2019
        "平成31年5月1日",  # the era ended on 30 April 2019
        "R0.3.1",
        "2025年3月23日 25時00分",
        "1989年3月1日",
        "1 January 1970",
        "2027年1月1日",  # more than a year after NOW
        "March 2025",
        "18 March",
        "Geneva",
        "",
        "   ",
        "令和七年三月二十三日",
    ],
)
def test_nonsense_and_incomplete_dates_are_rejected(value: str) -> None:
    assert parse_date(value, TOKYO, now=NOW) is None


def test_future_dates_are_allowed_without_now() -> None:
    assert parse_date("2027年1月1日", TOKYO) == utc(2026, 12, 31, 15, 0)


def test_a_date_within_a_year_of_now_is_kept() -> None:
    assert parse_date("2026年5月1日", TOKYO, now=NOW) == utc(2026, 4, 30, 15, 0)


def test_unknown_zone_abbreviation_is_read_in_the_configured_zone() -> None:
    assert parse_date("Tue, 18 Mar 2025 10:00:00 XYZ", TOKYO) == utc(2025, 3, 18, 1, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Geneva, 18 March 2025 – The International Organization for Migration (IOM) "
            "said 3,000 people were affected in 2024.",
            utc(2025, 3, 17, 15, 0),
        ),
        (
            "【東京発】2025年3月23日 国際移住機関（IOM）駐日事務所は本日、"
            "支援の拡充を発表しました。",
            utc(2025, 3, 22, 15, 0),
        ),
        ("令和7年3月23日更新", utc(2025, 3, 22, 15, 0)),
        ("掲載日：２０２５年３月２３日（日）１４時０５分", utc(2025, 3, 23, 5, 5)),
        ("公開日2025-03-23です", utc(2025, 3, 22, 15, 0)),
        ("Posted on March 18th, 2025 by the press office", utc(2025, 3, 17, 15, 0)),
        ("The 2030 agenda; version 2.5.0; report dated 2025.3.23", utc(2025, 3, 22, 15, 0)),
    ],
)
def test_first_plausible_date_is_found_in_running_text(text: str, expected: datetime) -> None:
    assert find_date_in_text(text, TOKYO, now=NOW) == expected


def test_impossible_dates_in_text_are_skipped_for_the_next_one() -> None:
    text = "受付番号 2025/13/40 について。令和7年3月23日に回答しました。"
    assert find_date_in_text(text, TOKYO, now=NOW) == utc(2025, 3, 22, 15, 0)


def test_text_without_a_date_gives_none() -> None:
    text = "IOM staff met 120 families in 2024 and plan 30 more visits; phone 03-1234-5678."
    assert find_date_in_text(text, TOKYO, now=NOW) is None


def test_naive_now_is_taken_as_utc() -> None:
    assert parse_date("2027年1月1日", TOKYO, now=datetime(2025, 6, 1)) is None


@pytest.mark.parametrize("value", ["2018年6月18日", "2018-06-18", "June 18, 2018"])
def test_a_day_is_that_day_in_the_zone_with_its_offset(value: str) -> None:
    parsed = parse_date(value, TOKYO, now=NOW)
    assert parsed is not None
    assert parsed.isoformat() == "2018-06-18T00:00:00+09:00"  # not 2018-06-17T15:00Z


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.example.jp/news/20170309-migrants.html", "2017-03-09T00:00:00+09:00"),
    ("https://example.org/2017/03/09/funding-gap/", "2017-03-09T00:00:00+09:00"),
    ("https://example.org/2017-03-09_report", "2017-03-09T00:00:00+09:00"),
    ("https://example.org/item/20171309-x.html", None),  # month 13
    ("https://example.org/id/1234567890", None),
])
def test_the_date_in_a_url(url: str, expected: str | None) -> None:
    found = date_in_url(url, TOKYO, now=NOW)
    assert (found.isoformat() if found else None) == expected
