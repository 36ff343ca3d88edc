"""End-to-end collection against a real HTTP server on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.safety import is_public_address
from db import create_db_engine
from db.models import Article, Sighting, Source
from migwatch import sampleweb
from migwatch.context import AppContext
from migwatch.jobs import collect
from migwatch.sampleweb import SampleWeb
from tests.crawler.webfixture import build_site, write_config

HOSTILE = """
  - {{key: err500, name: Broken server, kind: feed, url: "{base}/hostile/500.rss"}}
  - {{key: loop, name: Redirect loop, kind: feed, url: "{base}/hostile/loop-a"}}
  - {{key: slow, name: Slow server, kind: feed, url: "{base}/hostile/slow.rss"}}
  - {{key: huge, name: Oversized, kind: feed, url: "{base}/hostile/huge.rss"}}
  - {{key: bomb, name: Gzip bomb, kind: feed, url: "{base}/hostile/bomb.rss"}}
  - {{key: notxml, name: Not a feed, kind: feed, url: "{base}/broken/notxml.rss"}}
  - {{key: badgz, name: Broken gzip file, kind: sitemap, url: "{base}/hostile/bad.xml.gz"}}
  - {{key: nothing, name: Empty listing, kind: listing, url: "{base}/broken/notxml.rss",
     listing: {{item: "ul.none li"}}}}
"""


@pytest.fixture
def web(tmp_path: Path) -> Iterator[SampleWeb]:
    root = tmp_path / "web"
    build_site(root)
    server = SampleWeb(root)
    server.route("/hostile/500.rss", sampleweb.status(500, b"internal error"))
    server.route("/hostile/loop-a", sampleweb.redirect_loop("/hostile/loop-a", "/hostile/loop-b"))
    server.route("/hostile/loop-b", sampleweb.redirect_loop("/hostile/loop-a", "/hostile/loop-b"))
    server.route("/hostile/slow.rss", sampleweb.slow(server.release))
    server.route("/hostile/huge.rss", sampleweb.oversized(16 * 1024 * 1024 + 10))
    server.route("/hostile/bomb.rss", sampleweb.gzip_bomb(40 * 1024 * 1024))
    server.route("/hostile/bad.xml.gz", sampleweb.status(200, b"\x1f\x8b\x08garbage"))
    with server:
        yield server


def make_app(tmp_path: Path, web: SampleWeb, db_url: str, **kwargs: object) -> AppContext:
    config = write_config(tmp_path / "config", web.base_url, **kwargs)  # type: ignore[arg-type]
    return AppContext(config_path=config, db_url=db_url)


def counts(db_url: str) -> tuple[int, int]:
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        articles = conn.scalar(select(func.count()).select_from(Article)) or 0
        sightings = conn.scalar(select(func.count()).select_from(Sighting)) or 0
    engine.dispose()
    return articles, sightings


def test_collect_stores_every_kind_of_source_and_encoding(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    app = make_app(tmp_path, web, db_url)
    summary = collect(app)
    assert {f.source_key: f.status for f in summary.fetches} == {
        "wire-en": "ok", "paper-ja": "ok", "notes-atom": "ok", "gov-list": "ok",
        "news-sitemap": "ok", "lm-only": "ok",
    }
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        rows = {r.url: r for r in conn.execute(select(Article))}
    engine.dispose()
    base = web.base_url
    # RSS 2.0, tracking parameters stripped from the stored URL
    assert f"{base}/en/a2.html" in rows
    # RDF: a page whose only date is in the Japanese era form
    b1 = rows[f"{base}/ja/b1.html"]
    assert b1.language == "ja" and b1.published_at is not None
    # EUC-JP and Shift_JIS pages decode (vendor characters survive)
    assert "外国人住民" in rows[f"{base}/ja/eucjp.html"].text
    sjis = rows[f"{base}/list/sjis.html"]
    assert "①" in sjis.title and "㈱" in sjis.text
    assert sjis.published_at is not None and sjis.published_at.day == 22  # 23 Nov JST in UTC
    # listing pagination reached page 2
    assert f"{base}/list/c3.html" in rows
    # Atom content kept without fetching the page
    atom = rows[f"{base}/atom/n1.html"]
    assert "Labour migration schemes" in atom.text and not atom.is_fetched
    assert not web.requests_for("/atom/n1.html")
    # sitemap: a new article plus a sighting of one already in the RSS feed
    assert f"{base}/sm/d1.html" in rows
    assert len(rows) == 11  # lm-only repeats a3: a sighting, not an article


def test_same_article_in_two_sources_is_one_article_with_two_sightings(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    collect(make_app(tmp_path, web, db_url))
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        article_id = conn.scalar(select(Article.id).where(Article.url.like("%/en/a2.html")))
        keys = set(conn.scalars(
            select(Source.key).join(Sighting, Sighting.source_id == Source.id)
            .where(Sighting.article_id == article_id)))
        same_url = conn.scalar(select(func.count()).select_from(Article)
                               .where(Article.url.like("%/en/a2.html%")))
    engine.dispose()
    assert keys == {"wire-en", "news-sitemap"}
    assert same_url == 1
    assert len(web.requests_for("/en/a2.html")) == 1  # fetched once, not per source


def test_second_collect_is_conditional_and_fetches_no_article(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    app = make_app(tmp_path, web, db_url)
    collect(app)
    before = counts(db_url)
    web.clear_log()
    summary = collect(app)
    assert counts(db_url) == before
    assert sum(f.new_count for f in summary.fetches) == 0
    article_paths = [r.path for r in web.requests if r.path.endswith(".html")
                     and not r.path.startswith("/list/index") and "page2" not in r.path]
    assert article_paths == []
    for source_path in ("/en/feed.rss", "/ja/feed.rdf", "/atom/feed.atom", "/sitemap/news.xml"):
        (request,) = web.requests_for(source_path)
        assert "if-none-match" in request.headers
    (lm_request,) = web.requests_for("/lm/feed.rss")  # served without an ETag
    assert "if-none-match" not in lm_request.headers
    assert "if-modified-since" in lm_request.headers
    statuses = {f.source_key: f.status for f in summary.fetches}
    assert statuses["wire-en"] == "not_modified"
    assert statuses["lm-only"] == "not_modified"


def test_collect_continues_after_hostile_sources_and_records_each_error(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    app = make_app(tmp_path, web, db_url, extra_sources=HOSTILE.format(base=web.base_url),
                   timeout=1.5)
    summary = collect(app)
    by_key = {f.source_key: f for f in summary.fetches}
    for key in ("wire-en", "paper-ja", "notes-atom", "gov-list", "news-sitemap", "lm-only"):
        assert by_key[key].status == "ok", key
    assert counts(db_url)[0] == 11  # everything the healthy sources carry
    expected = {
        "err500": "HTTP 500",
        "loop": "redirects in a loop",
        "slow": "did not answer within 1.5 s",
        "huge": "size cap",
        "bomb": "size cap",
        "notxml": "is not a feed",
        "nothing": "selector matched nothing",
        "badgz": "could not be read",
    }
    for key, fragment in expected.items():
        assert by_key[key].status == "error", key
        assert fragment in (by_key[key].error or ""), (key, by_key[key].error)
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        failing = dict(conn.execute(select(Source.key, Source.consecutive_failures)).all())
        last_errors = dict(conn.execute(select(Source.key, Source.last_error)).all())
    engine.dispose()
    assert all(failing[key] == 1 for key in expected)
    assert failing["wire-en"] == 0
    assert "HTTP 500" in (last_errors["err500"] or "")


def test_private_addresses_are_refused_unless_allowed(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    app = make_app(tmp_path, web, db_url, allow_private=False)
    summary = collect(app, ["wire-en"])
    (fetch,) = summary.fetches
    assert fetch.status == "error"
    assert "private" in (fetch.error or "") or "loopback" in (fetch.error or "")
    assert web.requests == []  # refused before any connection
    assert counts(db_url) == (0, 0)


def test_localhost_by_name_is_refused_at_connect_time(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    # The machine's own host name resolves to a loopback address here; it is not caught
    # by the "localhost" name rule, so only the connect-time check can refuse it.
    host = socket.gethostname()
    assert not is_public_address(socket.gethostbyname(host)), "needs a host name on loopback"
    named = web.base_url.replace("127.0.0.1", host)
    config = write_config(tmp_path / "config", named, allow_private=False)
    summary = collect(AppContext(config_path=config, db_url=db_url), ["wire-en"])
    (fetch,) = summary.fetches
    assert fetch.status == "error" and "resolves to" in (fetch.error or ""), fetch.error
    assert web.requests == []


def test_killed_crawl_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    app = make_app(tmp_path, web, db_url)
    # The listing's last article blocks until the child is killed: what was stored by
    # then is committed, the listing's validators are not.
    gate = threading.Event()
    blocked = threading.Event()
    hold = sampleweb.slow(gate)

    def last_article(request: sampleweb.RecordedRequest) -> sampleweb.Reply:
        blocked.set()
        return hold(request)

    web.route("/list/c3.html", last_article)
    children: list[subprocess.Popen[str]] = []

    def killer() -> None:
        # Kill once something is committed (the store writes at least every second).
        if blocked.wait(30) and children:
            deadline = time.monotonic() + 30
            while counts(db_url)[0] == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            children[0].kill()

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        first = collect(app, ["wire-en", "gov-list"], on_child_start=children.append)
    finally:
        gate.set()
        thread.join()
    assert first.child is not None and first.child.was_killed
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        stored_before = {u.removeprefix(web.base_url) for u in conn.scalars(select(Article.url))}
    engine.dispose()
    assert 1 <= len(stored_before) < 6
    web.route("/list/c3.html", sampleweb.status(200, b"<html><body><article><h1>x</h1>"
                                                + b"<p>" + b"Resumed text. " * 40 + b"</p>"
                                                + b"</article></body></html>",
                                                {"Content-Type": "text/html; charset=utf-8"}))
    web.clear_log()
    second = collect(app, ["wire-en", "gov-list"])
    assert {f.source_key: f.status for f in second.fetches}["gov-list"] == "ok"
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        urls = list(conn.scalars(select(Article.url)))
    engine.dispose()
    assert len(urls) == len(set(urls)) == 6  # 3 RSS + 3 listing, none twice
    refetched = {r.path for r in web.requests if r.path.endswith(".html")}
    assert not refetched & stored_before  # what was stored is never fetched again


def test_a_server_asking_to_retry_later_is_left_alone_until_then(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    extra = f'  - {{key: busy, name: Busy, kind: feed, url: "{web.base_url}/busy.rss"}}\n'
    app = make_app(tmp_path, web, db_url, extra_sources=extra, retries=2)
    web.route("/busy.rss", sampleweb.status(503, b"busy", {"Retry-After": "3600"}))
    first = collect(app, ["busy"])
    assert first.fetches[0].status == "error"
    assert len(web.requests_for("/busy.rss")) == 1  # not retried against the server's wish
    web.clear_log()
    second = collect(app, ["busy"])
    assert second.fetches == ()
    ((key, until),) = second.deferred
    assert key == "busy" and until > datetime.now(UTC) + timedelta(minutes=55)
    assert web.requests_for("/busy.rss") == []


def test_feeds_in_shift_jis_and_euc_jp_decode(tmp_path: Path, web: SampleWeb, db_url: str) -> None:
    extra = (f'  - {{key: sjis-feed, name: SJIS, kind: feed, url: "{web.base_url}/legacy/sjis.rdf",'
             f' fetch_articles: false}}\n'
             f'  - {{key: euc-feed, name: EUC, kind: feed, url: "{web.base_url}/legacy/eucjp.rss",'
             f' fetch_articles: false}}\n')
    app = make_app(tmp_path, web, db_url, extra_sources=extra)
    summary = collect(app, ["sjis-feed", "euc-feed"])
    assert [f.status for f in summary.fetches] == ["ok", "ok"], summary.fetches
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        rows = {r.title: r for r in conn.execute(select(Article))}
    engine.dispose()
    assert rows["①外国人相談窓口の開設時間を延長します"].text == "㈱協力のもと、通訳を配置します。"
    assert "外国にルーツを持つ子ども" in rows["日本語教室のボランティアを募集"].text


def test_entries_without_link_or_date_are_stored_once_by_content(
    tmp_path: Path, web: SampleWeb, db_url: str
) -> None:
    extra = f'  - {{key: odd, name: Odd, kind: feed, url: "{web.base_url}/odd/feed.rss"}}\n'
    app = make_app(tmp_path, web, db_url, extra_sources=extra)
    assert collect(app, ["odd"]).fetches[0].status == "ok"
    web.clear_log()
    (tmp_path / "web" / "odd" / "feed.rss").write_text(
        (tmp_path / "web" / "odd" / "feed.rss").read_text() + "\n", encoding="utf-8")
    assert collect(app, ["odd"]).fetches[0].new_count == 0  # changed body, same entries
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        rows = list(conn.execute(select(Article)))
    engine.dispose()
    assert len(rows) == 2
    assert all(r.url is None and r.identity.startswith("urn:sha256:") for r in rows)
    assert all(r.published_at is None for r in rows)


def test_robots_txt_is_obeyed(tmp_path: Path, web: SampleWeb, db_url: str) -> None:
    extra = (f'  - {{key: robots, name: Robots, kind: listing, '
             f'url: "{web.base_url}/robots-test/index.html", listing: {{item: "li.item"}}}}\n')
    app = make_app(tmp_path, web, db_url, extra_sources=extra)
    assert collect(app, ["robots"]).fetches[0].status == "ok"
    assert web.requests_for("/private/secret.html") == []
    assert len(web.requests_for("/list/c2.html")) == 1
    assert len(web.requests_for("/robots.txt")) == 1
