"""Keep a huge or hostile feed from costing minutes and gigabytes before feedparser sees it.

Contract: :func:`limit_feed` takes a feed's UTF-8 bytes and returns bytes for feedparser
that hold at most ``max_items`` entries (the newest ones not stored yet, plus the newest
stored ones so their sightings are kept) and no text longer than :data:`MAX_TEXT_CHARS`;
the count of entries left for the next pass comes with them.  A document nested deeper
than :data:`MAX_DEPTH` elements, with an entry of more than
:data:`MAX_ELEMENTS_PER_ENTRY` elements or more than :data:`MAX_ELEMENTS_OUTSIDE_ENTRIES`
elements outside its entries is refused with a :class:`config.errors.ParseError`, as soon
as the scan meets the excess.

feedparser handles every element in Python (about a millisecond per entry): a 50,000-item
archive took minutes, and 10 MB of nested tags most of a gigabyte.  The checks here are a
streaming lxml pass that keeps nothing but a few strings per entry, so they cost a
fraction of a second and constant memory; an ordinary feed is passed on untouched.  Only
when something must go is the document rebuilt, in a second streaming pass that drops
unwanted entries as soon as they end.  Dates are read the quick way first (RFC 822,
ISO 8601): dateutil costs a millisecond each.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any

from lxml import etree

from config.errors import ParseError
from crawler.dates import parse_date
from crawler.urls import canonicalize_url

log = logging.getLogger(__name__)

MAX_DEPTH = 64  # real feeds nest a dozen levels; XHTML content a few dozen more
MAX_ELEMENTS_PER_ENTRY = 10_000  # a long XHTML article has a few thousand
MAX_ELEMENTS_OUTSIDE_ENTRIES = 10_000  # a channel has tens
MAX_TEXT_CHARS = 256 * 1024  # one title, summary or content; real ones are < 100 KB

_ENTRY_NAMES = frozenset({"item", "entry"})  # RSS 0.9x/1.0/2.0 and Atom
_DATE_NAMES = ("pubDate", "published", "updated", "date", "issued", "modified", "created")

KnownIdentities = Callable[[list[str]], set[str]]


@dataclass(frozen=True)
class LimitedFeed:
    """Feed bytes within the limits, and what was left out of this pass."""

    body: bytes
    entries_left: int = 0  # new entries left for the next pass
    warning: str | None = None


@dataclass
class _Entry:
    index: int
    elements: int = 0
    date_text: str | None = None
    link: str | None = None


@dataclass
class _Scan:
    entries: list[_Entry] = field(default_factory=list)
    outside: int = 0
    has_long_text: bool = False


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _events(body: bytes) -> Iterable[tuple[str, Any]]:
    # recover: feedparser copes with slightly broken XML, so the limits must read it too;
    # no entities resolved, no network, libxml2's own size limits kept (no huge_tree).
    events: Iterable[tuple[str, Any]] = etree.iterparse(
        io.BytesIO(body), events=("start", "end"), recover=True, resolve_entities=False,
        no_network=True, huge_tree=False, remove_comments=True, remove_pis=True,
    )
    return events


def _scan(body: bytes, url: str) -> _Scan:
    """One streaming pass: depth, element counts, and each entry's date and link."""
    scan = _Scan()
    depth = 0
    entry: _Entry | None = None
    entry_depth = 0
    try:
        for event, element in _events(body):
            if event == "start":
                depth += 1
                if depth > MAX_DEPTH:
                    raise ParseError(
                        f"{url} nests elements more than {MAX_DEPTH} deep, which no real feed "
                        "does; it was not read (check the URL or disable the source)"
                    )
                if entry is None and _local(element.tag) in _ENTRY_NAMES:
                    entry = _Entry(index=len(scan.entries))
                    entry_depth = depth
                elif entry is not None:
                    entry.elements += 1
                    if entry.elements > MAX_ELEMENTS_PER_ENTRY:
                        raise ParseError(
                            f"{url} has an entry of more than {MAX_ELEMENTS_PER_ENTRY} "
                            "elements; it is not a usable feed"
                        )
                else:
                    scan.outside += 1
                    if scan.outside > MAX_ELEMENTS_OUTSIDE_ENTRIES:
                        raise ParseError(
                            f"{url} has more than {MAX_ELEMENTS_OUTSIDE_ENTRIES} elements "
                            "outside its entries; it is not a usable feed"
                        )
                continue
            text = element.text
            if text is not None and len(text) > MAX_TEXT_CHARS:
                scan.has_long_text = True
            if entry is not None and depth == entry_depth + 1:
                _note_field(entry, element)
            if entry is not None and depth == entry_depth:
                scan.entries.append(entry)
                entry = None
            depth -= 1
            if depth >= 1:
                # Keep nothing below the root: clear what ended and the siblings before it.
                element.clear(keep_tail=True)
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError:
        pass  # what libxml2 could not even recover is left to feedparser
    return scan


def _note_field(entry: _Entry, element: Any) -> None:
    name = _local(element.tag)
    if name in _DATE_NAMES and entry.date_text is None and element.text:
        entry.date_text = element.text.strip()[:200]
    elif name == "link" and entry.link is None:
        href = element.get("href")
        if href is not None:
            if element.get("rel", "alternate") == "alternate":
                entry.link = href.strip()
        elif element.text and element.text.strip():
            entry.link = element.text.strip()


def _entry_date(text: str, tz: tzinfo, now: datetime | None) -> datetime | None:
    """RFC 822 and ISO 8601 dates the quick way (dateutil costs a millisecond each, a
    minute on a 50,000-item feed); anything else through our full parser."""
    when: datetime | None = None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return parse_date(text, tz, now=now)
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def _newest_first(entries: list[_Entry], tz: tzinfo, now: datetime | None) -> list[_Entry]:
    """Dated entries newest first, then the undated ones, each in document order."""
    dated: list[tuple[datetime, _Entry]] = []
    undated: list[_Entry] = []
    for entry in entries:
        when = _entry_date(entry.date_text, tz, now) if entry.date_text else None
        if when is None:
            undated.append(entry)
        else:
            dated.append((when, entry))
    dated.sort(key=lambda pair: (pair[0], -pair[1].index), reverse=True)
    return [entry for _, entry in dated] + undated


def _choose(scan: _Scan, *, url: str, max_items: int, known: KnownIdentities | None,
            tz: tzinfo, now: datetime | None) -> tuple[set[int], int]:
    """Indexes of the entries to keep, and how many new ones (at most) wait for the next
    pass.  Links are canonicalised and looked up a chunk at a time, newest first, only
    until enough new entries are found: canonicalising 50,000 links alone took 8 s."""
    if len(scan.entries) <= max_items:
        return {e.index for e in scan.entries}, 0
    order = _newest_first(scan.entries, tz, now)
    keep = {e.index for e in order[:max_items]}  # the newest, stored or not (sightings)
    new: list[_Entry] = []
    examined = 0
    while examined < len(order) and len(new) <= max_items:
        chunk = order[examined : examined + max_items]
        examined += len(chunk)
        links = {e.index: canonicalize_url(e.link, url) if e.link else None for e in chunk}
        wanted = [link for link in links.values() if link]
        stored = known(wanted) if known and wanted else set()
        new += [e for e in chunk if links[e.index] is None or links[e.index] not in stored]
    keep |= {e.index for e in new[:max_items]}
    return keep, max(0, len(new) - max_items) + (len(order) - examined)


def _rebuild(body: bytes, keep: set[int]) -> bytes:
    """A second streaming pass that drops every entry not in ``keep`` as it ends."""
    depth = 0
    index = -1
    entry_depth = 0
    dropping = False
    root: Any = None
    try:
        for event, element in _events(body):
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                if entry_depth == 0 and _local(element.tag) in _ENTRY_NAMES:
                    index += 1
                    entry_depth = depth
                    dropping = index not in keep
                continue
            if element.text is not None and len(element.text) > MAX_TEXT_CHARS:
                element.text = element.text[:MAX_TEXT_CHARS]
            if element.tail is not None and len(element.tail) > MAX_TEXT_CHARS:
                element.tail = element.tail[:MAX_TEXT_CHARS]
            parent = element.getparent()
            if dropping and parent is not None:
                # Inside (or the end of) an entry that goes: free it now, children first.
                element.clear(keep_tail=False)
                parent.remove(element)
            if depth == entry_depth:
                entry_depth = 0
                dropping = False
            depth -= 1
    except etree.XMLSyntaxError:
        pass  # keep what was read; feedparser reports the rest as malformed
    if root is None:
        return body
    out: bytes = etree.tostring(root, encoding="utf-8", xml_declaration=True)
    return out


def limit_feed(body: bytes, *, url: str, max_items: int, tz: tzinfo,
               known: KnownIdentities | None = None, now: datetime | None = None) -> LimitedFeed:
    """``body`` within the limits (see the module docstring); raise ParseError when the
    document is nested too deep or has a flood of elements outside its entries."""
    scan = _scan(body, url)
    keep, left = _choose(scan, url=url, max_items=max_items, known=known, tz=tz, now=now)
    if len(keep) == len(scan.entries) and not scan.has_long_text:
        return LimitedFeed(body)
    notes = []
    if len(keep) < len(scan.entries):
        notes.append(f"read {len(keep)} of {len(scan.entries)} entries, newest first; "
                     f"up to {left} new ones wait for the next pass")
    if scan.has_long_text:
        notes.append(f"cut texts longer than {MAX_TEXT_CHARS // 1024} KiB")
    warning = "; ".join(notes)
    log.info("feed=%s status=limited %s", url, warning)
    return LimitedFeed(_rebuild(body, keep), entries_left=left, warning=warning)
