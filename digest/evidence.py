"""Event evidence that survives translation: figures, dates and named entities.

Contract: ``Gazetteer.evidence(text)`` returns the set of features of one article's title
and summary, each a ``(kind, value)`` pair: ``fig`` (a number, ``250``, ``3.4e+09``),
``pct`` (a share: ``20%``, ``2割``, "a fifth" are all ``20``), ``date`` (month and day,
``11-25`` from ``11月25日``, "Nov. 25", "25 November"), and the entity kinds of the
gazetteer (``org``, ``place``, ``person``, ``country``, ``term``) valued by entity id.
Pure: no clock, no database, no network.

Numbers are read after NFKC folding (full-width digits become ASCII), with the Japanese
units (万, 億, 兆, 割) and the English ones (thousand, million, billion, bn) applied, so
``395万`` and ``3.95 million`` are the same figure, and ``34億ドル`` and ``$3.4bn`` too.
Kanji numerals (``二百五十人``) are read when they are at least two characters long or
carry a unit.  Years (1900–2100) and numbers below 10 say nothing about an event and are
left out.

The gazetteer is the shipped ``gazetteer.tsv`` (organisations, places, people of this
field in both languages), the CLDR country names in Japanese and English (Babel), and
the aliases of the theme terms of ``themes.yaml``.  Names written in capitals (IOM, ISA)
match with their case, others in any case; a Latin name matches only as whole words; a
longer name wins over a shorter one inside it (UNHCR over UN, 国連難民高等弁務官事務所 over
国連).  One Aho-Corasick pass (pyahocorasick) per case finds them all.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import ahocorasick  # type: ignore[import-not-found]
from babel import Locale

GAZETTEER_FILE = Path(__file__).with_name("gazetteer.tsv")

Feature = tuple[str, str]

_MONTHS = {
    name: number
    for number, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    (re.compile(r"(\d{1,2})月(\d{1,2})日"), 1, 2),
    (re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.I), 1, 2),
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\b", re.I), 2, 1),
    (re.compile(r"\b20\d\d-(\d{1,2})-(\d{1,2})\b"), 1, 2),
)
_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_PERCENT = re.compile(rf"({_NUMBER})\s*(?:%|percent\b|per cent\b|パーセント)", re.I)
_WARI = re.compile(r"([1-9])割")
_FRACTIONS = (
    (re.compile(r"\b(?:a|one)[- ]fifth\b", re.I), "20"),
    (re.compile(r"\b(?:a|one)[- ]quarter\b", re.I), "25"),
    (re.compile(r"\b(?:a|one)[- ]third\b", re.I), "33"),
    (re.compile(r"\btwo[- ]thirds\b", re.I), "67"),
    (re.compile(r"5分の1"), "20"),
    (re.compile(r"4分の1"), "25"),
    (re.compile(r"3分の1"), "33"),
    (re.compile(r"半数"), "50"),
)
_EN_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6,
             "billion": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12}
_EN_SCALED = re.compile(
    rf"({_NUMBER})\s*(thousand|million|billion|trillion|bn|mn|tn|k|m|b)\b", re.I
)
_JA_UNIT = {"千": 1e3, "万": 1e4, "億": 1e8, "兆": 1e12}
_JA_SCALED = re.compile(rf"(?:{_NUMBER}[兆億万千])+(?:\d[\d,]*)?")
_JA_PART = re.compile(rf"({_NUMBER})([兆億万千]?)")
_PLAIN = re.compile(rf"(?<![\d.]){_NUMBER}")
_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                 "八": 8, "九": 9}
_KANJI_SMALL = {"十": 10, "百": 100, "千": 1000}
_KANJI = "〇一二三四五六七八九十百千"
_KANJI_NUMBER = re.compile(rf"[{_KANJI}]+[万億兆]?(?:[{_KANJI}]+[万億]?)*")
_LATIN = re.compile(r"[0-9a-z]", re.I)
_DIGIT = re.compile(r"\d")
_WEEKDAYS = {name: number for number, names in enumerate([
    ("monday", "月曜"), ("tuesday", "火曜"), ("wednesday", "水曜"), ("thursday", "木曜"),
    ("friday", "金曜"), ("saturday", "土曜"), ("sunday", "日曜")]) for name in names}
_WEEKDAY = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b|([月火水木金土日]曜)日?",
    re.I,
)
# 「25日」 without its month (the month was blanked out with the full dates first)
_DAY_ONLY = re.compile(r"(?<![\d月])(\d{1,2})日(?!間|本|系|銀|米|中|韓)")
_KANJI_CHARS = re.compile(rf"[{_KANJI}]{{2}}|[{_KANJI}][万億兆]")
_FRACTION_WORDS = re.compile(r"fifth|quarter|third|分の|半数", re.I)


def _value(text: str) -> float:
    return float(text.replace(",", ""))


def figure(value: float) -> str:
    """A number as a feature value: three significant digits (``3.4e+09``, ``250``)."""
    return f"{value:.3g}"


def kanji_number(text: str) -> float | None:
    """``二百五十`` → 250, ``三万五千`` → 35000; None when ``text`` is not a number."""
    total = section = digit = 0
    seen = False
    for char in text:
        if char in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[char]
            seen = True
        elif char in _KANJI_SMALL:
            section += (digit or 1) * _KANJI_SMALL[char]
            digit = 0
            seen = True
        elif char in _JA_UNIT:
            total += (section + digit) * int(_JA_UNIT[char])
            section = digit = 0
        else:
            return None
    return float(total + section + digit) if seen else None


def _blank(text: str, match: re.Match[str]) -> str:
    return text[: match.start()] + " " * (match.end() - match.start()) + text[match.end():]


def _is_figure(value: float, raw: str) -> bool:
    if value < 10:
        return False
    # a bare four-digit year says when, not what
    return not (re.fullmatch(r"(19|20)\d\d", raw) and 1900 <= value <= 2100)


def _relative_dates(text: str, when: date, found: set[Feature]) -> str:
    """Dates said relative to the article: 「25日」, "on Wednesday", 「水曜日」."""
    for match in _WEEKDAY.finditer(text) if ("day" in text or "曜" in text
                                              or "DAY" in text) else ():
        name = match.group(1) or match.group(2)
        weekday = _WEEKDAYS[name.lower()]
        day = when - timedelta(days=(when.weekday() - weekday) % 7)
        found.add(("date", f"{day.month}-{day.day}"))
    for match in _DAY_ONLY.finditer(text):
        number = int(match.group(1))
        if not 1 <= number <= 31:
            continue
        month, year = when.month, when.year
        if number > when.day + 10:  # 「28日」 said on the 3rd is last month's
            month, year = (12, year - 1) if month == 1 else (month - 1, year)
        found.add(("date", f"{month}-{number}"))
        text = _blank(text, match)
    return text


def numbers(text: str, when: date | None = None) -> set[Feature]:
    """The figures, shares and dates of NFKC-folded ``text``; ``when`` (the article's day)
    resolves dates said relative to it."""
    found: set[Feature] = set()
    if _FRACTION_WORDS.search(text):
        for pattern, share in _FRACTIONS:
            if pattern.search(text):
                found.add(("pct", share))
    if _KANJI_CHARS.search(text):
        _kanji_figures(text, found)
    if when is not None:
        text = _relative_dates(text, when, found)
    if not _DIGIT.search(text):
        return found
    for pattern, month_group, day_group in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            month_text, day_text = match.group(month_group), match.group(day_group)
            month = (int(month_text) if month_text.isdigit()
                     else _MONTHS[month_text.lower().rstrip(".")])
            day = int(day_text)
            if 1 <= month <= 12 and 1 <= day <= 31:
                found.add(("date", f"{month}-{day}"))
                text = _blank(text, match)
    for match in _PERCENT.finditer(text):
        found.add(("pct", figure(_value(match.group(1)))))
        text = _blank(text, match)
    for match in _WARI.finditer(text):
        found.add(("pct", figure(int(match.group(1)) * 10)))
        text = _blank(text, match)
    for match in _EN_SCALED.finditer(text):
        value = _value(match.group(1)) * _EN_SCALE[match.group(2).lower()]
        found.add(("fig", figure(value)))
        text = _blank(text, match)
    for match in _JA_SCALED.finditer(text):
        value = 0.0
        for number, unit in _JA_PART.findall(match.group(0)):
            value += _value(number) * _JA_UNIT.get(unit, 1)
        found.add(("fig", figure(value)))
        text = _blank(text, match)
    for match in _PLAIN.finditer(text):
        raw = match.group(0).rstrip(",")
        value = _value(raw)
        if _is_figure(value, raw):
            found.add(("fig", figure(value)))
    return found


def _kanji_figures(text: str, found: set[Feature]) -> None:
    for match in _KANJI_NUMBER.finditer(text):
        raw = match.group(0)
        value = kanji_number(raw)
        if value is not None and (len(raw) >= 2 or raw[-1] in _JA_UNIT) and value >= 10:
            found.add(("fig", figure(value)))


@dataclass(frozen=True)
class Entity:
    """One named thing and the names it goes by."""

    id: str
    kind: str
    names: tuple[str, ...]


def _is_acronym(name: str) -> bool:
    letters = name.replace(".", "")
    return len(letters) >= 2 and letters.isascii() and letters.isupper()


def _strip_note(name: str) -> str:
    # CLDR writes "ミャンマー (ビルマ)"; the part before the note is the name in use
    return re.sub(r"\s*[（(].*?[)）]\s*", "", name).strip()


def read_gazetteer(path: Path = GAZETTEER_FILE) -> list[Entity]:
    """The shipped entities of ``gazetteer.tsv``."""
    entities = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        entity_id, kind, names = line.split("\t")
        entities.append(Entity(entity_id, kind, tuple(n for n in names.split("|") if n)))
    return entities


@cache
def country_entities() -> tuple[Entity, ...]:
    """Every country with its CLDR name in Japanese and English."""
    ja, en = Locale("ja").territories, Locale("en").territories
    result = []
    for code, name in en.items():
        if len(code) != 2 or not code.isalpha() or code in ("ZZ", "EU", "UN", "EZ", "QO"):
            continue
        names = {_strip_note(name), _strip_note(ja.get(code, ""))} - {""}
        result.append(Entity(f"country:{code}", "country", tuple(sorted(names))))
    return tuple(result)


class Gazetteer:
    """Finds the entities, figures and dates of a text."""

    def __init__(self, entities: Iterable[Entity]) -> None:
        self._exact = ahocorasick.Automaton()
        self._folded = ahocorasick.Automaton()
        self.kinds: dict[str, str] = {}
        for entity in entities:
            names = [
                (name, _is_acronym(name))
                for name in (unicodedata.normalize("NFKC", raw).strip() for raw in entity.names)
                if len(name) >= 2
            ]
            # a name already known (a theme alias that is also in the gazetteer) makes the
            # entity one with the first that had it, so its other names join that id
            entity_id = entity.id
            for name, acronym in names:
                known = self._known(name, acronym)
                if known:
                    entity_id = known
                    break
            self.kinds.setdefault(entity_id, entity.kind)
            for name, acronym in names:
                if self._known(name, acronym):
                    continue
                if acronym:
                    self._exact.add_word(name, (entity_id, name))
                else:
                    self._folded.add_word(name.casefold(), (entity_id, name.casefold()))
        for automaton in (self._exact, self._folded):
            if len(automaton):
                automaton.make_automaton()

    def _known(self, name: str, acronym: bool) -> str | None:
        """The entity id a name already stands for, if any."""
        automaton, key = (self._exact, name) if acronym else (self._folded, name.casefold())
        value = automaton.get(key, None)
        return None if value is None else str(value[0])

    def entities(self, text: str) -> set[Feature]:
        """The entities named in NFKC-folded ``text``: longest names first, whole words."""
        spans: list[tuple[int, int, str]] = []
        for automaton, haystack in ((self._exact, text), (self._folded, text.casefold())):
            if automaton.kind != ahocorasick.AHOCORASICK:
                continue
            for end, (entity_id, name) in automaton.iter(haystack):
                start = end - len(name) + 1
                if _LATIN.match(name[0]) and start > 0 and _LATIN.match(haystack[start - 1]):
                    continue
                if _LATIN.match(name[-1]) and end + 1 < len(haystack) and _LATIN.match(
                    haystack[end + 1]
                ):
                    continue
                spans.append((start, end + 1, entity_id))
        found: set[Feature] = set()
        taken: list[tuple[int, int]] = []
        for start, end, entity_id in sorted(spans, key=lambda s: (s[0] - s[1], s[0])):
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            found.add((self.kinds[entity_id], entity_id))
        return found

    def evidence(self, text: str, when: date | None = None) -> frozenset[Feature]:
        """Every feature of ``text`` (markup already removed); ``when`` is its day."""
        folded = unicodedata.normalize("NFKC", text)
        return frozenset(numbers(folded, when) | self.entities(folded))


def theme_entities(terms: Sequence[tuple[str, Sequence[str]]]) -> list[Entity]:
    """Entities for theme terms with aliases: ``(term, aliases)`` pairs from themes.yaml."""
    return [
        Entity(f"term:{term.casefold()}", "term", (term, *aliases))
        for term, aliases in terms
        if aliases
    ]


def build_gazetteer(terms: Sequence[tuple[str, Sequence[str]]] = ()) -> Gazetteer:
    """The shipped gazetteer, the countries and the theme aliases, ready to match."""
    return Gazetteer([*read_gazetteer(), *country_entities(), *theme_entities(terms)])
