"""JSON Feed 1.0 and 1.1 become the same entries as the RSS feed of the same articles."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from config.errors import ParseError
from crawler.feeds import parse_feed

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 4, tzinfo=UTC)
BASE = "https://fieldnotes-displacement.example"

RSS = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Field Notes on Displacement</title><link>{BASE}/</link><description>d</description>
<language>en</language>
<item><title>Camp registrations resume after the floods</title>
<link>{BASE}/2026/12/registrations-resume?utm_source=feed</link>
<guid isPermaLink="false">fn-2026-118</guid>
<pubDate>Thu, 03 Dec 2026 06:30:00 GMT</pubDate><dc:creator>Mara Okoye</dc:creator>
<description>Registration desks reopened on Wednesday.</description></item>
<item><title>帰還支援の予算、来年度は削減へ</title><link>{BASE}/ja/2026/12/kikan-yosan</link>
<guid isPermaLink="false">fn-2026-117</guid>
<pubDate>Wed, 02 Dec 2026 09:00:00 +0900</pubDate><dc:creator>佐藤 理恵</dc:creator>
<description>帰還支援の予算が削減される見通し。</description></item>
</channel></rss>
"""

ITEMS = [
    {"id": "fn-2026-118", "url": f"{BASE}/2026/12/registrations-resume?utm_source=feed",
     "title": "Camp registrations resume after the floods",
     "summary": "Registration desks reopened on Wednesday.",
     "content_html": "<p>Registration desks reopened on Wednesday after two weeks.</p>",
     "date_published": "2026-12-03T06:30:00Z"},
    {"id": "fn-2026-117", "url": f"{BASE}/ja/2026/12/kikan-yosan",
     "title": "帰還支援の予算、来年度は削減へ", "summary": "帰還支援の予算が削減される見通し。",
     "content_text": "帰還支援の予算が削減される見通しとなった。",
     "date_published": "2026-12-02T09:00:00+09:00"},
]


def json_feed_1_1() -> bytes:
    items = [dict(ITEMS[0], authors=[{"name": "Mara Okoye"}]),
             dict(ITEMS[1], authors=[{"name": "佐藤 理恵"}], language="ja")]
    return json.dumps({"version": "https://jsonfeed.org/version/1.1",
                       "title": "Field Notes on Displacement", "home_page_url": f"{BASE}/",
                       "feed_url": f"{BASE}/feed.json", "language": "en-GB",
                       "items": items}, ensure_ascii=False).encode()


def json_feed_1_0() -> bytes:
    items = [dict(ITEMS[0], author={"name": "Mara Okoye"}),
             dict(ITEMS[1], author={"name": "佐藤 理恵"})]
    return json.dumps({"version": "https://jsonfeed.org/version/1",
                       "title": "Field Notes on Displacement", "home_page_url": f"{BASE}/",
                       "items": items}, ensure_ascii=False).encode()


def essentials(body: bytes, content_type: str) -> list[tuple[object, ...]]:
    parsed = parse_feed(body, url=f"{BASE}/feed", content_type=content_type, tz=TOKYO, now=NOW)
    assert parsed.title == "Field Notes on Displacement"
    return [(e.guid, e.link, e.title, e.published_at, e.author, e.summary)
            for e in parsed.entries]


@pytest.mark.parametrize(("body", "content_type"), [
    (json_feed_1_1(), "application/feed+json"),
    (json_feed_1_0(), "application/json; charset=utf-8"),
    (json_feed_1_1(), "text/plain"),  # a server that does not know the type
])
def test_a_json_feed_gives_the_entries_its_rss_twin_gives(body: bytes,
                                                          content_type: str) -> None:
    assert essentials(body, content_type) == essentials(RSS.encode(), "application/rss+xml")


def test_json_feed_content_and_languages_are_kept() -> None:
    parsed = parse_feed(json_feed_1_1(), url=f"{BASE}/feed.json",
                        content_type="application/feed+json", tz=TOKYO, now=NOW)
    first, second = parsed.entries
    assert first.link == f"{BASE}/2026/12/registrations-resume"  # tracking stripped
    assert first.content.startswith("<p>Registration desks")
    assert second.content == "帰還支援の予算が削減される見通しとなった。"
    assert (first.language, second.language) == ("en", "ja")
    assert second.published_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)


def test_json_that_is_no_json_feed_is_a_parse_error() -> None:
    body = b'{"version": "https://jsonfeed.org/version/1.1", "title": "x"}'
    with pytest.raises(ParseError, match="without an \"items\" list"):
        parse_feed(body, url=f"{BASE}/feed.json", content_type="application/feed+json",
                   tz=TOKYO, now=NOW)
    with pytest.raises(ParseError, match="is not valid JSON"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1", "items": [',
                   url=f"{BASE}/feed.json", content_type="application/feed+json", tz=TOKYO,
                   now=NOW)


def test_a_long_json_feed_is_read_newest_first_under_the_item_limit() -> None:
    items = [{"id": f"n{i}", "url": f"{BASE}/n/{i}", "title": f"Note {i}",
              "date_published": f"2026-11-{10 + i:02d}T00:00:00Z"} for i in range(6)]
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t",
                       "items": items}).encode()
    stored = {f"{BASE}/n/5", f"{BASE}/n/4"}
    parsed = parse_feed(body, url=f"{BASE}/feed.json", content_type="application/feed+json",
                        tz=TOKYO, now=NOW, max_items=2,
                        known=lambda links: {link for link in links if link in stored})
    # the two newest (stored: sightings) and the two newest not stored; two wait
    assert [e.guid for e in parsed.entries] == ["n2", "n3", "n4", "n5"]
    assert parsed.entries_left == 2
