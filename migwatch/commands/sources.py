"""``migwatch sources …``: configure sources without editing YAML by hand.

``list`` shows ``sources.yaml`` joined with the stored health (when a database exists);
``add`` and ``check`` fetch an address, tell a feed from a sitemap from a web page, find
the feed a page declares and show what would be collected, storing nothing; ``add``,
``remove``, ``enable``, ``disable`` and ``import-opml`` edit ``sources.yaml`` in place
through :mod:`migwatch.sources_file`, which keeps every comment and refuses to write a
file that would not load.  ``export-opml`` writes the feed sources for a feed reader.

Exit codes: 0 done; 1 a fetched address is unusable (no feed, HTTP error, nothing
matched, refused by robots.txt); 2 bad usage (unknown key, duplicate, invalid option).
"""

from __future__ import annotations

import re
import sys
import urllib.error
import urllib.robotparser
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from config import Settings
from config.errors import ConfigError, FetchError, ParseError, StorageError
from config.loader import SOURCES_FILE, format_loc
from config.schema import KEY_PATTERN, SourceConfig
from crawler.discovery import Kind, PreviewItem, ProbeResult, probe_url
from crawler.encoding import decode_document
from crawler.fetch_one import FetchedPage, fetch_with_settings
from crawler.listing import parse_listing
from crawler.urls import is_http_url, url_domain
from db.queries import SourceHealth, source_health
from migwatch.cli import cli
from migwatch.context import AppContext
from migwatch.opml import OpmlDocument, note_for, read_opml, write_opml
from migwatch.sources_file import (
    append_entries,
    check_sources_text,
    derive_key,
    find_by_url,
    read_sources_text,
    remove_entry,
    save_sources_text,
    set_enabled,
)

console = Console(highlight=False, soft_wrap=True)
ADD_PREVIEW_ITEMS = 5
CHECK_PREVIEW_ITEMS = 10


def _path(app: AppContext) -> Path:
    return app.config_path / SOURCES_FILE


def _current(app: AppContext) -> tuple[Settings, str, list[SourceConfig]]:
    settings = app.settings  # also reports a missing configuration directory
    path = _path(app)
    text = read_sources_text(path)
    return settings, text, check_sources_text(text, path)


def _fetcher(settings: Settings) -> Callable[[str], FetchedPage]:
    def fetch(url: str) -> FetchedPage:
        return fetch_with_settings(url, settings, max_bytes=settings.crawler.max_feed_bytes)

    return fetch


def _new_source(entry: dict[str, Any]) -> SourceConfig:
    try:
        return SourceConfig.model_validate(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = format_loc([p for p in first["loc"] if isinstance(p, str | int)])
        raise ConfigError(f"{where}: {first['msg']}") from exc


def _when(moment: datetime | None, settings: Settings) -> str:
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _print_items(items: Sequence[PreviewItem], limit: int, settings: Settings) -> None:
    # Plain lines rather than a table: titles and links stay whole and copyable at any width.
    console.print(f"first {min(limit, len(items))} of {len(items)} items "
                  f"(dates in {settings.timezone}):")
    for item in items[:limit]:
        console.print(f"  {_when(item.published_at, settings):16}  "
                      f"{escape(item.title or '(no title)')}")
        console.print(f"  {'':16}  [dim]{escape(item.link or '—')}[/]")


def _print_probe(result: ProbeResult, settings: Settings, limit: int) -> None:
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
    _print_items(result.items, limit, settings)


@cli.group()
def sources() -> None:
    """List, add, remove, switch on/off, check, import and export sources."""


@sources.command("list")
@click.pass_obj
def list_sources(app: AppContext) -> None:
    """Show the configured sources with their stored health, if any."""
    settings, _, configured = _current(app)
    health = _stored_health(app)
    # Two lines per source instead of a table: readable in any terminal width.
    console.print(f"sources in {_path(app)}", markup=False)
    errors = []
    for source in configured:
        facts = [source.kind, source.language or "language detected",
                 f"weight {source.weight:g}", "enabled" if source.enabled else "disabled"]
        if health is not None:
            stored = health.get(source.key)
            if stored is None:
                facts.append("never run")
            else:
                facts += [stored.state, f"last ok {_when(stored.last_success_at, settings)}",
                          f"{stored.consecutive_failures} failures"]
                if stored.last_error and stored.consecutive_failures:
                    errors.append(f"{source.key}: {stored.last_error}")
        style = "bold" if source.enabled else "dim"
        console.print(f"[{style}]{escape(source.key)}[/]  " + " · ".join(facts))
        console.print(f"    {source.url}", markup=False, highlight=False)
    if errors:
        console.print("last errors:")
        for line in errors:
            console.print(f"  {line}", markup=False)
    if health is None:
        console.print("[dim]no database yet: health appears after `migwatch collect`[/]")


def _stored_health(app: AppContext) -> dict[str, SourceHealth] | None:
    url = make_url(app.db_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None  # listing must not create a database as a side effect
    try:
        with app.sessions() as session:
            return {h.key: h for h in source_health(session)}
    except (StorageError, SQLAlchemyError):
        return None


@sources.command("add")
@click.argument("url")
@click.option("--key", help="Short unique id (default: from the title or host).")
@click.option("--name", help="Name shown to readers (default: the feed's title).")
@click.option("--kind", type=click.Choice(["feed", "listing", "sitemap"]),
              help="What the address is (default: found out by fetching it).")
@click.option("--language", help="Language of the articles: ja, en, … (default: the feed's).")
@click.option("--weight", type=float, default=1.0, show_default=True,
              help="Importance in the digest ranking, 0 to 10.")
@click.option("--no-fetch-articles", is_flag=True,
              help="Keep only the feed's title and link; do not download article pages.")
@click.option("--category", "categories", multiple=True, help="A label; repeat for more.")
@click.option("--pick", type=int, help="When the page declares several feeds, use the N-th.")
@click.option("--yes", is_flag=True, help="Write without asking.")
@click.pass_obj
def add(app: AppContext, url: str, key: str | None, name: str | None, kind: str | None,
        language: str | None, weight: float, no_fetch_articles: bool,
        categories: tuple[str, ...], pick: int | None, yes: bool) -> None:
    """Fetch URL, find its feed, show what it would collect and add it to sources.yaml."""
    settings, text, existing = _current(app)
    if not is_http_url(url):
        raise ConfigError(f"{url!r} is not an http:// or https:// address")
    if kind == "listing":
        raise ConfigError("a listing source needs CSS selectors: add it by hand in "
                          f"{_path(app)} (see docs/sources.md)")
    taken = {s.key for s in existing}
    if key is not None and key in taken:
        raise ConfigError(f"key {key!r} is already used in {_path(app)}; choose another --key")
    if key is not None and not re.match(KEY_PATTERN, key):
        raise ConfigError(f"--key {key!r}: use lower-case letters, digits, '-', '_' or '.'")
    _refuse_duplicate_url(url, existing)
    result = probe_url(url, fetch=_fetcher(settings), tz=settings.tz, now=datetime.now(UTC),
                       kind="sitemap" if kind == "sitemap" else None, pick=pick)
    _refuse_duplicate_url(result.feed_url, existing)
    _print_probe(result, settings, ADD_PREVIEW_ITEMS)
    title = name or result.title or url_domain(result.feed_url)
    entry: dict[str, Any] = {
        "key": key or derive_key(result.feed_url, result.title or title, taken),
        "name": title, "kind": result.kind, "url": result.feed_url,
    }
    if language or result.language:
        entry["language"] = language or result.language
    entry["weight"] = weight
    if no_fetch_articles:
        entry["fetch_articles"] = False
    if categories:
        entry["categories"] = list(dict.fromkeys(categories))
    expected = [*existing, _new_source(entry)]
    new_text = append_entries(text, [entry])
    console.print(f"source to add: key [bold]{entry['key']}[/], name {escape(title)}")
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError("nothing written: pass --yes to add the source without a question")
        click.confirm(f"add it to {_path(app)}?", default=True, abort=True)
    save_sources_text(_path(app), new_text, expected)
    console.print(f"added {entry['key']} to {escape(str(_path(app)))}")


def _refuse_duplicate_url(url: str, existing: Sequence[SourceConfig]) -> None:
    same = find_by_url(url, existing)
    if same is not None:
        raise ConfigError(f"{url} is already configured as source {same.key!r}")


def _edit(app: AppContext, key: str, edit: Callable[[str], str],
          change: Callable[[SourceConfig], SourceConfig | None]) -> None:
    _, text, existing = _current(app)
    if key not in {s.key for s in existing}:
        raise ConfigError(f"no source with key {key!r} in {_path(app)}; "
                          "see `migwatch sources list`")
    expected = [c for c in (change(s) if s.key == key else s for s in existing) if c]
    save_sources_text(_path(app), edit(text), expected)


@sources.command("remove")
@click.argument("key")
@click.pass_obj
def remove(app: AppContext, key: str) -> None:
    """Remove a source from sources.yaml (articles already stored are kept)."""
    _edit(app, key, lambda text: remove_entry(text, key), lambda _: None)
    console.print(f"removed {key} from {escape(str(_path(app)))}")


def _switch(app: AppContext, key: str, enabled: bool) -> None:
    _, _, existing = _current(app)
    word = "enabled" if enabled else "disabled"
    if any(s.key == key and s.enabled == enabled for s in existing):
        console.print(f"{key} is already {word}")
        return
    _edit(app, key, lambda text: set_enabled(text, key, enabled),
          lambda s: s.model_copy(update={"enabled": enabled}))
    console.print(f"{key} is now {word}")


@sources.command("enable")
@click.argument("key")
@click.pass_obj
def enable(app: AppContext, key: str) -> None:
    """Collect this source again."""
    _switch(app, key, True)


@sources.command("disable")
@click.argument("key")
@click.pass_obj
def disable(app: AppContext, key: str) -> None:
    """Stop collecting this source (it stays in sources.yaml)."""
    _switch(app, key, False)


def robots_verdict(url: str, fetch: Callable[[str], FetchedPage], user_agent: str) -> bool | None:
    """True/False if the site's robots.txt allows/forbids ``url``; None if it is unreadable."""
    parts = re.match(r"^(https?://[^/?#]+)", url)
    if parts is None:
        return None
    parser = urllib.robotparser.RobotFileParser()
    try:
        page = fetch(parts.group(1) + "/robots.txt")
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


@sources.command("check")
@click.argument("target", metavar="URL|KEY")
@click.pass_obj
def check(app: AppContext, target: str) -> int:
    """Fetch a source or address and show what would be collected (nothing is stored)."""
    settings, _, existing = _current(app)
    fetch = _fetcher(settings)
    now = datetime.now(UTC)
    source = next((s for s in existing if s.key == target), None)
    if source is None and not is_http_url(target):
        raise ConfigError(f"{target!r} is neither a source key in {_path(app)} nor an "
                          "http(s) address; see `migwatch sources list`")
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
        _print_items(items, CHECK_PREVIEW_ITEMS, settings)
        url = source.url
    else:
        url = source.url if source is not None else target
        kind: Kind | None = None
        if source is not None:
            kind = "sitemap" if source.kind == "sitemap" else "feed"
        result = probe_url(url, fetch=fetch, tz=settings.tz, now=now, kind=kind)
        _print_fetch(result.page, result.encoding)
        _print_probe(result, settings, CHECK_PREVIEW_ITEMS)
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


@sources.command("import-opml")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--category", "extra", multiple=True, help="Add this label to every feed.")
@click.option("--enabled/--disabled", default=True, show_default=True,
              help="Whether the imported feeds are collected.")
@click.pass_obj
def import_opml(app: AppContext, file: Path, extra: tuple[str, ...], enabled: bool) -> None:
    """Add the feeds of an OPML file (from a feed reader) to sources.yaml."""
    _, text, existing = _current(app)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read: {exc.strerror}") from exc
    document = read_opml(data, name=str(file))
    entries, duplicates = _entries_from(document, existing, extra, enabled)
    for rejected in document.rejected:
        console.print(f"rejected: {escape(str(file))}:{rejected.line}: "
                      f"{escape(rejected.title or '(untitled)')}: {escape(rejected.reason)}")
    for line, title, key in duplicates:
        console.print(f"skipped: {escape(str(file))}:{line}: {escape(title)}: "
                      f"already configured as {key}")
    if entries:
        expected = [*existing, *(_new_source(e) for e in entries)]
        save_sources_text(_path(app), append_entries(text, entries), expected)
    console.print(f"imported {len(entries)}, skipped {len(duplicates)} duplicates, "
                  f"{len(document.rejected)} rejected")


def _entries_from(
    document: OpmlDocument, existing: Sequence[SourceConfig], extra: Sequence[str],
    enabled: bool,
) -> tuple[list[dict[str, Any]], list[tuple[int, str, str]]]:
    taken = {s.key for s in existing}
    known = list(existing)
    entries: list[dict[str, Any]] = []
    duplicates: list[tuple[int, str, str]] = []
    for feed in document.feeds:
        same = find_by_url(feed.xml_url, known)
        if same is not None:
            duplicates.append((feed.line, feed.title, same.key))
            continue
        name = feed.title or url_domain(feed.xml_url)
        entry: dict[str, Any] = {"key": derive_key(feed.xml_url, name, taken), "name": name,
                                 "kind": "feed", "url": feed.xml_url}
        if not enabled:
            entry["enabled"] = False
        categories = list(dict.fromkeys([*feed.categories, *extra]))
        if categories:
            entry["categories"] = categories
        if feed.html_url:
            entry["note"] = note_for(feed.html_url)
        taken.add(entry["key"])
        known.append(_new_source(entry))
        entries.append(entry)
    return entries, duplicates


@sources.command("export-opml")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def export_opml(app: AppContext, file: Path | None) -> None:
    """Write the feed sources as OPML 2.0 to FILE (default: standard output)."""
    _, _, existing = _current(app)
    data = write_opml(existing, title="migwatch sources", now=datetime.now(UTC))
    if file is None:
        click.echo(data, nl=False)
        return
    try:
        file.write_bytes(data)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be written: {exc.strerror}") from exc
    count = sum(1 for s in existing if s.kind == "feed")
    console.print(f"wrote {count} feeds to {escape(str(file))}")
