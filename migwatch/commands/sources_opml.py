"""``migwatch sources import-opml`` and ``export-opml``: trade feeds with a feed reader."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from config.errors import ConfigError
from config.schema import SourceConfig
from crawler.urls import url_domain
from migwatch.cli import unwrapped_console as console
from migwatch.commands.sources import (
    current_sources,
    new_source,
    sources,
    sources_path,
)
from migwatch.context import AppContext
from migwatch.opml import OpmlDocument, note_for, read_opml, write_opml
from migwatch.sources_file import append_entries, derive_key, find_by_url, save_sources_text


@sources.command("import-opml")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--category", "extra", multiple=True, help="Add this label to every feed.")
@click.option("--enabled/--disabled", default=True, show_default=True,
              help="Whether the imported feeds are collected.")
@click.pass_obj
def import_opml(app: AppContext, file: Path, extra: tuple[str, ...], enabled: bool) -> None:
    """Add the feeds of an OPML file (from a feed reader) to sources.yaml."""
    _, text, existing = current_sources(app)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read: {exc.strerror}") from exc
    document = read_opml(data, name=str(file))
    entries, duplicates = entries_from_opml(document, existing, extra, enabled)
    for rejected in document.rejected:
        console.print(f"rejected: {escape(str(file))}:{rejected.line}: "
                      f"{escape(rejected.title or '(untitled)')}: {escape(rejected.reason)}")
    for line, title, key in duplicates:
        console.print(f"skipped: {escape(str(file))}:{line}: {escape(title)}: "
                      f"already configured as {key}")
    if entries:
        expected = [*existing, *(new_source(e) for e in entries)]
        save_sources_text(sources_path(app), append_entries(text, entries), expected)
    console.print(f"imported {len(entries)}, skipped {len(duplicates)} duplicates, "
                  f"{len(document.rejected)} rejected")


def entries_from_opml(
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
        known.append(new_source(entry))
        entries.append(entry)
    return entries, duplicates


@sources.command("export-opml")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def export_opml(app: AppContext, file: Path | None) -> None:
    """Write the feed sources as OPML 2.0 to FILE (default: standard output)."""
    _, _, existing = current_sources(app)
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
