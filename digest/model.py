"""The plain, frozen types that flow between the digest stages::

    CandidateArticle (db) → StoryCluster (an event) → RankedStory / ThemeSection
        → RankedDigest → RenderedDigest(subject, html, text, archive_html, issue_json)
        → BuiltDigest → DeliveryReport
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from db.digests import CandidateArticle, SightingRow, TagRow
from db.queries import SourceHealth
from digest.outlets import outlet_key

__all__ = [
    "BuiltDigest",
    "CandidateArticle",
    "DeliveryOutcome",
    "DeliveryReport",
    "HeadlineFigures",
    "Outlet",
    "RankedDigest",
    "RankedStory",
    "RenderedDigest",
    "SightingRow",
    "SourceHealth",
    "StoryCluster",
    "TagRow",
    "ThemeCount",
    "ThemeInfo",
    "ThemeSection",
]


@dataclass(frozen=True)
class ThemeInfo:
    """What the digest needs of a theme: its id and its labels."""

    id: str
    label_ja: str
    label_en: str
    # (term, aliases) of the theme's terms that have aliases: event evidence across languages
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def label_for(self, lang: str) -> str:
        """The label in ``lang``."""
        return self.label_ja if lang == "ja" else self.label_en


@dataclass(frozen=True)
class Outlet:
    """A site that reported an event, however many of its feeds brought the story."""

    key: str  # "outlet:<configured name>", registrable domain, or the source key
    name: str
    url: str | None
    weight: float
    seen_at: datetime
    source_keys: tuple[str, ...]


@dataclass(frozen=True)
class StoryCluster:
    """Articles telling one event, across outlets and languages; the first is the lead."""

    articles: tuple[CandidateArticle, ...]

    @property
    def lead(self) -> CandidateArticle:
        """The article whose title and snippet stand for the event."""
        return self.articles[0]

    def lead_for(self, language: str) -> CandidateArticle:
        """The best article written in ``language``, else the lead."""
        return next((a for a in self.articles if a.language == language), self.articles[0])

    @property
    def key(self) -> str:
        """A stable name for the event within its issue (``event-<lead id>``)."""
        return f"event-{self.lead.id}"

    @cached_property
    def sightings(self) -> tuple[SightingRow, ...]:
        """One sighting per source, earliest first."""
        if len(self.articles) == 1 and len(self.articles[0].sightings) == 1:
            return self.articles[0].sightings
        seen: dict[str, SightingRow] = {}
        for article in self.articles:
            for sighting in article.sightings:
                if sighting.source_key not in seen:
                    seen[sighting.source_key] = sighting
        return tuple(sorted(seen.values(), key=lambda s: (s.seen_at, s.source_name)))

    @cached_property
    def outlets(self) -> tuple[Outlet, ...]:
        """One entry per outlet (configured name, else registrable domain), earliest first."""
        grouped: dict[str, list[SightingRow]] = {}
        for sighting in self.sightings:
            key = outlet_key(sighting.source_url, sighting.source_key, sighting.source_outlet)
            grouped.setdefault(key, []).append(sighting)
        return tuple(
            Outlet(
                key=key,
                name=rows[0].source_outlet or rows[0].source_name,
                url=rows[0].url,
                weight=max(row.source_weight for row in rows),
                seen_at=rows[0].seen_at,
                source_keys=tuple(row.source_key for row in rows),
            )
            for key, rows in grouped.items()
        )

    @cached_property
    def languages(self) -> tuple[str, ...]:
        """The languages the event was reported in, Japanese first."""
        codes = {a.language.split("-")[0].lower() for a in self.articles if a.language}
        return tuple(sorted(codes, key=lambda code: (code != "ja", code)))

    @cached_property
    def first_seen_at(self) -> datetime:
        """When the story was first seen (naive UTC)."""
        return min(article.first_seen_at for article in self.articles)


@dataclass(frozen=True)
class RankedStory:
    """A story placed in a theme, with its score and the terms that put it there."""

    story: StoryCluster
    theme_id: str
    score: float
    terms: tuple[str, ...]
    other_themes: tuple[str, ...]


@dataclass(frozen=True)
class ThemeCount:
    """New articles in a theme this week and the week before."""

    theme: ThemeInfo
    count: int
    previous: int


@dataclass(frozen=True)
class ThemeSection:
    """One theme's part of an issue."""

    theme: ThemeInfo
    stories: tuple[RankedStory, ...]
    more: tuple[RankedStory, ...]
    mentions: tuple[RankedStory, ...]


@dataclass(frozen=True)
class HeadlineFigures:
    """The numbers at the top of an issue."""

    article_count: int
    previous_article_count: int
    story_count: int
    source_count: int
    themes: tuple[ThemeCount, ...]


@dataclass(frozen=True)
class RankedDigest:
    """An issue's content, ordered and cut to budget, before any rendering."""

    period: str
    language: str
    is_complete: bool
    start: datetime
    end: datetime
    figures: HeadlineFigures
    sections: tuple[ThemeSection, ...]
    failing: tuple[SourceHealth, ...]
    silent: tuple[SourceHealth, ...]
    highlights: tuple[RankedStory, ...] = ()
    movers: tuple[ThemeCount, ...] = ()
    quiet: tuple[ThemeInfo, ...] = ()
    events: tuple[StoryCluster, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Whether the week brought no new article at all."""
        return self.figures.article_count == 0


@dataclass(frozen=True)
class RenderedDigest:
    """An issue as text: the mail subject and bodies, and the fuller archive page."""

    subject: str
    html: str
    text: str
    archive_html: str
    preheader: str = ""
    feed_html: str = ""


@dataclass(frozen=True)
class BuiltDigest:
    """A built issue: where its files are and what it holds."""

    period: str
    language: str
    is_complete: bool
    built_at: datetime
    subject: str
    html: str
    text: str
    html_path: Path
    text_path: Path
    index_path: Path
    feed_path: Path
    article_count: int
    story_count: int
    source_count: int
    json_path: Path | None = None
    preheader: str = ""
    document: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_empty(self) -> bool:
        """Whether the week brought no new article."""
        return self.article_count == 0


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one recipient in one run."""

    recipient: str
    status: str  # sent | failed | given-up | already-sent | dry-run | skipped
    attempts: int
    error: str | None
    path: Path | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """The outcome of one delivery run."""

    period: str
    language: str
    outcomes: tuple[DeliveryOutcome, ...]

    @property
    def has_failures(self) -> bool:
        """Whether any recipient failed in this run or was given up (now or before)."""
        return any(outcome.status in ("failed", "given-up") for outcome in self.outcomes)
