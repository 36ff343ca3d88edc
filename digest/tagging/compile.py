"""Compile ``themes.yaml`` into one automaton and per-theme rules (built once, used often).

Contract: :func:`compile_themes` turns a validated :class:`~config.themes.ThemesFile` into a
:class:`ThemeSet`.  Every literal of every theme (terms, aliases, requirement groups,
contexts, exclusions, asides) and every phrase of every concept class lives in ONE
Aho–Corasick automaton over lower-cased NFKC text; the few regular expressions run as one
combined pattern per case mode.  The set's ``version`` changes only when the rules do
(labels, descriptions and examples are not rules), so stored tags are re-computed only
when they could differ.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

from config.themes import (
    Bilingual,
    ComboConfig,
    FieldWeights,
    PatternConfig,
    ScoringConfig,
    TermConfig,
    ThemesFile,
)

ENGINE_VERSION = "4"
_QUOTES = ("’", "‘", "`", "ʼ")
WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ACRONYM = re.compile(r"^[A-Z0-9][A-Z0-9&.\-/]*[A-Z0-9]$")
_ENGLISH_END = re.compile(r"[a-z]$")

# Roles a pattern plays for a theme (or, with theme index GLOBAL, for every theme).
TERM, EXCLUDE, REQUIRE, CONTEXT, NOT_WITH, ASIDE, CONCEPT = range(7)
GLOBAL = -1


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
class Pattern:
    """One literal (or regex) as it must appear, and every use of it by the rules."""

    surface: str  # NFKC form as it must appear (for exact case)
    length: int  # 0 for a regular expression
    is_exact: bool
    left_word: bool
    right_word: bool
    uses: list[tuple[int, int, int, str]] = field(default_factory=list)
    # (theme index or GLOBAL, role, slot, display name)


@dataclass(frozen=True)
class Combo:
    """A compiled combo: concept indexes that must share a window, and its term slot."""

    slot: int
    name: str
    concepts: tuple[int, ...]
    within: int  # characters; 0 means one sentence
    anywhere: tuple[int, ...]


@dataclass(frozen=True)
class Rules:
    """What one theme's decision needs, by slot: terms first, then combos."""

    weights: tuple[float, float]
    term_weights: tuple[float, ...]
    term_names: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    gated: frozenset[int]  # terms with a context list
    supporting: frozenset[int]  # terms that cannot carry the theme alone
    threshold: float
    combos: tuple[Combo, ...] = ()


@dataclass(frozen=True)
class ThemeSet:
    """Compiled themes: built once, then used for every article."""

    version: str
    theme_versions: dict[str, str]
    themes: tuple[CompiledTheme, ...]
    concepts: tuple[str, ...]
    rules: tuple[Rules, ...] = field(repr=False)
    patterns: tuple[Pattern, ...] = field(repr=False)
    automaton: Any = field(repr=False)
    regexes: tuple[tuple[re.Pattern[str], dict[str, Any]], ...] = field(repr=False)
    layout: dict[str, int] = field(repr=False, default_factory=dict)
    scoring: ScoringConfig = field(repr=False, default_factory=ScoringConfig)
    source: ThemesFile | None = field(repr=False, default=None, compare=False)

    @property
    def ids(self) -> tuple[str, ...]:
        """Theme ids in display order."""
        return tuple(theme.id for theme in self.themes)

    def index_of(self, theme_id: str) -> int:
        """The position of ``theme_id`` in display order; KeyError when unknown."""
        for index, theme in enumerate(self.themes):
            if theme.id == theme_id:
                return index
        raise KeyError(theme_id)

    def aliases(self, theme_id: str) -> dict[str, tuple[str, ...]]:
        """Each term of ``theme_id`` with its aliases, as written in themes.yaml."""
        if self.source is None:
            return {}
        theme = self.source.theme(theme_id)
        return {term.term: tuple(term.aliases) for term in theme.terms}


def normalise(text: str) -> str:
    """NFKC-fold ``text`` and straighten quotes (what all matching sees)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        for quote in _QUOTES:  # str.replace is much cheaper than translate when absent
            if quote in text:
                text = text.replace(quote, "'")
    elif "`" in text:
        text = text.replace("`", "'")
    return text


def fold(text: str) -> str:
    """Lower-case ``text`` keeping every offset where it was (what the automaton reads)."""
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
        self.patterns: list[Pattern] = []
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
            left = form[:1] in WORD_CHARS
            right = form[-1:] in WORD_CHARS and not is_prefix
            key = (form if exact else fold(form), exact, left, right)
            pid = self.index.get(key)
            if pid is None:
                pid = len(self.patterns)
                self.index[key] = pid
                self.patterns.append(Pattern(form, len(form), exact, left, right))
            uses = self.patterns[pid].uses
            if use not in uses:
                uses.append(use)

    def regex(self, pattern: str, use: tuple[int, int, int, str], *, exact: bool) -> None:
        pid = len(self.patterns)
        self.patterns.append(Pattern(pattern, 0, exact, False, False, [use]))
        self.regexes[exact].append((normalise(pattern), pid))

    def item(self, item: str | PatternConfig, use: tuple[int, int, int, str]) -> None:
        if isinstance(item, PatternConfig):
            self.regex(item.regex, use, exact=item.case == "exact")
        else:
            self.literal(item, use)

    def automaton(self, layout: dict[str, int], n_themes: int) -> Any:
        """One automaton; each key's value is a tuple of scan entries (see match.scan)."""
        auto = ahocorasick.Automaton()
        keyed: dict[str, list[int]] = defaultdict(list)
        for pid, pattern in enumerate(self.patterns):
            if pattern.length:
                keyed[fold(pattern.surface)].append(pid)
        for key, pids in keyed.items():
            entries = []
            for pid in pids:
                p = self.patterns[pid]
                entries.append((p.length, p.left_word, p.right_word,
                                p.surface if p.is_exact else None,
                                scan_uses(p.uses, layout, n_themes)))
            auto.add_word(key, tuple(entries))
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


def bucket_layout(n_themes: int, n_concepts: int) -> dict[str, int]:
    """Where each kind of hit list starts in a scan's flat bucket list (two per key).

    Each key (a theme's terms, its side patterns, a concept, a theme's or the global
    exclusions and asides) has one list per field: ``2 * (base + key) + field``.
    """
    return {"terms": 0, "sides": n_themes, "concepts": 2 * n_themes,
            "exclude": 2 * n_themes + n_concepts, "asides": 3 * n_themes + n_concepts + 1,
            "size": 4 * n_themes + n_concepts + 2}


def scan_uses(uses: list[tuple[int, int, int, str]], layout: dict[str, int],
              n_themes: int) -> tuple[tuple[int, tuple[Any, ...]], ...]:
    """A pattern's uses as ``(bucket, item prefix)``: a scan appends prefix + (start, end)."""
    out: list[tuple[int, tuple[Any, ...]]] = []
    for t_index, role, slot, name in uses:
        if role == TERM:
            out.append((2 * (layout["terms"] + t_index), (slot, name)))
        elif role == CONCEPT:
            out.append((2 * (layout["concepts"] + slot), (slot, name)))
        elif role in (EXCLUDE, ASIDE):
            key = n_themes if t_index == GLOBAL else t_index
            base = layout["exclude" if role == EXCLUDE else "asides"]
            out.append((2 * (base + key), (slot, name)))
        else:
            out.append((2 * (layout["sides"] + t_index), (role, slot)))
    return tuple(out)


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _dump(item: Any) -> Any:
    return item.model_dump() if hasattr(item, "model_dump") else item


def display(item: str | PatternConfig) -> str:
    """How a phrase or pattern is named in reasons."""
    return item.regex if isinstance(item, PatternConfig) else item


def _add_term(builder: _Builder, t_index: int, slot: int, term: TermConfig) -> None:
    for text in (term.term, *term.aliases):
        use = (t_index, TERM, slot, text)
        if term.regex:
            builder.regex(text, use, exact=term.case == "exact")
        else:
            builder.literal(text, use, case=term.case, inflect=term.inflect)
    for item in term.context:
        builder.item(item, (t_index, CONTEXT, slot, display(item)))
    for item in term.not_with:
        builder.item(item, (t_index, NOT_WITH, slot, display(item)))


def _compile_combos(combos: list[ComboConfig], first_slot: int,
                    concept_index: dict[str, int]) -> tuple[Combo, ...]:
    return tuple(
        Combo(
            slot=first_slot + index,
            name=combo.name,
            concepts=tuple(concept_index[name] for name in combo.all),
            within=0 if combo.within == "sentence" else int(combo.within),
            anywhere=tuple(concept_index[name] for name in combo.with_),
        )
        for index, combo in enumerate(combos)
    )


def compile_themes(themes: ThemesFile) -> ThemeSet:
    """Compile every theme's rules into one automaton and a few regexes; stable version."""
    builder = _Builder()
    for item in themes.exclude:
        builder.item(item, (GLOBAL, EXCLUDE, 0, display(item)))
    for item in themes.asides:
        builder.item(item, (GLOBAL, ASIDE, 0, display(item)))
    concept_names = tuple(themes.concepts)
    concept_index = {name: index for index, name in enumerate(concept_names)}
    for name, phrases in themes.concepts.items():
        for phrase in phrases:
            builder.literal(phrase, (GLOBAL, CONCEPT, concept_index[name], phrase))
    shared = {"engine": ENGINE_VERSION, "exclude": [_dump(i) for i in themes.exclude],
              "asides": [_dump(i) for i in themes.asides], "concepts": themes.concepts,
              "weights": themes.weights.model_dump(), "scoring": themes.scoring.model_dump()}
    compiled: list[CompiledTheme] = []
    rules: list[Rules] = []
    versions: dict[str, str] = {}
    for t_index, theme in enumerate(themes.themes):
        weights: FieldWeights = theme.weights or themes.weights
        for slot, term in enumerate(theme.terms):
            _add_term(builder, t_index, slot, term)
        for item in theme.exclude:
            builder.item(item, (t_index, EXCLUDE, 0, display(item)))
        for item in theme.asides:
            builder.item(item, (t_index, ASIDE, 0, display(item)))
        for g_index, group in enumerate(theme.require):
            for item in group:
                builder.item(item, (t_index, REQUIRE, g_index, display(item)))
        rule_dump = theme.model_dump(include={"terms", "require", "exclude", "asides",
                                              "combos", "weights", "threshold"})
        version = _digest({"shared": shared, "rules": rule_dump})
        versions[theme.id] = version
        n_terms = len(theme.terms)
        combos = _compile_combos(theme.combos, n_terms, concept_index)
        rules.append(Rules(
            weights=(weights.title, weights.body),
            term_weights=(*(t.weight for t in theme.terms), *(c.weight for c in theme.combos)),
            term_names=(*(t.term for t in theme.terms), *(c.name for c in theme.combos)),
            groups=tuple(tuple(display(i) for i in g) for g in theme.require),
            gated=frozenset(i for i, t in enumerate(theme.terms) if t.context),
            supporting=frozenset(
                [i for i, t in enumerate(theme.terms) if t.supporting]
                + [n_terms + i for i, c in enumerate(theme.combos) if c.supporting]
            ),
            threshold=theme.threshold,
            combos=combos,
        ))
        compiled.append(CompiledTheme(theme.id, theme.label, theme.description,
                                      theme.threshold, version, n_terms))
    layout = bucket_layout(len(compiled), len(concept_names))
    return ThemeSet(
        version=_digest(list(versions.items())),
        theme_versions=versions,
        themes=tuple(compiled),
        concepts=concept_names,
        rules=tuple(rules),
        patterns=tuple(builder.patterns),
        automaton=builder.automaton(layout, len(compiled)),
        regexes=tuple((regex, {name: scan_uses(builder.patterns[pid].uses, layout, len(compiled))
                               for name, pid in names.items()})
                      for regex, names in builder.compiled_regexes()),
        layout=layout,
        scoring=themes.scoring,
        source=themes,
    )
