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
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from config.themes import ScoringConfig
from digest.tagging.combos import combo_hits
from digest.tagging.compile import CONTEXT, REQUIRE, Rules, ThemeSet
from digest.tagging.scan import FIELDS, SENTENCE_END, Hit, Scanned, inside, same_sentence, scan

_FIELD_NAMES = {"en": {"title": "title", "body": "body"}, "ja": {"title": "見出し", "body": "本文"}}
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


def _saturate(count: int) -> float:
    return 1.0 + math.log2(count) / 2.0


def _bracketed(text: str, previous_end: int, start: int) -> bool:
    """True when only spaces and an opening bracket separate two hits: "機関(IOM)"."""
    gap = start - previous_end
    if gap < 1 or gap > 3:
        return False
    return all(c in _BRACKET_GAP for c in text[previous_end:start])


class _Screen:
    """One theme's exclusions and asides on one article: which hits still count."""

    def __init__(self, scanned: Scanned, t_index: int) -> None:
        self.spans = (scanned.spans("exclude", t_index, 0), scanned.spans("exclude", t_index, 1))
        self.asides = (scanned.spans("asides", t_index, 0), scanned.spans("asides", t_index, 1))
        self.texts = (scanned.title, scanned.body)
        self.screened = (bool(self.spans[0] or self.asides[0]),
                         bool(self.spans[1] or self.asides[1]))
        self.fired: dict[tuple[str, str], int] = defaultdict(int)

    def kept(self, field_index: int, start: int, end: int) -> bool:
        """True unless the hit is inside an exclusion or shares a sentence with an aside."""
        field_spans, field_asides = self.spans[field_index], self.asides[field_index]
        name = inside(field_spans, start, end) if field_spans else None
        if name is None and field_asides:
            name = same_sentence(self.texts[field_index], field_asides, start, end)
        if name is None:
            return True
        self.fired[(name, FIELDS[field_index])] += 1
        return False


def _sides(scanned: Scanned, t_index: int,
           screen: _Screen) -> tuple[set[int], set[int], set[int]]:
    """Requirement groups with a hit, terms whose context is present, terms vetoed."""
    groups_hit: set[int] = set()
    context_ok: set[int] = set()
    vetoed: set[int] = set()
    side_bucket = 2 * (scanned.layout["sides"] + t_index)
    for field_index in (0, 1):
        screened = screen.screened[field_index]
        for role, slot, start, end in scanned.buckets[side_bucket + field_index]:
            target = groups_hit if role == REQUIRE else context_ok if role == CONTEXT else vetoed
            if slot in target:
                continue  # one hit per group or term is all that is needed
            if not screened or screen.kept(field_index, start, end):
                target.add(slot)
    return groups_hit, context_ok, vetoed


@dataclass
class _Tally:
    """What the counted term and combo hits of one theme add up to."""

    counts: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    alias_counts: dict[tuple[int, str, int], int] = field(
        default_factory=lambda: defaultdict(int))
    dropped: set[str] = field(default_factory=set)
    position: dict[int, float] = field(default_factory=dict)  # body slot -> first position
    in_title: bool = False
    in_lead: bool = False
    headline: bool = False
    core: bool = False
    first_body: int = -1
    last_body: int = -1


def _field_hits(t_index: int, rules: Rules, scanned: Scanned, screen: _Screen,
                field_index: int) -> list[Hit]:
    """A theme's term hits in one field with its combo hits, in text order, longest first."""
    term_hits = scanned.buckets[2 * (scanned.layout["terms"] + t_index) + field_index]
    present = scanned.present(field_index)
    for combo in rules.combos:
        if present.issuperset(combo.concepts):
            found = combo_hits(combo, scanned, screen.spans, field_index)
            if found:
                term_hits = term_hits + found
    # Longest match wins: a hit inside a longer hit of the same theme in the same field
    # ("難民" inside "難民認定", "displaced" inside "displaced families") is not counted.
    return sorted(term_hits, key=lambda h: (h[2], -h[3])) if term_hits else term_hits


def _tally(t_index: int, themes: ThemeSet, scanned: Scanned, screen: _Screen,
           context_ok: set[int], vetoed: set[int]) -> _Tally:
    """Count a theme's hits: covered, excluded, gated and bracketed ones left out."""
    rules, scoring = themes.rules[t_index], themes.scoring
    tally = _Tally()
    counts, alias_counts, position = tally.counts, tally.alias_counts, tally.position
    body, lead_end, late = scanned.body, scanned.lead_end, scoring.late
    supporting_slots, gated, lead_headline = rules.supporting, rules.gated, scoring.lead_headline
    first_combo = len(rules.term_names) - len(rules.combos)
    for field_index in (0, 1):
        screened = screen.screened[field_index]
        text = screen.texts[field_index]
        cover_end = last_end = -1
        for slot, name, start, end in _field_hits(t_index, rules, scanned, screen, field_index):
            if slot >= first_combo:  # a combo spans its words; it hides no term inside
                pass
            elif end <= cover_end or (screened and not screen.kept(field_index, start, end)):
                continue
            else:
                cover_end = end
                if slot in vetoed or (slot in gated and slot not in context_ok):
                    tally.dropped.add(rules.term_names[slot])
                    continue
                if last_end >= 0 and _bracketed(text, last_end, start):
                    last_end = end  # "国際移住機関(IOM)": the short form is the same mention
                    continue
                last_end = end
            counts[(slot, field_index)] += 1
            alias_counts[(slot, name, field_index)] += 1
            supporting = slot in supporting_slots
            tally.core = tally.core or not supporting
            if field_index == 0:
                tally.in_title = True
                tally.headline = tally.headline or not supporting
                continue
            if tally.first_body < 0:
                tally.first_body = start
            tally.last_body = start
            if start < lead_end:
                tally.in_lead = True
                tally.headline = tally.headline or (lead_headline and not supporting)
                position.setdefault(slot, 1.0)
            elif slot not in position:
                position[slot] = late + (1.0 - late) * (1.0 - start / len(body))
    return tally


def decide(t_index: int, themes: ThemeSet, scanned: Scanned, *,
           brief: bool = False) -> ThemeExplanation | None:
    """What theme ``t_index``'s rules make of one scanned article (dominance aside).

    With ``brief`` (tagging, not explaining) a theme that does not match gives None, so
    its reasons are never assembled.
    """
    rules: Rules = themes.rules[t_index]
    scoring: ScoringConfig = themes.scoring
    screen = _Screen(scanned, t_index)
    groups_hit, context_ok, vetoed = _sides(scanned, t_index, screen)
    tally = _tally(t_index, themes, scanned, screen, context_ok, vetoed)
    score = core_score = 0.0
    for (slot, field_index), count in tally.counts.items():
        weight = (rules.weights[0] if field_index == 0
                  else rules.weights[1] * tally.position[slot])
        points = rules.term_weights[slot] * weight * _saturate(count)
        score += points
        if slot not in rules.supporting:
            core_score += points
    has_reasons = bool(tally.alias_counts)
    missing = tuple(g for i, g in enumerate(rules.groups) if i not in groups_hit)
    score = round(score, 3)
    threshold = rules.threshold
    if not scanned.body and scanned.title:
        threshold = round(threshold * scoring.title_only, 3)
    only_supporting = has_reasons and not tally.core
    is_match = has_reasons and not missing and not only_supporting and score >= threshold
    passing = False
    if is_match and scoring.spread and not (tally.in_title or tally.in_lead):
        # Body hits outside the lead must at least span two sentences.
        passing = SENTENCE_END.search(scanned.body, tally.first_body, tally.last_body) is None
        is_match = not passing
    if brief and not is_match:
        return None
    ranked = sorted(
        tally.alias_counts.items(),
        key=lambda kv: (kv[0][2], -rules.term_weights[kv[0][0]] * kv[1], kv[0][1]),
    )
    return ThemeExplanation(
        theme_id=themes.themes[t_index].id,
        is_match=is_match,
        score=score,
        threshold=threshold,
        reasons=tuple(Reason(name, FIELDS[f], count) for (_s, name, f), count in ranked),
        exclusions=tuple(Reason(n, f, c) for (n, f), c in sorted(screen.fired.items())),
        missing_groups=missing,
        dropped_terms=tuple(sorted(tally.dropped)),
        passing_mention=passing,
        only_supporting=only_supporting,
        headline=tally.headline,
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
    present = scanned.present(0) | scanned.present(1)
    title_only = not scanned.body
    for t_index, rules in enumerate(themes.rules):
        term_bucket = 2 * (layout["terms"] + t_index)
        title_hits, body_hits = buckets[term_bucket], buckets[term_bucket + 1]
        combos = [c for c in rules.combos if present.issuperset(c.concepts)]
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
