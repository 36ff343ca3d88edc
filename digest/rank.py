"""Ranking and budget: which stories an issue shows, in which theme, in which order.

Contract: ``rank_digest`` is pure.  It is handed the week's stories, the themes in
display order (the order of ``themes.yaml``), last week's counts, the source-health rows,
``now`` and the budget, and returns a :class:`RankedDigest`.

Score of a story in a theme = theme score × source weight × outlets × recency, where

* theme score is the best tag score any of its articles has for that theme,
* source weight is the heaviest configured weight among the outlets that carried it
  (floored at 0.1 so a zero weight demotes without hiding),
* outlets is ``1 + ln(number of outlets)``: five outlets count, but not five times; an
  outlet is a site (:mod:`digest.outlets`), so two feeds of one site count once,
* recency falls linearly from 1.0 (first seen at the end of the week) to 0.75 (at its
  start), so a late story is not buried by the week's first.

A story tagged with several themes is shown in its best-scoring theme (ties go to the
earlier theme) and named, without its entry, under "also relevant" in its second-best
theme only, so no event is listed twice there.  Each theme shows at most
``max_per_theme`` stories; the rest are counted as "+N more" and listed in the archive.

The highlights are the best-scoring events of the week across themes (at most
:data:`MAX_HIGHLIGHTS`, at most two per theme); the movers are the themes whose count
changed most against last week.  Themes with nothing this week are ``quiet``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from db.times import as_utc, utc_naive
from digest.model import (
    HeadlineFigures,
    RankedDigest,
    RankedStory,
    SourceHealth,
    StoryCluster,
    ThemeCount,
    ThemeInfo,
    ThemeSection,
)

MAX_TERMS = 5
MAX_MENTIONS = 5
MAX_HIGHLIGHTS = 5
HIGHLIGHTS_PER_THEME = 2
MAX_MOVERS = 3
WEEK = timedelta(days=7)


def theme_scores(story: StoryCluster) -> dict[str, float]:
    """The best tag score of any article of ``story``, per theme."""
    scores: dict[str, float] = {}
    for article in story.articles:
        for tag in article.tags:
            scores[tag.theme_id] = max(scores.get(tag.theme_id, 0.0), tag.score)
    return scores


def theme_terms(story: StoryCluster, theme_id: str) -> tuple[str, ...]:
    """The matched terms that put ``story`` in ``theme_id``, most frequent first."""
    terms: list[str] = []
    for article in story.articles:
        for tag in article.tags:
            if tag.theme_id == theme_id:
                terms.extend(term for term in tag.terms if term not in terms)
    return tuple(terms[:MAX_TERMS])


def story_weight(story: StoryCluster, period_end: datetime) -> float:
    """The part of the score that does not depend on the theme."""
    outlets_seen = story.outlets
    weight = max(0.1, max((o.weight for o in outlets_seen), default=1.0))
    outlets = 1.0 + math.log(max(1, len(outlets_seen)))
    latest = max(article.first_seen_at for article in story.articles)
    age = min(WEEK, max(timedelta(0), utc_naive(period_end) - latest))
    recency = 1.0 - 0.25 * (age / WEEK)
    return weight * outlets * recency


def _place(
    story: StoryCluster, order: Mapping[str, int], period_end: datetime
) -> list[tuple[str, float]]:
    """(theme, score) of ``story`` for every known theme it has, best first."""
    base = story_weight(story, period_end)
    placed = [
        (theme_id, score * base)
        for theme_id, score in theme_scores(story).items()
        if theme_id in order and score > 0
    ]
    placed.sort(key=lambda item: (-item[1], order[item[0]]))
    return placed


def rank_digest(
    stories: Sequence[StoryCluster],
    themes: Sequence[ThemeInfo],
    *,
    period: str,
    language: str,
    start: datetime,
    end: datetime,
    now: datetime,
    max_per_theme: int,
    previous_counts: Mapping[str, int],
    previous_article_count: int,
    health: Sequence[SourceHealth],
    silent_after: timedelta,
) -> RankedDigest:
    """Place, order and cut the week's stories; pick the failing and silent sources."""
    order = {theme.id: index for index, theme in enumerate(themes)}
    shown: dict[str, list[RankedStory]] = {theme.id: [] for theme in themes}
    mentioned: dict[str, list[RankedStory]] = {theme.id: [] for theme in themes}
    counts: dict[str, set[int]] = {theme.id: set() for theme in themes}
    for story in stories:
        placed = _place(story, order, end)
        for theme_id, _ in placed:
            counts[theme_id].update(article.id for article in story.articles)
        if not placed:
            continue
        names = tuple(theme_id for theme_id, _ in placed)
        best_id, best_score = placed[0]
        shown[best_id].append(
            RankedStory(story, best_id, best_score, theme_terms(story, best_id), names[1:])
        )
        for theme_id, score in placed[1:2]:
            mentioned[theme_id].append(
                RankedStory(story, best_id, score, theme_terms(story, theme_id), names[1:])
            )

    def key(item: RankedStory) -> tuple[float, float, int]:
        return (-item.score, -item.story.first_seen_at.timestamp(), item.story.lead.id)

    sections = []
    quiet = []
    for theme in themes:
        ranked = sorted(shown[theme.id], key=key)
        mentions = sorted(mentioned[theme.id], key=key)[:MAX_MENTIONS]
        if ranked or mentions:
            sections.append(
                ThemeSection(
                    theme, tuple(ranked[:max_per_theme]), tuple(ranked[max_per_theme:]),
                    tuple(mentions),
                )
            )
        else:
            quiet.append(theme)
    all_articles = {article.id for story in stories for article in story.articles}
    all_sources = {o.key for story in stories for o in story.outlets}
    figures = HeadlineFigures(
        article_count=len(all_articles),
        previous_article_count=previous_article_count,
        story_count=len(stories),
        source_count=len(all_sources),
        themes=tuple(
            ThemeCount(theme, len(counts[theme.id]), previous_counts.get(theme.id, 0))
            for theme in themes
        ),
    )
    failing, silent = judge_sources(health, now=now, silent_after=silent_after)
    placed_first = sorted(
        (item for theme in themes for item in shown[theme.id]), key=key
    )
    return RankedDigest(
        period=period,
        language=language,
        is_complete=utc_naive(end) <= utc_naive(now),
        start=start,
        end=end,
        figures=figures,
        sections=tuple(sections),
        failing=failing,
        silent=silent,
        highlights=pick_highlights(placed_first),
        movers=pick_movers(figures.themes),
        quiet=tuple(quiet),
        events=tuple(stories),
    )


def pick_highlights(ranked: Sequence[RankedStory]) -> tuple[RankedStory, ...]:
    """The week's top events, best first: at most two from one theme."""
    chosen: list[RankedStory] = []
    per_theme: dict[str, int] = {}
    for item in ranked:
        if per_theme.get(item.theme_id, 0) >= HIGHLIGHTS_PER_THEME:
            continue
        chosen.append(item)
        per_theme[item.theme_id] = per_theme.get(item.theme_id, 0) + 1
        if len(chosen) == MAX_HIGHLIGHTS:
            break
    return tuple(chosen)


def pick_movers(counts: Sequence[ThemeCount]) -> tuple[ThemeCount, ...]:
    """The themes whose count moved most against last week (by at least 2 articles)."""
    moved = [c for c in counts if abs(c.count - c.previous) >= 2]
    moved.sort(key=lambda c: (-abs(c.count - c.previous), -c.count))
    return tuple(moved[:MAX_MOVERS])


def judge_sources(
    health: Sequence[SourceHealth], *, now: datetime, silent_after: timedelta
) -> tuple[tuple[SourceHealth, ...], tuple[SourceHealth, ...]]:
    """Enabled sources that are failing (or paused), and those silent too long."""
    moment = as_utc(now)
    failing: list[SourceHealth] = []
    silent: list[SourceHealth] = []
    for source in health:
        if not source.enabled:
            continue
        if source.consecutive_failures > 0 or source.state == "paused":
            failing.append(source)
            continue
        # a source never heard from counts from the day it was added
        last = source.last_new_article_at or source.created_at
        if moment - last > silent_after:
            silent.append(source)
    failing.sort(key=lambda s: (-s.consecutive_failures, s.name))
    silent.sort(key=lambda s: (s.last_new_article_at or s.created_at, s.name))
    return tuple(failing), tuple(silent)
