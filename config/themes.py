"""The themes schema: what ``themes.yaml`` may say, validated with every problem at once.

A theme has bilingual labels and a description, match rules (terms with aliases, groups
that must co-occur, exclusions, field weights, a threshold) and examples that must and
must not match (the test suite runs them).  Problems are reported as
``file:line: field: message``, all of them in one :class:`~config.errors.ConfigError`:
unknown keys, bad regular expressions, a theme without terms, duplicate ids.

This module imports only ``config.*``; compiling the rules for matching is
``digest.tagging``'s job.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
)
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from config.errors import ConfigError
from config.loader import (
    DEFAULTS_DIR,
    THEMES_FILE,
    line_of,
    load_yaml,
    problem_at,
    validation_problems,
)

THEME_ID_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,63}")
CONCEPT_NAME_PATTERN = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Model):
    """One text in Japanese and in English."""

    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def for_lang(self, lang: str) -> str:
        """The text in ``lang`` (``ja`` or ``en``); English for anything else."""
        return self.ja if lang == "ja" else self.en


class PatternConfig(_Model):
    """A regular expression used where a plain phrase is not enough."""

    regex: str = Field(min_length=1)
    case: Literal["auto", "exact", "any"] = "any"


def _pattern_kind(value: Any) -> str:
    return "phrase" if isinstance(value, str) else "regex-pattern"


# A phrase or ``{regex: ...}``; tagged so an error names one shape, not both.
Pattern = Annotated[
    Annotated[str, Tag("phrase")] | Annotated[PatternConfig, Tag("regex-pattern")],
    Discriminator(_pattern_kind),
]
_UNION_TAGS = frozenset({"phrase", "regex-pattern"})


class TermConfig(_Model):
    """A term and its aliases; every alias counts as the term itself."""

    term: str = Field(min_length=1, description="The term as shown in reasons.")
    aliases: list[str] = Field(default_factory=list, description="Other spellings, any language.")
    weight: float = Field(
        default=1.0, gt=0, description="Points per occurrence before field weights."
    )
    case: Literal["auto", "exact", "any"] = Field(
        default="auto",
        description="auto: all-capital terms (IOM, UN) match exactly, others any case.",
    )
    regex: bool = Field(
        default=False, description="term and aliases are regular expressions."
    )
    inflect: bool = Field(default=True, description="English words also match -s/-es/'s forms.")
    context: list[Pattern] = Field(
        default_factory=list, description="Counts only if one of these is in the article."
    )
    not_with: list[Pattern] = Field(
        default_factory=list, description="Does not count if one of these is in the article."
    )
    supporting: bool = Field(
        default=False,
        description="Adds to the score, but the theme also needs a hit of a term that is not "
        "supporting; a supporting term in the title is not a headline.",
    )


def _term_item(value: Any) -> Any:
    if isinstance(value, str):
        return {"term": value}
    return value


Term = Annotated[TermConfig, BeforeValidator(_term_item)]


class FieldWeights(_Model):
    """How much an occurrence counts in each field."""

    title: float = Field(default=2.0, ge=0)
    body: float = Field(default=1.0, ge=0)


class ScoringConfig(_Model):
    """How the position of a body hit and the spread of the hits are weighed.

    The lead is the body's first paragraph, cut at ``lead`` characters.  A body term
    first found in the lead counts fully; one first found later counts less and less,
    down to ``late`` at the very end.  With ``spread``, a theme also needs evidence that
    the article is about it, not a passing mention: a hit in the title or the lead, or
    body hits in at least two different sentences.  ``lead: 0``, ``late: 1`` and
    ``spread: false`` give the position-blind scoring of earlier versions.

    With ``dominance`` above 0, a matched theme whose title has none of its (non-supporting)
    terms must also score at least that fraction of the best-scoring matched theme: an
    article is about one or two things, and a side theme far below them is background.
    """

    lead: int = Field(default=300, ge=0, description="Characters of the lead paragraph, at most.")
    late: float = Field(
        default=0.5, ge=0, le=1, description="Weight of a body term first seen at the very end."
    )
    spread: bool = Field(
        default=True, description="Need a title or lead hit, or body hits in two sentences."
    )
    dominance: float = Field(
        default=0.0, ge=0, le=1,
        description="A theme without a headline hit must score at least this fraction of "
        "the article's best-scoring theme (0: off).",
    )
    title_only: float = Field(
        default=1.0, gt=0, le=1,
        description="Thresholds are multiplied by this for an item with a title and no "
        "body (a headline-only feed entry).",
    )
    lead_headline: bool = Field(
        default=False,
        description="A non-supporting term in the lead counts as a headline for dominance: "
        "a co-theme named up front is kept.",
    )


class ComboConfig(_Model):
    """Concepts that together are a theme's evidence: a money word near a decrease word."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, description="Shown in reasons, with the words found.")
    all: list[str] = Field(min_length=1, description="Concepts that must all be in one window.")
    within: int | Literal["sentence"] = Field(
        default="sentence",
        description="The window: one sentence, or at most this many characters apart.",
    )
    with_: list[str] = Field(
        default_factory=list, alias="with",
        description="Concepts that must also be somewhere in the article (title or body).",
    )
    weight: float = Field(default=1.5, gt=0, description="Points, like a term's weight.")
    supporting: bool = Field(default=False, description="As for terms.")


class Examples(_Model):
    """Texts the rules must tag with the theme, and texts they must not."""

    match: list[str] = Field(default_factory=list)
    no_match: list[str] = Field(default_factory=list)


def _check_theme_id(value: str) -> str:
    if not THEME_ID_PATTERN.fullmatch(value):
        raise ValueError("theme id must be lower-case letters, digits, '-' or '_' (like iom)")
    return value


class ThemeConfig(_Model):
    """One theme: labels, description, rules and examples."""

    id: Annotated[str, AfterValidator(_check_theme_id)]
    label: Bilingual
    description: Bilingual
    terms: list[Term] = Field(default_factory=list)
    require: list[list[Pattern]] = Field(
        default_factory=list, description="Groups that must each have a hit in the article."
    )
    exclude: list[Pattern] = Field(
        default_factory=list, description="Look-alike phrases; term hits inside them don't count."
    )
    asides: list[Pattern] = Field(
        default_factory=list,
        description="Term hits in a sentence with one of these (a biography) don't count.",
    )
    combos: list[ComboConfig] = Field(
        default_factory=list,
        description="Concept combinations that count like terms (paraphrases).",
    )
    weights: FieldWeights | None = None
    threshold: float = Field(default=2.0, gt=0)
    examples: Examples = Field(default_factory=Examples)

    def label_for(self, lang: str) -> str:
        """The label in ``lang`` (``ja`` or ``en``)."""
        return self.label.for_lang(lang)

    def description_for(self, lang: str) -> str:
        """The description in ``lang`` (``ja`` or ``en``)."""
        return self.description.for_lang(lang)


class ThemesFile(_Model):
    """The whole ``themes.yaml``: shared exclusions and weights, then the themes in order."""

    weights: FieldWeights = Field(default_factory=FieldWeights)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    exclude: list[Pattern] = Field(
        default_factory=list, description="Look-alikes that no theme's terms may match inside."
    )
    asides: list[Pattern] = Field(
        default_factory=list,
        description="No theme's term hits count in a sentence with one of these.",
    )
    concepts: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Named word classes (MONEY, DECREASE, ...) in both languages, for combos.",
    )
    themes: list[ThemeConfig] = Field(default_factory=list)

    def theme(self, theme_id: str) -> ThemeConfig:
        """The theme with ``theme_id``; KeyError when there is none."""
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(theme_id)


def themes_path(config_dir: Path) -> Path:
    """``config_dir/themes.yaml`` when the user has one, else the shipped default."""
    own = config_dir / THEMES_FILE
    return own if own.exists() else DEFAULTS_DIR / THEMES_FILE


def load_themes(path: Path) -> ThemesFile:
    """Read and validate one themes.yaml; raise ConfigError listing every problem."""
    root = load_yaml(path)
    problems: list[tuple[int, str]] = _raw_problems(path, root)
    parsed: ThemesFile | None = None
    try:
        parsed = ThemesFile.model_validate(root if root is not None else {})
    except ValidationError as exc:
        problems.extend(
            validation_problems(path, root, exc, docs="docs/themes.md", skip=_UNION_TAGS,
                                model=ThemesFile)
        )
    if parsed is not None and not parsed.themes and not problems:
        problems.append((1, f"{path}:1: themes: no themes defined; add at least one"))
    if problems:
        lines = [msg for _, msg in sorted(dict.fromkeys(problems), key=lambda p: p[0])]
        raise ConfigError(lines[0], lines)
    assert parsed is not None
    return parsed


def _raw_problems(path: Path, root: Any) -> list[tuple[int, str]]:
    """Checks pydantic cannot express: regexes, missing terms, duplicate ids."""
    out: list[tuple[int, str]] = []

    def add(loc: list[str | int], message: str) -> None:
        out.append(problem_at(path, root, loc, message))

    if not isinstance(root, CommentedMap):
        return out
    _check_patterns(root.get("exclude"), ["exclude"], add)
    _check_patterns(root.get("asides"), ["asides"], add)
    concepts = root.get("concepts")
    known: set[str] = set()
    if isinstance(concepts, CommentedMap):
        for name, phrases in concepts.items():
            if not isinstance(name, str) or not CONCEPT_NAME_PATTERN.fullmatch(name):
                add(["concepts", str(name)],
                    "concept names are capitals, digits and '_' (like MONEY)")
            elif isinstance(phrases, CommentedSeq) and not phrases:
                add(["concepts", name], "concept has no phrases; list at least one")
            known.add(str(name))
    themes = root.get("themes")
    if not isinstance(themes, CommentedSeq):
        return out
    seen: dict[str, int] = {}
    for index, theme in enumerate(themes):
        if not isinstance(theme, CommentedMap):
            continue
        loc: list[str | int] = ["themes", index]
        theme_id = theme.get("id")
        if isinstance(theme_id, str):
            if theme_id in seen:
                first = seen[theme_id]
                add([*loc, "id"], f"duplicate theme id {theme_id!r} (first on line {first})")
            seen.setdefault(theme_id, line_of(root, [*loc, "id"]))
        terms = theme.get("terms")
        if not terms:
            where = [*loc, "terms"] if "terms" in theme else loc
            add(where, "theme has no terms; add at least one")
        elif isinstance(terms, CommentedSeq):
            for t_index, term in enumerate(terms):
                _check_term(term, [*loc, "terms", t_index], add)
        _check_patterns(theme.get("exclude"), [*loc, "exclude"], add)
        _check_patterns(theme.get("asides"), [*loc, "asides"], add)
        _check_combos(theme.get("combos"), [*loc, "combos"], known, add)
        require = theme.get("require")
        if isinstance(require, CommentedSeq):
            for g_index, group in enumerate(require):
                if isinstance(group, CommentedSeq) and not group:
                    add([*loc, "require", g_index], "empty group; list at least one term")
                _check_patterns(group, [*loc, "require", g_index], add)
    return out


def _check_combos(combos: Any, loc: list[str | int], known: set[str], add: Any) -> None:
    if not isinstance(combos, CommentedSeq):
        return
    for index, combo in enumerate(combos):
        if not isinstance(combo, CommentedMap):
            continue
        for key in ("all", "with"):
            names = combo.get(key)
            if not isinstance(names, CommentedSeq):
                continue
            for n_index, name in enumerate(names):
                if isinstance(name, str) and name not in known:
                    hint = ", ".join(sorted(known)[:8]) or "none defined"
                    add([*loc, index, key, n_index],
                        f"unknown concept {name!r}; define it under concepts: ({hint})")


def _check_term(term: Any, loc: list[str | int], add: Any) -> None:
    if not isinstance(term, CommentedMap):
        return
    if term.get("regex") is True:
        if isinstance(term.get("term"), str):
            _check_regex(term["term"], [*loc, "term"], add)
        aliases = term.get("aliases")
        if isinstance(aliases, CommentedSeq):
            for a_index, alias in enumerate(aliases):
                if isinstance(alias, str):
                    _check_regex(alias, [*loc, "aliases", a_index], add)
    for key in ("context", "not_with"):
        _check_patterns(term.get(key), [*loc, key], add)


def _check_patterns(items: Any, loc: list[str | int], add: Any) -> None:
    if not isinstance(items, CommentedSeq):
        return
    for index, item in enumerate(items):
        if isinstance(item, CommentedMap) and isinstance(item.get("regex"), str):
            _check_regex(item["regex"], [*loc, index, "regex"], add)


def _check_regex(pattern: str, loc: list[str | int], add: Any) -> None:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        add(loc, f"bad regular expression {pattern!r}: {exc}")
        return
    if compiled.match(""):
        add(loc, f"regular expression {pattern!r} matches empty text; it would match everywhere")
