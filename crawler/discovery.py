"""Find out what an address is (feed, sitemap, web page) and the feed behind a web page.

Contract:

* :func:`discover_feeds` is pure: given the text of an HTML page and its address, it
  returns the feeds the page declares with ``<link rel="alternate" type="application/
  rss+xml|atom+xml|rdf+xml">`` (RSS Advisory Board autodiscovery, RFC 4287 §5 for Atom),
  resolved against ``<base href>``, without duplicates, comment feeds last.
* :func:`fallback_feed_urls` lists the usual addresses (``/feed/``, ``/rss.xml`` …) to try
  ONLY when a page declares no feed; such candidates are marked ``is_guess``.
* :func:`probe_url` downloads through an injected ``fetch`` function, so it decides but
  never opens a socket itself; it raises :class:`ParseError` when no feed or sitemap can
  be found (a web page without a feed is a "listing" the user must describe by hand),
  and :class:`ConfigError` for a ``pick`` that is out of range.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Literal
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from config.errors import ConfigError, FetchError, ParseError
from crawler.encoding import decode_document
from crawler.feeds import FeedEntry, parse_feed
from crawler.fetch_one import FetchedPage
from crawler.sitemaps import SitemapEntry, parse_sitemap
from crawler.urls import canonicalize_url

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml+rss",
     "application/feed+json"}
)
# Paths that common publishing systems (WordPress, Drupal, Hugo, Jekyll) serve a feed on.
FALLBACK_PATHS = ("/feed/", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
_COMMENT_FEED = re.compile(r"comment|コメント", re.IGNORECASE)
_HTML_START = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]", re.IGNORECASE)

Kind = Literal["feed", "sitemap"]
Fetch = Callable[[str], FetchedPage]


@dataclass(frozen=True)
class DiscoveredFeed:
    """A feed a web page points to (or, when ``is_guess``, one we will try)."""

    url: str
    title: str
    type: str
    is_guess: bool = False


@dataclass(frozen=True)
class PreviewItem:
    """One item the source would collect."""

    title: str
    link: str | None
    published_at: datetime | None


@dataclass(frozen=True)
class ProbeResult:
    """What an address turned out to be and what it would give."""

    requested_url: str
    feed_url: str  # the address to configure (before any redirect)
    page: FetchedPage  # the feed or sitemap document finally parsed
    kind: Kind
    title: str
    language: str | None
    items: tuple[PreviewItem, ...]
    encoding: str
    landing: FetchedPage | None  # the web page the feed was discovered on, if any
    discovered: tuple[DiscoveredFeed, ...]
    warning: str | None


def _tokens(value: str | None) -> set[str]:
    return {token.lower() for token in (value or "").split()}


def discover_feeds(html: str, base_url: str) -> list[DiscoveredFeed]:
    """The feeds an HTML page declares with ``<link rel="alternate">``, in page order."""
    page = Selector(text=html or "<html></html>")
    base = base_url
    base_href = page.xpath("//base/@href").get()
    if base_href:
        base = urljoin(base_url, base_href.strip())
    found: list[DiscoveredFeed] = []
    seen: set[str] = set()
    for node in page.xpath("//link[@href]"):
        if "alternate" not in _tokens(node.attrib.get("rel")):
            continue
        media_type = (node.attrib.get("type") or "").split(";")[0].strip().lower()
        if media_type not in FEED_TYPES:
            continue
        url = canonicalize_url(node.attrib.get("href") or "", base)
        if url is None or url in seen:
            continue
        seen.add(url)
        title = " ".join((node.attrib.get("title") or "").split())
        found.append(DiscoveredFeed(url=url, title=title, type=media_type))
    # WordPress and others declare the comments feed next to the posts feed; the posts
    # are what a news watcher wants, so comment feeds go last (stable otherwise).
    return sorted(found, key=lambda feed: bool(_COMMENT_FEED.search(feed.title)))


def fallback_feed_urls(base_url: str) -> list[DiscoveredFeed]:
    """Usual feed addresses on the page's site, to try when the page declares none."""
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    urls = [origin + path for path in FALLBACK_PATHS]
    directory = parts.path.rsplit("/", 1)[0] + "/"
    if directory != "/":
        urls.insert(0, origin + directory + "feed/")  # a section's own feed (WordPress)
    return [DiscoveredFeed(url=u, title="", type="", is_guess=True) for u in urls]


def looks_like_html(page: FetchedPage) -> bool:
    """True if the response is a web page rather than XML."""
    if "html" in (page.content_type or "").lower():
        return True
    return bool(_HTML_START.search(page.body[:4096]))


def _probe_result(page: FetchedPage, kind: Kind, title: str,
                  entries: Sequence[FeedEntry | SitemapEntry], warning: str | None) -> ProbeResult:
    items = tuple(PreviewItem(e.title, e.link, e.published_at) for e in entries)
    encoding = decode_document(page.body, page.content_type, is_xml=True).encoding
    language = next((e.language for e in entries if e.language), None)
    return ProbeResult(page.url, page.url, page, kind, title, language, items, encoding,
                       None, (), warning)


def _as_feed(page: FetchedPage, tz: tzinfo, now: datetime | None) -> ProbeResult:
    parsed = parse_feed(page.body, url=page.url, content_type=page.content_type, tz=tz, now=now)
    return _probe_result(page, "feed", parsed.title, parsed.entries, parsed.warning)


def _as_sitemap(
    page: FetchedPage, fetch: Fetch, tz: tzinfo, now: datetime | None
) -> ProbeResult:
    parsed = parse_sitemap(page.body, url=page.url, tz=tz, now=now)
    title = ""
    if parsed.child_sitemaps:
        # An index holds no articles itself; preview the first child sitemap.
        title = f"sitemap index of {len(parsed.child_sitemaps)} sitemaps"
        parsed = parse_sitemap(fetch(parsed.child_sitemaps[0]).body, url=page.url, tz=tz, now=now)
    return _probe_result(page, "sitemap", title, parsed.entries, None)


def _parse_document(
    page: FetchedPage, kind: Kind | None, fetch: Fetch, tz: tzinfo, now: datetime | None
) -> ProbeResult | None:
    if kind in (None, "feed"):
        try:
            return _as_feed(page, tz, now)
        except ParseError:
            pass
    if kind in (None, "sitemap"):
        try:
            return _as_sitemap(page, fetch, tz, now)
        except ParseError:
            pass
    return None


def _no_feed(url: str) -> ParseError:
    return ParseError(
        f"{url} is a web page without a feed (no <link rel=\"alternate\"> and no feed at "
        "the usual addresses); to follow it anyway add it by hand as kind: listing with "
        "CSS selectors in sources.yaml (see docs/sources.md)"
    )


def probe_url(
    url: str,
    *,
    fetch: Fetch,
    tz: tzinfo,
    now: datetime | None = None,
    kind: Kind | None = None,
    pick: int | None = None,
) -> ProbeResult:
    """Fetch ``url`` and find the feed or sitemap it is, or the feed its page declares."""
    page = fetch(url)
    if not looks_like_html(page):
        result = _parse_document(page, kind, fetch, tz, now)
        if result is not None:
            return replace(result, requested_url=url, feed_url=url)
        wanted = kind or "feed or sitemap"
        raise ParseError(f"{page.url} is neither a {wanted} nor a web page; check the URL")
    if kind == "sitemap":
        raise ParseError(f"{page.url} is a web page, not a sitemap; check the URL")
    decoded = decode_document(page.body, page.content_type)
    declared = discover_feeds(decoded.text, page.url)
    if pick is not None and declared and not 1 <= pick <= len(declared):
        raise ConfigError(f"--pick {pick}: the page declares {len(declared)} feed(s); "
                          f"choose a number from 1 to {len(declared)}")
    if declared:
        chosen = declared[(pick or 1) - 1]
        result = _parse_document(fetch(chosen.url), "feed", fetch, tz, now)
        if result is None:
            raise ParseError(f"{chosen.url}, the feed {page.url} declares, is not a feed; "
                             "try another with --pick N")
        return replace(result, requested_url=url, feed_url=chosen.url, landing=page,
                       discovered=tuple(declared))
    for guess in fallback_feed_urls(page.url):
        try:
            candidate = fetch(guess.url)
        except FetchError:
            continue
        if looks_like_html(candidate):
            continue
        result = _parse_document(candidate, "feed", fetch, tz, now)
        if result is not None:
            return replace(result, requested_url=url, feed_url=guess.url, landing=page,
                           discovered=(guess,))
    raise _no_feed(page.url)

