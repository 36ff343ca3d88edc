"""The web app's guards against a real server on 127.0.0.1: Host check, CSRF, CSP,
login off loopback, and untrusted article text that never reaches a page as markup."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from config.errors import ConfigError
from db import create_db_engine, migrate, session_factory
from db.store import NewArticle, SourceSpec, store_batch, sync_sources
from migwatch.context import AppContext
from migwatch.web.security import Guard
from migwatch.web.server import WebServer, guard_for
from tests.web.fixtures import fetch, serve

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
HOSTILE_TITLE = '<script>alert("x")</script>国連の<b>資金</b>不足'
HOSTILE_TEXT = '<img src=x onerror="alert(1)">IOMの支援<a href="javascript:alert(2)">詳細</a>'


@pytest.fixture(scope="module")
def app_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppContext]:
    root = tmp_path_factory.mktemp("web-security")
    (root / "config").mkdir()
    db_url = f"sqlite:///{root / 'db.sqlite3'}"
    engine = create_db_engine(db_url)
    migrate(engine)
    with session_factory(engine)() as session:
        ids = sync_sources(session, [SourceSpec(key="hostile", name="Hostile <i>news</i>",
                                                kind="feed", url="https://hostile.example/feed",
                                                language="ja", weight=1.0, enabled=True)], NOW)
        session.commit()
    with engine.begin() as conn:
        store_batch(conn, [(ids["hostile"], NewArticle(
            source_key="hostile", identity="https://hostile.example/a/1", canonical_url="javascript:alert(3)",
            url="javascript:alert(3)", guid=None, content_hash="h1", title=HOSTILE_TITLE,
            summary="", text=HOSTILE_TEXT, language="ja", author=None, published_at=NOW,
            is_fetched=True, extract_error=None))], [], NOW)
    engine.dispose()
    app = AppContext(config_path=root / "config", db_url=db_url)
    yield app
    app.close()


@pytest.fixture(scope="module")
def web(app_ctx: AppContext) -> Iterator[WebServer]:
    with serve(app_ctx) as server:
        yield server


def _token(body: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found, "no CSRF token on the page"
    return found.group(1)


def test_a_foreign_host_header_is_refused(web: WebServer) -> None:
    reply = fetch(web.url, headers={"Host": f"attacker.example:{web.port}"})
    assert reply.status == 400
    assert fetch(web.url, headers={"Host": f"localhost:{web.port}"}).status == 200


def test_a_form_post_without_its_token_gets_403(web: WebServer) -> None:
    page = fetch(web.url + "sources")
    cookie = page.headers["Set-Cookie"].split(";")[0]
    form = urllib.parse.urlencode({"url": "https://example.org/"}).encode()
    without = fetch(web.url + "sources/preview", data=form, headers={"Cookie": cookie})
    wrong = fetch(web.url + "sources/preview",
                  data=form + b"&csrf_token=forged", headers={"Cookie": cookie})
    assert without.status == 403 and wrong.status == 403
    language = urllib.parse.urlencode({"lang": "en", "csrf_token": _token(page.body)}).encode()
    ok = fetch(web.url + "language", data=language, headers={"Cookie": cookie})
    assert ok.status == 303


def test_every_page_has_a_policy_without_inline_script(web: WebServer) -> None:
    reply = fetch(web.url)
    policy = reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script>" not in reply.body and "onclick" not in reply.body
    cookie = reply.headers["Set-Cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_untrusted_article_html_is_shown_as_text_with_no_unsafe_link(web: WebServer) -> None:
    listed = fetch(web.url + "articles?q=" + urllib.parse.quote("資金"))
    article_id = re.search(r'data-id="(\d+)"', listed.body)
    assert article_id, listed.body
    page = fetch(web.url + f"articles/{article_id.group(1)}")
    for body in (listed.body, page.body):
        assert "<script>alert" not in body and "onerror" not in body
        assert "javascript:" not in body and "<b>資金</b>" not in body
    assert "<mark>資金</mark>" in listed.body  # escaped first, then marked
    assert "IOMの支援" in page.body
    api = fetch(web.url + "api/articles?q=IOM").json()
    assert api["articles"][0]["url"] is None  # javascript: is not a link


def test_off_loopback_the_app_refuses_to_start_without_a_password() -> None:
    with pytest.raises(ConfigError, match="MIGWATCH_WEB_PASSWORD"):
        guard_for("0.0.0.0", 8470, environ={})
    assert guard_for("0.0.0.0", 8470, environ={"MIGWATCH_WEB_PASSWORD": "s3cret"}).needs_login


def test_with_a_password_pages_need_the_login(app_ctx: AppContext, tmp_path: Path) -> None:
    guard = Guard(host="127.0.0.1", port=0, password_hash=generate_password_hash("s3cret"))
    with serve(app_ctx, guard) as web:
        first = fetch(web.url + "articles")
        assert first.status == 302 and "/login" in first.headers["Location"]
        login = fetch(web.url + "login")
        cookie = login.headers["Set-Cookie"].split(";")[0]
        token = _token(login.body)
        wrong = fetch(web.url + "login", headers={"Cookie": cookie}, data=urllib.parse.urlencode(
            {"password": "guess", "csrf_token": token}).encode())
        assert wrong.status == 200 and "/login" not in wrong.headers.get("Location", "")
        right = fetch(web.url + "login", headers={"Cookie": cookie}, data=urllib.parse.urlencode(
            {"password": "s3cret", "csrf_token": token}).encode())
        assert right.status == 303
        signed_in = right.headers["Set-Cookie"].split(";")[0]
        assert fetch(web.url + "articles", headers={"Cookie": signed_in}).status == 200
    assert web._thread is not None and not web._thread.is_alive()  # stopped, port closed
    with pytest.raises(urllib.error.URLError):
        fetch(web.url)
