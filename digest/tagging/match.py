"""Theme tagging: a pure function of an article's text and the compiled themes.

Contract: :func:`tag_article` maps ``(title, text)`` to the matching themes, each with a
score and the reasons (which term or concept combination, in which field, how often);
:func:`tag_articles` does the same for a batch.  :func:`decide` is the one decision both
they and :mod:`digest.tagging.explain` use.

How text is matched (see docs/themes.md):

- Each field is NFKC-folded (full-width ＩＯＭ is IOM), quotes straightened and
  lower-cased once; one Aho–Corasick pass finds every literal of every theme and every
  concept phrase.  All-capital terms (IOM, UN) must also match in exact case; terms that
  begin or end with a Latin letter or digit match whole words only.
- A term hit inside an exclusion (``bird migration``, ``地方移住``) does not count, nor one
  in the same sentence as an ``asides`` phrase; a name followed by its bracketed short
  form ("国際移住機関(IOM)") is one mention.
- A combo (``MONEY`` + ``DECREASE`` in one sentence, with an ``ACTOR_AID`` anywhere) counts
  like a term, and its reason names the words that made it.
- Score = sum over terms and fields of weight × field weight × position × (1 + log2(count)
  / 2).  A theme matches when every requirement group has a hit, the score reaches the
  threshold (times ``scoring.title_only`` for a headline without a body), one hit is of a
  non-supporting term, and the hits are more than a passing mention; with
  ``scoring.dominance`` a side theme far below the main one is dropped unless it has a
  headline (a non-supporting term in the title, or in the lead with ``lead_headline``).
"""

from __future__ import annotations

import gc
import math
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from config.themes import ScoringConfig
from digest.tagging.compile import (
    CONTEXT,
    REQUIRE,
    WORD_CHARS,
    Combo,
    CompiledTheme,
    Rules,
    ThemeSet,
    fold,
    normalise,
)

FIELDS = ("title", "body")
_FIELD_NAMES = {"en": {"title": "title", "body": "body"}, "ja": {"title": "見出し", "body": "本文"}}
# Where a sentence ends: Japanese and Western full stops, ! and ?, and line breaks.
SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?=\s)")
# What may stand between a name and its bracketed short form: "国際移住機関(IOM)".
_BRACKET_GAP = frozenset(" ([「『")


@dataclass(frozen=True)
class Reason:
    """One term that counted: the term as written in themes.yaml, its field, how often."""

    term: str
    field: str
    count: int

    def describe(self, lang: str = "en") -> str:
        """``"IOM" (title)`` / ``「IOM」(見出し×2)``."""
        name = _FIELD_NAMES.get(lang, _FIELD_NAMES["en"]).get(self.field, self.field)
        times = f"×{self.count}" if self.count > 1 else ""
        if lang == "ja":
            return f"「{self.term}」({name}{times})"
        return f'"{self.term}" ({name}{" " + times if times else ""})'


@dataclass(frozen=True)
class ThemeMatch:
    """A theme an article was tagged with, its score and the reasons."""

    theme_id: str
    score: float
    reasons: tuple[Reason, ...]

    def reason_line(self, lang: str = "en") -> str:
        """A short human line: ``"IOM" (title), "資金不足" (body ×2)``."""
        sep = "、" if lang == "ja" else ", "
        return sep.join(reason.describe(lang) for reason in self.reasons)


@dataclass(frozen=True)
class ThemeExplanation:
    """Everything the rules decided for one theme on one article (for tuning)."""

    theme_id: str
    is_match: bool
    score: float
    threshold: float
    reasons: tuple[Reason, ...]
    exclusions: tuple[Reason, ...]
    missing_groups: tuple[tuple[str, ...], ...]
    dropped_terms: tuple[str, ...]
    passing_mention: bool = False  # score and groups were enough, but the hits were not
    only_supporting: bool = False  # every hit was of a supporting term
    headline: bool = False  # a non-supporting term is in the title (or lead)
    core_score: float = 0.0  # the part of the score that non-supporting terms earned
    dominated: bool = False  # matched on its own, but far below the article's main theme

    @property
    def has_evidence(self) -> bool:
        """Some term or combo counted, whether or not the theme matched."""
        return bool(self.reasons)


_Hit = tuple[Any, Any, int, int]  # (slot or role, name or slot, start, end)
_FIELD_INDEX = ((0, "title"), (1, "body"))


@dataclass
class Scanned:
    """Every hit of one article in flat buckets (see ``compile.bucket_layout``)."""

    title: str
    body: str
    lead_end: int  # body offsets below this are in the lead
    buckets: list[list[_Hit]]
    layout: dict[str, int]
    n_themes: int
    _ends: dict[int, list[int]] = field(default_factory=dict)
    _by_sentence: dict[tuple[int, int], dict[int, _Hit]] = field(default_factory=dict)

    def sentence_ends(self, field_index: int) -> list[int]:
        """Where the sentences of a field end (computed once, when a combo needs it)."""
        ends = self._ends.get(field_index)
        if ends is None:
            text = self.title if field_index == 0 else self.body
            ends = self._ends[field_index] = [m.start() for m in SENTENCE_END.finditer(text)]
        return ends

    def by_sentence(self, concept: int, field_index: int) -> dict[int, _Hit]:
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

    def hits(self, kind: str, key: int, field_index: int) -> list[_Hit]:
        """The hits of one bucket: ``kind`` terms/sides/concepts/exclude/asides."""
        return self.buckets[2 * (self.layout[kind] + key) + field_index]

    def spans(self, kind: str, t_index: int, field_index: int) -> list[_Hit]:
        """Exclusion or aside spans for a theme: its own and the global ones."""
        own = self.hits(kind, t_index, field_index)
        shared = self.hits(kind, self.n_themes, field_index)
        return own + shared if own and shared else own or shared


def _lead_end(body: str, limit: int) -> int:
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
    buckets: list[list[_Hit]] = [[] for _ in range(2 * layout["size"])]
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
        for regex, names in themes.regexes:
            for match in regex.finditer(norm):
                if match.lastgroup is None or match.end() <= match.start():
                    continue
                for bucket, (first, second) in names[match.lastgroup]:
                    buckets[bucket + field_index].append(
                        (first, second, match.start(), match.end()))
    return Scanned(fields[0], fields[1], _lead_end(fields[1], themes.scoring.lead),
                   buckets, layout, len(themes.themes))


def _saturate(count: int) -> float:
    return 1.0 + math.log2(count) / 2.0


def _bracketed(text: str, previous_end: int, start: int) -> bool:
    """True when only spaces and an opening bracket separate two hits: "機関(IOM)"."""
    gap = start - previous_end
    if gap < 1 or gap > 3:
        return False
    return all(c in _BRACKET_GAP for c in text[previous_end:start])


def _inside(spans: list[_Hit], start: int, end: int) -> str | None:
    for _k, name, s_start, s_end in spans:
        if s_start < end and start < s_end:
            return str(name)
    return None


def _same_sentence(text: str, spans: list[_Hit], start: int, end: int) -> str | None:
    """The span in ``spans`` that shares a sentence with ``text[start:end]``, if any."""
    for _k, name, s_start, s_end in spans:
        low, high = min(start, s_start), max(end, s_end)
        if SENTENCE_END.search(text, low, high) is None:
            return str(name)
    return None


def _window(combo: Combo, scanned: Scanned, lists: list[list[_Hit]], field_index: int,
            shared: bool) -> list[_Hit] | None:
    """One hit of each concept inside one window, or None (``shared``: the lists are whole)."""
    if not combo.within:  # one sentence: look sentences up instead of searching between hits
        if shared:
            maps = [scanned.by_sentence(c, field_index) for c in combo.concepts]
        else:
            ends = scanned.sentence_ends(field_index)
            maps = [{bisect_right(ends, h[2]): h for h in reversed(hits)} for hits in lists]
        common = set(maps[0]).intersection(*maps[1:])
        if not common:
            return None
        sentence = min(common)
        return [m[sentence] for m in maps]
    within = combo.within
    for anchor in lists[0]:
        a_start, a_end = anchor[2], anchor[3]
        found = [anchor]
        for others in lists[1:]:
            near = next((h for h in others
                         if max(a_end, h[3]) - min(a_start, h[2]) <= within), None)
            if near is None:
                break
            found.append(near)
        else:
            return found
    return None


def _combo_hits(combo: Combo, scanned: Scanned, spans: tuple[list[_Hit], list[_Hit]],
                field_index: int) -> list[_Hit]:
    """A hit ``(slot, reason, start, end)`` where every concept of ``combo`` shares a window."""
    concepts = scanned.layout["concepts"]
    buckets = scanned.buckets
    for needed in combo.anywhere:
        bucket = 2 * (concepts + needed)
        title_hits, body_hits = buckets[bucket], buckets[bucket + 1]
        if not title_hits and not body_hits:
            return []
        if (spans[0] or spans[1]) and not any(
            not _inside(spans[f], h[2], h[3])
            for f, hits in ((0, title_hits), (1, body_hits)) for h in hits
        ):
            return []
    lists = [buckets[2 * (concepts + c) + field_index] for c in combo.concepts]
    if not all(lists):
        return []
    words = _window(combo, scanned, lists, field_index, shared=True)
    field_spans = spans[field_index]
    if words is not None and field_spans and any(
        _inside(field_spans, w[2], w[3]) for w in words
    ):
        # A word of the window is inside an exclusion: look again without excluded hits.
        lists = [[h for h in hits if not _inside(field_spans, h[2], h[3])] for hits in lists]
        words = _window(combo, scanned, lists, field_index, shared=False) if all(lists) else None
    if words is None:
        return []
    name = f"{combo.name}: {' + '.join(str(w[1]) for w in words)}"
    return [(combo.slot, name, min(w[2] for w in words), max(w[3] for w in words))]


def decide(t_index: int, themes: ThemeSet, scanned: Scanned, *,
           brief: bool = False) -> ThemeExplanation | None:
    """What theme ``t_index``'s rules make of one scanned article (dominance aside).

    With ``brief`` (tagging, not explaining) a theme that does not match gives None, so
    its reasons are never assembled.
    """
    theme: CompiledTheme = themes.themes[t_index]
    rules: Rules = themes.rules[t_index]
    scoring: ScoringConfig = themes.scoring
    buckets, layout = scanned.buckets, scanned.layout
    term_bucket, side_bucket = 2 * (layout["terms"] + t_index), 2 * (layout["sides"] + t_index)
    concept_bucket = 2 * layout["concepts"]
    spans = (scanned.spans("exclude", t_index, 0), scanned.spans("exclude", t_index, 1))
    asides = (scanned.spans("asides", t_index, 0), scanned.spans("asides", t_index, 1))
    texts = (scanned.title, scanned.body)
    fired: dict[tuple[str, str], int] = defaultdict(int)

    def kept(field_index: int, start: int, end: int) -> bool:
        field_spans = spans[field_index]
        name = _inside(field_spans, start, end) if field_spans else None
        if name is None and asides[field_index]:
            name = _same_sentence(texts[field_index], asides[field_index], start, end)
        if name is None:
            return True
        fired[(name, FIELDS[field_index])] += 1
        return False

    groups_hit: set[int] = set()
    context_ok: set[int] = set()
    vetoed: set[int] = set()
    for field_index in (0, 1):
        screened = bool(spans[field_index] or asides[field_index])
        for role, slot, start, end in buckets[side_bucket + field_index]:
            target = groups_hit if role == REQUIRE else context_ok if role == CONTEXT else vetoed
            if slot in target:
                continue  # one hit per group or term is all that is needed
            if not screened or kept(field_index, start, end):
                target.add(slot)
    counts: dict[tuple[int, int], int] = defaultdict(int)
    alias_counts: dict[tuple[int, str, int], int] = defaultdict(int)
    dropped: set[str] = set()
    position: dict[int, float] = {}  # body term -> weight of its first position
    body, lead_end, late = scanned.body, scanned.lead_end, scoring.late
    supporting_slots, gated, lead_headline = rules.supporting, rules.gated, scoring.lead_headline
    in_title = in_lead = headline = core = False
    first_body = last_body = -1
    first_combo = len(rules.term_names) - len(rules.combos)
    for field_index in (0, 1):
        term_hits = buckets[term_bucket + field_index]
        for combo in rules.combos:
            if all(buckets[concept_bucket + 2 * c + field_index] for c in combo.concepts):
                found = _combo_hits(combo, scanned, spans, field_index)
                if found:
                    term_hits = term_hits + found
        if not term_hits:
            continue
        # Longest match wins: a hit inside a longer hit of the same theme in the same field
        # ("難民" inside "難民認定", "displaced" inside "displaced families") is not counted.
        term_hits = sorted(term_hits, key=lambda h: (h[2], -h[3]))
        screened = bool(spans[field_index] or asides[field_index])
        text = texts[field_index]
        cover_end = last_end = -1
        for slot, name, start, end in term_hits:
            if slot >= first_combo:  # a combo spans its words; it hides no term inside
                counts[(slot, field_index)] += 1
                alias_counts[(slot, name, field_index)] += 1
                core = core or slot not in supporting_slots
            elif end <= cover_end or (screened and not kept(field_index, start, end)):
                continue
            else:
                cover_end = end
                if slot in vetoed or (slot in gated and slot not in context_ok):
                    dropped.add(rules.term_names[slot])
                    continue
                if last_end >= 0 and _bracketed(text, last_end, start):
                    last_end = end  # "国際移住機関(IOM)": the short form is the same mention
                    continue
                last_end = end
                counts[(slot, field_index)] += 1
                alias_counts[(slot, name, field_index)] += 1
                core = core or slot not in supporting_slots
            supporting = slot in supporting_slots
            if field_index == 0:
                in_title = True
                headline = headline or not supporting
                continue
            if first_body < 0:
                first_body = start
            last_body = start
            if start < lead_end:
                in_lead = True
                headline = headline or (lead_headline and not supporting)
                position.setdefault(slot, 1.0)
            elif slot not in position:
                position[slot] = late + (1.0 - late) * (1.0 - start / len(body))
    score = core_score = 0.0
    for (slot, field_index), count in counts.items():
        weight = rules.weights[0] if field_index == 0 else rules.weights[1] * position[slot]
        points = rules.term_weights[slot] * weight * _saturate(count)
        score += points
        if slot not in supporting_slots:
            core_score += points
    has_reasons = bool(alias_counts)
    missing = tuple(g for i, g in enumerate(rules.groups) if i not in groups_hit)
    score = round(score, 3)
    threshold = rules.threshold
    if not body and scanned.title:
        threshold = round(threshold * scoring.title_only, 3)
    only_supporting = has_reasons and not core
    is_match = has_reasons and not missing and not only_supporting and score >= threshold
    passing = False
    if is_match and scoring.spread and not (in_title or in_lead):
        # Body hits outside the lead must at least span two sentences.
        passing = SENTENCE_END.search(body, first_body, last_body) is None
        is_match = not passing
    if brief and not is_match:
        return None
    ranked = sorted(
        alias_counts.items(),
        key=lambda kv: (kv[0][2], -rules.term_weights[kv[0][0]] * kv[1], kv[0][1]),
    )
    reasons = tuple(Reason(name, FIELDS[f], count) for (_s, name, f), count in ranked)
    return ThemeExplanation(
        theme_id=theme.id,
        is_match=is_match,
        score=score,
        threshold=threshold,
        reasons=reasons,
        exclusions=tuple(Reason(n, f, c) for (n, f), c in sorted(fired.items())),
        missing_groups=missing,
        dropped_terms=tuple(sorted(dropped)),
        passing_mention=passing,
        only_supporting=only_supporting,
        headline=headline,
        core_score=round(core_score, 3),
    )


def dominated(result: ThemeExplanation, top: float, dominance: float) -> bool:
    """A theme without a headline that its own terms score far below the main theme.

    Supporting terms (who the people are, agency names, policy catchwords) do not count
    towards the comparison: they say what the article mentions, not what it is about.
    """
    if dominance <= 0 or result.headline or result.score >= top:
        return False  # the best-scoring theme is what the article is about
    return result.core_score < dominance * top


def candidates(themes: ThemeSet, scanned: Scanned) -> list[int]:
    """Themes that could match, by a cheap upper bound on what :func:`decide` would find.

    Every requirement group needs a hit, and the score the hits could at most earn (each
    slot's hits counted in full, in the lead, with every combo whose concepts are in the
    article) must reach the threshold.  Exclusions, contexts and positions only lower a
    score, so a theme left out here cannot match and :func:`tag_article` does not decide it.
    """
    out = []
    buckets, layout = scanned.buckets, scanned.layout
    concept_bucket = 2 * layout["concepts"]
    title_only = not scanned.body
    for t_index, rules in enumerate(themes.rules):
        term_bucket = 2 * (layout["terms"] + t_index)
        title_hits, body_hits = buckets[term_bucket], buckets[term_bucket + 1]
        combos = [c for c in rules.combos
                  if all(buckets[concept_bucket + 2 * k] or buckets[concept_bucket + 2 * k + 1]
                         for k in c.concepts)]
        if not title_hits and not body_hits and not combos:
            continue
        if rules.groups:
            side_bucket = 2 * (layout["sides"] + t_index)
            groups = {h[1] for f in (0, 1) for h in buckets[side_bucket + f] if h[0] == REQUIRE}
            if len(groups) < len(rules.groups):
                continue
        weights, bound = rules.term_weights, 0.0
        for field_weight, hits in ((rules.weights[0], title_hits), (rules.weights[1], body_hits)):
            if hits:
                counts: dict[int, int] = {}
                for hit in hits:
                    counts[hit[0]] = counts.get(hit[0], 0) + 1
                bound += field_weight * sum(weights[slot] * _saturate(n)
                                            for slot, n in counts.items())
        bound += sum(weights[c.slot] for c in combos) * sum(rules.weights)
        threshold = rules.threshold * (themes.scoring.title_only if title_only else 1.0)
        if bound + 1e-9 >= round(threshold, 3):
            out.append(t_index)
    return out


def tag_article(title: str, text: str, themes: ThemeSet) -> tuple[ThemeMatch, ...]:
    """The themes this article matches, highest score first, with the reasons."""
    scanned = scan(title, text, themes)
    results = []
    for t_index in candidates(themes, scanned):
        result = decide(t_index, themes, scanned, brief=True)
        if result is not None:
            results.append(result)
    top = max((r.score for r in results), default=0.0)
    dominance = themes.scoring.dominance
    kept = [ThemeMatch(r.theme_id, r.score, r.reasons) for r in results
            if not dominated(r, top, dominance)]
    # results are in display order and the sort is stable: equal scores keep that order
    return tuple(sorted(kept, key=lambda m: -m.score))


def tag_articles(
    articles: Iterable[tuple[str, str]], themes: ThemeSet
) -> list[tuple[ThemeMatch, ...]]:
    """:func:`tag_article` for each ``(title, text)`` of a batch, in order.

    The cyclic garbage collector is paused for the batch: tagging allocates many small
    tuples and no cycles, and the collector's passes over them cost about a tenth of the time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [tag_article(title, text, themes) for title, text in articles]
    finally:
        if was_enabled:
            gc.enable()


def explain_scanned(themes: ThemeSet, scanned: Scanned) -> tuple[ThemeExplanation, ...]:
    """Every theme's decision for a scanned article, with dominance applied."""
    results = [r for t_index in range(len(themes.themes))
               if (r := decide(t_index, themes, scanned)) is not None]
    top = max((r.score for r in results if r.is_match), default=0.0)
    dominance = themes.scoring.dominance
    return tuple(
        replace(r, is_match=False, dominated=True)
        if r.is_match and dominated(r, top, dominance) else r
        for r in results
    )
