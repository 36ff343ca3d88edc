"""``migwatch run`` (one cycle, for cron) and ``migwatch serve`` (the daemon)."""

from __future__ import annotations

import contextlib
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


def _daemon_logging() -> None:
    root = logging.getLogger()
    if logging.WARNING >= root.level > logging.INFO:  # not when -q asked for errors only
        # A daemon's log is its only voice: one line per source per cycle at INFO, stamped
        # in the configured time zone by the CLI's formatter.
        root.setLevel(logging.INFO)
        for noisy in ("apscheduler", "alembic", "procrastinate"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@cli.command()
@click.option("--queue", "use_queue", is_flag=True,
              help="Put due sources and digests on the task queue in PostgreSQL for "
              "`migwatch worker` processes, instead of doing the work here.")
@click.option("--web", "with_web", is_flag=True, help="Serve the web app too (migwatch web).")
@click.option("--web-host", default="127.0.0.1", show_default=True, help="The web app's address.")
@click.option("--web-port", default=8470, show_default=True, type=click.IntRange(0, 65535),
              help="The web app's port.")
@click.pass_obj
def serve(app: AppContext, use_queue: bool, with_web: bool, web_host: str, web_port: int) -> int:
    """Run the scheduler until SIGTERM or Ctrl-C: collect when due, send the digest weekly."""
    from migwatch.daemon import Daemon  # heavy: see migwatch.cli
    _daemon_logging()
    with contextlib.ExitStack() as stack:
        queue = None
        if use_queue:
            from migwatch.queue import QueueClient, require_postgresql
            require_postgresql(app)
            queue = QueueClient(app)
            stack.callback(queue.close)
        if with_web:
            from migwatch.web.server import WebServer, guard_for  # heavy: flask, waitress
            web = stack.enter_context(WebServer(app, guard_for(web_host, web_port)))
            console.print(f"migwatch web: {web.url}", markup=False)
        return Daemon(app, queue=queue).serve()


@cli.command()
@click.option("--concurrency", type=click.IntRange(1, 32), default=1, show_default=True,
              help="Jobs (crawls) run at once by this worker.")
@click.pass_obj
def worker(app: AppContext, concurrency: int) -> int:
    """Take collection and digest jobs from the task queue until SIGTERM or Ctrl-C."""
    from migwatch.queue import require_postgresql, run_worker  # heavy: see migwatch.cli
    require_postgresql(app)
    _daemon_logging()
    return run_worker(app, concurrency=concurrency)
