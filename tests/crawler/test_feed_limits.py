"""Huge and hostile feeds: entries capped per pass (newest first), nesting refused early."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from config.errors import ParseError
from crawler.feed_limits import (
    MAX_DEPTH,
    MAX_ELEMENTS_OUTSIDE_ENTRIES,
    MAX_ELEMENTS_PER_ENTRY,
    MAX_TEXT_CHARS,
    limit_feed,
)
from crawler.feeds import parse_feed
from db import create_db_engine
from db.models import Article
from migwatch import sampleweb
from migwatch.context import AppContext
from migwatch.jobs import collect
from migwatch.sampleweb import SampleWeb
from tests.crawler.webfixture import write_config

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
URL = "https://wire.example/feed.rss"


def rss_items(count: int, *, shuffle: bool = False) -> bytes:
    """An RSS 2.0 feed of ``count`` items; item i is i minutes older than item 0."""
    order = list(range(count))
    if shuffle:  # oldest first: the cap must still take the newest
        order.reverse()
    items = "".join(
        f"<item><title>IOM regional update {i}</title>"
        f"<link>https://wire.example/news/{i}</link>"
        f"<pubDate>{(NOW - timedelta(minutes=i)).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
        f"</pubDate><description>Field offices report on returns, week {i}.</description>"
        f"</item>"
        for i in order
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Wire</title><link>https://wire.example/</link>{items}</channel></rss>"
            ).encode()


def numbers(feed_links: list[str | None]) -> list[int]:
    return [int((link or "").rsplit("/", 1)[1]) for link in feed_links]


def test_an_ordinary_feed_passes_untouched() -> None:
    body = rss_items(20)
    limited = limit_feed(body, url=URL, max_items=500, tz=TOKYO)
    assert limited.body is body and limited.entries_left == 0 and limited.warning is None


def test_a_feed_over_the_cap_gives_its_newest_entries_and_counts_the_rest() -> None:
    feed = parse_feed(rss_items(3000, shuffle=True), url=URL, content_type=None, tz=TOKYO,
                      now=NOW, max_items=100)
    assert sorted(numbers([e.link for e in feed.entries])) == list(range(100))
    assert feed.entries_left == 2900
    assert feed.warning and "newest first" in feed.warning


def test_stored_entries_make_room_for_the_next_new_ones() -> None:
    stored = {f"https://wire.example/news/{i}" for i in range(100)}
    feed = parse_feed(rss_items(250), url=URL, content_type=None, tz=TOKYO, now=NOW,
                      max_items=100, known=lambda links: stored & set(links))
    # The newest 100 (stored: their sightings are kept) and the next 100 new ones.
    assert sorted(numbers([e.link for e in feed.entries])) == list(range(200))
    assert feed.entries_left == 50


def test_an_atom_feed_is_capped_the_same_way() -> None:
    entries = "".join(
        f'<entry><title>Entry {i}</title><link href="https://notes.example/{i}"/>'
        f"<id>urn:uuid:{i:08d}</id><updated>2026-11-{1 + i % 28:02d}T00:00:00Z</updated>"
        f"</entry>" for i in range(60)
    )
    body = (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Notes</title><id>urn:notes</id>{entries}</feed>").encode()
    feed = parse_feed(body, url=URL, content_type=None, tz=TOKYO, now=NOW, max_items=10)
    assert len(feed.entries) == 10 and feed.entries_left == 50
    assert all(e.published_at and e.published_at.day >= 24 for e in feed.entries)


def test_pathological_nesting_is_refused_before_feedparser() -> None:
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
            b"<title>x</title><description>" + b"<x>" * 200_000 + b"</x>" * 200_000
            + b"</description></item></channel></rss>")
    with pytest.raises(ParseError, match=f"more than {MAX_DEPTH} deep"):
        parse_feed(body, url=URL, content_type=None, tz=TOKYO, now=NOW)
    unclosed = b'<?xml version="1.0"?><rss version="2.0"><channel>' + b"<x>" * 100_000
    with pytest.raises(ParseError, match="deep"):
        parse_feed(unclosed, url=URL, content_type=None, tz=TOKYO, now=NOW)


def test_an_entry_flooded_with_elements_is_refused() -> None:
    flood = b"<x>a</x>" * (MAX_ELEMENTS_PER_ENTRY + 1)
    body = rss_items(3).replace(b"<item>", b"<item>" + flood, 1)
    with pytest.raises(ParseError, match=f"more than {MAX_ELEMENTS_PER_ENTRY} elements"):
        parse_feed(body, url=URL, content_type=None, tz=TOKYO, now=NOW)


def test_a_channel_flooded_with_elements_is_refused() -> None:
    flood = b"<x/>" * (MAX_ELEMENTS_OUTSIDE_ENTRIES + 1)
    body = rss_items(3).replace(b"<title>Wire</title>", b"<title>Wire</title>" + flood)
    with pytest.raises(ParseError, match="outside its entries"):
        parse_feed(body, url=URL, content_type=None, tz=TOKYO, now=NOW)


def test_an_endless_text_is_cut() -> None:
    long_text = b"&lt;p&gt;" + "移住".encode() * (MAX_TEXT_CHARS // 2 + 10_000)
    body = rss_items(2).replace(b"Field offices report on returns, week 0.", long_text)
    feed = parse_feed(body, url=URL, content_type=None, tz=TOKYO, now=NOW)
    first = next(e for e in feed.entries if (e.link or "").endswith("/0"))
    assert MAX_TEXT_CHARS - 10 <= len(first.summary) <= MAX_TEXT_CHARS
    assert len(feed.entries) == 2


def test_a_slightly_broken_feed_still_reaches_feedparser_whole() -> None:
    body = rss_items(5).replace(b"IOM regional update 3", b"IOM & partners update 3")
    feed = parse_feed(body, url=URL, content_type=None, tz=TOKYO, now=NOW, max_items=3)
    assert len(feed.entries) == 3 and feed.entries_left == 2


# -- end to end: the rest of a big feed comes in the next passes ----------------------------


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """One dialect: the cap lives in the crawler; the store is tested on both elsewhere."""
    path = tmp_path / "migwatch.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def big_feed_web(tmp_path: Path) -> Iterator[SampleWeb]:
    with SampleWeb(tmp_path / "web") as server:
        server.route("/big.rss", sampleweb.status(
            200, rss_items(8), {"Content-Type": "application/rss+xml", "ETag": '"v1"'}))
        yield server


def test_the_rest_of_a_big_feed_is_read_in_the_next_passes(
    tmp_path: Path, big_feed_web: SampleWeb, db_url: str
) -> None:
    extra = (f'  - {{key: big, name: Big wire, kind: feed, url: "{big_feed_web.base_url}'
             f'/big.rss", fetch_articles: false}}\n')
    config = write_config(tmp_path / "config", big_feed_web.base_url, extra_sources=extra)
    settings = config / "migwatch.yaml"
    settings.write_text(settings.read_text().replace("crawler:\n",
                                                     "crawler:\n  max_feed_items: 3\n"))
    app = AppContext(config_path=config, db_url=db_url)
    stored, statuses = [], []
    for _ in range(4):
        (fetch,) = collect(app, ["big"]).fetches
        statuses.append(fetch.status)
        engine = create_db_engine(db_url)
        with engine.connect() as conn:
            stored.append(conn.scalar(select(func.count()).select_from(Article)))
        engine.dispose()
    assert stored == [3, 6, 8, 8]
    assert statuses == ["ok", "ok", "ok", "unchanged"]
    # Not before the feed was read to its end were the validators sent back.
    feed_requests = [r for r in big_feed_web.requests if r.path == "/big.rss"]
    assert [r.headers.get("if-none-match") for r in feed_requests] == [None, None, None, '"v1"']
