"""Read the dates that news pages and feeds print, in English and in Japanese.

Contract: :func:`parse_date` takes one date string and returns an aware datetime in the
zone ``tz`` (the configured one), or None; it never raises on bad input and never reads
the clock.  A date without a time is midnight of that day in ``tz`` and is shown so
(``2018-06-18T00:00:00+09:00``), never as the UTC instant that reads as the day before;
a time without a zone is in ``tz``; storage converts to UTC.  Dates before
1990, impossible dates (month 13, 令和0年, a 平成 date after the era ended) and, when
``now`` is given, dates more than a year ahead of it are rejected as nonsense.
:func:`find_date_in_text` finds the first such date in running text (a body dateline).

ISO 8601 goes to :meth:`datetime.fromisoformat`, RFC 822/1123 and English prose dates to
dateutil.  The Japanese forms (``2025年3月23日(日) 14時05分``, ``令和7年3月23日``,
``R7.3.23``) are written here because neither dateutil nor htmldate knows 年/月/日 or
the imperial eras.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from urllib.parse import urlsplit

from dateutil import parser as dateutil_parser

EARLIEST_YEAR = 1990
MAX_AHEAD = timedelta(days=365)

# (first day, last day or None, offset from era year to Gregorian year)
_ERAS: dict[str, tuple[date, date | None, int]] = {
    "令和": (date(2019, 5, 1), None, 2018),
    "平成": (date(1989, 1, 8), date(2019, 4, 30), 1988),
    "昭和": (date(1926, 12, 25), date(1989, 1, 7), 1925),
}
_ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和"}

# Zone abbreviations dateutil does not know by itself: the RFC 822 §5.1 North American
# zones plus those common on Asian and European news sites.  Ambiguous ones (IST, CST as
# China time) are left out; an unknown zone is treated as ``tz``.
_ZONE_HOURS = {
    "UT": 0.0, "UTC": 0.0, "GMT": 0.0, "Z": 0.0,
    "EST": -5.0, "EDT": -4.0, "CST": -6.0, "CDT": -5.0,
    "MST": -7.0, "MDT": -6.0, "PST": -8.0, "PDT": -7.0,
    "JST": 9.0, "KST": 9.0, "HKT": 8.0, "SGT": 8.0, "AEST": 10.0, "AEDT": 11.0,
    "CET": 1.0, "CEST": 2.0, "BST": 1.0, "EET": 2.0, "EEST": 3.0,
}

_TIME = (
    r"(?:\s*(?P<ampm>午前|午後)?\s*(?P<hour>\d{1,2})\s*"
    r"(?:時\s*(?:(?P<minute>\d{1,2})\s*分(?:\s*(?P<second>\d{1,2})\s*秒)?)?"
    r"|:(?P<minute2>\d{2})(?::(?P<second2>\d{2}))?)"
    r"(?:\s*\(?(?P<zone>JST|UTC|GMT)\)?|\s*(?P<offset>[+-]\d{2}:?\d{2}))?)?"
)
_WEEKDAY = r"(?:\s*\([月火水木金土日](?:・祝)?\))?"
_ERA_DATE = re.compile(
    r"(?P<era>令和|平成|昭和)\s*(?P<eyear>元|\d{1,2})\s*年\s*(?P<month>\d{1,2})\s*月"
    r"\s*(?P<day>\d{1,2})\s*日" + _WEEKDAY + _TIME
)
_ERA_SHORT = re.compile(
    r"(?<![A-Za-z0-9])(?P<era>[RHS])\.?\s?(?P<eyear>\d{1,2})(?P<sep>[./-])(?P<month>\d{1,2})"
    r"(?P=sep)(?P<day>\d{1,2})(?![0-9])"
)
_KANJI_DATE = re.compile(
    r"(?P<year>\d{4})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日" + _WEEKDAY + _TIME
)
_NUMERIC_DATE = re.compile(
    r"(?<![0-9.])(?P<year>\d{4})(?P<sep>[/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"(?![0-9])" + _WEEKDAY + _TIME
)
_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}")

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
# Candidates for free text; dateutil's own fuzzy mode would merge unrelated numbers
# ("18 March 2025 – 3,000 people"), so the span is cut out first and parsed alone.
_NOT_AFTER_WORD = r"(?<![0-9A-Za-z])"
_TEXT_CANDIDATES = re.compile(
    "|".join(
        [
            _ERA_DATE.pattern,
            _ERA_SHORT.pattern.replace("(?P<", "(?P<s_").replace("(?P=sep)", "(?P=s_sep)"),
            _KANJI_DATE.pattern.replace("(?P<", "(?P<k_"),
            _NOT_AFTER_WORD
            + r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
            + r"(?:Z|[+-]\d{2}:?\d{2})?)?(?![0-9])",
            _NUMERIC_DATE.pattern.replace("(?P<", "(?P<n_").replace("(?P=sep)", "(?P=n_sep)"),
            _NOT_AFTER_WORD + rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?i:{_MONTH}),?\s+\d{{4}}(?![0-9])",
            _NOT_AFTER_WORD + rf"(?i:{_MONTH})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}(?![0-9])",
        ]
    )
)


def _named_zone(name: str | None) -> tzinfo | None:
    hours = _ZONE_HOURS.get(name.upper()) if name else None
    return None if hours is None else timezone(timedelta(hours=hours))


def _zone_of(match: re.Match[str]) -> tzinfo | None:
    groups = match.groupdict()
    if groups.get("zone"):
        return _named_zone(groups["zone"])
    offset = groups.get("offset")
    if offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return None


def _time_of(match: re.Match[str]) -> time | None:
    groups = match.groupdict()
    if groups.get("hour") is None:
        return time(0, 0)
    hour = int(groups["hour"])
    if groups.get("ampm") == "午後" and hour < 12:
        hour += 12
    elif groups.get("ampm") == "午前" and hour == 12:
        hour = 0
    minute = int(groups.get("minute") or groups.get("minute2") or 0)
    second = int(groups.get("second") or groups.get("second2") or 0)
    try:
        return time(hour, minute, second)
    except ValueError:
        return None


def _era_year(era: str, era_year: str) -> int | None:
    number = 1 if era_year == "元" else int(era_year)
    if number < 1:
        return None
    return _ERAS[era][2] + number


def _japanese(value: str) -> datetime | bool | None:
    """A datetime (naive or aware), None for a Japanese form that is nonsense, False if none."""
    match = _ERA_DATE.match(value) or _ERA_SHORT.match(value)
    era = match.group("era") if match else None
    if match is None:
        match = _KANJI_DATE.match(value) or _NUMERIC_DATE.match(value)
    if match is None or value[match.end() :].lstrip()[:1].isdigit():
        return False
    if era is not None:
        era = _ERA_LETTERS.get(era.upper(), era)
        year = _era_year(era, match.group("eyear"))
    else:
        year = int(match.group("year"))
    clock = _time_of(match)
    if year is None or clock is None:
        return None
    try:
        day = date(year, int(match.group("month")), int(match.group("day")))
    except ValueError:
        return None
    if era is not None:
        first, last, _ = _ERAS[era]
        if day < first or (last is not None and day > last):
            return None
    return datetime.combine(day, clock, tzinfo=_zone_of(match))


def _dateutil_zone(name: str | None, offset: int | None) -> tzinfo | None:
    if offset is not None:
        return timezone(timedelta(seconds=offset))
    return _named_zone(name)  # None if unknown or absent: the caller's zone applies


def _western(value: str) -> datetime | None:
    # Parse twice with different defaults: a field that differs was missing from the
    # string, and "March 2025" or "18 March" is not a date we can stand behind.
    results = []
    for default in (datetime(1, 1, 1), datetime(2, 2, 2)):
        try:
            results.append(dateutil_parser.parse(value, default=default, tzinfos=_dateutil_zone))
        except (ValueError, OverflowError):
            return None
    first, second = results
    if first.date() != second.date():
        return None
    return first


def parse_date(value: str, tz: tzinfo, *, now: datetime | None = None) -> datetime | None:
    """Parse one date string into an aware datetime in ``tz``, or None if it is not a sane
    date."""
    text = unicodedata.normalize("NFKC", value).strip()
    if not text or len(text) > 200:
        return None
    parsed: datetime | None = None
    if _ISO_START.match(text):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
    if parsed is None:
        japanese = _japanese(text)
        if japanese is None:
            return None
        parsed = japanese if isinstance(japanese, datetime) else _western(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        result = parsed.astimezone(tz)
        result.astimezone(UTC)  # representable in UTC too
    except (OverflowError, ValueError):
        return None
    if result.year < EARLIEST_YEAR:
        return None
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)  # a naive "now" is taken as UTC, like stored times
    if now is not None and result > now + MAX_AHEAD:
        return None
    return result


def find_date_in_text(text: str, tz: tzinfo, *, now: datetime | None = None) -> datetime | None:
    """Return the first plausible date written in free text, as an aware datetime in ``tz``."""
    normalized = unicodedata.normalize("NFKC", text)
    for match in _TEXT_CANDIDATES.finditer(normalized):
        found = parse_date(match.group(0), tz, now=now)
        if found is not None:
            return found
    return None


_URL_DATE = re.compile(
    r"/(?P<year>(?:19|20)\d{2})(?P<sep>[/_-]?)(?P<month>0[1-9]|1[0-2])(?P=sep)"
    r"(?P<day>0[1-9]|[12]\d|3[01])(?=[/_.-]|$)"
)


def date_in_url(url: str, tz: tzinfo, *, now: datetime | None = None) -> datetime | None:
    """The date a URL path spells (``/2017/03/09/…``, ``/20170309-…``), midnight in ``tz``."""
    path = urlsplit(url).path
    for match in _URL_DATE.finditer(path):
        try:
            day = date(int(match["year"]), int(match["month"]), int(match["day"]))
        except ValueError:
            continue
        return parse_date(day.isoformat(), tz, now=now)
    return None
