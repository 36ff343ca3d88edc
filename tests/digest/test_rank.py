"""Ranking, placement in themes, the per-theme budget and the source-health verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digest.model import SourceHealth, StoryCluster
from digest.rank import judge_sources, rank_digest
from tests.digest.fixtures.stories import MONDAY, candidate, single
from tests.digest.fixtures.week import THEMES

END = MONDAY + timedelta(days=7)
NOW = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


def _rank(stories: list[StoryCluster], max_per_theme: int = 7, **kwargs: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {
        "period": "2026-W48", "language": "ja", "start": MONDAY, "end": END, "now": NOW,
        "max_per_theme": max_per_theme, "previous_counts": {}, "previous_article_count": 0,
        "health": [], "silent_after": timedelta(days=14),
    }
    options.update(kwargs)
    return rank_digest(stories, THEMES, **options)  # type: ignore[arg-type]


def test_more_outlets_rank_a_story_higher_than_one_outlet() -> None:
    alone = single(candidate(1, "Single outlet", sources=("a",)))
    everywhere = single(candidate(2, "Five outlets", sources=("a", "b", "c", "d", "e")))
    section = _rank([alone, everywhere]).sections[0]
    assert [item.story.lead.id for item in section.stories] == [2, 1]


def test_source_weight_and_theme_score_raise_a_story() -> None:
    light = single(candidate(1, "Light source", weight=0.5, tags=(("iom", 5.0),)))
    heavy = single(candidate(2, "Heavy source", weight=2.0, tags=(("iom", 5.0),)))
    strong = single(candidate(3, "Strong match", weight=0.5, tags=(("iom", 30.0),)))
    ids = [item.story.lead.id for item in _rank([light, heavy, strong]).sections[0].stories]
    assert ids == [3, 2, 1]


def test_a_late_story_beats_an_early_one_when_all_else_is_equal() -> None:
    early = single(candidate(1, "Monday news", day=0.1))
    late = single(candidate(2, "Sunday news", day=6.5))
    assert [i.story.lead.id for i in _rank([early, late]).sections[0].stories] == [2, 1]


def test_budget_shows_max_per_theme_and_counts_the_rest() -> None:
    stories = [single(candidate(i, f"Story {i}", tags=(("funding", float(i)),)))
               for i in range(1, 11)]
    (section,) = _rank(stories, max_per_theme=3).sections
    assert [item.story.lead.id for item in section.stories] == [10, 9, 8]
    assert len(section.more) == 7


def test_a_story_in_two_themes_is_shown_in_its_best_and_named_in_the_other() -> None:
    both = single(candidate(1, "Cuts", tags=(("funding", 2.0), ("iom", 6.0))))
    sections = {s.theme.id: s for s in _rank([both]).sections}
    assert [item.story.lead.id for item in sections["iom"].stories] == [1]
    assert sections["iom"].stories[0].other_themes == ("funding",)
    assert sections["funding"].stories == ()
    assert [item.story.lead.id for item in sections["funding"].mentions] == [1]


def test_equal_scores_go_to_the_earlier_theme_of_themes_yaml() -> None:
    tie = single(candidate(1, "Tie", tags=(("labour", 4.0), ("forums", 4.0))))
    sections = {s.theme.id: s for s in _rank([tie]).sections}
    assert sections["forums"].stories and not sections["labour"].stories


def test_sections_follow_the_order_of_the_themes_file() -> None:
    stories = [
        single(candidate(1, "Labour", tags=(("labour", 3.0),))),
        single(candidate(2, "IOM", tags=(("iom", 3.0),))),
        single(candidate(3, "Funding", tags=(("funding", 3.0),))),
    ]
    assert [s.theme.id for s in _rank(stories).sections] == ["iom", "funding", "labour"]


def test_unknown_themes_and_untagged_stories_are_counted_but_not_shown() -> None:
    stories = [
        single(candidate(1, "Old theme", tags=(("retired-theme", 9.0),))),
        single(candidate(2, "No theme", tags=())),
    ]
    ranked = _rank(stories)
    assert ranked.sections == ()
    assert ranked.figures.article_count == 2


def test_headline_figures_compare_theme_counts_with_last_week() -> None:
    stories = [single(candidate(1, "A", sources=("a", "b"))), single(candidate(2, "B"))]
    ranked = _rank(stories, previous_counts={"iom": 5}, previous_article_count=9)
    iom = next(t for t in ranked.figures.themes if t.theme.id == "iom")
    assert (iom.count, iom.previous) == (2, 5)
    assert ranked.figures.previous_article_count == 9
    assert ranked.figures.source_count == 3  # a, b and wire


def _source(key: str, **fields: object) -> SourceHealth:
    values: dict[str, object] = {
        "key": key, "name": key.title(), "enabled": True, "state": "active",
        "consecutive_failures": 0, "last_error": None, "last_error_at": None,
        "last_success_at": None, "last_new_article_at": datetime(2026, 11, 28, tzinfo=UTC),
        "created_at": datetime(2026, 1, 1, tzinfo=UTC), "kind": "feed",
        "last_checked_at": None, "failure_score": 0.0, "next_check_at": None,
        "retry_after_until": None, "article_count": 0,
    }
    values.update(fields)
    return SourceHealth(**values)  # type: ignore[arg-type]


def test_failing_paused_and_silent_sources_are_told_apart() -> None:
    health = [
        _source("fine"),
        _source("broken", consecutive_failures=3, last_error="HTTP 500"),
        _source("paused", state="paused"),
        _source("quiet", last_new_article_at=datetime(2026, 11, 1, tzinfo=UTC)),
        _source("never-new", last_new_article_at=None,
                created_at=datetime(2026, 10, 1, tzinfo=UTC)),
        _source("just-added", last_new_article_at=None,
                created_at=datetime(2026, 11, 27, tzinfo=UTC)),
        _source("switched-off", enabled=False, consecutive_failures=9),
    ]
    failing, silent = judge_sources(health, now=NOW, silent_after=timedelta(days=14))
    assert [s.key for s in failing] == ["broken", "paused"]
    assert [s.key for s in silent] == ["never-new", "quiet"]
