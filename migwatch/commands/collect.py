"""``migwatch collect``: one collection pass, with a progress display and a summary table."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crawler.collect import CollectReport
from migwatch.cli import cli, console
from migwatch.context import AppContext
from migwatch.jobs import collect, select_sources, tag

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
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} sources"),
                  TextColumn("· {task.fields[new]} new"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("collecting", total=len(chosen), new=0)
        new = 0

        def on_event(event: dict[str, Any]) -> None:
            nonlocal new
            if event.get("event") == "stored":
                new += int(event.get("new") or 0)
                progress.update(task, new=new)
            elif event.get("event") == "source":
                progress.update(task, advance=1, new=new,
                                description=f"{event.get('source')} {event.get('status')}")

        with terminate_as_interrupt():
            summary = collect(app, keys, on_event=on_event,
                              log_level="INFO" if verbose > 1 else "ERROR")
    print_summary(summary)
    tagged = tag(app)
    if tagged.tagged:
        console.print(f"tagged {tagged.tagged} articles, {tagged.with_themes} with a theme")
    if summary.child is not None and summary.child.returncode != 0:
        console.print(f"[red]the crawl stopped unexpectedly (exit {summary.child.returncode}); "
                      "what it stored is kept — run collect again[/]")
        if verbose and summary.child.stderr_tail:
            console.print(summary.child.stderr_tail, markup=False)
        return 1
    return 1 if summary.failed else 0


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the pass the way Ctrl-C does: the crawl child is stopped gracefully
    and what it stored is kept (the default would leave the child crawling on)."""

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def print_summary(summary: CollectReport) -> None:
    """The per-source table: new, seen again, unchanged, failed."""
    table = Table(title=f"collect run {summary.run_id}", title_justify="left")
    for column in ("source", "status", "new", "seen again", "pages", "note"):
        table.add_column(column, justify="right" if column in {"new", "seen again",
                                                                "pages"} else "left")
    for fetch in summary.fetches:
        style = STATUS_STYLE.get(fetch.status, "")
        table.add_row(fetch.source_key, f"[{style}]{fetch.status}[/]" if style else fetch.status,
                      str(fetch.new_count), str(fetch.seen_count), str(fetch.pages_fetched),
                      fetch.error or "")
    for key, holder in summary.busy:
        table.add_row(key, "[yellow]skipped[/]", "0", "0", "0",
                      f"another collection ({holder}) is crawling it")
    for key, until in summary.deferred:
        table.add_row(key, "[yellow]deferred[/]", "0", "0", "0",
                      f"server asked to wait until {until:%Y-%m-%d %H:%M} UTC (Retry-After)")
    console.print(table)
    failed = len(summary.failed)
    unchanged = sum(1 for f in summary.fetches if f.status in {"not_modified", "unchanged"})
    console.print(f"{summary.new_count} new articles · {unchanged} unchanged · "
                  f"{failed} failed" + (" — see `migwatch status`" if failed else ""))
