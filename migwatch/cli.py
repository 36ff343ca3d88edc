"""The ``migwatch`` command line: a thin shell over the stages.

Library errors become one line and an exit code here, at the boundary: 0 success,
1 the job ran but some sources failed, 2 bad usage or configuration.  Commands live in
``migwatch/commands/``, one module per command group; each adds itself to :data:`cli`.
A large group is spread over sibling modules (``sources`` and ``sources_*``) that add their
commands to the group, listed after it in :data:`COMMAND_MODULES`.

Every command module is imported on start-up, ``migwatch --help`` included, so a stage that
pulls in a heavy library (``digest.build``: datasketch, numpy and scipy; ``crawler.extract``:
trafilatura; ``crawler.discovery`` and ``crawler.encoding``: feedparser, parsel and
charset_normalizer; ``migwatch.daemon``) is imported inside the command that uses it.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click
from rich.console import Console

from config.errors import MigwatchError
from migwatch.context import AppContext

# What commands print: Rich markup, no automatic highlighting.  The unwrapped console
# keeps long lines whole (paths, addresses, commands to copy) and lets the terminal wrap.
console = Console(highlight=False)
unwrapped_console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

COMMAND_MODULES: tuple[str, ...] = (
    "init", "collect", "inspect", "digest", "extract", "demo", "themes", "tag", "schedule",
    "sources", "sources_add", "sources_check", "sources_opml", "check", "web", "search",
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_path",
    envvar="MIGWATCH_CONFIG",
    metavar="DIR",
    help="Directory holding migwatch.yaml, sources.yaml, themes.yaml "
    "[env MIGWATCH_CONFIG; default ./migwatch-config].",
)
@click.option(
    "--db",
    "db_url",
    envvar="MIGWATCH_DB_URL",
    metavar="URL",
    help="Database URL [env MIGWATCH_DB_URL; default sqlite:///var/migwatch.sqlite3].",
)
@click.option("-v", "--verbose", count=True, help="More log detail (-vv for debug).")
@click.version_option(package_name="migwatch")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_url: str | None, verbose: int) -> None:
    """Watch the news on IOM, migration forums and UN funding; digest it weekly."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    app_ctx = AppContext.from_options(config_path, db_url)
    ctx.obj = app_ctx
    ctx.call_on_close(app_ctx.close)


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"migwatch.commands.{name}")


def report_error(exc: MigwatchError) -> None:
    """Print a migwatch error as one line per problem, without a traceback."""
    problems = getattr(exc, "problems", None) or [str(exc)]
    for problem in problems:
        err_console.print(f"error: {problem}", markup=False)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _register()
    try:
        result = cli.main(args=argv, prog_name="migwatch", standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("interrupted", markup=False)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except MigwatchError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted", markup=False)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
