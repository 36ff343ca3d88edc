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

from config.errors import ConfigError, did_you_mean
from config.schema import SourceConfig
from crawler import collect as orchestrator
from crawler.collect import CollectReport
from digest.tagging.loader import load_theme_set
from digest.tagging.store import TagRunSummary, tag_stored_articles
from migwatch.context import AppContext

log = logging.getLogger(__name__)


def select_sources(all_sources: Sequence[SourceConfig], keys: Sequence[str]) -> list[SourceConfig]:
    """Enabled sources, or exactly the named ones (enabled or not)."""
    if not keys:
        return [s for s in all_sources if s.enabled]
    by_key = {s.key: s for s in all_sources}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        hints = "".join(did_you_mean(k, by_key) for k in unknown)
        raise ConfigError(
            f"unknown source key(s): {', '.join(unknown)}"
            + (hints or "; see `migwatch sources list`")
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


def tag(app: AppContext, *, retag_all: bool = False) -> TagRunSummary:
    """Tag stored articles not yet tagged with the current themes (or all of them)."""
    theme_set = load_theme_set(app.config_path).theme_set
    return tag_stored_articles(app.sessions, theme_set, retag_all=retag_all)
