"""What ``migwatch sources add`` and ``check`` print about a fetched address.

Fetching goes through the crawler's settings-aware page fetch with the feed size cap;
the preview lists the feed the address resolves to and its first items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.markup import escape

from config import Settings
from crawler.fetch_one import FetchedPage, fetch_with_settings
from migwatch.cli import unwrapped_console as console
from migwatch.commands.sources import format_when

if TYPE_CHECKING:
    from crawler.discovery import PreviewItem, ProbeResult


def fetcher(settings: Settings) -> Callable[[str], FetchedPage]:
    """A one-argument fetch for :func:`crawler.discovery.probe_url`, capped like a feed."""
    def fetch(url: str) -> FetchedPage:
        return fetch_with_settings(url, settings, max_bytes=settings.crawler.max_feed_bytes)

    return fetch


def print_items(items: Sequence[PreviewItem], limit: int, settings: Settings) -> None:
    """The first ``limit`` items: date, title and link."""
    # Plain lines rather than a table: titles and links stay whole and copyable at any width.
    console.print(f"first {min(limit, len(items))} of {len(items)} items "
                  f"(dates in {settings.timezone}):")
    for item in items[:limit]:
        console.print(f"  {format_when(item.published_at, settings):16}  "
                      f"{escape(item.title or '(no title)')}")
        console.print(f"  {'':16}  [dim]{escape(item.link or '—')}[/]")


def print_probe(result: ProbeResult, settings: Settings, limit: int) -> None:
    """The feeds a page declares, the one chosen, any warning and its first items."""
    if result.landing is not None:
        found = [d for d in result.discovered if not d.is_guess]
        if not found:
            console.print(f"the page declares no feed; found one at the usual address "
                          f"{escape(result.feed_url)}")
        elif len(found) > 1:
            console.print(f"the page declares {len(found)} feeds:")
            for number, feed in enumerate(found, 1):
                mark = "→" if feed.url == result.feed_url else " "
                console.print(f" {mark} {number}. {escape(feed.title or '(untitled)')}  "
                              f"{escape(feed.url)}  [dim]({feed.type})[/]")
            console.print("[dim]pass --pick N to use another one[/]")
    console.print(f"[bold]{result.kind}[/]: {escape(result.title or '(untitled)')}  "
                  f"{escape(result.feed_url)}")
    if result.warning:
        console.print(f"[yellow]warning:[/] {escape(result.warning)}")
    print_items(result.items, limit, settings)
