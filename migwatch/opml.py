"""Read and write OPML subscription lists, the format feed readers share.

Reading is listparser's (it reads OPML 1.0 and 2.0 as feed readers write them: Feedly,
Inoreader, NetNewsWire and the rest).  A feed listed in several folders is one feed with
each folder as a category; a folder path is one category written ``News/Asia``, and so is a
``category="/News/Asia"`` attribute.  An outline whose address is not an http(s) address,
or that links to another list or a web page instead of a feed, is returned as rejected.
listparser is handed bytes, never an address, so it fetches nothing; a file larger than
:data:`MAX_OPML_BYTES` or one that declares XML entities is refused before it is parsed.

Writing (OPML 2.0): each category is a folder (``News/Asia`` nested as News › Asia) and a
feed with several categories is written once in each of its folders, as feed readers do,
so reading what we wrote gives back every feed and every category.  A disabled source is
marked ``migwatch:enabled="false"``; sources that are not feeds (listings, sitemaps) are
written as ``type="link"`` outlines carrying ``migwatch:kind``, so nothing is left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from lxml import etree

from config.errors import ConfigError
from config.schema import SourceConfig
from crawler.urls import is_http_url

MAX_OPML_BYTES = 5 * 1024 * 1024
NAMESPACE = "https://migwatch.invalid/opml"  # our own attributes; .invalid is never a host
_SITE_NOTE = re.compile(r"(?:^|\s)site: (https?://\S+)")
_WELL_FORMED_URL = re.compile(r"^https?://[^\s/]+\S*$", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True)
class OpmlFeed:
    """One feed of an OPML file, with every folder it was found in."""

    title: str
    xml_url: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class OpmlRejected:
    """An outline that cannot be imported as a feed, and why."""

    title: str
    reason: str


@dataclass(frozen=True)
class OpmlDocument:
    """The feeds of an OPML file, in document order, and the outlines rejected."""

    title: str
    feeds: tuple[OpmlFeed, ...]
    rejected: tuple[OpmlRejected, ...]


def html_url_from_note(note: str | None) -> str | None:
    """The web site address kept in a ``note:`` as ``site: https://…``, if any."""
    match = _SITE_NOTE.search(note or "")
    return match.group(1) if match else None


def _url_problem(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return "its address is empty"
    if not _WELL_FORMED_URL.match(value) or not is_http_url(value):
        return f"{value[:80]!r} is not an http:// or https:// address"
    return None


def _category(path: Sequence[str]) -> str:
    return "/".join(" ".join(part.split()) for part in path if part.strip())


def read_opml(data: bytes, *, name: str) -> OpmlDocument:
    """Parse OPML bytes; raise ConfigError when the file is not safe or not OPML."""
    if len(data) > MAX_OPML_BYTES:
        raise ConfigError(f"{name} is larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB; "
                          "split it or remove what you do not need")
    # Entities are how "billion laughs" and file-reading attacks work; OPML needs none.
    if _ENTITY.search(data):
        raise ConfigError(f"{name} declares XML entities (<!ENTITY>); OPML never needs them, "
                          "so the file is refused")
    import listparser  # it imports requests (0.2 s): only when a file is read

    parsed = listparser.parse(data)  # bytes: listparser never fetches them itself
    if not str(parsed.get("version", "")).startswith("opml"):
        raise ConfigError(f"{name} is not an OPML file (no <opml><body>); export it again "
                          "from your feed reader")
    feeds: list[OpmlFeed] = []
    rejected: list[OpmlRejected] = []
    for entry in parsed.feeds:
        title = " ".join(str(entry.get("title") or "").split())
        url = str(entry.get("url") or "").strip()
        problem = _url_problem(url)
        if problem:
            rejected.append(OpmlRejected(title, problem))
            continue
        categories = (_category(path) for path in entry.get("categories", []))
        feeds.append(OpmlFeed(title=title, xml_url=url,
                              categories=tuple(dict.fromkeys(c for c in categories if c))))
    for entry in [*parsed.lists, *parsed.opportunities]:
        title = " ".join(str(entry.get("title") or "").split())
        rejected.append(OpmlRejected(title, "links to a web page or another list, not a feed; "
                                     "add it with `migwatch sources add URL`"))
    title = " ".join(str(parsed.meta.get("title") or "").split())
    return OpmlDocument(title=title, feeds=tuple(feeds), rejected=tuple(rejected))


def _folders(category: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in category.split("/") if part.strip())


def write_opml(sources: Sequence[SourceConfig], *, title: str, now: datetime) -> bytes:
    """OPML 2.0 bytes listing every source; categories are folders, a feed is in each."""
    root = etree.Element("opml", version="2.0", nsmap={"migwatch": NAMESPACE})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}

    def folder(path: tuple[str, ...]) -> etree._Element:
        if path not in folders:
            folders[path] = etree.SubElement(folder(path[:-1]), "outline", text=path[-1],
                                             title=path[-1])
        return folders[path]

    for source in sources:
        paths = list(dict.fromkeys(_folders(c) for c in source.categories)) or [()]
        for path in paths:
            outline = etree.SubElement(folder(path), "outline", text=source.name,
                                       title=source.name)
            if source.kind == "feed":
                outline.set("type", "rss")
                outline.set("xmlUrl", source.url)
                html_url = html_url_from_note(source.note)
                if html_url:
                    outline.set("htmlUrl", html_url)
            else:
                outline.set("type", "link")
                outline.set("url", source.url)
                outline.set(f"{{{NAMESPACE}}}kind", source.kind)
            if not source.enabled:
                outline.set(f"{{{NAMESPACE}}}enabled", "false")
    etree.indent(root, space="  ")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
