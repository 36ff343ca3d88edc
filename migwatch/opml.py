"""Read and write OPML subscription lists (OPML 1.0 and 2.0), the format feed readers share.

Reading: every ``<outline>`` with an ``xmlUrl`` is a feed; its name is ``title`` (else
``text``), ``htmlUrl`` is kept, and its categories are the titles of the outlines it is
nested in (outermost first) followed by its ``category`` attribute (comma-separated;
leading and trailing ``/`` of each RSS-style path are dropped).  An outline whose
``xmlUrl`` is empty or not an http(s) address is returned as rejected, with its line.
The parser resolves no entities, loads no DTD and touches no network; a file that
declares entities or is larger than :data:`MAX_OPML_BYTES` is refused whole.

Writing (OPML 2.0): a source's first category becomes a folder outline, and so does every
category up to the last one a ``category`` attribute cannot carry (one with a comma, or
with ``/`` or spaces at its ends); the rest go into ``category``.  Reading what we wrote
therefore gives back the same names, addresses and categories, in the same order.
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
_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
    remove_comments=True, remove_pis=True,
)
_SITE_NOTE = re.compile(r"(?:^|\s)site: (https?://\S+)")
_WELL_FORMED_URL = re.compile(r"^https?://[^\s/]+\S*$", re.IGNORECASE)


@dataclass(frozen=True)
class OpmlFeed:
    """One feed outline of an OPML file."""

    title: str
    xml_url: str
    html_url: str | None
    categories: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class OpmlRejected:
    """A feed outline that cannot be imported, and why."""

    line: int
    title: str
    reason: str


@dataclass(frozen=True)
class OpmlDocument:
    """The feeds of an OPML file, in document order, and the outlines rejected."""

    title: str
    feeds: tuple[OpmlFeed, ...]
    rejected: tuple[OpmlRejected, ...]


def note_for(html_url: str) -> str:
    """The ``note:`` that keeps a feed's web site address."""
    return f"site: {html_url}"


def html_url_from_note(note: str | None) -> str | None:
    """The web site address kept in a ``note:`` by :func:`note_for`, if any."""
    match = _SITE_NOTE.search(note or "")
    return match.group(1) if match else None


def _split_categories(value: str | None) -> list[str]:
    parts = (part.strip().strip("/").strip() for part in (value or "").split(","))
    return [part for part in parts if part]


def _url_problem(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return "xmlUrl is empty"
    if not _WELL_FORMED_URL.match(value) or not is_http_url(value):
        return f"xmlUrl {value[:80]!r} is not an http:// or https:// address"
    return None


def _label(node: etree._Element) -> str:
    return " ".join((node.get("title") or node.get("text") or "").split())


def read_opml(data: bytes, *, name: str) -> OpmlDocument:
    """Parse OPML bytes; raise ConfigError when the file is not safe or not OPML."""
    if len(data) > MAX_OPML_BYTES:
        raise ConfigError(f"{name} is larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB; "
                          "split it or remove what you do not need")
    # Entities are how "billion laughs" and file-reading attacks work; OPML needs none.
    refused = ConfigError(f"{name} declares XML entities (<!ENTITY>); OPML never needs them, "
                          "so the file is refused")
    try:
        tree = etree.fromstring(data, parser=_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        if "entity" in str(exc).lower():
            raise refused from exc
        raise ConfigError(f"{name} is not an OPML file: {exc}") from exc
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise refused
    root = tree.getroot()
    body = root.find("body") if root.tag == "opml" else None
    if body is None:
        raise ConfigError(f"{name} is not an OPML file (no <opml><body>); export it again "
                          "from your feed reader")
    feeds: list[OpmlFeed] = []
    rejected: list[OpmlRejected] = []
    # An explicit stack rather than recursion: nesting depth is the file author's choice.
    stack: list[tuple[etree._Element, tuple[str, ...]]] = [
        (child, ()) for child in reversed(body.findall("outline"))
    ]
    while stack:
        node, parents = stack.pop()
        label = _label(node)
        line = node.sourceline or 0
        if node.get("xmlUrl") is None:
            if node.get("type", "").lower() == "rss":
                rejected.append(OpmlRejected(line, label, "no xmlUrl"))
            children = node.findall("outline")
            path = (*parents, label) if label else parents
            stack.extend((child, path) for child in reversed(children))
            continue
        problem = _url_problem(node.get("xmlUrl", ""))
        if problem:
            rejected.append(OpmlRejected(line, label, problem))
            continue
        categories = list(dict.fromkeys([*parents, *_split_categories(node.get("category"))]))
        html_url = (node.get("htmlUrl") or "").strip()
        feeds.append(OpmlFeed(
            title=label,
            xml_url=node.get("xmlUrl", "").strip(),
            html_url=html_url if is_http_url(html_url) else None,
            categories=tuple(categories),
            line=line,
        ))
    title = (root.findtext("head/title") or "").strip()
    return OpmlDocument(title=title, feeds=tuple(feeds), rejected=tuple(rejected))


def _attribute_safe(category: str) -> bool:
    return "," not in category and category == category.strip().strip("/").strip()


def _folder_depth(categories: Sequence[str]) -> int:
    unsafe = [i + 1 for i, c in enumerate(categories) if not _attribute_safe(c)]
    return max([1, *unsafe]) if categories else 0


def write_opml(sources: Sequence[SourceConfig], *, title: str, now: datetime) -> bytes:
    """OPML 2.0 bytes listing the feed sources, with categories as folders and attributes."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    for source in sources:
        if source.kind != "feed":
            continue
        categories = list(source.categories)
        depth = _folder_depth(categories)
        parent = body
        for level in range(1, depth + 1):
            path = tuple(categories[:level])
            if path not in folders:
                folders[path] = etree.SubElement(
                    parent, "outline", text=path[-1], title=path[-1]
                )
            parent = folders[path]
        outline = etree.SubElement(
            parent, "outline", type="rss", text=source.name, title=source.name,
            xmlUrl=source.url,
        )
        html_url = html_url_from_note(source.note)
        if html_url:
            outline.set("htmlUrl", html_url)
        if categories[depth:]:
            outline.set("category", ",".join(categories[depth:]))
    etree.indent(root, space="  ")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
