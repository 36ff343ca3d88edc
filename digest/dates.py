"""Dates as the readers of each language write them.

``format_date`` gives ``2026年11月23日`` / ``23 Nov 2026``; ``format_period`` a week as
``2026年11月30日〜12月6日`` / ``30 Nov – 6 Dec 2026`` (the year once unless the week
crosses a new year).  The words of the issue are in the shared catalogue
(:mod:`config.i18n`); only the shapes of dates live here.
"""

from __future__ import annotations

from datetime import date, datetime


def format_date(moment: date | datetime, lang: str) -> str:
    """A date as readers of ``lang`` write it (``2026年11月23日`` / ``23 Nov 2026``)."""
    if lang == "ja":
        return f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{moment.day} {moment:%b} {moment.year}"


def format_short_date(moment: date | datetime, lang: str) -> str:
    """A date without the year (``11月23日`` / ``23 Nov``)."""
    if lang == "ja":
        return f"{moment.month}月{moment.day}日"
    return f"{moment.day} {moment:%b}"


def format_period(first: date | datetime, last: date | datetime, lang: str) -> str:
    """The days of a week, first to last, each part written once.

    ``2026年11月30日〜12月6日``, ``2026年11月23日〜29日``, ``2026年12月28日〜2027年1月3日``;
    ``30 Nov – 6 Dec 2026``, ``23–29 Nov 2026``, ``28 Dec 2026 – 3 Jan 2027``.
    """
    same_year = first.year == last.year
    same_month = same_year and first.month == last.month
    if lang == "ja":
        if same_month:
            end = f"{last.day}日"
        else:
            end = format_short_date(last, lang) if same_year else format_date(last, lang)
        return f"{format_date(first, lang)}〜{end}"
    if same_month:
        return f"{first.day}–{format_date(last, lang)}"
    start = format_short_date(first, lang) if same_year else format_date(first, lang)
    return f"{start} – {format_date(last, lang)}"
