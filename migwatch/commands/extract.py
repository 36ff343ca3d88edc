"""``migwatch extract URL|FILE``: what the extractor gets from one page.

Works without a configuration directory (built-in defaults), so it can be tried before
``migwatch init``; with one, its crawler and network settings apply (user agent, timeout,
size cap, ``network.allow_private``).  Exit codes: 1 when the page cannot be fetched or
has no article text, 2 when the argument is neither a file nor an http(s) URL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click
from rich.markup import escape

from config import Settings
from config.errors import ConfigError, ExtractError
from config.loader import SOURCES_FILE
from crawler.fetch_one import fetch_with_settings
from migwatch.cli import cli, console
from migwatch.context import AppContext

if TYPE_CHECKING:
    from crawler.extract import ExtractedArticle


_PREVIEW_CHARS = 600


def _settings(app: AppContext) -> Settings:
    # Only this command runs without a configuration directory; a directory that exists
    # but holds a broken migwatch.yaml is still reported (exit 2).
    if not app.config_path.exists():
        return Settings.model_validate({})
    return app.settings


def _as_json(source: str, article: ExtractedArticle) -> str:
    published = article.published_at
    return json.dumps(
        {
            "url": source,
            "title": article.title,
            "author": article.author,
            # In the source's zone (else the configured one), with its offset: a date
            # without a time stays that day.
            "published_at": published.isoformat() if published else None,
            "language": article.language,
            "text": article.text,
            "description": article.description,
            "canonical_url": article.canonical_url,
        },
        ensure_ascii=False,
        indent=2,
    )


def _print_summary(source: str, article: ExtractedArticle, tz: tzinfo) -> None:
    published = "—"
    if article.published_at is not None:
        local = article.published_at.astimezone(tz)
        published = f"{article.published_at.isoformat()} ({local:%Y-%m-%d %H:%M} {tz})"
    console.print(f"[bold]{escape(article.title or '(no title)')}[/]")
    rows = [
        ("source", source),
        ("published", published),
        ("language", article.language or "—"),
        ("author", article.author or "—"),
        ("canonical", article.canonical_url or "—"),
        ("description", article.description or "—"),
    ]
    for label, value in rows:
        console.print(f"[dim]{label:>11}[/]  {escape(value)}")
    preview = article.text[:_PREVIEW_CHARS]
    more = "…" if len(article.text) > _PREVIEW_CHARS else ""
    console.print()
    console.print(escape(preview) + more)
    console.print(f"[dim]({len(article.text)} characters of text)[/]")


def _zone(app: AppContext, settings: Settings, source_key: str | None,
          url: str | None) -> tzinfo:
    """The zone a day-only date is read in: the named source's, else that of the one
    configured source on the page's host, else the configured zone."""
    if not (app.config_path / SOURCES_FILE).exists():
        if source_key is not None:
            raise ConfigError(f"--source {source_key}: there is no sources.yaml here; "
                              "run `migwatch init` or leave --source out")
        return settings.tz
    sources = app.sources
    if source_key is not None:
        chosen = next((s for s in sources if s.key == source_key), None)
        if chosen is None:
            raise ConfigError(f"--source {source_key}: no such source in sources.yaml; "
                              "`migwatch sources list` shows the keys")
        return chosen.tz_or(settings.tz)
    host = urlsplit(url).netloc.lower() if url else ""
    same_host = [s for s in sources if host and urlsplit(s.url).netloc.lower() == host]
    zones = {s.timezone for s in same_host}
    return same_host[0].tz_or(settings.tz) if len(zones) == 1 else settings.tz


@cli.command()
@click.argument("target", metavar="URL|FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--source", "source_key", metavar="KEY",
              help="Read dates in this source's time zone (default: the source on the "
                   "page's host, else the configured zone).")
@click.pass_obj
def extract(app: AppContext, target: str, as_json: bool, source_key: str | None) -> None:
    """Show the title, date, language, author and text the extractor gets from one page."""
    from crawler.extract import extract_article  # heavy: see migwatch.cli
    settings = _settings(app)
    content_type: str | None = None
    page_url: str | None = None
    if target.lower().startswith(("http://", "https://")):
        page = fetch_with_settings(target, settings, max_bytes=settings.crawler.max_page_bytes)
        body, content_type, page_url, source = page.body, page.content_type, page.url, page.url
    else:
        path = Path(target)
        if not path.is_file():
            raise ConfigError(
                f"{target}: neither a file nor an http:// or https:// address; "
                "give a saved page or a web address"
            )
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{target}: cannot be read: {exc.strerror}") from exc
        source = str(path)
    tz = _zone(app, settings, source_key, page_url)
    try:
        article = extract_article(
            body, page_url, content_type=content_type, tz=tz, now=datetime.now(UTC)
        )
    except ExtractError as exc:
        if page_url is not None:
            raise
        raise ExtractError(f"no article text found in {source}") from exc
    if as_json:
        click.echo(_as_json(source, article))
    else:
        _print_summary(source, article, tz)
