"""Scan one article: every hit of every phrase, in flat per-field buckets.

Contract: :func:`scan` normalises each field once (NFKC, straight quotes, lower case), runs
the theme set's one automaton over it and appends each hit to the buckets its uses name
(a theme's terms, a concept, a theme's or the global exclusions and asides; see
``compile.bucket_layout``).  The :class:`Scanned` result is what every theme's decision
reads; it also knows where sentences end, computed once when a combo needs it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from digest.tagging.compile import WORD_CHARS, ThemeSet, fold, normalise

FIELDS = ("title", "body")
# Where a sentence ends: Japanese and Western full stops, ! and ?, and line breaks.
SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?=\s)")

Hit = tuple[Any, Any, int, int]  # (slot or role, name or slot, start, end)
_FIELD_INDEX = ((0, "title"), (1, "body"))


@dataclass
class Scanned:
    """Every hit of one article in flat buckets (see ``compile.bucket_layout``)."""

    title: str
    body: str
    lead_end: int  # body offsets below this are in the lead
    buckets: list[list[Hit]]
    layout: dict[str, int]
    n_themes: int
    _ends: dict[int, list[int]] = field(default_factory=dict)
    _by_sentence: dict[tuple[int, int], dict[int, Hit]] = field(default_factory=dict)
    _present: dict[int, frozenset[int]] = field(default_factory=dict)

    def sentence_ends(self, field_index: int) -> list[int]:
        """Where the sentences of a field end (computed once, when a combo needs it)."""
        ends = self._ends.get(field_index)
        if ends is None:
            text = self.title if field_index == 0 else self.body
            ends = self._ends[field_index] = [m.start() for m in SENTENCE_END.finditer(text)]
        return ends

    def present(self, field_index: int) -> frozenset[int]:
        """The concepts with at least one hit in a field (computed once per field)."""
        found = self._present.get(field_index)
        if found is None:
            base = 2 * self.layout["concepts"] + field_index
            buckets = self.buckets
            found = self._present[field_index] = frozenset(
                k for k in range(self.layout["exclude"] - self.layout["concepts"])
                if buckets[base + 2 * k])
        return found

    def by_sentence(self, concept: int, field_index: int) -> dict[int, Hit]:
        """A concept's first hit in each sentence of a field (shared by every theme)."""
        key = (concept, field_index)
        found = self._by_sentence.get(key)
        if found is None:
            ends = self.sentence_ends(field_index)
            found = {}
            for hit in self.hits("concepts", concept, field_index):
                found.setdefault(bisect_right(ends, hit[2]), hit)
            self._by_sentence[key] = found
        return found

    def text(self, field_name: str) -> str:
        """The normalised text of ``field_name``."""
        return self.title if field_name == "title" else self.body

    def hits(self, kind: str, key: int, field_index: int) -> list[Hit]:
        """The hits of one bucket: ``kind`` terms/sides/concepts/exclude/asides."""
        return self.buckets[2 * (self.layout[kind] + key) + field_index]

    def spans(self, kind: str, t_index: int, field_index: int) -> list[Hit]:
        """Exclusion or aside spans for a theme: its own and the global ones."""
        own = self.hits(kind, t_index, field_index)
        shared = self.hits(kind, self.n_themes, field_index)
        return own + shared if own and shared else own or shared


def lead_end(body: str, limit: int) -> int:
    """End of the lead: the body's first paragraph, at most ``limit`` characters."""
    if limit <= 0:
        return 0
    start = len(body) - len(body.lstrip())
    newline = body.find("\n", start)
    end = len(body) if newline < 0 else newline
    return min(end, start + limit)


def scan(title: str, text: str, themes: ThemeSet) -> Scanned:
    """One automaton pass per folded field; every hit appended to its bucket."""
    layout = themes.layout
    buckets: list[list[Hit]] = [[] for _ in range(2 * layout["size"])]
    fields = (normalise(title) if title else "", normalise(text) if text else "")
    iterate = themes.automaton.iter
    word = WORD_CHARS
    for field_index, norm in enumerate(fields):
        if not norm:
            continue
        lowered = fold(norm)
        size = len(norm)
        for end_index, entries in iterate(lowered):
            end = end_index + 1
            for length, left, right, exact, uses in entries:
                start = end - length
                if left and start and lowered[start - 1] in word:
                    continue
                if right and end < size and lowered[end] in word:
                    continue
                if exact is not None and norm[start:end] != exact:
                    continue
                for bucket, (first, second) in uses:
                    buckets[bucket + field_index].append((first, second, start, end))
        touched: set[int] = set()
        for regex, names in themes.regexes:
            for match in regex.finditer(norm):
                if match.lastgroup is None or match.end() <= match.start():
                    continue
                for bucket, (first, second) in names[match.lastgroup]:
                    touched.add(bucket + field_index)
                    buckets[bucket + field_index].append(
                        (first, second, match.start(), match.end()))
        for bucket in touched:  # every bucket stays in order of the hits' ends
            buckets[bucket].sort(key=_end)
    return Scanned(fields[0], fields[1], lead_end(fields[1], themes.scoring.lead),
                   buckets, layout, len(themes.themes))


def _end(hit: Hit) -> int:
    return hit[3]


def inside(spans: list[Hit], start: int, end: int) -> str | None:
    for _k, name, s_start, s_end in spans:
        if s_start < end and start < s_end:
            return str(name)
    return None


def same_sentence(text: str, spans: list[Hit], start: int, end: int) -> str | None:
    """The span in ``spans`` that shares a sentence with ``text[start:end]``, if any."""
    for _k, name, s_start, s_end in spans:
        low, high = min(start, s_start), max(end, s_end)
        if SENTENCE_END.search(text, low, high) is None:
            return str(name)
    return None


