"""The ``migwatch`` command line: a thin shell over the stages.

Library errors become one line and an exit code here, at the boundary: 0 success,
1 the job ran but some sources failed, 2 bad usage or configuration.  The whole
configuration is validated before a command's own code runs (:func:`_add_preflight`), so a
broken file never starts a run; a reader that closes the pipe (``export | head``) is
success; messages are in the CLI's language (``MIGWATCH_LANG`` or the system locale).
Commands live in ``migwatch/commands/``, one module per command group; each adds itself
to :data:`cli`.
A large group is spread over sibling modules (``sources`` and ``sources_*``) that add their
commands to the group, listed after it in :data:`COMMAND_MODULES`.

Every command module is imported on start-up, ``migwatch --help`` included, so a stage that
pulls in a heavy library (``digest.build``: datasketch, numpy and scipy; ``crawler.extract``:
trafilatura; ``crawler.discovery`` and ``crawler.encoding``: feedparser, parsel and
charset_normalizer; ``migwatch.daemon``) is imported inside the command that uses it.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

import click
from rich.console import Console

from config.errors import MigwatchError
from config.i18n import cli_language, gettext
from migwatch.context import AppContext

# What commands print: Rich markup, no automatic highlighting.  The unwrapped console
# keeps long lines whole (paths, addresses, commands to copy) and lets the terminal wrap.
console = Console(highlight=False)
unwrapped_console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def tr(message: str, **values: object) -> str:
    """``message`` in the CLI's language: ``MIGWATCH_LANG``, else the system locale."""
    return gettext(cli_language(), message, **values)

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
@click.option("-q", "--quiet", is_flag=True, help="Only errors in the log, no warnings.")
@click.version_option(package_name="migwatch")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_url: str | None, verbose: int,
        quiet: bool) -> None:
    """Watch the news on IOM, migration forums and UN funding; digest it weekly."""
    if quiet and verbose:
        raise click.UsageError(tr("choose -q (quiet) or -v (verbose), not both"))
    level = (logging.ERROR if quiet else logging.WARNING if verbose == 0
             else logging.INFO if verbose == 1 else logging.DEBUG)
    app_ctx = AppContext.from_options(config_path, db_url)
    configure_logging(level, lambda: app_ctx.settings_tz)
    ctx.obj = app_ctx
    ctx.call_on_close(app_ctx.close)


class ZonedFormatter(logging.Formatter):
    """Log lines stamped in the configured time zone, once the settings are read."""

    def __init__(self, tz: Callable[[], tzinfo | None]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        """``2026-12-04 09:00:00+09:00`` in the configured zone (local time before it is read)."""
        moment = datetime.fromtimestamp(record.created, self.tz()).astimezone(self.tz())
        return moment.isoformat(sep=" ", timespec="seconds")


def configure_logging(level: int, tz: Callable[[], tzinfo | None]) -> None:
    """One handler on standard error; only the CLI configures logging."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "is_migwatch", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.is_migwatch = True  # type: ignore[attr-defined]
    handler.setFormatter(ZonedFormatter(tz))
    root.addHandler(handler)
    root.setLevel(level)


# Commands that check or write the configuration themselves, or run without one.
PREFLIGHT_EXEMPT = frozenset({("init",), ("check",), ("demo",), ("extract",)})


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"migwatch.commands.{name}")
    _add_preflight(cli, ())


def _add_preflight(group: click.Group, path: tuple[str, ...]) -> None:
    """Validate the whole configuration before any command's own code runs.

    After Click parsed the arguments (so ``--help`` works on a broken configuration) and
    before the command starts a run, writes a row or spawns a crawl: a configuration
    problem is one ``ConfigError`` (exit 2), and nothing is recorded.
    """
    for name, command in group.commands.items():
        here = (*path, name)
        if isinstance(command, click.Group):
            _add_preflight(command, here)
        elif here not in PREFLIGHT_EXEMPT and command.callback is not None and not getattr(
            command.callback, "is_preflighted", False
        ):
            command.callback = _preflighted(command.callback)


def _preflighted(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def checked(*args: Any, **kwargs: Any) -> Any:
        app = click.get_current_context().find_object(AppContext)
        if app is not None:
            app.preflight()
        return callback(*args, **kwargs)

    checked.is_preflighted = True  # type: ignore[attr-defined]
    return checked


def report_error(exc: MigwatchError) -> None:
    """Print a migwatch error as one line per problem, without a traceback."""
    problems = getattr(exc, "problems", None) or [str(exc)]
    for problem in problems:
        err_console.print(tr("error: {problem}", problem=problem), markup=False)


def _closed_pipe() -> None:
    """A reader that stopped reading (``migwatch export | head -1``) is not a failure.

    Standard output is pointed at /dev/null so the interpreter's last flush finds
    nowhere to fail, and the command exits 0 as a shell pipeline expects.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # no real file behind sys.stdout (a test runner's capture)
    finally:
        os.close(devnull)
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    _register()
    try:
        result = cli.main(args=argv, prog_name="migwatch", standalone_mode=False)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below
    except BrokenPipeError:
        _closed_pipe()
    except click.exceptions.Abort:
        err_console.print(tr("interrupted"), markup=False)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except MigwatchError as exc:
        report_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print(tr("interrupted"), markup=False)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
