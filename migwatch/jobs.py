"""Job runs of the command line and the scheduler: collect (the orchestrator in
:mod:`crawler.collect`) and tag.

Tagging is called from :func:`tag` only, so pointing it at another tagger is one edit.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from config.errors import ConfigError
from config.schema import SourceConfig
from config.themes import load_themes, themes_path
from crawler import collect as orchestrator
from crawler.collect import CollectReport
from digest.tagging import TagRunSummary, tag_stored_articles
from digest.themes import ThemeSet, compile_themes
from migwatch.context import AppContext

log = logging.getLogger(__name__)


def select_sources(all_sources: Sequence[SourceConfig], keys: Sequence[str]) -> list[SourceConfig]:
    """Enabled sources, or exactly the named ones (enabled or not)."""
    if not keys:
        return [s for s in all_sources if s.enabled]
    by_key = {s.key: s for s in all_sources}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ConfigError(
            f"unknown source key(s): {', '.join(unknown)}; see `migwatch sources list`"
        )
    return [by_key[k] for k in dict.fromkeys(keys)]


def collect(
    app: AppContext,
    keys: Sequence[str] = (),
    *,
    now: datetime | None = None,
    only_due: bool = False,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    on_child_start: Callable[[subprocess.Popen[str]], None] | None = None,
    log_level: str = "ERROR",
) -> CollectReport:
    """One collection pass over the enabled sources, or the named ones."""
    return orchestrator.collect(
        app, select_sources(app.sources, keys), now=now, only_due=only_due,
        on_event=on_event, on_child_start=on_child_start, log_level=log_level,
    )


_compiled: dict[tuple[str, int, int], ThemeSet] = {}


def load_theme_set(app: AppContext) -> ThemeSet:
    """The user's themes (or the shipped ones), compiled for tagging.

    Compiled once per version of the file: the daemon tags every tick, and an edited
    themes.yaml is picked up on the next one.
    """
    path = themes_path(app.config_path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _compiled:
        _compiled.clear()
        _compiled[key] = compile_themes(load_themes(path))
    return _compiled[key]


def tag(app: AppContext, *, retag_all: bool = False) -> TagRunSummary:
    """Tag stored articles not yet tagged with the current themes (or all of them)."""
    return tag_stored_articles(app.sessions, load_theme_set(app), retag_all=retag_all)
