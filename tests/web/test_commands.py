"""The commands around the web app: ``search``, ``serve --web`` and the demo's web line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from db import create_db_engine, migrate, session_factory
from db.store import NewArticle, SourceSpec, store_batch, sync_sources
from db.tags import ReasonData, TagData, replace_article_tags
from migwatch.cli import _register, cli
from tests.web.fixtures import fetch

_register()
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
ARTICLES = (
    ("IOM、スーダン国境で支援拡大", "国際移住機関(IOM)は12日、スーダン国境の支援拠点を拡大すると発表した。",
     "ja", "iom"),
    ("UN liquidity crisis deepens", "The United Nations warned that unpaid dues could delay "
     "salaries across agencies, including the migration agency.", "en", "funding"),
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    (folder / "migwatch.yaml").write_text("timezone: Asia/Tokyo\n", encoding="utf-8")
    return folder


@pytest.fixture
def small_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    engine = create_db_engine(url)
    migrate(engine)
    with session_factory(engine)() as session:
        ids = sync_sources(session, [SourceSpec(key="wire", name="Wire", kind="feed",
                                                url="https://wire.example/feed", language=None,
                                                weight=1.0, enabled=True)], NOW)
        session.commit()
        for number, (title, text, language, theme) in enumerate(ARTICLES):
            with engine.begin() as conn:
                stored = store_batch(conn, [(ids["wire"], NewArticle(
                    source_key="wire", identity=f"https://wire.example/{number}",
                    canonical_url=f"https://wire.example/{number}",
                    url=f"https://wire.example/{number}", guid=None, content_hash=str(number),
                    title=title, summary="", text=text, language=language, author=None,
                    published_at=NOW, is_fetched=True))], [], NOW)
            replace_article_tags(session, stored.stored[f"https://wire.example/{number}"], [
                TagData(theme, 3.0, (ReasonData("IOM", "title", 1),))], "v1")
            session.commit()
    engine.dispose()
    return url


def test_search_finds_japanese_and_english_and_filters_by_theme(
    small_db: str, config: Path
) -> None:
    runner = CliRunner()
    base = ["--config", str(config), "--db", small_db, "search"]
    ja = runner.invoke(cli, [*base, "スーダン国境"])
    en = runner.invoke(cli, [*base, "unpaid dues"])
    wrong_theme = runner.invoke(cli, [*base, "unpaid dues", "--theme", "iom"])
    later = runner.invoke(cli, [*base, "IOM", "--since", "2027-01-01"])
    assert ja.exit_code == 0, ja.output
    assert "1 articles match" in ja.output and "IOM、スーダン国境で支援拡大" in ja.output
    assert "UN liquidity crisis deepens" in en.output and "funding" in en.output
    assert "no article matches" in wrong_theme.output
    assert "no article matches" in later.output


def test_serve_with_web_answers_and_stops_cleanly_on_sigterm(
    small_db: str, config: Path
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "migwatch", "--config", str(config), "--db", small_db,
         "serve", "--web", "--web-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200"})
    try:
        assert process.stdout is not None
        seen = []
        found = None
        while found is None and len(seen) < 50:  # the address is among the first lines
            seen.append(process.stdout.readline())
            found = re.search(r"migwatch web: (http://127\.0\.0\.1:\d+/)", seen[-1])
        assert found, seen
        reply = fetch(found.group(1) + "api/articles?q=IOM")
        assert reply.status == 200 and reply.json()["total"] == 1
        while "serve status=started" not in seen[-1] and len(seen) < 100:
            seen.append(process.stdout.readline())  # the daemon now handles SIGTERM
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
