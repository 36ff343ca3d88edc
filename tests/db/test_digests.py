"""The digest's queries: the week's candidates, last week's counts, source health."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import Engine

from db import session_factory
from db.digests import count_articles, count_by_theme, load_candidates
from db.queries import source_health
from tests.digest.fixtures.week import WEEK_START, seed_week

END = WEEK_START + timedelta(days=7)


def test_candidates_are_the_weeks_new_articles_without_backfill(engine: Engine) -> None:
    with session_factory(engine)() as session:
        seeded = seed_week(session)
        candidates = load_candidates(session, WEEK_START, END)
    ids = {c.id for c in candidates}
    assert len(candidates) == 11
    assert seeded.backfill_id not in ids
    assert set(seeded.wire_article_ids) <= ids
    assert all(WEEK_START <= c.first_seen_at < END for c in candidates)


def test_candidates_carry_every_sighting_and_their_tags_with_terms(engine: Engine) -> None:
    with session_factory(engine)() as session:
        seeded = seed_week(session)
        candidates = {c.id: c for c in load_candidates(session, WEEK_START, END)}
    wire = candidates[seeded.wire_article_ids[0]]
    assert [s.source_key for s in wire.sightings] == ["nichiei-wire", "coast-daily"]
    assert {t.theme_id: t.terms for t in wire.tags} == {
        "iom": ("IOM",), "funding": ("donor", "funding"),
    }
    hostile = candidates[seeded.hostile_id]
    assert hostile.url == "javascript:alert(document.cookie)"  # made safe later, in render


def test_theme_counts_use_the_same_window_rules(engine: Engine) -> None:
    with session_factory(engine)() as session:
        seed_week(session)
        this_week = count_by_theme(session, WEEK_START, END)
        last_week = count_by_theme(session, WEEK_START - timedelta(days=7), WEEK_START)
        total_last_week = count_articles(session, WEEK_START - timedelta(days=7), WEEK_START)
    assert this_week["iom"] == 6 and this_week["funding"] == 7
    assert last_week == {"iom": 3}
    assert total_last_week == 3


def test_source_health_lists_every_source_with_its_error(engine: Engine) -> None:
    with session_factory(engine)() as session:
        seed_week(session)
        health = {s.key: s for s in source_health(session)}
    assert len(health) == 10
    assert health["broken"].consecutive_failures == 4
    assert health["broken"].last_error is not None
    assert health["broken"].last_error.startswith("HTTP 503")
    assert health["quiet"].last_new_article_at == (
        WEEK_START - timedelta(days=40, hours=-9)).replace(tzinfo=UTC)
