"""Parse feed bytes we downloaded: RSS 0.9x/2.0, RSS 1.0/RDF (``dc:date``), Atom.

feedparser never fetches anything here: it is handed a stream of bytes that were decoded
by our own rules first (Shift_JIS read as cp932, so vendor characters such as ① survive)
and re-encoded as UTF-8.  Its "bozo" flag is classified: a well-formedness slip in an
otherwise usable feed is kept as a warning; a document with no feed in it is a ParseError.
Before feedparser, :mod:`crawler.feed_limits` caps the entries read per pass and refuses
pathological nesting, so one huge feed costs neither minutes nor gigabytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import feedparser

from config.errors import ParseError
from crawler.dates import parse_date
from crawler.encoding import xml_to_utf8
from crawler.feed_limits import KnownIdentities, limit_feed
from crawler.urls import canonicalize_url

DEFAULT_MAX_ITEMS = 500


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, adapted from any format into one shape."""

    guid: str | None
    link: str | None  # canonical http(s) URL or None
    title: str
    summary: str  # untrusted HTML or text, sanitised later
    content: str  # full content when the feed carries it (Atom content, content:encoded)
    published_at: datetime | None
    author: str | None
    language: str | None


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed: its entries plus what it says about polling."""

    title: str
    entries: tuple[FeedEntry, ...]
    ttl_seconds: float | None
    warning: str | None  # a tolerated bozo problem, or what the limits left out
    entries_left: int = 0  # new entries over max_items, read in the next pass


def _first(entry: Any, *names: str) -> Any:
    for name in names:
        value = entry.get(name)
        if value:
            return value
    return None


def _entry_date(entry: Any, tz: tzinfo, now: datetime | None) -> datetime | None:
    parsed = _first(entry, "published_parsed", "updated_parsed", "created_parsed")
    if parsed:
        try:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except (TypeError, ValueError):
            pass
    # feedparser knows no Japanese forms; try the raw strings with our own parser.
    for name in ("published", "updated", "dc_date", "date", "created"):
        raw = entry.get(name)
        if isinstance(raw, str) and raw.strip():
            found = parse_date(raw, tz, now=now)
            if found is not None:
                return found
    return None


def _entry_content(entry: Any) -> str:
    contents = entry.get("content") or []
    best = ""
    for item in contents:
        value = item.get("value") or ""
        if len(value) > len(best):
            best = value
    return best


def _primary_language(tag: object) -> str | None:
    """``ja`` of ``ja-JP``; None for an empty tag."""
    return str(tag).split("-")[0].lower() if tag else None


def _adapt_entry(entry: Any, base_url: str, feed_lang: str | None, tz: tzinfo,
                 now: datetime | None) -> FeedEntry:
    raw_link = entry.get("link") or None
    if not raw_link:
        for link in entry.get("links") or []:
            if link.get("rel", "alternate") == "alternate" and link.get("href"):
                raw_link = link["href"]
                break
    guid = entry.get("id") or None
    if not raw_link and guid and entry.get("guidislink"):
        raw_link = guid
    language = entry.get("language") or (entry.get("title_detail") or {}).get("language")
    return FeedEntry(
        guid=str(guid).strip() if guid else None,
        link=canonicalize_url(raw_link, base_url) if raw_link else None,
        title=(entry.get("title") or "").strip(),
        summary=entry.get("summary") or entry.get("description") or "",
        content=_entry_content(entry),
        published_at=_entry_date(entry, tz, now),
        author=entry.get("author") or None,
        language=_primary_language(language) or feed_lang,
    )


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    tz: tzinfo,
    now: datetime | None = None,
    max_items: int = DEFAULT_MAX_ITEMS,
    known: KnownIdentities | None = None,
) -> ParsedFeed:
    """Parse feed bytes into entries; raise ParseError when there is no feed in them.

    At most ``max_items`` entries are read, newest first, skipping those ``known`` says
    are stored (see :mod:`crawler.feed_limits`); the rest wait for the next pass.
    A JSON Feed is handed to :mod:`crawler.jsonfeed`, under the same limits."""
    from crawler import jsonfeed  # it builds this module's types, so imported here

    if jsonfeed.looks_like_json_feed(body, content_type):
        return jsonfeed.parse_json_feed(body, url=url, tz=tz, now=now, max_items=max_items,
                                        known=known)
    limited = limit_feed(xml_to_utf8(body, content_type), url=url, max_items=max_items,
                         tz=tz, known=known, now=now)
    utf8 = limited.body
    headers = {"content-location": url, "content-type": "application/xml; charset=utf-8"}
    result = feedparser.parse(io.BytesIO(utf8), response_headers=headers,
                              resolve_relative_uris=True, sanitize_html=False)
    version = result.get("version") or ""
    entries = result.get("entries") or []
    warning = None
    if result.get("bozo"):
        problem = result.get("bozo_exception")
        warning = f"{type(problem).__name__}: {problem}".strip() if problem else "malformed"
        if not version and not entries:
            raise ParseError(
                f"{url} is not a feed (no RSS, RDF or Atom found: {warning}); "
                "check the URL or use `migwatch sources check` to find the feed"
            )
    elif not version and not entries:
        raise ParseError(f"{url} is not a feed (no RSS, RDF or Atom found); check the URL")
    feed = result.get("feed") or {}
    feed_lang = _primary_language(feed.get("language"))
    ttl: float | None = None
    raw_ttl = feed.get("ttl")
    if raw_ttl:
        try:
            ttl = float(raw_ttl) * 60  # RSS 2.0 <ttl> is in minutes
        except ValueError:
            ttl = None
    adapted = tuple(_adapt_entry(e, url, feed_lang, tz, now) for e in entries)
    notes = "; ".join(note for note in (warning, limited.warning) if note)
    return ParsedFeed(title=(feed.get("title") or "").strip(), entries=adapted,
                      ttl_seconds=ttl, warning=notes or None,
                      entries_left=limited.entries_left)
