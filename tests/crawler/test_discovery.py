"""Feed discovery on HTML pages, and probing an address through a stand-in fetch."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from config.errors import ConfigError, FetchError, ParseError
from crawler.discovery import discover_feeds, fallback_feed_urls, probe_url
from crawler.fetch_one import FetchedPage

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 30, tzinfo=UTC)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Kikin News</title><language>en</language>
<item><title>Appeal funded at 31%</title><link>https://kikin.example/a/1</link>
<pubDate>Mon, 30 Nov 2026 01:00:00 GMT</pubDate></item>
</channel></rss>"""
SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>https://kikin.example/a/2</loc><lastmod>2026-11-29</lastmod></url></urlset>"""


def page(url: str, body: bytes, content_type: str) -> FetchedPage:
    return FetchedPage(url=url, status=200, headers={"content-type": content_type}, body=body)


class Web:
    """A dictionary of addresses standing in for the network; records what was asked."""

    def __init__(self, pages: dict[str, tuple[bytes, str]]) -> None:
        self.pages = pages
        self.asked: list[str] = []

    def __call__(self, url: str) -> FetchedPage:
        self.asked.append(url)
        if url not in self.pages:
            raise FetchError(f"HTTP 404 Not Found from {url}")
        body, content_type = self.pages[url]
        return page(url, body, content_type)


def test_links_are_found_in_order_resolved_and_deduplicated() -> None:
    html = """<html><head>
      <link rel="stylesheet" href="/s.css">
      <link rel="Alternate" type="application/RSS+XML; charset=utf-8" href="rss.xml"
            title="  News   feed ">
      <link rel="alternate" type="application/atom+xml" href="https://other.example/atom">
      <link rel="alternate" type="application/rss+xml" href="rss.xml">
      <link rel="alternate" type="text/html" hreflang="ja" href="/ja/">
      <link rel="alternate" type="application/rdf+xml" href="/index.rdf?utm_source=x&id=2">
    </head></html>"""
    feeds = discover_feeds(html, "https://site.example/news/")
    assert [(f.url, f.title, f.type) for f in feeds] == [
        ("https://site.example/news/rss.xml", "News feed", "application/rss+xml"),
        ("https://other.example/atom", "", "application/atom+xml"),
        ("https://site.example/index.rdf?id=2", "", "application/rdf+xml"),
    ]
    assert not any(f.is_guess for f in feeds)


def test_base_href_and_comment_feeds_last() -> None:
    html = """<head><base href="https://cdn.example/blog/">
      <link rel="alternate" type="application/rss+xml" title="コメントフィード" href="comments/">
      <link rel="alternate" type="application/rss+xml" title="投稿フィード" href="feed/">
    </head>"""
    feeds = discover_feeds(html, "https://site.example/")
    assert [f.url for f in feeds] == ["https://cdn.example/blog/feed/",
                                      "https://cdn.example/blog/comments/"]


def test_a_page_without_links_declares_nothing_and_fallbacks_are_guesses() -> None:
    assert discover_feeds("<p>no head at all</p>", "https://site.example/") == []
    assert discover_feeds("", "https://site.example/") == []
    guesses = fallback_feed_urls("https://site.example/news/index.html")
    assert guesses[0].url == "https://site.example/news/feed/"
    assert "https://site.example/rss.xml" in [g.url for g in guesses]
    assert all(g.is_guess for g in guesses)


def test_probe_reads_a_feed_directly() -> None:
    web = Web({"https://kikin.example/rss": (RSS, "application/rss+xml")})
    result = probe_url("https://kikin.example/rss", fetch=web, tz=TOKYO, now=NOW)
    assert (result.kind, result.title, result.language) == ("feed", "Kikin News", "en")
    assert result.items[0].title == "Appeal funded at 31%"
    assert result.landing is None and web.asked == ["https://kikin.example/rss"]


def test_probe_reads_a_sitemap() -> None:
    web = Web({"https://kikin.example/sitemap.xml": (SITEMAP, "application/xml")})
    result = probe_url("https://kikin.example/sitemap.xml", fetch=web, tz=TOKYO, now=NOW)
    assert result.kind == "sitemap" and result.items[0].link == "https://kikin.example/a/2"


def test_probe_follows_the_declared_feed_and_honours_pick() -> None:
    html = b"""<html><head>
      <link rel="alternate" type="application/rss+xml" href="/rss">
      <link rel="alternate" type="application/atom+xml" href="/broken"></head></html>"""
    web = Web({"https://kikin.example/": (html, "text/html"),
               "https://kikin.example/rss": (RSS, "application/rss+xml"),
               "https://kikin.example/broken": (b"<html>oops</html>", "text/html")})
    result = probe_url("https://kikin.example/", fetch=web, tz=TOKYO, now=NOW)
    assert result.feed_url == "https://kikin.example/rss"
    assert result.requested_url == "https://kikin.example/" and len(result.discovered) == 2
    with pytest.raises(ParseError, match="--pick"):
        probe_url("https://kikin.example/", fetch=web, tz=TOKYO, now=NOW, pick=2)
    with pytest.raises(ConfigError, match="from 1 to 2"):
        probe_url("https://kikin.example/", fetch=web, tz=TOKYO, now=NOW, pick=3)


def test_probe_tries_usual_addresses_only_when_the_page_declares_none() -> None:
    web = Web({"https://kikin.example/": (b"<html><p>hi</p></html>", "text/html"),
               "https://kikin.example/feed.xml": (RSS, "application/xml")})
    result = probe_url("https://kikin.example/", fetch=web, tz=TOKYO, now=NOW)
    assert result.feed_url == "https://kikin.example/feed.xml"
    assert result.discovered[0].is_guess
    assert web.asked == ["https://kikin.example/", "https://kikin.example/feed/",
                         "https://kikin.example/rss.xml", "https://kikin.example/feed.xml"]


def test_probe_of_a_page_with_no_feed_anywhere_points_to_a_listing() -> None:
    web = Web({"https://kikin.example/": (b"<!DOCTYPE html><p>hi</p>", "text/html")})
    with pytest.raises(ParseError, match="kind: listing"):
        probe_url("https://kikin.example/", fetch=web, tz=TOKYO, now=NOW)


def test_probe_of_plain_text_is_neither_feed_nor_page() -> None:
    web = Web({"https://kikin.example/x": (b"just words", "text/plain")})
    with pytest.raises(ParseError, match="neither a feed or sitemap nor a web page"):
        probe_url("https://kikin.example/x", fetch=web, tz=TOKYO, now=NOW)
