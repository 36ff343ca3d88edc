"""Theme tagging: a pure function of an article's text and the compiled themes.

Contract: :func:`compile_themes` turns a validated :class:`~config.themes.ThemesFile` into a
:class:`ThemeSet` once; :func:`tag_article` then maps ``(title, text)`` to the matching
themes, each with a score and the reasons (which term, in which field, how often).
:func:`explain_article` gives the same for every theme, matched or not, with the
exclusions that fired, for ``migwatch themes test``.

How text is matched (see docs/themes.md):

- Text and terms are NFKC-folded (full-width ＩＯＭ is IOM) and curly quotes made straight.
- All-capital terms (IOM, UN, GFMD) match with exact case; others ignore case.
- Terms that begin or end with a Latin letter or digit match whole words only; English
  words also match -s/-es/'s forms, and a trailing ``*`` matches any ending
  (``traffick*``).  Japanese is matched as it is written, without word boundaries.
- A term hit inside an exclusion (``bird migration``, ``地方移住``, ``drug trafficking``)
  does not count, for that theme's terms, requirement groups and contexts.
- A name followed by its bracketed short form ("国際移住機関(IOM)", "... for Migration
  (IOM)") is one mention: the bracketed hit is not counted again.
- Score = sum over terms and fields of weight × field weight × position × (1 + log2(count)
  / 2).  Position is 1 in the title and in the lead (the body's first paragraph, at most
  ``scoring.lead`` characters); a body term first seen later counts less, linearly down to
  ``scoring.late`` at the end of the body.
- A theme matches when every requirement group has a hit, score >= threshold and (with
  ``scoring.spread``) the article is about it rather than mentioning it in passing: a hit
  in the title or the lead, or body hits in at least two different sentences.
- A theme also needs one hit of a term that is not ``supporting``.  With
  ``scoring.dominance``, a matched theme other than the best-scoring one is dropped unless
  a non-supporting term of it is in the title or its non-supporting terms score at least
  that share of the best score.
- A term hit in the same sentence as an ``asides`` phrase (a biography: "former staff
  member") does not count.

Every literal of every theme is searched in one Aho–Corasick pass over the lower-cased
text; regular expressions (rare) run as one combined pattern per case mode.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

from config.themes import (
    Bilingual,
    FieldWeights,
    PatternConfig,
    ScoringConfig,
    TermConfig,
    ThemesFile,
)

ENGINE_VERSION = "3"
FIELDS = ("title", "body")
_FIELD_NAMES = {"en": {"title": "title", "body": "body"}, "ja": {"title": "見出し", "body": "本文"}}
_QUOTES = ("’", "‘", "`", "ʼ")
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ACRONYM = re.compile(r"^[A-Z0-9][A-Z0-9&.\-/]*[A-Z0-9]$")
_ENGLISH_END = re.compile(r"[a-z]$")
# Where a sentence ends: Japanese and Western full stops, ! and ?, and line breaks.
_SENTENCE_END = re.compile(r"[。！？!?\n]|\.(?=\s)")
# What may stand between a name and its bracketed short form: "国際移住機関(IOM)".
_BRACKET_GAP = frozenset(" ([「『")

# Roles a pattern plays for a theme.
_TERM, _EXCLUDE, _REQUIRE, _CONTEXT, _NOT_WITH, _ASIDE = range(6)
_GLOBAL = -1


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
    headline: bool = False  # a non-supporting term is in the title
    core_score: float = 0.0  # the part of the score that non-supporting terms earned
    dominated: bool = False  # matched on its own, but far below the article's main theme


@dataclass(frozen=True)
class CompiledTheme:
    """A theme's identity and display texts, as kept in the compiled set."""

    id: str
    label: Bilingual
    description: Bilingual
    threshold: float
    version: str
    term_count: int

    def label_for(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label.for_lang(lang)


@dataclass(frozen=True)
class _Pattern:
    surface: str  # NFKC form as it must appear (for exact case)
    length: int
    is_exact: bool
    left_word: bool
    right_word: bool
    uses: list[tuple[int, int, int, str]] = field(default_factory=list)
    # (theme index or _GLOBAL, role, slot, display name)


@dataclass(frozen=True)
class _Rules:
    weights: tuple[float, float]
    term_weights: tuple[float, ...]
    term_names: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    gated: frozenset[int]  # terms with a context list
    supporting: frozenset[int]  # terms that cannot carry the theme alone
    threshold: float


@dataclass(frozen=True)
class ThemeSet:
    """Compiled themes: built once, then used for every article."""

    version: str
    theme_versions: dict[str, str]
    themes: tuple[CompiledTheme, ...]
    _rules: tuple[_Rules, ...] = field(repr=False)
    _patterns: tuple[_Pattern, ...] = field(repr=False)
    _automaton: Any = field(repr=False)
    _regexes: tuple[tuple[re.Pattern[str], dict[str, int]], ...] = field(repr=False)
    _scoring: ScoringConfig = field(repr=False, default_factory=ScoringConfig)

    @property
    def ids(self) -> tuple[str, ...]:
        """Theme ids in display order."""
        return tuple(theme.id for theme in self.themes)


def normalise(text: str) -> str:
    """NFKC-fold ``text`` and straighten quotes (what all matching sees)."""
    text = unicodedata.normalize("NFKC", text)
    for quote in _QUOTES:  # str.replace is much cheaper than translate when absent
        if quote in text:
            text = text.replace(quote, "'")
    return text


def _lower(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters grow when lower-cased (İ); keep offsets aligned with the original.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _is_exact(surface: str, case: str) -> bool:
    if case == "exact":
        return True
    if case == "any":
        return False
    return bool(_ACRONYM.match(surface)) and any(c.isalpha() for c in surface)


def _variants(surface: str, inflect: bool, is_exact: bool) -> list[str]:
    if not inflect or is_exact or not _ENGLISH_END.search(surface):
        return [surface]
    out = [surface, surface + "s", surface + "'s", surface + "s'"]
    if surface.endswith(("s", "x", "z", "ch", "sh")):
        out.append(surface + "es")
    if surface.endswith("y") and len(surface) > 1 and surface[-2] not in "aeiou":
        out.append(surface[:-1] + "ies")
    return out


class _Builder:
    def __init__(self) -> None:
        self.patterns: list[_Pattern] = []
        self.index: dict[tuple[str, bool, bool, bool], int] = {}
        self.regexes: dict[bool, list[tuple[str, int]]] = {True: [], False: []}

    def literal(self, text: str, use: tuple[int, int, int, str], *, case: str = "auto",
                inflect: bool = True) -> None:
        surface = normalise(text).strip()
        is_prefix = surface.endswith("*")
        surface = surface.rstrip("*").strip()
        exact = _is_exact(surface, case)
        forms = [surface] if is_prefix else _variants(surface, inflect, exact)
        for form in forms:
            left = form[:1] in _WORD
            right = form[-1:] in _WORD and not is_prefix
            key = (form if exact else _lower(form), exact, left, right)
            pid = self.index.get(key)
            if pid is None:
                pid = len(self.patterns)
                self.index[key] = pid
                self.patterns.append(_Pattern(form, len(form), exact, left, right))
            self.patterns[pid].uses.append(use)

    def regex(self, pattern: str, use: tuple[int, int, int, str], *, exact: bool) -> None:
        pid = len(self.patterns)
        self.patterns.append(_Pattern(pattern, 0, exact, False, False, [use]))
        self.regexes[exact].append((normalise(pattern), pid))

    def item(self, item: str | PatternConfig, use: tuple[int, int, int, str]) -> None:
        if isinstance(item, PatternConfig):
            self.regex(item.regex, use, exact=item.case == "exact")
        else:
            self.literal(item, use)

    def automaton(self) -> Any:
        auto = ahocorasick.Automaton()
        keyed: dict[str, list[int]] = defaultdict(list)
        for pid, pattern in enumerate(self.patterns):
            if pattern.length:
                keyed[_lower(pattern.surface)].append(pid)
        for key, pids in keyed.items():
            auto.add_word(key, tuple(pids))
        if not keyed:
            auto.add_word("\x00", ())
        auto.make_automaton()
        return auto

    def compiled_regexes(self) -> tuple[tuple[re.Pattern[str], dict[str, int]], ...]:
        out = []
        for exact, items in self.regexes.items():
            if not items:
                continue
            names = {f"r{pid}": pid for _, pid in items}
            joined = "|".join(f"(?P<r{pid}>{text})" for text, pid in items)
            out.append((re.compile(joined, 0 if exact else re.IGNORECASE), names))
        return tuple(out)


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _dump(item: Any) -> Any:
    return item.model_dump() if hasattr(item, "model_dump") else item


def compile_themes(themes: ThemesFile) -> ThemeSet:
    """Compile every theme's rules into one automaton and a few regexes; stable version."""
    builder = _Builder()
    for item in themes.exclude:
        builder.item(item, (_GLOBAL, _EXCLUDE, 0, _display(item)))
    for item in themes.asides:
        builder.item(item, (_GLOBAL, _ASIDE, 0, _display(item)))
    shared = {"engine": ENGINE_VERSION, "exclude": [_dump(i) for i in themes.exclude],
              "asides": [_dump(i) for i in themes.asides],
              "weights": themes.weights.model_dump(), "scoring": themes.scoring.model_dump()}
    compiled: list[CompiledTheme] = []
    rules: list[_Rules] = []
    versions: dict[str, str] = {}
    for t_index, theme in enumerate(themes.themes):
        weights: FieldWeights = theme.weights or themes.weights
        for slot, term in enumerate(theme.terms):
            _add_term(builder, t_index, slot, term)
        for item in theme.exclude:
            builder.item(item, (t_index, _EXCLUDE, 0, _display(item)))
        for item in theme.asides:
            builder.item(item, (t_index, _ASIDE, 0, _display(item)))
        for g_index, group in enumerate(theme.require):
            for item in group:
                builder.item(item, (t_index, _REQUIRE, g_index, _display(item)))
        rule_dump = theme.model_dump(include={"terms", "require", "exclude", "asides",
                                              "weights", "threshold"})
        version = _digest({"shared": shared, "rules": rule_dump})
        versions[theme.id] = version
        rules.append(_Rules(
            weights=(weights.title, weights.body),
            term_weights=tuple(t.weight for t in theme.terms),
            term_names=tuple(t.term for t in theme.terms),
            groups=tuple(tuple(_display(i) for i in g) for g in theme.require),
            gated=frozenset(i for i, t in enumerate(theme.terms) if t.context),
            supporting=frozenset(i for i, t in enumerate(theme.terms) if t.supporting),
            threshold=theme.threshold,
        ))
        compiled.append(CompiledTheme(theme.id, theme.label, theme.description,
                                      theme.threshold, version, len(theme.terms)))
    return ThemeSet(
        version=_digest(list(versions.items())),
        theme_versions=versions,
        themes=tuple(compiled),
        _rules=tuple(rules),
        _patterns=tuple(builder.patterns),
        _automaton=builder.automaton(),
        _regexes=builder.compiled_regexes(),
        _scoring=themes.scoring,
    )


def _display(item: str | PatternConfig) -> str:
    return item.regex if isinstance(item, PatternConfig) else item


def _add_term(builder: _Builder, t_index: int, slot: int, term: TermConfig) -> None:
    for text in (term.term, *term.aliases):
        use = (t_index, _TERM, slot, text)
        if term.regex:
            builder.regex(text, use, exact=term.case == "exact")
        else:
            builder.literal(text, use, case=term.case, inflect=term.inflect)
    for item in term.context:
        builder.item(item, (t_index, _CONTEXT, slot, _display(item)))
    for item in term.not_with:
        builder.item(item, (t_index, _NOT_WITH, slot, _display(item)))


def _scan(text: str, themes: ThemeSet) -> list[tuple[int, int, int]]:
    """All (pattern id, start, end) hits in ``text`` (already normalised)."""
    lowered = _lower(text)
    size = len(text)
    patterns = themes._patterns
    hits = []
    for end_index, pids in themes._automaton.iter(lowered):
        end = end_index + 1
        for pid in pids:
            pattern = patterns[pid]
            start = end - pattern.length
            if pattern.left_word and start > 0 and lowered[start - 1] in _WORD:
                continue
            if pattern.right_word and end < size and lowered[end] in _WORD:
                continue
            if pattern.is_exact and text[start:end] != pattern.surface:
                continue
            hits.append((pid, start, end))
    for regex, names in themes._regexes:
        for match in regex.finditer(text):
            if match.lastgroup is not None and match.end() > match.start():
                hits.append((names[match.lastgroup], match.start(), match.end()))
    return hits


def _saturate(count: int) -> float:
    return 1.0 + math.log2(count) / 2.0


_TermHits = list[list[tuple[int, str, str, int, int]]]
_SideHits = list[list[tuple[int, int, str, str, int, int]]]
_Excluded = dict[tuple[int, str], list[tuple[int, int, str]]]
_ASIDE_KEY = 1 << 20  # key offset of aside spans in the _Excluded dict


@dataclass(frozen=True)
class _Article:
    """The normalised fields of one article and where its lead ends."""

    title: str
    body: str
    lead_end: int  # body offsets below this are in the lead

    def text(self, field_name: str) -> str:
        return self.title if field_name == "title" else self.body


def _lead_end(body: str, limit: int) -> int:
    """End of the lead: the body's first paragraph, at most ``limit`` characters."""
    if limit <= 0:
        return 0
    start = len(body) - len(body.lstrip())
    newline = body.find("\n", start)
    end = len(body) if newline < 0 else newline
    return min(end, start + limit)


def _collect(
    title: str, text: str, themes: ThemeSet
) -> tuple[_TermHits, _SideHits, _Excluded, _Article]:
    """Every hit of the article, split per theme into terms, side patterns and exclusions."""
    n_themes = len(themes.themes)
    patterns = themes._patterns
    term_hits: _TermHits = [[] for _ in range(n_themes)]
    side_hits: _SideHits = [[] for _ in range(n_themes)]
    # (theme index, field) -> excluded spans; global ones under _GLOBAL, asides offset
    excluded: _Excluded = defaultdict(list)
    fields = {"title": normalise(title) if title else "", "body": normalise(text) if text else ""}
    for field_name, norm in fields.items():
        if not norm:
            continue
        for pid, start, end in _scan(norm, themes):
            for t_index, role, slot, name in patterns[pid].uses:
                if role == _EXCLUDE:
                    excluded[(t_index, field_name)].append((start, end, name))
                elif role == _ASIDE:
                    excluded[(t_index + _ASIDE_KEY, field_name)].append((start, end, name))
                elif role == _TERM:
                    term_hits[t_index].append((slot, name, field_name, start, end))
                else:
                    side_hits[t_index].append((role, slot, name, field_name, start, end))
    article = _Article(fields["title"], fields["body"],
                       _lead_end(fields["body"], themes._scoring.lead))
    return term_hits, side_hits, excluded, article


def explain_article(title: str, text: str, themes: ThemeSet) -> tuple[ThemeExplanation, ...]:
    """What every theme's rules decided for this article, in display order."""
    term_hits, side_hits, excluded, article = _collect(title, text, themes)
    results = [
        _decide(t_index, theme, themes._rules[t_index], term_hits[t_index],
                side_hits[t_index], excluded, article, themes._scoring)
        for t_index, theme in enumerate(themes.themes)
    ]
    top = max((r.score for r in results if r.is_match), default=0.0)
    dominance = themes._scoring.dominance
    return tuple(
        replace(r, is_match=False, dominated=True)
        if r.is_match and _dominated(r, top, dominance) else r
        for r in results
    )


def _bracketed(text: str, previous_end: int, start: int) -> bool:
    """True when only spaces and an opening bracket separate two hits: "機関(IOM)"."""
    gap = start - previous_end
    if gap < 1 or gap > 3:
        return False
    return all(c in _BRACKET_GAP for c in text[previous_end:start])


def _inside(spans: list[tuple[int, int, str]], start: int, end: int) -> str | None:
    for s_start, s_end, name in spans:
        if s_start < end and start < s_end:
            return name
    return None


def _decide(
    t_index: int,
    theme: CompiledTheme,
    rules: _Rules,
    term_hits: list[tuple[int, str, str, int, int]],
    side_hits: list[tuple[int, int, str, str, int, int]],
    excluded: dict[tuple[int, str], list[tuple[int, int, str]]],
    article: _Article,
    scoring: ScoringConfig,
) -> ThemeExplanation:
    spans = {f: excluded.get((_GLOBAL, f), []) + excluded.get((t_index, f), []) for f in FIELDS}
    asides = {f: excluded.get((_GLOBAL + _ASIDE_KEY, f), [])
              + excluded.get((t_index + _ASIDE_KEY, f), []) for f in FIELDS}
    fired: dict[tuple[str, str], int] = defaultdict(int)

    def kept(field_name: str, start: int, end: int) -> bool:
        field_spans = spans[field_name]
        name = _inside(field_spans, start, end) if field_spans else None
        if name is None and asides[field_name]:
            name = _same_sentence(article.text(field_name), asides[field_name], start, end)
        if name is None:
            return True
        fired[(name, field_name)] += 1
        return False

    groups_hit: set[int] = set()
    context_ok: set[int] = set()
    vetoed: set[int] = set()
    for role, slot, _name, field_name, start, end in side_hits:
        if slot in (groups_hit if role == _REQUIRE else context_ok if role == _CONTEXT
                    else vetoed):
            continue  # one hit per group or term is all that is needed
        if not kept(field_name, start, end):
            continue
        if role == _REQUIRE:
            groups_hit.add(slot)
        elif role == _CONTEXT:
            context_ok.add(slot)
        elif role == _NOT_WITH:
            vetoed.add(slot)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    alias_counts: dict[tuple[int, str, str], int] = defaultdict(int)
    dropped: set[str] = set()
    # Longest match wins: a hit inside a longer hit of the same theme in the same field
    # ("難民" inside "難民認定", "displaced" inside "displaced families") is not counted.
    term_hits = sorted(term_hits, key=lambda h: (h[2], h[3], -h[4]))
    cover_field, cover_end = "", -1
    last_field, last_end = "", -1  # the last hit that counted
    position: dict[int, float] = {}  # body term -> weight of its first position
    body, lead_end, late = article.body, article.lead_end, scoring.late
    in_title = in_lead = headline = core = False
    first_body = last_body = -1
    for slot, name, field_name, start, end in term_hits:
        if not kept(field_name, start, end):
            continue
        if field_name == cover_field and end <= cover_end:
            continue
        cover_field, cover_end = field_name, end
        if slot in vetoed or (slot in rules.gated and slot not in context_ok):
            dropped.add(rules.term_names[slot])
            continue
        if field_name == last_field and _bracketed(article.text(field_name), last_end, start):
            last_end = end  # "国際移住機関(IOM)": the short form is the same mention
            continue
        last_field, last_end = field_name, end
        counts[(slot, field_name)] += 1
        alias_counts[(slot, name, field_name)] += 1
        supporting = slot in rules.supporting
        core = core or not supporting
        if field_name == "title":
            in_title = True
            headline = headline or not supporting
            continue
        if first_body < 0:
            first_body = start
        last_body = start
        if start < lead_end:
            in_lead = True
            position.setdefault(slot, 1.0)
        elif slot not in position:
            position[slot] = late + (1.0 - late) * (1.0 - start / len(body))
    score = core_score = 0.0
    for (slot, field_name), count in counts.items():
        title_hit = field_name == "title"
        weight = rules.weights[0] if title_hit else rules.weights[1] * position[slot]
        points = rules.term_weights[slot] * weight * _saturate(count)
        score += points
        if slot not in rules.supporting:
            core_score += points
    ranked = sorted(
        alias_counts.items(),
        key=lambda kv: (kv[0][2] != "title", -rules.term_weights[kv[0][0]] * kv[1], kv[0][1]),
    )
    reasons = tuple(Reason(name, field_name, count) for (_s, name, field_name), count in ranked)
    missing = tuple(g for i, g in enumerate(rules.groups) if i not in groups_hit)
    score = round(score, 3)
    only_supporting = bool(reasons) and not core
    is_match = bool(reasons) and not missing and not only_supporting and score >= rules.threshold
    passing = False
    if is_match and scoring.spread and not (in_title or in_lead):
        # Body hits outside the lead must at least span two sentences.
        passing = _SENTENCE_END.search(body, first_body, last_body) is None
        is_match = not passing
    return ThemeExplanation(
        theme_id=theme.id,
        is_match=is_match,
        score=score,
        threshold=rules.threshold,
        reasons=reasons,
        exclusions=tuple(Reason(n, f, c) for (n, f), c in sorted(fired.items())),
        missing_groups=missing,
        dropped_terms=tuple(sorted(dropped)),
        passing_mention=passing,
        only_supporting=only_supporting,
        headline=headline,
        core_score=round(core_score, 3),
    )


def _same_sentence(
    text: str, spans: list[tuple[int, int, str]], start: int, end: int
) -> str | None:
    """The aside in ``spans`` that shares a sentence with ``text[start:end]``, if any."""
    for s_start, s_end, name in spans:
        low, high = min(start, s_start), max(end, s_end)
        if _SENTENCE_END.search(text, low, high) is None:
            return name
    return None


def _dominated(result: ThemeExplanation, top: float, dominance: float) -> bool:
    """A theme without a headline that its own terms score far below the main theme.

    Supporting terms (who the people are, agency names, policy catchwords) do not count
    towards the comparison: they say what the article mentions, not what it is about.
    """
    if dominance <= 0 or result.headline or result.score >= top:
        return False  # the best-scoring theme is what the article is about
    return result.core_score < dominance * top


def tag_article(title: str, text: str, themes: ThemeSet) -> tuple[ThemeMatch, ...]:
    """The themes this article matches, highest score first, with the reasons."""
    term_hits, side_hits, excluded, article = _collect(title, text, themes)
    matches = []
    for t_index, theme in enumerate(themes.themes):
        if not term_hits[t_index]:  # no term, no match: skip the bookkeeping
            continue
        result = _decide(t_index, theme, themes._rules[t_index], term_hits[t_index],
                         side_hits[t_index], excluded, article, themes._scoring)
        if result.is_match:
            matches.append((ThemeMatch(result.theme_id, result.score, result.reasons), result))
    top = max((m.score for m, _ in matches), default=0.0)
    dominance = themes._scoring.dominance
    kept = [m for m, result in matches if not _dominated(result, top, dominance)]
    # matches are in display order and the sort is stable: equal scores keep that order
    return tuple(sorted(kept, key=lambda m: -m.score))
