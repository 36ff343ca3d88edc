"""The pages over collected articles (SQLite; the queries are covered on both dialects by
the JSON tests): filters, the article page, source edits, OPML, themes, the archive."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.build import build_digest, load_theme_infos
from digest.periods import current_week
from migwatch.sampleweb import SampleWeb
from migwatch.web.server import WebServer
from tests.web.fixtures import JA_ARTICLE, Browser, Collected, collect_demo, fetch, serve

OPML = Path(__file__).resolve().parents[1] / "migwatch" / "data" / "feeds.opml"


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collected]:
    root = tmp_path_factory.mktemp("web-pages")
    with SampleWeb() as sites:
        demo = collect_demo(root / "demo", sites, f"sqlite:///{root / 'db.sqlite3'}")
    yield demo
    demo.app.close()


@pytest.fixture(scope="module")
def web(collected: Collected) -> Iterator[WebServer]:
    with serve(collected.app) as server:
        yield server


def _ids(body: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-id="(\d+)"', body)]


def test_in_and_out_of_the_digest_split_the_week(web: WebServer, collected: Collected) -> None:
    week = current_week(datetime.now(UTC), collected.app.settings.tz)
    everything = Browser(web.url).get(f"/articles?week={week}")
    shown = Browser(web.url).get(f"/articles?week={week}&digest=in")
    left = Browser(web.url).get(f"/articles?week={week}&digest=out")
    assert shown.status == left.status == 200
    total = int(re.search(r'id="result-count">(\d+)', everything.body).group(1))
    got_in = int(re.search(r'id="result-count">(\d+)', shown.body).group(1))
    got_out = int(re.search(r'id="result-count">(\d+)', left.body).group(1))
    assert got_in > 0 and got_in + got_out == total
    assert not set(_ids(shown.body)) & set(_ids(left.body))


def test_the_article_page_has_text_themes_reasons_and_outlets(web: WebServer) -> None:
    browser = Browser(web.url)
    found = browser.get("/api/articles?q=" + JA_ARTICLE).json()
    assert found["total"] == 0  # the URL is not searched, only the title and text
    listed = browser.get("/articles?q=IOM駐日事務所&language=ja")
    page = browser.get(f"/articles/{_ids(listed.body)[0]}")
    assert page.status == 200
    assert 'id="tag-iom"' in page.body and "IOM駐日事務所" in page.body
    assert 'id="sightings"' in page.body and "Global Migration Wire" in page.body
    assert browser.get("/articles/999999").status == 404


def test_source_edits_keep_the_files_comments(web: WebServer, collected: Collected) -> None:
    path = collected.config / "sources.yaml"
    before = path.read_text(encoding="utf-8")
    browser = Browser(web.url)
    browser.get("/sources")
    assert browser.post("/sources/humanitarian-ledger/disable", {}).status == 303
    assert "enabled: false" in path.read_text(encoding="utf-8")
    assert browser.post("/sources/humanitarian-ledger/enable", {}).status == 303
    enabled = path.read_text(encoding="utf-8")
    assert "enabled: false" not in enabled
    assert all(line in enabled.splitlines() for line in before.splitlines())  # comments kept
    assert browser.post("/sources/kyosei-press/remove", {}).status == 303
    after = path.read_text(encoding="utf-8")
    assert "kyosei-press" not in after and after.startswith(before.split("\n", 1)[0])
    assert browser.post("/sources/nope/remove", {}).status == 404
    health = browser.get("/sources")
    assert 'id="source-gmw-wire"' in health.body and "次の確認" in health.body


def test_an_opml_upload_is_previewed_then_imported(web: WebServer, collected: Collected) -> None:
    browser = Browser(web.url)
    browser.get("/sources")
    preview = browser.post("/sources/opml/preview", {}, files={"opml": ("feeds.opml",
                                                                        OPML.read_bytes())})
    assert preview.status == 200 and "Orbis Migration Agency" in preview.body
    assert "not a web address at all" not in (collected.config / "sources.yaml").read_text()
    assert "orbis" not in (collected.config / "sources.yaml").read_text()  # nothing yet
    payload = re.search(r'name="payload" value="([^"]+)"', preview.body).group(1)
    imported = browser.post("/sources/opml/import", {"payload": payload})
    assert imported.status == 303
    assert "press.orbis-migration.example" in (collected.config / "sources.yaml").read_text()
    exported = browser.get("/sources/export.opml")
    assert exported.status == 200 and "press.orbis-migration.example" in exported.body


def test_a_bad_address_is_one_clear_line(web: WebServer) -> None:
    browser = Browser(web.url)
    reply = browser.post("/sources/preview", {"url": "ftp://files.example/feed"})
    assert reply.status == 422 and 'id="error"' in reply.body and "ftp://" in reply.body


def test_themes_page_and_text_test(web: WebServer) -> None:
    browser = Browser(web.url)
    page = browser.get("/themes")
    assert page.status == 200 and 'id="theme-iom"' in page.body
    result = browser.post("/themes/test", {
        "title": "Isle of Man (IOM) ferry cancelled", "text": "Manx ferry services to Douglas "
        "were cancelled by the Isle of Man government because of high winds."})
    assert result.status == 200
    assert re.search(r'id="verdict-iom">.*?does not match|id="verdict-iom">.*?該当しない',
                     result.body, re.DOTALL)
    retag = browser.post("/themes/retag", {})
    assert retag.status == 303 and "retagged=0" in retag.headers["Location"]  # all current


def test_the_archive_is_served_without_script(web: WebServer, collected: Collected) -> None:
    app = collected.app
    built = build_digest(app.sessions, app.settings, load_theme_infos(app.config_path),
                         week=current_week(datetime.now(UTC), app.settings.tz),
                         language="ja", now=datetime.now(UTC))
    home = Browser(web.url).get("/")
    assert built.period in home.body
    issue = fetch(f"{web.url}archive/{built.period}.ja.html")
    assert issue.status == 200
    assert "script-src" not in issue.headers["Content-Security-Policy"]
    assert "sandbox" in issue.headers["Content-Security-Policy"]
    assert fetch(f"{web.url}archive/..%2Fconfig%2Fsources.yaml").status == 404
