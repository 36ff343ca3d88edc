"""Find article links on an HTML listing page with the CSS selectors from the config.

A listing that answers 200 but where the item selector matches nothing is a failure
("selector matched nothing"): the site changed its layout and the user must know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from parsel import Selector

from config.errors import ParseError
from config.schema import ListingSelectors
from crawler.dates import parse_date
from crawler.urls import canonicalize_url


class SelectorError(ParseError):
    """The listing's selectors do not fit the page: invalid CSS, or the layout changed."""


@dataclass(frozen=True)
class ListingItem:
    """One article link found on a listing page."""

    link: str
    title: str
    published_at: datetime | None


@dataclass(frozen=True)
class ListingPage:
    """The items of one listing page and the next page's URL, if any."""

    items: tuple[ListingItem, ...]
    next_url: str | None


def _text(node: Selector) -> str:
    return " ".join(" ".join(node.css("::text").getall()).split())


def parse_listing(
    html: str, *, url: str, selectors: ListingSelectors, tz: tzinfo, now: datetime | None = None
) -> ListingPage:
    """Extract the article items and the next-page link of one listing page."""
    page = Selector(text=html)
    try:
        nodes = page.css(selectors.item)
    except Exception as exc:  # cssselect raises several unrelated types for bad selectors
        raise SelectorError(
            f"listing.item selector {selectors.item!r} is not valid CSS: {exc}"
        ) from exc
    if not nodes:
        raise SelectorError(
            f"{url}: selector matched nothing (listing.item {selectors.item!r}); "
            "the page layout may have changed: update the selectors in sources.yaml"
        )
    items: list[ListingItem] = []
    seen: set[str] = set()
    for node in nodes:
        link_nodes = node.css(selectors.link) if selectors.link else [node]
        link_node = link_nodes[0] if link_nodes else node
        href = link_node.attrib.get("href")
        if not href:
            href = node.css("a::attr(href)").get()
        link = canonicalize_url(href, url) if href else None
        if not link or link in seen:
            continue
        seen.add(link)
        title_nodes = node.css(selectors.title) if selectors.title else [link_node]
        title = _text(title_nodes[0]) if title_nodes else ""
        published = None
        if selectors.date:
            date_nodes = node.css(selectors.date)
            if date_nodes:
                candidates = [date_nodes[0].attrib.get("datetime") or "", _text(date_nodes[0])]
                for candidate in candidates:
                    if candidate and (published := parse_date(candidate, tz, now=now)):
                        break
        items.append(ListingItem(link=link, title=title, published_at=published))
    next_url = None
    if selectors.next_page:
        next_nodes = page.css(selectors.next_page)
        href = None
        if next_nodes:
            href = next_nodes[0].attrib.get("href") or next_nodes[0].css("a::attr(href)").get()
        next_url = canonicalize_url(href, url) if href else None
        if next_url == canonicalize_url(url):
            next_url = None
    return ListingPage(items=tuple(items), next_url=next_url)
