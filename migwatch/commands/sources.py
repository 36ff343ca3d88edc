"""``migwatch sources …``: configure sources without editing YAML by hand.

``list`` shows ``sources.yaml`` joined with the stored health (when a database exists);
``add`` and ``check`` fetch an address, tell a feed from a sitemap from a web page, find
the feed a page declares and show what would be collected, storing nothing; ``add``,
``remove``, ``enable``, ``disable`` and ``import-opml`` edit ``sources.yaml`` in place
through :mod:`migwatch.sources_file`, which keeps every comment and refuses to write a
file that would not load.  ``export-opml`` writes the feed sources for a feed reader.

This module holds the group, the small commands and the helpers every command shares;
``add`` lives in :mod:`.sources_add`, ``check`` in :mod:`.sources_check`, the OPML
commands in :mod:`.sources_opml`, and the preview both ``add`` and ``check`` print in
:mod:`.sources_preview`.

Exit codes: 0 done; 1 a fetched address is unusable (no feed, HTTP error, nothing
matched, refused by robots.txt); 2 bad usage (unknown key, duplicate, invalid option).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from config import Settings
from config.errors import ConfigError, FetchError, StorageError, did_you_mean
from config.loader import SETTINGS_FILE, SOURCES_FILE, format_loc, in_words
from config.schema import SourceConfig
from db.queries import SourceHealth, source_health
from migwatch.cli import cli, tr
from migwatch.cli import unwrapped_console as console
from migwatch.context import AppContext
from migwatch.sources_file import (
    check_sources_text,
    read_sources_text,
    remove_entry,
    save_sources_text,
    set_enabled,
)


def sources_path(app: AppContext) -> Path:
    """Where this configuration's ``sources.yaml`` is."""
    return app.config_path / SOURCES_FILE


def current_sources(app: AppContext) -> tuple[Settings, str, list[SourceConfig]]:
    """The settings, the text of ``sources.yaml`` and the sources it configures."""
    settings = app.settings  # also reports a missing configuration directory
    path = sources_path(app)
    text = read_sources_text(path)
    return settings, text, check_sources_text(text, path)


def new_source(entry: dict[str, Any]) -> SourceConfig:
    """Validate one entry about to be written, as a one-line :class:`ConfigError`."""
    try:
        return SourceConfig.model_validate(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = format_loc([p for p in first["loc"] if isinstance(p, str | int)])
        raise ConfigError(f"source {entry.get('key')}: {where}: {in_words(first)}") from exc


def state_word(enabled: bool, stored: SourceHealth | None) -> str:
    """The one word ``sources list`` and ``status`` both use for a source's state.

    ``disabled`` (switched off in sources.yaml), ``never run`` (not collected yet),
    ``paused`` (too many failures; probed now and then), ``failing`` (its last try
    failed), else ``active``.
    """
    if not enabled:
        return "disabled"
    if stored is None:
        return "never run"
    if stored.state == "paused":
        return "paused"
    if stored.consecutive_failures:
        return "failing"
    return "active"


def iso(moment: datetime | None) -> str | None:
    """A moment as ISO 8601 in UTC, for ``--json``."""
    return moment.astimezone(UTC).isoformat() if moment else None


def format_when(moment: datetime | None, settings: Settings) -> str:
    """A moment in the configured time zone, to the minute; ``—`` for none."""
    return moment.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if moment else "—"


@cli.group()
def sources() -> None:
    """List, add, remove, switch on/off, check, import and export sources."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
@click.pass_obj
def list_sources(app: AppContext, as_json: bool) -> None:
    """Show the configured sources with their stored health, if any."""
    settings, _, configured = current_sources(app)
    health = _stored_health(app)
    if as_json:
        click.echo(json.dumps([_source_json(s, (health or {}).get(s.key)) for s in configured],
                              ensure_ascii=False, indent=2))
        return
    # Two lines per source instead of a table: readable in any terminal width.
    console.print(tr("sources in {path}", path=sources_path(app)), markup=False)
    errors = []
    for source in configured:
        stored = health.get(source.key) if health is not None else None
        facts = [source.kind, source.language or tr("language detected"),
                 tr("weight {weight}", weight=f"{source.weight:g}"),
                 tr(state_word(source.enabled, stored))]
        if stored is not None:
            facts += [tr("last ok {when}", when=format_when(stored.last_success_at, settings)),
                      tr("{count} failures", count=stored.consecutive_failures)]
            if stored.last_error and stored.consecutive_failures:
                errors.append(f"{source.key}: {stored.last_error}")
        style = "bold" if source.enabled else "dim"
        console.print(f"[{style}]{escape(source.key)}[/]  " + " · ".join(facts))
        console.print(f"    {source.url}", markup=False, highlight=False)
    if errors:
        console.print(tr("last errors:"))
        for line in errors:
            console.print(f"  {line}", markup=False)
    if health is None:
        console.print("[dim]" + escape(tr("no database yet: health appears after "
                                          "`migwatch collect`")) + "[/]")


def _source_json(source: SourceConfig, stored: SourceHealth | None) -> dict[str, object]:
    return {
        "key": source.key, "name": source.name, "kind": source.kind, "url": source.url,
        "language": source.language, "weight": source.weight, "enabled": source.enabled,
        "categories": list(source.categories), "state": state_word(source.enabled, stored),
        "last_success_at": iso(stored.last_success_at) if stored else None,
        "consecutive_failures": stored.consecutive_failures if stored else 0,
        "last_error": stored.last_error if stored and stored.consecutive_failures else None,
        "next_check_at": iso(stored.next_check_at) if stored else None,
    }


def _stored_health(app: AppContext) -> dict[str, SourceHealth] | None:
    url = make_url(app.db_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return None  # listing must not create a database as a side effect
    try:
        with app.sessions() as session:
            return {h.key: h for h in source_health(session)}
    except (StorageError, SQLAlchemyError):
        return None


def _edit(app: AppContext, key: str, edit: Callable[[str], str],
          change: Callable[[SourceConfig], SourceConfig | None]) -> bool:
    """Apply ``edit`` to the text and ``change`` to source ``key``; False if nothing changed."""
    _, text, existing = current_sources(app)
    if key not in {s.key for s in existing}:
        hint = did_you_mean(key, [s.key for s in existing])
        raise ConfigError(f"no source with key {key!r} in {sources_path(app)}{hint or ''}"
                          f"{'' if hint else '; see `migwatch sources list`'}")
    expected = [c for c in (change(s) if s.key == key else s for s in existing) if c]
    if expected == existing:
        return False
    save_sources_text(sources_path(app), edit(text), expected)
    return True


@sources.command("remove")
@click.argument("key")
@click.pass_obj
def remove(app: AppContext, key: str) -> None:
    """Remove a source from sources.yaml (articles already stored are kept)."""
    _edit(app, key, lambda text: remove_entry(text, key), lambda _: None)
    console.print(f"removed {key} from {escape(str(sources_path(app)))}")


def _switch(app: AppContext, key: str, enabled: bool) -> None:
    word = "enabled" if enabled else "disabled"
    changed = _edit(app, key, lambda text: set_enabled(text, key, enabled),
                    lambda s: s.model_copy(update={"enabled": enabled}))
    console.print(f"{key} is {'now' if changed else 'already'} {word}")


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


@contextmanager
def private_address_hint(app: AppContext) -> Iterator[None]:
    """A refused private address, as a configuration error that says where to allow it."""
    try:
        yield
    except FetchError as exc:
        if "network.allow_private" not in str(exc):
            raise
        where = app.config_path / SETTINGS_FILE
        first = str(exc).split("; ")[0]
        raise ConfigError(f"{first}; to fetch it anyway, write 'network: {{allow_private: "
                          f"true}}' in {where} (only for a source you trust)") from exc
