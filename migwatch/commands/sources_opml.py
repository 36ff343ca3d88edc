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
from migwatch.cli import tr
from migwatch.cli import unwrapped_console as console
from migwatch.commands.sources import (
    current_sources,
    new_source,
    sources,
    sources_path,
)
from migwatch.context import AppContext
from migwatch.opml import OpmlDocument, read_opml, write_opml
from migwatch.sources_file import append_entries, derive_key, find_by_url, save_sources_text


@sources.command("import-opml")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--category", "extra", multiple=True, help="Add this label to every feed.")
@click.option("--enable", is_flag=True,
              help="Collect the imported feeds at once (default: added disabled; switch "
                   "them on with `migwatch sources enable KEY`).")
@click.option("--dry-run", is_flag=True, help="Show what would be added; write nothing.")
@click.pass_obj
def import_opml(app: AppContext, file: Path, extra: tuple[str, ...], enable: bool,
                dry_run: bool) -> None:
    """Add the feeds of an OPML file (from a feed reader) to sources.yaml.

    They are added disabled unless --enable, so importing 250 blogs does not start
    polling them all at once.
    """
    _, text, existing = current_sources(app)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read: {exc.strerror}") from exc
    document = read_opml(data, name=str(file))
    entries, duplicates = entries_from_opml(document, existing, extra, enable)
    for rejected in document.rejected:
        console.print(escape(tr("rejected: {title}: {reason}",
                                title=rejected.title or tr("(untitled)"),
                                reason=rejected.reason)))
    for title, key in duplicates:
        console.print(escape(tr("skipped: {title}: already configured as {key}", title=title,
                                key=key)))
    if dry_run:
        for entry in entries:
            labels = ", ".join(entry.get("categories", [])) or tr("no category")
            console.print(escape(tr("would add: {key}  {url}  ({labels})", key=entry["key"],
                                    url=entry["url"], labels=labels)))
        console.print(escape(tr("would import {added}, skip {skipped} duplicates, reject "
                               "{rejected}; nothing written (--dry-run)", added=len(entries),
                               skipped=len(duplicates), rejected=len(document.rejected))))
        return
    if entries:
        expected = [*existing, *(new_source(e) for e in entries)]
        save_sources_text(sources_path(app), append_entries(text, entries), expected)
    console.print(escape(tr("imported {added}, skipped {skipped} duplicates, {rejected} "
                           "rejected", added=len(entries), skipped=len(duplicates),
                           rejected=len(document.rejected))))
    if entries and not enable:
        console.print(escape(tr("they are added disabled: `migwatch sources enable KEY` "
                               "switches one on, or import again with --enable")))


def entries_from_opml(
    document: OpmlDocument, existing: Sequence[SourceConfig], extra: Sequence[str],
    enable: bool,
) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    taken = {s.key for s in existing}
    known = list(existing)
    entries: list[dict[str, Any]] = []
    duplicates: list[tuple[str, str]] = []
    for feed in document.feeds:
        same = find_by_url(feed.xml_url, known)
        if same is not None:
            duplicates.append((feed.title or feed.xml_url, same.key))
            continue
        name = feed.title or url_domain(feed.xml_url)
        entry: dict[str, Any] = {"key": derive_key(feed.xml_url, name, taken), "name": name,
                                 "kind": "feed", "url": feed.xml_url}
        if not enable:
            entry["enabled"] = False
        categories = list(dict.fromkeys([*feed.categories, *extra]))
        if categories:
            entry["categories"] = categories
        taken.add(entry["key"])
        known.append(new_source(entry))
        entries.append(entry)
    return entries, duplicates


@sources.command("export-opml")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def export_opml(app: AppContext, file: Path | None) -> None:
    """Write every source as OPML 2.0 to FILE (default: standard output).

    Disabled sources are marked, and listings and sitemaps are written as links, so a
    feed reader gets the feeds and nothing configured is left out.
    """
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
    others = len(existing) - count
    console.print(f"wrote {count} feeds" + (f" and {others} other sources" if others else "")
                  + f" to {escape(str(file))}")
