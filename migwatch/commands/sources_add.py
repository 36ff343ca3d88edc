"""``migwatch sources add``: fetch an address, find its feed, preview it and add it."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from lxml import etree
from rich.markup import escape

from config.errors import ConfigError
from config.schema import KEY_PATTERN, SourceConfig, parse_language
from crawler.fetch_one import FetchedPage
from crawler.urls import is_http_url, url_domain
from migwatch.cli import unwrapped_console as console
from migwatch.commands.sources import (
    current_sources,
    new_source,
    private_address_hint,
    sources,
    sources_path,
)
from migwatch.commands.sources_preview import fetcher, print_probe
from migwatch.context import AppContext
from migwatch.sources_file import append_entries, derive_key, find_by_url, save_sources_text

if TYPE_CHECKING:
    from crawler.discovery import ProbeResult

ADD_PREVIEW_ITEMS = 5


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
    from crawler.discovery import probe_url  # heavy: see migwatch.cli
    settings, text, existing = current_sources(app)
    path = sources_path(app)
    url = with_scheme(url)
    if not is_http_url(url):
        raise ConfigError(f"{url!r} is not an http:// or https:// address")
    if kind == "listing":
        raise ConfigError("a listing source needs CSS selectors: add it by hand in "
                          f"{path} (see docs/sources.md)")
    taken = {s.key for s in existing}
    if key is not None and key in taken:
        raise ConfigError(f"key {key!r} is already used in {path}; choose another --key")
    if key is not None and not re.match(KEY_PATTERN, key):
        raise ConfigError(f"--key {key!r}: use lower-case letters, digits, '-', '_' or '.'")
    refuse_duplicate_url(url, existing)
    with private_address_hint(app):
        result = probe_url(url, fetch=fetcher(settings), tz=settings.tz, now=datetime.now(UTC),
                           kind="sitemap" if kind == "sitemap" else None, pick=pick)
    refuse_duplicate_url(result.feed_url, existing)
    print_probe(result, settings, ADD_PREVIEW_ITEMS)
    entry = source_entry(result, taken, key=key, name=name, language=language, weight=weight,
                         fetch_articles=not no_fetch_articles, categories=categories)
    expected = [*existing, new_source(entry)]
    new_text = append_entries(text, [entry])
    console.print(f"source to add: key [bold]{entry['key']}[/], name {escape(entry['name'])}")
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError("nothing written: pass --yes to add the source without a question")
        click.confirm(f"add it to {path}?", default=True, abort=True)
    save_sources_text(path, new_text, expected)
    console.print(f"added {entry['key']} to {escape(str(path))}")


def source_entry(result: ProbeResult, taken: set[str], *, key: str | None = None,
                 name: str | None = None, language: str | None = None, weight: float = 1.0,
                 fetch_articles: bool = True, categories: Sequence[str] = ()) -> dict[str, Any]:
    """The sources.yaml entry for a probed address (the web app adds sources with it too)."""
    title = name or result.title or url_domain(result.feed_url)
    entry: dict[str, Any] = {
        "key": key or derive_key(result.feed_url, result.title or title, taken),
        "name": title, "kind": result.kind, "url": result.feed_url,
    }
    found_language = language or result.language or page_language(result.landing)
    if found_language:
        entry["language"] = found_language
    entry["weight"] = weight
    if not fetch_articles:
        entry["fetch_articles"] = False
    if categories:
        entry["categories"] = list(dict.fromkeys(categories))
    return entry


def refuse_duplicate_url(url: str, existing: Sequence[SourceConfig]) -> None:
    same = find_by_url(url, existing)
    if same is not None:
        raise ConfigError(f"{url} is already configured as source {same.key!r}")


def with_scheme(url: str) -> str:
    """``example.org/news`` → ``https://example.org/news``: what a person types first."""
    text = url.strip()
    if "://" in text or not re.match(r"^[\w-]+(?:\.[\w-]+)+(?::\d+)?(?:/\S*)?$", text):
        return text
    console.print(f"[dim]no http:// or https:// given: trying https://{escape(text)}[/]")
    return f"https://{text}"


def page_language(page: FetchedPage | None) -> str | None:
    """The BCP 47 primary tag of a web page's ``<html lang>``, when it is one."""
    if page is None:
        return None
    from lxml import html  # heavy: see migwatch.cli

    from crawler.encoding import decode_document
    try:
        root = html.fromstring(decode_document(page.body, page.content_type).text)
    except (ValueError, etree.ParserError):
        return None
    lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    try:
        parsed = parse_language(lang) if lang else None
    except ValueError:
        return None
    return parsed if isinstance(parsed, str) else None
