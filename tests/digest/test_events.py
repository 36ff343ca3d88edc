"""One event told by four outlets in two languages is one entry; other events stay apart.

Asserted from the machine-readable issue (``2026-W48.<lang>.json``), which is what
integrations read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db import session_factory
from tests.digest.fixtures.events import seed_events
from tests.digest.fixtures.setup import build


def _issue(engine: Engine, tmp_path: Path, language: str) -> tuple[dict[str, Any],
                                                                    dict[str, list[str]]]:
    with session_factory(engine)() as session:
        events = seed_events(session)
    built = build(engine, tmp_path, language=language)
    assert built.json_path is not None and built.json_path.name == f"2026-W48.{language}.json"
    document: dict[str, Any] = json.loads(built.json_path.read_text(encoding="utf-8"))
    return document, events


def _event_of(document: dict[str, Any], url: str) -> dict[str, Any]:
    (event,) = [e for e in document["events"] if url in {a["url"] for a in e["articles"]}]
    return event


def test_one_event_from_four_outlets_in_two_languages_is_one_entry(
    engine: Engine, tmp_path: Path
) -> None:
    document, events = _issue(engine, tmp_path, "ja")
    forum = _event_of(document, events["forum"][0])
    assert sorted(a["url"] for a in forum["articles"]) == sorted(events["forum"])
    assert forum["languages"] == ["ja", "en"]
    # 関東新報 came through its RSS and its news sitemap: one outlet, both sources kept
    assert sorted(o["key"] for o in forum["outlets"]) == [
        "harbor-post.example.net", "kanto-shimpo.example.com", "mofa-press.example.org",
        "pacific-wire.example.com",
    ]
    kanto = next(o for o in forum["outlets"] if o["key"] == "kanto-shimpo.example.com")
    assert kanto["sources"] == ["kanto-rss", "kanto-sitemap"]
    assert forum["theme"] == "forums" and forum["themes"] == ["forums", "integration"]
    assert forum["title"].startswith("外国人の受け入れと共生を議論")  # Japanese headline first


def test_two_other_events_on_the_same_topic_stay_apart(engine: Engine, tmp_path: Path) -> None:
    document, events = _issue(engine, tmp_path, "en")
    ids = {name: _event_of(document, urls[0])["id"] for name, urls in events.items()}
    assert len(set(ids.values())) == 3
    assert len(document["events"]) == 3
    forums = next(t for t in document["themes"] if t["id"] == "forums")
    assert sorted(forums["events"]) == sorted(ids.values())
    # the English issue leads with the English headline of the same event
    assert _event_of(document, events["forum"][0])["title"].startswith("Japan and IOM hold")


def test_the_highlights_and_each_theme_name_an_event_once(
    engine: Engine, tmp_path: Path
) -> None:
    document, _ = _issue(engine, tmp_path, "ja")
    assert document["highlights"] and len(document["highlights"]) == len(
        set(document["highlights"]))
    shown = [event for theme in document["themes"] for event in theme["events"]]
    mentioned = [event for theme in document["themes"] for event in theme["mentions"]]
    assert len(shown) == len(set(shown)) == 3
    assert len(mentioned) == len(set(mentioned))
    assert not set(shown) & {e for t in document["themes"] for e in t["mentions"]
                             if e in t["events"]}
    assert "integration" not in document["quiet_themes"]
    assert document["quiet_themes"][:2] == ["iom", "trafficking"]


def test_sources_naming_one_outlet_count_once_under_that_name(
    engine: Engine, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from db.store import SourceSpec, sync_sources
    from tests.digest.fixtures.events import SOURCES

    with session_factory(engine)() as session:
        events = seed_events(session)
        # Two English sites of one publisher, configured as one outlet (case as people
        # type it); the rest keep their domains.
        outlets = {"pacific-wire": "Pacific Harbor Media", "harbor-post": "pacific harbor media"}
        sync_sources(session, [
            SourceSpec(key, name, "feed", url, lang, 1.0, True, outlet=outlets.get(key))
            for key, name, url, lang in SOURCES
        ], datetime(2026, 11, 20, tzinfo=UTC))
        session.commit()
    built = build(engine, tmp_path, language="en")
    assert built.json_path is not None
    document = json.loads(built.json_path.read_text(encoding="utf-8"))
    forum = _event_of(document, events["forum"][0])
    assert len(forum["outlets"]) == 3
    media = next(o for o in forum["outlets"] if o["key"] == "outlet:pacific harbor media")
    assert media["name"] == "Pacific Harbor Media"  # as the earliest of its sources says
    assert sorted(media["sources"]) == ["harbor-post", "pacific-wire"]
    gfmd = _event_of(document, events["gfmd"][0])
    assert [o["name"] for o in gfmd["outlets"]] == ["Pacific Harbor Media"]
