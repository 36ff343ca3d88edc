"""``migwatch run`` (one cycle, for cron) and ``migwatch serve`` (the daemon)."""

from __future__ import annotations

import logging

import click

from migwatch.cli import cli, console
from migwatch.commands.collect import print_summary
from migwatch.context import AppContext


@cli.command()
@click.pass_obj
def run(app: AppContext) -> int:
    """One cycle for cron: collect due sources, tag, send the digest if due."""
    from migwatch.daemon import Runner  # heavy: see migwatch.cli
    result = Runner(app).cycle()
    if result.collected is not None:
        print_summary(result.collected)
    else:
        console.print("no source is due")
    if result.tagged.tagged:
        console.print(f"tagged {result.tagged.tagged} articles")
    if result.digest is not None:
        built = result.digest.built
        console.print(f"digest {built.period}: {built.html_path}")
        if result.digest.report is not None:
            for outcome in result.digest.report.outcomes:
                console.print(f"  {outcome.recipient}: {outcome.status}"
                              + (f" ({outcome.error})" if outcome.error else ""), markup=False)
    return 1 if result.has_failures else 0


@cli.command()
@click.option("--web", "with_web", is_flag=True, help="Serve the web app too (migwatch web).")
@click.option("--web-host", default="127.0.0.1", show_default=True, help="The web app's address.")
@click.option("--web-port", default=8470, show_default=True, type=click.IntRange(0, 65535),
              help="The web app's port.")
@click.pass_obj
def serve(app: AppContext, with_web: bool, web_host: str, web_port: int) -> int:
    """Run the scheduler until SIGTERM or Ctrl-C: collect when due, send the digest weekly."""
    from migwatch.daemon import Daemon  # heavy: see migwatch.cli
    root = logging.getLogger()
    if logging.WARNING >= root.level > logging.INFO:  # not when -q asked for errors only
        # A daemon's log is its only voice: one line per source per cycle at INFO, stamped
        # in the configured time zone by the CLI's formatter.
        root.setLevel(logging.INFO)
        for noisy in ("apscheduler", "alembic"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    if not with_web:
        return Daemon(app).serve()
    from migwatch.web.server import WebServer, guard_for  # heavy: flask, waitress
    with WebServer(app, guard_for(web_host, web_port)) as web:
        console.print(f"migwatch web: {web.url}", markup=False)
        return Daemon(app).serve()
