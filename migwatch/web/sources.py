"""Source pages: health, add by address with a preview, switch on/off, remove, OPML.

Every edit goes through the same functions as ``migwatch sources …``
(:mod:`migwatch.sources_file` keeps the user's comments and layout and refuses a file
that would not load); adding probes the address with the same discovery and preview.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from config.errors import ConfigError, MigwatchError, StorageError
from crawler.urls import is_http_url
from db.queries import SourceHealth, source_health
from digest.sanitize import one_line, safe_url
from migwatch.commands.sources import current_sources, new_source, sources_path
from migwatch.commands.sources_add import refuse_duplicate_url, source_entry
from migwatch.opml import read_opml, write_opml
from migwatch.sources_file import (
    append_entries,
    remove_entry,
    save_sources_text,
    set_enabled,
)
from migwatch.web.app import _, state

pages = Blueprint("sources", __name__)
PREVIEW_ITEMS = 5


def _health() -> dict[str, SourceHealth]:
    try:
        with state().app.sessions() as session:
            return {h.key: h for h in source_health(session)}
    except (StorageError, SQLAlchemyError):
        return {}


def _list(message: str = "", error: str = "", status: int = 200) -> tuple[str, int]:
    _settings, _text, configured = current_sources(state().app)
    health = _health()
    rows = [(s, health.get(s.key), one_line(health[s.key].last_error, 200)
             if s.key in health and health[s.key].last_error else "") for s in configured]
    return render_template("sources.html", rows=rows, message=message, error=error,
                           path=sources_path(state().app)), status


@pages.get("/sources")
def sources_page() -> tuple[str, int]:
    """Every configured source with its health."""
    return _list()


def _probe(url: str, pick: int | None) -> Any:
    from crawler.discovery import probe_url  # heavy: feedparser, parsel
    from migwatch.commands.sources_preview import fetcher
    settings, _text, existing = current_sources(state().app)
    if not is_http_url(url):
        raise ConfigError(_("“{url}” is not an http:// or https:// address.", url=url))
    refuse_duplicate_url(url, existing)
    result = probe_url(url, fetch=fetcher(settings), tz=settings.tz, now=datetime.now(UTC),
                       pick=pick)
    refuse_duplicate_url(result.feed_url, existing)
    return result


def _pick() -> int | None:
    value = request.form.get("pick", "")
    return int(value) if value.isdigit() else None


@pages.post("/sources/preview")
def preview() -> tuple[str, int]:
    """Fetch an address, find its feed and show its first items before saving."""
    url = request.form.get("url", "").strip()
    try:
        result = _probe(url, _pick())
    except MigwatchError as exc:
        return _list(error=str(exc), status=422)
    _settings, _text, existing = current_sources(state().app)
    entry = source_entry(result, {s.key for s in existing})
    found = [d for d in result.discovered if not d.is_guess]
    return render_template(
        "source_preview.html", url=url, result=result, entry=entry, found=found,
        items=[(i, safe_url(i.link)) for i in result.items[:PREVIEW_ITEMS]],
        pick=_pick()), 200


@pages.post("/sources/add")
def add() -> ResponseReturnValue:
    """Add the previewed source to sources.yaml."""
    app = state().app
    url = request.form.get("url", "").strip()
    try:
        result = _probe(url, _pick())
        _settings, text, existing = current_sources(app)
        weight = float(request.form.get("weight", "1") or 1)
        entry = source_entry(result, {s.key for s in existing},
                             key=request.form.get("key") or None,
                             name=request.form.get("name") or None,
                             language=request.form.get("language") or None, weight=weight)
        if entry["key"] in {s.key for s in existing}:
            raise ConfigError(_("The key “{key}” is already used; choose another.",
                                key=entry["key"]))
        save_sources_text(sources_path(app), append_entries(text, [entry]),
                          [*existing, new_source(entry)])
    except (MigwatchError, ValueError) as exc:
        return _list(error=str(exc), status=422)
    return redirect(url_for("sources.sources_page", added=entry["key"]), code=303)


def _edit(key: str, enabled: bool | None) -> None:
    app = state().app
    _settings, text, existing = current_sources(app)
    if key not in {s.key for s in existing}:
        abort(404)
    if enabled is None:
        new_text = remove_entry(text, key)
        expected = [s for s in existing if s.key != key]
    else:
        new_text = set_enabled(text, key, enabled)
        expected = [s.model_copy(update={"enabled": enabled}) if s.key == key else s
                    for s in existing]
    save_sources_text(sources_path(app), new_text, expected)


@pages.post("/sources/<key>/enable")
def enable(key: str) -> ResponseReturnValue:
    """Collect this source again."""
    _edit(key, True)
    return redirect(url_for("sources.sources_page"), code=303)


@pages.post("/sources/<key>/disable")
def disable(key: str) -> ResponseReturnValue:
    """Stop collecting this source (it stays configured)."""
    _edit(key, False)
    return redirect(url_for("sources.sources_page"), code=303)


@pages.post("/sources/<key>/remove")
def remove(key: str) -> ResponseReturnValue:
    """Remove the source from sources.yaml (its articles stay stored)."""
    _edit(key, None)
    return redirect(url_for("sources.sources_page"), code=303)


@pages.get("/sources/export.opml")
def export_opml() -> Response:
    """The feed sources as OPML 2.0, for a feed reader."""
    _settings, _text, existing = current_sources(state().app)
    data = write_opml(existing, title="migwatch sources", now=datetime.now(UTC))
    return Response(data, mimetype="text/x-opml", headers={
        "Content-Disposition": 'attachment; filename="migwatch-sources.opml"'})


def _opml_entries(data: bytes) -> tuple[Any, list[dict[str, Any]], list[tuple[str, str]]]:
    from migwatch.commands.sources_opml import entries_from_opml
    _settings, _text, existing = current_sources(state().app)
    document = read_opml(data, name="upload.opml")
    entries, duplicates = entries_from_opml(document, existing, (), True)
    return document, entries, duplicates


@pages.post("/sources/opml/preview")
def opml_preview() -> tuple[str, int]:
    """What an uploaded OPML file would add, before anything is written."""
    upload = request.files.get("opml")
    data = upload.read() if upload is not None else b""
    if not data:
        return _list(error=_("Choose an OPML file first."), status=422)
    try:
        document, entries, duplicates = _opml_entries(data)
    except MigwatchError as exc:
        return _list(error=str(exc), status=422)
    return render_template("opml_preview.html", entries=entries, duplicates=duplicates,
                           rejected=document.rejected,
                           payload=base64.b64encode(data).decode("ascii")), 200


@pages.post("/sources/opml/import")
def opml_import() -> ResponseReturnValue:
    """Add the previewed OPML feeds to sources.yaml."""
    app = state().app
    try:
        data = base64.b64decode(request.form.get("payload", ""), validate=True)
        _document, entries, _duplicates = _opml_entries(data)
        if entries:
            _settings, text, existing = current_sources(app)
            save_sources_text(sources_path(app), append_entries(text, entries),
                              [*existing, *(new_source(e) for e in entries)])
    except (MigwatchError, binascii.Error) as exc:
        return _list(error=str(exc), status=422)
    return redirect(url_for("sources.sources_page", imported=len(entries)), code=303)
