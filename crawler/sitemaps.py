"""Parse XML sitemaps, sitemap indexes and Google News sitemaps.

News sitemaps add ``<news:news>`` with a title, a publication date and a language to each
URL; plain sitemaps give only ``<loc>`` and ``<lastmod>``.  The XML parser resolves no
entities and touches no network (a hostile sitemap cannot read files or expand bombs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from lxml import etree

from config.errors import ParseError
from crawler.dates import parse_date
from crawler.urls import canonicalize_url

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, recover=True, huge_tree=False, remove_comments=True
)


@dataclass(frozen=True)
class SitemapEntry:
    """One URL of a sitemap."""

    link: str
    title: str
    published_at: datetime | None
    language: str | None


@dataclass(frozen=True)
class ParsedSitemap:
    """The URLs of a sitemap, or the child sitemaps of an index."""

    entries: tuple[SitemapEntry, ...]
    child_sitemaps: tuple[str, ...]


def _local(tag: object) -> str:
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(node: etree._Element, name: str) -> str:
    for child in node.iter():
        if _local(child.tag) == name and child.text:
            return str(child.text).strip()
    return ""


def parse_sitemap(
    body: bytes, *, url: str, tz: tzinfo, now: datetime | None = None
) -> ParsedSitemap:
    """Parse sitemap bytes; raise ParseError when they are not a sitemap."""
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"{url} is not a sitemap (XML error: {exc}); check the URL") from exc
    if root is None or _local(root.tag) not in {"urlset", "sitemapindex"}:
        raise ParseError(f"{url} is not a sitemap (no <urlset> or <sitemapindex>); check the URL")
    if _local(root.tag) == "sitemapindex":
        children = []
        for node in root:
            if _local(node.tag) == "sitemap":
                loc = canonicalize_url(_child_text(node, "loc"), url)
                if loc:
                    children.append(loc)
        return ParsedSitemap(entries=(), child_sitemaps=tuple(children))
    entries = []
    for node in root:
        if _local(node.tag) != "url":
            continue
        link = canonicalize_url(_child_text(node, "loc"), url)
        if not link:
            continue
        raw_date = _child_text(node, "publication_date") or _child_text(node, "lastmod")
        entries.append(
            SitemapEntry(
                link=link,
                title=_child_text(node, "title"),
                published_at=parse_date(raw_date, tz, now=now) if raw_date else None,
                language=(_child_text(node, "language") or None),
            )
        )
    return ParsedSitemap(entries=tuple(entries), child_sitemaps=())
