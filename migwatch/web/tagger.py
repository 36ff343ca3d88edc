"""The one place the web app calls the theme tagger: load, explain, re-tag.

Everything the pages need of the tagger (:mod:`digest.tagging`) goes through these few
functions, in the web app's own plain types, so a change in the tagger's modules touches
this file only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from config.themes import ThemesFile
from db.tags import ArticleForTagging
from digest.tagging.compile import ThemeSet
from digest.tagging.explain import explain_article
from digest.tagging.loader import load_theme_set
from digest.tagging.store import retag_article, tag_stored_articles


@dataclass(frozen=True)
class LoadedThemes:
    """A themes.yaml read and compiled."""

    path: Path
    config: ThemesFile
    compiled: ThemeSet

    @property
    def version(self) -> str:
        """The rules' version, as stored on tagged articles."""
        return self.compiled.version


@dataclass(frozen=True)
class Verdict:
    """What the rules decided for one theme on one text, in words a page can show."""

    theme_id: str
    is_match: bool
    score: float
    threshold: float
    terms: tuple[tuple[str, str, int], ...]  # (term, field, count) that counted
    exclusions: tuple[str, ...]  # look-alike phrases that fired
    missing_groups: tuple[tuple[str, ...], ...]  # require groups without a hit
    dropped_terms: tuple[str, ...]  # terms not counted for lack of context
    passing_mention: bool
    only_supporting: bool
    dominated: bool


def load(config_dir: Path) -> LoadedThemes:
    """The themes in use for ``config_dir`` (the user's file, else the shipped one),
    compiled; the tagger's loader recompiles when the file changes."""
    loaded = load_theme_set(config_dir)
    return LoadedThemes(path=loaded.path, config=loaded.config, compiled=loaded.theme_set)


def explain(themes: LoadedThemes, title: str, text: str) -> tuple[Verdict, ...]:
    """Every theme's verdict on a title and text, in the themes' order."""
    return tuple(
        Verdict(
            theme_id=e.theme_id, is_match=e.is_match, score=e.score, threshold=e.threshold,
            terms=tuple((r.term, r.field, r.count) for r in e.reasons),
            exclusions=tuple(r.term for r in e.exclusions),
            missing_groups=e.missing_groups, dropped_terms=e.dropped_terms,
            passing_mention=e.passing_mention, only_supporting=e.only_supporting,
            dominated=e.dominated,
        )
        for e in explain_article(title, text, themes.compiled)
    )


def retag(session: Session, themes: LoadedThemes, article_id: int, title: str,
          text: str) -> tuple[str, ...]:
    """Tag one stored article again with ``themes`` (caller commits); its theme ids."""
    matches = retag_article(session, ArticleForTagging(article_id, title, text),
                            themes.compiled)
    return tuple(m.theme_id for m in matches)


def retag_stale(sessions: sessionmaker[Session], themes: LoadedThemes) -> tuple[int, int]:
    """Tag every article not yet tagged with these rules: (tagged, with a theme)."""
    summary = tag_stored_articles(sessions, themes.compiled)
    return summary.tagged, summary.with_themes
