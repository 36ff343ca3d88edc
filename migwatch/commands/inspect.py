"""``migwatch status`` and ``migwatch export``: looking at what is stored."""

from __future__ import annotations

import json
import sys
import zoneinfo
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, date, datetime, tzinfo

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from config.errors import ConfigError
from config.themes import load_themes, themes_path
from db.instance import LeaseInfo, read_lease
from db.ledger import GIVEN_UP, IssueDeliveries, recent_deliveries
from db.queries import ExportRow, RunInfo, SourceHealth, export_articles, last_runs, source_health
from db.store import source_time_zones
from digest.deliver import resend_hint
from migwatch.cli import cli, console, tr
from migwatch.commands.sources import iso, state_word
from migwatch.context import AppContext
from migwatch.spreadsheet import write_csv


def _when(moment: datetime | None, tz: tzinfo = UTC) -> str:
    return moment.astimezone(tz).strftime("%m-%d %H:%M") if moment else "—"


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
@click.pass_obj
def status(app: AppContext, as_json: bool) -> None:
    """Show each source's health and the last runs."""
    tz = app.settings.tz
    with app.sessions() as session:
        health = source_health(session)
        runs = last_runs(session)
        deliveries = recent_deliveries(session)
    lease = read_lease(app.engine)
    if as_json:
        click.echo(json.dumps(_status_json(app, health, runs, deliveries, lease),
                              ensure_ascii=False, indent=2))
        return
    table = Table(title=tr("sources (times in {timezone})", timezone=app.settings.timezone),
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(tr("source"), overflow="fold", min_width=12)
    for column in ("state", "last ok", "last new", "fails", "articles", "next check"):
        table.add_column(tr(column), no_wrap=True)
    problems = []
    for h in health:
        state = state_word(h.enabled, h)
        style = {"failing": "red", "paused": "yellow", "disabled": "dim"}.get(state, "green")
        table.add_row(h.key, f"[{style}]{tr(state)}[/]", _when(h.last_success_at, tz),
                      _when(h.last_new_article_at, tz), str(h.consecutive_failures),
                      str(h.article_count), _when(h.next_check_at, tz))
        if h.last_error and h.consecutive_failures:
            problems.append(f"{h.key} ({tr(state)}): {h.last_error}")
    console.print(table)
    if problems:
        # Errors go below the table, one per line, so they stay readable in a narrow terminal.
        console.print(tr("last errors:"))
        for problem in problems:
            console.print(f"  {problem}", markup=False, soft_wrap=True)
    if not health:
        console.print(escape(tr("no sources stored yet: run `migwatch collect`")))
    runs_table = Table(title=tr("last runs"), title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("job", "started", "finished", "status", "detail"):
        runs_table.add_column(tr(column))
    for run in runs:
        runs_table.add_row(run.kind, _when(run.started_at, tz), _when(run.finished_at, tz),
                           run.status,
                           run.detail or "")
    console.print(runs_table)
    _print_deliveries(deliveries)
    has_queue = _print_queue(app)
    if lease is None:
        if not has_queue:  # with a queue, its line names the schedulers
            console.print(escape(tr("scheduler: not running (start it with `migwatch serve`)")))
    else:
        detail = lease.detail
        console.print(
            f"scheduler: {lease.holder} since {lease.acquired_at:%Y-%m-%d %H:%M} UTC · "
            f"{detail.get('cycles', 0)} cycles · last tick {detail.get('last_tick_at') or '—'} · "
            f"next tick {detail.get('next_tick_at') or '—'} · "
            f"next digest {detail.get('next_digest_at') or '—'}"
            + (" · lease expired: it may have died" if lease.expires_at < datetime.now(UTC)
               else ""),
            markup=False,
        )


def _status_json(app: AppContext, health: list[SourceHealth], runs: list[RunInfo],
                 deliveries: list[IssueDeliveries], lease: LeaseInfo | None,
                 ) -> dict[str, object]:
    """What ``status`` shows, as one JSON document; times in UTC, ISO 8601."""
    return {
        "timezone": app.settings.timezone,
        "sources": [{
            "key": h.key, "name": h.name, "kind": h.kind, "enabled": h.enabled,
            "state": state_word(h.enabled, h), "last_success_at": iso(h.last_success_at),
            "last_new_article_at": iso(h.last_new_article_at),
            "consecutive_failures": h.consecutive_failures, "articles": h.article_count,
            "next_check_at": iso(h.next_check_at),
            "last_error": h.last_error if h.consecutive_failures else None,
        } for h in health],
        "runs": [{"job": r.kind, "started_at": iso(r.started_at),
                  "finished_at": iso(r.finished_at), "status": r.status, "detail": r.detail}
                 for r in runs],
        "deliveries": [{"period": d.period, "language": d.language, "counts": d.counts}
                       for d in deliveries],
        "scheduler": None if lease is None else {
            "holder": lease.holder, "since": iso(lease.acquired_at),
            "is_expired": lease.expires_at < datetime.now(UTC), **lease.detail,
        },
    }


def _print_queue(app: AppContext) -> bool:
    """Print the task queue's line; False when the database holds no queue."""
    if not app.db_url.startswith("postgresql"):
        return False
    from migwatch.queue import queue_state  # heavy: see migwatch.cli
    state = queue_state(app)
    if state is None:
        return False
    counts = state.counts
    oldest = (f" (oldest {state.oldest_waiting_seconds:.0f} s)"
              if state.oldest_waiting_seconds is not None else "")
    console.print(
        f"queue: {counts.get('todo', 0)} waiting{oldest} · {counts.get('doing', 0)} running · "
        f"{counts.get('succeeded', 0)} done · {counts.get('failed', 0)} failed · "
        f"{state.workers_alive} workers alive · schedulers: "
        f"{', '.join(state.schedulers) or 'none (start `migwatch serve --queue`)'}",
        markup=False)
    return True


def _print_deliveries(issues: list[IssueDeliveries]) -> None:
    """The recent issues' mail: how many sent, waiting, given up, and why."""
    if not issues:
        console.print(tr("digest mail: nothing sent yet"))
        return
    table = Table(title=tr("digest mail"), title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("issue", "sent", "to retry", "given up"):
        table.add_column(tr(column), no_wrap=True)
    problems = []
    for issue in issues:
        waiting = sum(n for status, n in issue.counts.items()
                      if status not in ("sent", GIVEN_UP))
        given_up = issue.counts.get(GIVEN_UP, 0)
        table.add_row(f"{issue.period} {issue.language}", str(issue.counts.get("sent", 0)),
                      f"[yellow]{waiting}[/]" if waiting else "0",
                      f"[red]{given_up}[/]" if given_up else "0")
        for row in issue.unsent:
            if row.last_error:
                tries = f"{row.attempts} attempt{'' if row.attempts == 1 else 's'}"
                problems.append(f"{row.period} {row.language} {row.recipient} "
                                f"({row.status}, {tries}): {row.last_error}")
        if given_up:
            problems.append(f"to try the given-up recipients again: "
                            f"{resend_hint(issue.period, issue.language)}")
    console.print(table)
    for problem in problems:
        console.print(f"  {problem}", markup=False, soft_wrap=True)


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--since {value!r} is not a date; write it as YYYY-MM-DD") from exc
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _row_dict(row: ExportRow) -> dict[str, object]:
    return {
        "canonical_url": row.canonical_url, "title": row.title, "text": row.text,
        "language": row.language, "author": row.author,
        "published_at": row.published_at.isoformat() if row.published_at else None,
        "first_seen_at": row.first_seen_at.isoformat(), "source_key": row.source_key,
        "sightings": list(row.sighting_keys), "themes": list(row.themes),
    }


def _in_source_zones(rows: Iterable[ExportRow], zones: dict[str, str],
                     default: tzinfo) -> Iterator[ExportRow]:
    """Each row's times in its source's zone (else ``default``), with the offset: a day-only
    date then reads as that day (``2018-06-18T00:00:00+09:00``), not the UTC day before."""
    resolved = {key: zoneinfo.ZoneInfo(name) for key, name in zones.items()}
    for row in rows:
        tz = resolved.get(row.source_key, default)
        yield replace(
            row, first_seen_at=row.first_seen_at.astimezone(tz),
            published_at=row.published_at.astimezone(tz) if row.published_at else None,
        )


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("--since", metavar="DATE", help="Only articles first seen on or after YYYY-MM-DD.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of standard output.")
@click.option("--excel/--no-excel", "for_excel", default=None,
              help="CSV for Excel: a UTF-8 byte order mark, so Japanese text opens right "
                   "(default: on with --out, off on standard output).")
@click.pass_obj
def export(app: AppContext, fmt: str, since: str | None, out_path: str | None,
           for_excel: bool | None) -> None:
    """Export stored articles with their sightings and themes."""
    since_at = _parse_since(since)
    labels = _theme_labels(app) if fmt == "csv" else {}
    with ExitStack() as stack:
        stream = (stack.enter_context(open(out_path, "w", encoding="utf-8", newline=""))
                  if out_path else sys.stdout)
        session = stack.enter_context(app.sessions())
        rows = _in_source_zones(export_articles(session, since_at), source_time_zones(session),
                                app.settings.tz)
        if fmt == "jsonl":
            for row in rows:
                stream.write(json.dumps(_row_dict(row), ensure_ascii=False) + "\n")
        else:
            write_csv(stream, rows, labels,
                      for_excel=for_excel if for_excel is not None else out_path is not None)


def _theme_labels(app: AppContext) -> dict[str, str]:
    """Theme id → label in the digest's language, for the CSV's ``theme_labels`` column."""
    themes = load_themes(themes_path(app.config_path))
    language = app.settings.digest.language
    return {theme.id: theme.label_for(language) for theme in themes.themes}
