"""``migwatch collect``: one collection pass, with a progress display and a summary table."""

from __future__ import annotations

import logging
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from migwatch.cli import cli, console, tr
from migwatch.context import AppContext
from migwatch.jobs import (
    CollectSummary,
    collect,
    is_unreachable,
    network_looks_down,
    select_sources,
    tag,
)

STATUS_STYLE = {"ok": "green", "not_modified": "cyan", "unchanged": "cyan", "error": "red"}


@cli.command("collect")
@click.option("--source", "keys", multiple=True, metavar="KEY",
              help="Collect only this source (repeatable).")
@click.pass_context
def collect_command(ctx: click.Context, keys: tuple[str, ...]) -> int:
    """Collect new articles from enabled sources (or the named ones)."""
    app: AppContext = ctx.obj
    chosen = select_sources(app.sources, keys)
    verbose = ctx.parent.params.get("verbose", 0) if ctx.parent else 0
    if not verbose:
        # the table below shows each failed source; its warning line would repeat it
        logging.getLogger("migwatch.jobs").setLevel(logging.ERROR)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} sources"),
                  TextColumn("· {task.fields[new]} new"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("collecting", total=len(chosen), new=0)
        new = 0

        def on_event(event: dict[str, Any]) -> None:
            nonlocal new
            if event.get("event") == "article":
                new += 1
                progress.update(task, new=new)
            elif event.get("event") == "source":
                progress.update(task, advance=1, new=new,
                                description=f"{event.get('source')} {event.get('status')}")

        summary = collect(app, keys, on_event=on_event,
                          log_level="INFO" if verbose > 1 else "ERROR")
    print_summary(summary)
    tagged = tag(app)
    if tagged.tagged:
        console.print(tr("tagged {tagged} articles, {with_themes} with a theme",
                         tagged=tagged.tagged, with_themes=tagged.with_themes))
    if summary.child is not None and summary.child.returncode != 0:
        console.print("[red]" + escape(tr(
            "the crawl stopped unexpectedly (exit {code}); what it stored is kept — run "
            "collect again", code=summary.child.returncode)) + "[/]")
        if verbose and summary.child.stderr_tail:
            console.print(summary.child.stderr_tail, markup=False)
        return 1
    return 1 if summary.failed else 0


def print_summary(summary: CollectSummary) -> None:
    """The per-source table: new, seen again, unchanged, failed; one line per source.

    A note longer than the terminal is cut with an ellipsis rather than wrapped (the
    whole message is in `migwatch status`); when most sources could not reach their
    host, the network is named once instead of repeating the same error per source.
    """
    offline = network_looks_down(summary.fetches)
    table = Table(title=tr("collect run {run_id}", run_id=summary.run_id), title_justify="left")
    for column in ("source", "status", "new", "seen again", "pages", "note"):
        table.add_column(tr(column), justify="right" if column in {"new", "seen again",
                                                                "pages"} else "left",
                         no_wrap=True, overflow="ellipsis")
    for fetch in summary.fetches:
        style = STATUS_STYLE.get(fetch.status, "")
        note = fetch.error or ""
        if offline and is_unreachable(fetch.error):
            note = tr("unreachable")
        table.add_row(fetch.source_key, f"[{style}]{fetch.status}[/]" if style else fetch.status,
                      str(fetch.new_count), str(fetch.seen_count), str(fetch.pages_fetched),
                      escape(note))
    for key, until in summary.deferred:
        table.add_row(key, "[yellow]deferred[/]", "0", "0", "0",
                      f"server asked to wait until {until:%Y-%m-%d %H:%M} UTC (Retry-After)")
    console.print(table)
    failed = len(summary.failed)
    unchanged = sum(1 for f in summary.fetches if f.status in {"not_modified", "unchanged"})
    if offline:
        unreachable = sum(1 for f in summary.failed if is_unreachable(f.error))
        # short enough for one line of an 80-column terminal
        console.print("[red]" + escape(tr(
            "the network looks unreachable ({count} of {total} sources); check it, then "
            "collect again", count=unreachable, total=len(summary.fetches))) + "[/]")
    console.print(escape(tr("{new} new articles · {unchanged} unchanged · {failed} failed",
                           new=summary.new_count, unchanged=unchanged, failed=failed)
                         + (tr(" — see `migwatch status`") if failed else "")))
