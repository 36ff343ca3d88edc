"""``migwatch sources …`` end to end, against invented sites served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from config.loader import load_sources
from db import create_db_engine
from db.models import Source
from migwatch.cli import main
from migwatch.sampleweb import SampleWeb

DATA = Path(__file__).parent / "data"

SOURCES_YAML = """\
# My sources: the desk's own list.
sources:
  - key: orbis-press
    name: "Orbis press releases"
    kind: feed
    url: "https://press.orbis-migration.example/feed/en.xml"
    weight: 3.0
    categories: [iom]

  # Kept for the funding story; review in January.
  - key: appeals
    name: Appeals Tracker
    kind: feed
    url: "https://appeals-tracker.example/gaps.rss"

  - key: harbour-notes
    name: Harbour Relief Notes
    kind: listing
    url: "{base}/plain/"
    listing:
      item: "article.note"
      date: "time"
"""


@pytest.fixture
def web() -> Iterator[SampleWeb]:
    with SampleWeb(DATA / "site") as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, web: SampleWeb) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "migwatch.yaml").write_text("network:\n  allow_private: true\n", encoding="utf-8")
    (folder / "sources.yaml").write_text(
        SOURCES_YAML.replace("{base}", web.base_url), encoding="utf-8"
    )
    return folder


def run(config: Path, *args: str, db: str | None = None) -> int:
    argv = ["--config", str(config), "--db", db or f"sqlite:///{config}/none.sqlite3", *args]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    code = stopped.value.code
    return code if isinstance(code, int) else 1


def test_add_finds_the_feed_behind_a_page_prints_items_and_stores_nothing(
    config: Path, web: SampleWeb, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (config / "sources.yaml").read_text(encoding="utf-8")
    code = run(config, "sources", "add", web.url("/kaigai/"), "--yes", db=db_url)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "the page declares 2 feeds" in out
    assert "育成就労制度の運用方針" in out and "在留外国人数、過去最多を更新" in out
    assert "六番目の記事" not in out  # only the first five are shown
    assert web.requests_for("/kaigai/feed.rss")
    assert not web.requests_for("/kaigai/comments.atom")
    after = (config / "sources.yaml").read_text(encoding="utf-8")
    assert after.startswith(before)  # comments, blank lines and quoting untouched
    assert "# My sources: the desk's own list." in after
    assert "  # Kept for the funding story; review in January.\n  - key: appeals" in after
    added = load_sources(config)[-1]
    assert added.url == web.url("/kaigai/feed.rss")
    assert added.kind == "feed" and added.language == "ja"
    assert added.name == "海外移住ニュース 新着"
    assert added.key not in {"orbis-press", "appeals", "harbour-notes"}
    engine = create_engine(db_url)
    with engine.connect() as connection:
        for table in ("sources", "articles", "sightings"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
    engine.dispose()


def test_add_pick_takes_another_declared_feed(
    config: Path, web: SampleWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(config, "sources", "add", web.url("/kaigai/"), "--pick", "2", "--key",
               "kaigai-comments", "--category", "ja", "--no-fetch-articles", "--yes")
    assert code == 0, capsys.readouterr().out
    added = load_sources(config)[-1]
    assert (added.key, added.url) == ("kaigai-comments", web.url("/kaigai/comments.atom"))
    assert added.categories == ["ja"] and added.fetch_articles is False
    assert "categories: [ja]" in (config / "sources.yaml").read_text(encoding="utf-8")


def test_add_of_a_page_without_feed_suggests_a_listing_and_changes_nothing(
    config: Path, web: SampleWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (config / "sources.yaml").read_bytes()
    code = run(config, "sources", "add", web.url("/about.html"), "--yes")
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "kind: listing" in err and "selectors" in err
    assert (config / "sources.yaml").read_bytes() == before


def test_add_refuses_a_url_or_key_already_configured(
    config: Path, web: SampleWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    run(config, "sources", "add", web.url("/kaigai/feed.rss"), "--key", "kaigai", "--yes")
    before = (config / "sources.yaml").read_bytes()
    capsys.readouterr()
    assert run(config, "sources", "add", web.url("/kaigai/"), "--yes") == 2
    assert "already configured as source 'kaigai'" in capsys.readouterr().err
    assert run(config, "sources", "add", web.url("/kaigai/comments.atom"), "--key", "appeals",
               "--yes") == 2
    assert "key 'appeals' is already used" in capsys.readouterr().err
    assert (config / "sources.yaml").read_bytes() == before


def test_disable_enable_and_remove_edit_only_their_lines(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config / "sources.yaml"
    original = path.read_text(encoding="utf-8")
    assert run(config, "sources", "disable", "appeals") == 0
    assert "enabled: false" in path.read_text(encoding="utf-8")
    assert not next(s for s in load_sources(config) if s.key == "appeals").enabled
    assert run(config, "sources", "enable", "appeals") == 0
    assert next(s for s in load_sources(config) if s.key == "appeals").enabled
    assert run(config, "sources", "remove", "appeals") == 0
    text_now = path.read_text(encoding="utf-8")
    assert [s.key for s in load_sources(config)] == ["orbis-press", "harbour-notes"]
    assert "review in January" not in text_now  # the comment directly above went with it
    assert text_now.startswith(original.split("  # Kept")[0])
    assert "\n\n\n" not in text_now


def test_unknown_key_is_one_line_and_exit_2(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("remove", "enable", "disable"):
        assert run(config, "sources", command, "no-such-source") == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no source with key 'no-such-source'" in err


def test_check_reports_status_encoding_validators_and_robots(
    config: Path, web: SampleWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "sources", "check", web.url("/kaigai/feed.rss")) == 0
    out = capsys.readouterr().out
    assert "HTTP status  200" in out and "encoding  utf-8" in out
    assert "ETag  yes" in out and "Last-Modified  yes" in out
    assert "robots.txt: allowed" in out
    assert "六番目の記事は一覧に出ない" in out  # check shows up to ten items


def test_check_is_not_usable_when_robots_txt_forbids(
    config: Path, web: SampleWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "sources", "check", web.url("/private/feed.rss")) == 1
    assert "robots.txt: forbidden" in capsys.readouterr().out


def test_check_listing_counts_matches_and_fails_when_selector_matches_nothing(
    config: Path, web: SampleWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "sources", "check", "harbour-notes") == 0
    assert "matched 2 items" in capsys.readouterr().out
    path = config / "sources.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("article.note", "li.gone"),
                    encoding="utf-8")
    assert run(config, "sources", "check", "harbour-notes") == 1
    assert "selector matched nothing" in capsys.readouterr().out


def test_list_shows_config_without_creating_a_database(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "sources", "list") == 0
    out = capsys.readouterr().out
    assert "orbis-press" in out and "harbour-notes" in out and "no database yet" in out
    assert not (config / "none.sqlite3").exists()


def test_list_joins_stored_health(
    config: Path, db_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = create_db_engine(db_url)
    with Session(engine) as session, session.begin():
        session.add(Source(
            key="appeals", name="Appeals Tracker", kind="feed",
            url="https://appeals-tracker.example/gaps.rss", state="paused",
            consecutive_failures=4, last_error="HTTP 503 Service Unavailable",
            last_success_at=datetime(2026, 11, 20, 3, 0), created_at=datetime(2026, 11, 1),
        ))
    engine.dispose()
    monkeypatch.setenv("COLUMNS", "80")
    assert run(config, "sources", "list", db=db_url) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert "paused" in rows["appeals"] and "4 failures" in rows["appeals"]
    assert "2026-11-20 12:00" in rows["appeals"]  # shown in Asia/Tokyo
    assert "appeals: HTTP 503 Service Unavailable" in out
    assert "never run" in rows["orbis-press"]
    assert run(config, "sources", "list", "--json", db=db_url) == 0
    listed = {s["key"]: s for s in json.loads(capsys.readouterr().out)}
    assert listed["appeals"]["state"] == "paused"
    assert listed["appeals"]["last_success_at"] == "2026-11-20T03:00:00+00:00"
    assert listed["appeals"]["last_error"] == "HTTP 503 Service Unavailable"
    assert listed["orbis-press"]["state"] == "never run"
    assert listed["harbour-notes"]["kind"] == "listing"
    assert run(config, "status", "--json", db=db_url) == 0
    status = json.loads(capsys.readouterr().out)
    (stored,) = status["sources"]
    assert stored["key"] == "appeals" and stored["state"] == "paused"  # the same word
    assert status["timezone"] == "Asia/Tokyo" and status["scheduler"] is None


def test_check_without_an_argument_checks_every_enabled_source(
    config: Path, web: SampleWeb, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config / "sources.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "https://press.orbis-migration.example/feed/en.xml", web.url("/kaigai/feed.rss")),
        encoding="utf-8")
    assert run(config, "sources", "disable", "appeals") == 0
    capsys.readouterr()
    assert run(config, "sources", "check") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✓ orbis-press") and out[1] == "✓ harbour-notes  2 items"
    assert out[-1] == "2 of 2 enabled sources usable"
    assert run(config, "sources", "enable", "appeals") == 0
    capsys.readouterr()
    assert run(config, "sources", "check", "--json") == 1  # appeals-tracker.example is no host
    verdicts = {v["key"]: v for v in json.loads(capsys.readouterr().out)}
    assert verdicts["orbis-press"]["usable"] and verdicts["harbour-notes"]["items"] == 2
    assert not verdicts["appeals"]["usable"] and verdicts["appeals"]["problem"]


def test_import_then_export_round_trips_names_urls_and_categories(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first"
    first.mkdir()
    (first / "migwatch.yaml").write_text("", encoding="utf-8")
    assert run(first, "sources", "import-opml", str(DATA / "feeds.opml")) == 0
    out = capsys.readouterr().out
    assert "imported 30, skipped 0 duplicates, 1 rejected" in out
    assert "rejected: Broken entry from an old export: 'not a web address at all'" in out
    assert "they are added disabled" in out
    assert not any(s.enabled for s in load_sources(first))
    exported = tmp_path / "export.opml"
    assert run(first, "sources", "export-opml", str(exported)) == 0
    second = tmp_path / "second"
    second.mkdir()
    assert run(second, "sources", "import-opml", str(exported), "--enable") == 0
    assert "imported 30, skipped 0 duplicates, 0 rejected" in capsys.readouterr().out
    assert all(s.enabled for s in load_sources(second))

    def summary(folder: Path) -> list[tuple[str, str, list[str]]]:
        return sorted((s.name, s.url, sorted(s.categories)) for s in load_sources(folder))

    assert summary(first) == summary(second)
    assert ("国連広報ニュース（日本語）", "https://kokuren-koho.example/news/feed.rdf",
            ["International organisations/UN", "ja"]) in summary(first)


def test_import_dry_run_shows_what_would_be_added_and_writes_nothing(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (config / "sources.yaml").read_bytes()
    assert run(config, "sources", "import-opml", str(DATA / "opml" / "feedly.opml"),
               "--dry-run") == 0
    out = capsys.readouterr().out
    assert (config / "sources.yaml").read_bytes() == before
    assert "https://harbourline.example/migration/feed/  (Migration, Funding)" in out
    assert "would import 6, skip 0 duplicates, reject 0; nothing written (--dry-run)" in out


def test_import_skips_urls_already_configured(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "sources", "import-opml", str(DATA / "feeds.opml"),
               "--category", "imported") == 0
    out = capsys.readouterr().out
    assert "imported 28, skipped 2 duplicates, 1 rejected" in out
    assert "already configured as orbis-press" in out
    new = load_sources(config)[3:]
    assert all(not s.enabled and s.categories[-1] == "imported" for s in new)


def test_export_writes_every_source_to_standard_output(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "sources", "disable", "appeals") == 0
    capsys.readouterr()
    assert run(config, "sources", "export-opml") == 0
    out = capsys.readouterr().out
    assert out.startswith("<?xml")
    assert 'xmlUrl="https://appeals-tracker.example/gaps.rss" migwatch:enabled="false"' in out
    assert 'text="Harbour Relief Notes"' in out and 'migwatch:kind="listing"' in out
