"""``migwatch sources check``: fetch a source or an address and say whether it is usable.

Nothing is stored.  Exit code 1 when the address is unusable: a web page configured as a
feed, selectors that match nothing, or a robots.txt that forbids it while it is obeyed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import click
from rich.markup import escape

from config import Settings
from config.errors import ConfigError, FetchError, ParseError, did_you_mean
from config.schema import SourceConfig
from crawler.fetch_one import FetchedPage
from crawler.urls import is_http_url
from migwatch.cli import tr
from migwatch.cli import unwrapped_console as console
from migwatch.commands.sources import (
    current_sources,
    private_address_hint,
    sources,
    sources_path,
)
from migwatch.commands.sources_preview import fetcher, print_items, print_probe
from migwatch.context import AppContext

if TYPE_CHECKING:
    from crawler.discovery import Kind

CHECK_PREVIEW_ITEMS = 10


def robots_verdict(url: str, fetch: Callable[[str], FetchedPage], user_agent: str) -> bool | None:
    """True/False if the site's robots.txt allows/forbids ``url``; None if it is unreadable."""
    from crawler.encoding import decode_document  # heavy: see migwatch.cli
    parser = urllib.robotparser.RobotFileParser()
    try:
        page = fetch(urljoin(url, "/robots.txt"))
    except FetchError as exc:
        cause = exc.__cause__
        code = cause.code if isinstance(cause, urllib.error.HTTPError) else None
        if code in (401, 403):
            return False  # as urllib.robotparser does: a closed robots.txt closes the site
        if code is not None and 400 <= code < 500:
            return True  # no robots.txt: everything is allowed (RFC 9309 §2.3.1.3)
        return None
    parser.parse(decode_document(page.body, page.content_type).text.splitlines())
    return parser.can_fetch(user_agent, url)


@dataclass(frozen=True)
class SourceVerdict:
    """One source's line in ``sources check`` without an argument."""

    key: str
    url: str
    is_usable: bool
    items: int
    problem: str | None


def verdict_of(source: SourceConfig, settings: Settings, fetch: Callable[[str], FetchedPage],
               now: datetime) -> SourceVerdict:
    """Fetch one configured source as ``check KEY`` does, printing nothing."""
    # heavy: see migwatch.cli
    from crawler.discovery import probe_url
    from crawler.encoding import decode_document
    from crawler.listing import parse_listing

    def unusable(problem: str) -> SourceVerdict:
        return SourceVerdict(source.key, source.url, False, 0, problem)

    try:
        if source.kind == "listing" and source.listing is not None:
            page = fetch(source.url)
            listing = parse_listing(decode_document(page.body, page.content_type).text,
                                    url=page.url, selectors=source.listing, tz=settings.tz,
                                    now=now)
            items = len(listing.items)
        else:
            result = probe_url(source.url, fetch=fetch, tz=settings.tz, now=now,
                               kind="sitemap" if source.kind == "sitemap" else "feed")
            if result.landing is not None:
                return unusable(f"{source.url} is a web page; set url: to the feed it "
                                f"declares, {result.feed_url}")
            items = len(result.items)
    except (FetchError, ParseError) as exc:
        return unusable(str(exc))
    allowed = robots_verdict(source.url, fetch, settings.crawler.user_agent)
    if allowed is False and settings.crawler.obey_robots:
        return unusable("the site's robots.txt forbids this address")
    return SourceVerdict(source.key, source.url, True, items, None)


def check_all(app: AppContext, as_json: bool) -> int:
    """Every enabled source, one line each, then a summary; exit 1 if one is unusable."""
    settings, _, existing = current_sources(app)
    fetch = fetcher(settings)
    now = datetime.now(UTC)
    enabled = [s for s in existing if s.enabled]
    verdicts = []
    for source in enabled:
        verdict = verdict_of(source, settings, fetch, now)
        verdicts.append(verdict)
        if not as_json:
            if verdict.is_usable:
                console.print(f"[green]✓[/] {escape(verdict.key)}  "
                              + escape(tr("{count} items", count=verdict.items)))
            else:
                console.print(f"[red]✗[/] {escape(verdict.key)}  {escape(verdict.problem or '')}")
    bad = [v for v in verdicts if not v.is_usable]
    if as_json:
        click.echo(json.dumps([{"key": v.key, "url": v.url, "usable": v.is_usable,
                                "items": v.items, "problem": v.problem} for v in verdicts],
                              ensure_ascii=False, indent=2))
    elif not enabled:
        console.print(escape(tr("no enabled source to check; add one with "
                               "`migwatch sources add URL`")))
    else:
        console.print(escape(tr("{usable} of {total} enabled sources usable",
                               usable=len(verdicts) - len(bad), total=len(verdicts))
                             + (tr(", {count} not: `migwatch sources check KEY` shows why in "
                                  "detail", count=len(bad)) if bad else "")))
    return 1 if bad else 0


@sources.command("check")
@click.argument("target", metavar="[URL|KEY]", required=False)
@click.option("--json", "as_json", is_flag=True,
              help="Without URL|KEY: one JSON document of every source's verdict.")
@click.pass_obj
def check(app: AppContext, target: str | None, as_json: bool) -> int:
    """Fetch a source or address and show what would be collected (nothing is stored).

    Without an argument, every enabled source is checked, one line each.
    """
    if target is None:
        return check_all(app, as_json)
    if as_json:
        raise ConfigError("--json is for checking every source: run `migwatch sources check "
                          "--json` without URL|KEY")
    # heavy: see migwatch.cli
    from crawler.discovery import PreviewItem, probe_url
    from crawler.encoding import decode_document
    from crawler.listing import parse_listing

    settings, _, existing = current_sources(app)
    fetch = fetcher(settings)
    now = datetime.now(UTC)
    source = next((s for s in existing if s.key == target), None)
    if source is None and not is_http_url(target):
        hint = did_you_mean(target, [s.key for s in existing])
        raise ConfigError(f"{target!r} is neither a source key in {sources_path(app)} nor an "
                          f"http(s) address{hint or '; see `migwatch sources list`'}")
    usable = True
    if source is not None and source.kind == "listing" and source.listing is not None:
        page = fetch(source.url)
        decoded = decode_document(page.body, page.content_type)
        _print_fetch(page, decoded.encoding)
        try:
            listing = parse_listing(decoded.text, url=page.url, selectors=source.listing,
                                    tz=settings.tz, now=now)
        except ParseError as exc:
            console.print(f"[red]not usable:[/] {escape(str(exc))}")
            return 1
        console.print(f"listing: the selectors matched {len(listing.items)} items")
        items = [PreviewItem(i.title, i.link, i.published_at) for i in listing.items]
        print_items(items, CHECK_PREVIEW_ITEMS, settings)
        url = source.url
    else:
        url = source.url if source is not None else target
        kind: Kind | None = None
        if source is not None:
            kind = "sitemap" if source.kind == "sitemap" else "feed"
        with private_address_hint(app):
            result = probe_url(url, fetch=fetch, tz=settings.tz, now=now, kind=kind)
        _print_fetch(result.page, result.encoding)
        print_probe(result, settings, CHECK_PREVIEW_ITEMS)
        if source is not None and result.landing is not None:
            console.print(f"[red]not usable:[/] {escape(url)} is a web page; set url: to the "
                          f"feed it declares, {escape(result.feed_url)}")
            usable = False
        if not result.items:
            console.print("[yellow]the feed holds no items right now[/]")
    allowed = robots_verdict(url, fetch, settings.crawler.user_agent)
    verdict = {True: "allowed", False: "forbidden", None: "unreadable (treated as allowed)"}
    console.print(f"robots.txt: {verdict[allowed]}"
                  + ("" if settings.crawler.obey_robots else " (obey_robots is off)"))
    if allowed is False and settings.crawler.obey_robots:
        console.print("[red]not usable:[/] the site's robots.txt forbids this address")
        usable = False
    console.print("usable" if usable else "[red]not usable[/]")
    return 0 if usable else 1


def _print_fetch(page: FetchedPage, encoding: str) -> None:
    rows = [("address", page.url), ("HTTP status", str(page.status)),
            ("content type", page.content_type or "—"), ("encoding", encoding),
            ("ETag", "yes" if "etag" in page.headers else "no"),
            ("Last-Modified", "yes" if "last-modified" in page.headers else "no")]
    for label, value in rows:
        console.print(f"[dim]{label:>13}[/]  {escape(value)}")
