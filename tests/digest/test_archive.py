"""The archive folder: issue files, the index and an Atom feed that parses cleanly."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import Engine

from config.errors import DeliveryError
from digest.archive import (
    FILE_MODE,
    entry_id,
    read_issues,
    write_atomically,
    write_feed,
    write_feeds,
    write_index,
    write_issue,
)
from tests.digest.fixtures.setup import build, seed, settings_for


def _issue(out: Path, period: str, language: str, subject: str = "S",
           is_complete: bool = True, article_count: int = 3) -> None:
    document = {
        "format": "migwatch-issue/1", "period": period, "language": language,
        "subject": subject, "built_at": f"2026-11-{20 + int(period[-1])}T00:00:00Z",
        "is_complete": is_complete, "is_empty": article_count == 0,
        "article_count": article_count, "story_count": 2, "url": None,
        "highlights": ["event-1"],
        "themes": [{"id": "iom", "label": "IOM & <b>work</b>", "events": ["event-1", "event-2"]}],
        "events": [
            {"id": "event-1", "title": f"{subject} R&D", "url": "https://n.example.com/1",
             "outlets": [{"name": "Wire & Co"}]},
            {"id": "event-2", "title": "Second", "url": "javascript:alert(1)", "outlets": []},
        ],
    }
    page = f'<!DOCTYPE html><html lang="{language}"><body><table><tr><td>{subject} &amp; '
    page += "R&amp;D <b>x</b></td></tr></table></body></html>"
    write_issue(out, document, archive_html=page, text=subject)


def test_each_language_has_its_feed_with_one_entry_per_finished_week(
    tmp_path: Path,
) -> None:
    for period in ("2026-W46", "2026-W47", "2026-W48"):
        for language in ("ja", "en"):
            _issue(tmp_path, period, language, f"{period} {language} 外国人 <&>")
    _issue(tmp_path, "2026-W49", "ja", "in progress", is_complete=False)
    issues = read_issues(tmp_path)
    paths = write_feeds(tmp_path, issues, title="migwatch", base_url="https://d.example.org/a",
                        max_entries=20)
    assert sorted(p.name for p in paths.values()) == ["feed.en.atom", "feed.ja.atom"]
    for language in ("ja", "en"):
        parsed = feedparser.parse(paths[language].read_bytes())
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        ids = [entry.id for entry in parsed.entries]
        assert ids == [entry_id(w, language) for w in ("2026-W48", "2026-W47", "2026-W46")]
        first = parsed.entries[0]
        assert first.link == f"https://d.example.org/a/2026-W48.{language}.html"
        assert first.title == f"2026-W48 {language} 外国人 <&>"
        content = first.content[0].value
        # a slim page: headings and links, no mail chrome, no second title
        assert "<h2>" in content and "<h3>IOM &amp; work</h3>" in content
        assert '<a href="https://n.example.com/1">' in content and "R&amp;D" in content
        assert "javascript:" not in content and "<table" not in content
        assert parsed.feed.links[0].href.startswith("https://d.example.org/a/feed.")
        assert any(link.rel == "self" for link in parsed.feed.links)


def test_a_week_in_progress_is_never_a_feed_entry(tmp_path: Path) -> None:
    _issue(tmp_path, "2026-W48", "ja", "preview", is_complete=False)
    path = write_feed(tmp_path, read_issues(tmp_path), title="m", base_url="", language="ja",
                      max_entries=20)
    assert _feed_ids(path) == []
    _issue(tmp_path, "2026-W48", "ja", "final")
    assert _feed_ids(write_feed(tmp_path, read_issues(tmp_path), title="m", base_url="",
                                language="ja", max_entries=20)) == [entry_id("2026-W48", "ja")]


def test_an_empty_week_is_archived_but_is_no_feed_entry(tmp_path: Path) -> None:
    _issue(tmp_path, "2026-W48", "en", "nothing", article_count=0)
    path = write_feed(tmp_path, read_issues(tmp_path), title="m", base_url="", language="en",
                      max_entries=20)
    assert _feed_ids(path) == []
    assert (tmp_path / "2026-W48.en.html").is_file()


def test_archive_files_are_readable_as_the_umask_allows(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        _issue(tmp_path, "2026-W48", "ja")
    finally:
        os.umask(previous)
    for name in ("2026-W48.ja.html", "2026-W48.ja.txt", "2026-W48.ja.json"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == FILE_MODE, (name, oct(mode))
    assert FILE_MODE & 0o044 == 0o044 or 0o666 & ~previous == FILE_MODE


def test_rebuilding_an_issue_replaces_its_entry_instead_of_adding_one(tmp_path: Path) -> None:
    _issue(tmp_path, "2026-W48", "ja", "first")
    _issue(tmp_path, "2026-W48", "ja", "second")
    path = write_feed(tmp_path, read_issues(tmp_path), title="m", base_url="", language="ja",
                      max_entries=20)
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0
    assert [entry.title for entry in parsed.entries] == ["second"]
    assert parsed.entries[0].id == entry_id("2026-W48", "ja")


def _feed_ids(path: Path) -> list[str]:
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return [entry.id for entry in parsed.entries]


def test_the_feed_keeps_the_newest_issues_with_their_ids_and_the_index_keeps_all(
    tmp_path: Path,
) -> None:
    weeks = [f"2026-W{n:02d}" for n in range(40, 49)]
    for period in weeks:
        for language in ("ja", "en"):
            _issue(tmp_path, period, language, f"{period} {language}")
    issues = read_issues(tmp_path)
    full = _feed_ids(write_feed(tmp_path, issues, title="m", base_url="", language="ja",
                                max_entries=100))
    kept = _feed_ids(write_feed(tmp_path, issues, title="m", base_url="", language="ja",
                                max_entries=3))
    assert len(full) == 9
    assert kept == full[:3] == [
        entry_id("2026-W48", "ja"), entry_id("2026-W47", "ja"), entry_id("2026-W46", "ja"),
    ]
    index = write_index(tmp_path, issues, title="m", language="ja").read_text(encoding="utf-8")
    for period in weeks:
        for language in ("ja", "en"):
            assert f'href="{period}.{language}.html"' in index


def test_an_issue_without_its_page_does_not_take_a_place_in_the_feed(tmp_path: Path) -> None:
    for period in ("2026-W46", "2026-W47", "2026-W48"):
        _issue(tmp_path, period, "en")
    (tmp_path / "2026-W47.en.html").unlink()
    path = write_feed(tmp_path, read_issues(tmp_path), title="m", base_url="", language="en",
                      max_entries=2)
    assert _feed_ids(path) == [entry_id("2026-W48", "en"), entry_id("2026-W46", "en")]


def test_building_an_issue_prunes_the_feed_to_digest_feed_entries(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine)
    settings = settings_for(feed_entries=2)
    for week in ("2026-W46", "2026-W47", "2026-W48"):
        built = build(engine, tmp_path, settings=settings, week=week)
    assert built.feed_path.name == "feed.ja.atom"
    assert _feed_ids(built.feed_path) == [
        entry_id("2026-W48", "ja"), entry_id("2026-W47", "ja"),
    ]
    index = built.index_path.read_text(encoding="utf-8")
    assert all(f'href="{w}.ja.html"' in index for w in ("2026-W46", "2026-W47", "2026-W48"))


def test_foreign_files_in_the_archive_are_ignored(tmp_path: Path) -> None:
    _issue(tmp_path, "2026-W48", "en")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")
    (tmp_path / "2026-W47.en.json").write_text("not json", encoding="utf-8")
    assert [(m.period, m.language) for m in read_issues(tmp_path)] == [("2026-W48", "en")]


def test_atomic_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "page.html"
    write_atomically(target, "one")
    write_atomically(target, "two")
    assert target.read_text(encoding="utf-8") == "two"
    assert [p.name for p in target.parent.iterdir()] == ["page.html"]


def test_an_unwritable_archive_is_a_one_line_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(DeliveryError, match=r"cannot write .*archive_dir"):
        write_atomically(blocker / "page.html", "content")
