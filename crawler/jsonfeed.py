"""Parse JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/) into feed entries.

feedparser reads only XML, and many blogs (and NetNewsWire's exports) offer JSON Feed.
The document is adapted into the same :class:`~crawler.feeds.ParsedFeed` an RSS or Atom
feed gives, so everything after parsing is the same.  Differences between the versions
handled here: 1.0's single ``author`` object and 1.1's ``authors`` list; ``language``
(1.1) on the feed and on items; an ``id`` written as a number by some 1.0 producers.
Like the XML path, nothing here fetches: it is handed the bytes we downloaded.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from typing import Any

from config.errors import ParseError
from crawler.dates import parse_date
from crawler.feed_limits import KnownIdentities
from crawler.feeds import DEFAULT_MAX_ITEMS, FeedEntry, ParsedFeed
from crawler.urls import canonicalize_url

VERSION_PREFIX = "https://jsonfeed.org/version/"
MEDIA_TYPES = frozenset({"application/feed+json", "application/json"})


def looks_like_json_feed(body: bytes, content_type: str | None) -> bool:
    """A body that is JSON (by its type or its first character) naming a JSON Feed version."""
    media = (content_type or "").split(";")[0].strip().lower()
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if media not in MEDIA_TYPES and start != b"{":
        return False
    return b"jsonfeed.org/version/" in body[:4096]


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _primary_language(tag: object) -> str | None:
    text = _text(tag)
    return text.replace("_", "-").split("-")[0].lower() or None if text else None


def _author(item: dict[str, Any], feed: dict[str, Any]) -> str | None:
    for holder in (item, feed):
        authors = holder.get("authors")
        if not isinstance(authors, list):
            authors = [holder.get("author")] if holder.get("author") else []
        names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
        names = [n for n in names if n]
        if names:
            return ", ".join(names)
    return None


def _date(item: dict[str, Any], tz: tzinfo, now: datetime | None) -> datetime | None:
    for name in ("date_published", "date_modified"):
        raw = _text(item.get(name))
        if raw:
            found = parse_date(raw, tz, now=now)
            if found is not None:
                return found
    return None


def _entry(item: dict[str, Any], feed: dict[str, Any], base_url: str, tz: tzinfo,
           now: datetime | None) -> FeedEntry:
    raw_id = item.get("id")
    guid = str(raw_id).strip() if isinstance(raw_id, str | int) and str(raw_id).strip() else None
    raw_link = _text(item.get("url")) or _text(item.get("external_url"))
    content = _text(item.get("content_html")) or _text(item.get("content_text"))
    return FeedEntry(
        guid=guid,
        link=canonicalize_url(raw_link, base_url) if raw_link else None,
        title=_text(item.get("title")),
        summary=_text(item.get("summary")),
        content=content,
        published_at=_date(item, tz, now),
        author=_author(item, feed),
        language=_primary_language(item.get("language"))
        or _primary_language(feed.get("language")),
    )


def _limited(entries: tuple[FeedEntry, ...], max_items: int,
             known: KnownIdentities | None) -> tuple[tuple[FeedEntry, ...], int]:
    """The newest ``max_items`` entries plus up to ``max_items`` not yet stored, in document
    order, and how many new ones wait for the next pass (as :mod:`crawler.feed_limits`)."""
    if len(entries) <= max_items:
        return entries, 0
    floor = datetime.min.replace(tzinfo=UTC)
    order = sorted(range(len(entries)), reverse=True,
                   key=lambda i: (entries[i].published_at or floor, -i))
    keep = set(order[:max_items])
    links = [entries[i].link for i in order if entries[i].link]
    stored = known([link for link in links if link]) if known and links else set()
    new = [i for i in order if entries[i].link is None or entries[i].link not in stored]
    keep |= set(new[:max_items])
    return tuple(entries[i] for i in sorted(keep)), max(0, len(new) - max_items)


def parse_json_feed(body: bytes, *, url: str, tz: tzinfo, now: datetime | None = None,
                    max_items: int = DEFAULT_MAX_ITEMS,
                    known: KnownIdentities | None = None) -> ParsedFeed:
    """Parse JSON Feed bytes; raise ParseError when they are not a JSON Feed."""
    try:
        document = json.loads(body.decode("utf-8-sig", errors="replace"))
    except ValueError as exc:
        raise ParseError(f"{url} is not valid JSON ({exc.args[0] if exc.args else exc}); "
                         "check the URL") from exc
    if not isinstance(document, dict) or not _text(document.get("version")).startswith(
        VERSION_PREFIX
    ):
        raise ParseError(f"{url} is JSON but not a JSON Feed (no \"version\": "
                         f"\"{VERSION_PREFIX}1.1\"); check the URL")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError(f"{url} is a JSON Feed without an \"items\" list; check the URL")
    base = _text(document.get("feed_url")) or url
    entries = tuple(_entry(item, document, base, tz, now) for item in items
                    if isinstance(item, dict))
    skipped = len(items) - len(entries)
    entries, left = _limited(entries, max_items, known)
    return ParsedFeed(title=_text(document.get("title")), entries=entries, ttl_seconds=None,
                      warning=f"{skipped} items are not objects and were skipped"
                      if skipped else None, entries_left=left)
