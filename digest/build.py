"""The digest orchestrator: one call builds an issue, the way the pipeline diagram reads::

    lock → query (db.digests) → cluster events → rank → render → document
         → archive files (html, txt, json, index, feeds) → DigestIssue

``build_digest`` is what the CLI, the scheduler and the demo call.  It owns the side
effects (database, files, the builder lock); the stages in between are pure and are
handed ``now``.  Sending is a separate step, :func:`digest.deliver.send_digest`.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from config.schema import Settings
from config.themes import ThemesFile, load_themes, themes_path
from db.digests import count_articles, count_by_theme, load_candidates
from db.instance import this_process
from db.ledger import IssueRecord, builder_lock, record_issue
from db.queries import source_health
from db.times import as_utc
from digest.archive import read_issues, write_feeds, write_index, write_issue
from digest.cluster import cluster_stories
from digest.document import issue_document
from digest.evidence import Gazetteer, build_gazetteer
from digest.model import BuiltDigest, RankedDigest, ThemeInfo
from digest.periods import (
    iso_week_bounds,
    last_complete_week,
    parse_week,
    previous_week,
)
from digest.rank import rank_digest
from digest.render import issue_url, render_digest

log = logging.getLogger(__name__)


def theme_infos(themes: ThemesFile) -> list[ThemeInfo]:
    """The digest's view of ``themes.yaml``: ids, labels and term aliases, in display order."""
    return [
        ThemeInfo(
            theme.id, theme.label_for("ja"), theme.label_for("en"),
            aliases=tuple(
                (term.term, tuple(term.aliases))
                for term in theme.terms
                if term.aliases and not term.regex
            ),
        )
        for theme in themes.themes
    ]


@cache
def _gazetteer(aliases: tuple[tuple[str, tuple[str, ...]], ...]) -> Gazetteer:
    return build_gazetteer(aliases)


def gazetteer_for(themes: Sequence[ThemeInfo]) -> Gazetteer:
    """The shipped gazetteer with the aliases of the themes' terms (built once per set)."""
    return _gazetteer(tuple(alias for theme in themes for alias in theme.aliases))


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off Python's cyclic garbage collector while one issue is built.

    A week's build makes hundreds of thousands of small objects (rows, tags, entries,
    the document) and almost no cycles; the collector's passes over them were about a
    third of the build on a million-article database.  Reference counting still frees
    everything; the collector runs again as soon as the issue is written.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_theme_infos(config_dir: Path) -> list[ThemeInfo]:
    """Read ``themes.yaml`` from ``config_dir`` (shipped defaults when absent)."""
    return theme_infos(load_themes(themes_path(config_dir)))


def rank_week(
    sessions: sessionmaker[Session],
    settings: Settings,
    themes: Sequence[ThemeInfo],
    *,
    period: str,
    language: str,
    now: datetime,
) -> RankedDigest:
    """Query, cluster and rank one week (no files written, nothing recorded)."""
    tz: tzinfo = settings.tz
    start, end = iso_week_bounds(period, tz)
    before_start, before_end = iso_week_bounds(previous_week(period, tz), tz)
    with sessions() as session:
        candidates = load_candidates(session, start, end)
        previous_counts = count_by_theme(session, before_start, before_end)
        previous_total = count_articles(session, before_start, before_end)
        health = source_health(session, with_counts=False)
    stories = cluster_stories(candidates, gazetteer_for(themes))
    return rank_digest(
        stories,
        themes,
        period=period,
        language=language,
        start=start,
        end=end,
        now=now,
        max_per_theme=settings.digest.max_per_theme,
        previous_counts=previous_counts,
        previous_article_count=previous_total,
        health=health,
        silent_after=settings.digest.silent_after,
    )


def build_digest(
    sessions: sessionmaker[Session],
    settings: Settings,
    themes: Sequence[ThemeInfo],
    *,
    week: str | None,
    language: str,
    now: datetime,
    out_dir: Path | None = None,
) -> BuiltDigest:
    """Build the issue of ``week`` (default: the last complete week) and archive it."""
    tz = settings.tz
    now = as_utc(now)
    period = parse_week(week) if week else last_complete_week(now, tz)
    folder = out_dir if out_dir is not None else Path(settings.digest.archive_dir)
    started = time.perf_counter()
    with builder_lock(
        sessions, f"digest-build:{period}:{language}", holder=this_process(), now=now
    ), collector_paused():
        ranked = rank_week(
            sessions, settings, themes, period=period, language=language, now=now
        )
        rendered = render_digest(ranked, settings.digest, tz=tz, now=now)
        document = issue_document(
            ranked, subject=rendered.subject, preheader=rendered.preheader, built_at=now,
            tz=tz, url=issue_url(settings.digest.base_url, period, language),
        )
        html_path, text_path, json_path = write_issue(
            folder, document, archive_html=rendered.archive_html, text=rendered.text
        )
        issues = read_issues(folder)
        index_path = write_index(
            folder, issues, title=settings.digest.title, language=settings.digest.language
        )
        feeds = write_feeds(
            folder,
            issues,
            title=settings.digest.title,
            base_url=settings.digest.base_url,
            max_entries=settings.digest.feed_entries,
        )
        with sessions() as session:
            record_issue(
                session,
                IssueRecord(
                    period=period,
                    language=language,
                    built_at=now,
                    is_complete=ranked.is_complete,
                    article_count=ranked.figures.article_count,
                    story_count=ranked.figures.story_count,
                    subject=rendered.subject,
                    message_id=f"digest/{period}/{language}",
                ),
            )
    log.info(
        "digest built period=%s lang=%s complete=%s articles=%d events=%d outlets=%d "
        "shown=%d failing=%d silent=%d seconds=%.2f path=%s status=ok",
        period, language, ranked.is_complete, ranked.figures.article_count,
        ranked.figures.story_count, ranked.figures.source_count,
        sum(len(s.stories) for s in ranked.sections), len(ranked.failing), len(ranked.silent),
        time.perf_counter() - started, html_path,
    )
    return BuiltDigest(
        period=period,
        language=language,
        is_complete=ranked.is_complete,
        built_at=now,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        html_path=html_path,
        text_path=text_path,
        index_path=index_path,
        feed_path=feeds[language],
        article_count=ranked.figures.article_count,
        story_count=ranked.figures.story_count,
        source_count=ranked.figures.source_count,
        json_path=json_path,
        preheader=rendered.preheader,
        document=document,
    )
