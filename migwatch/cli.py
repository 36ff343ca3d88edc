"""The ``migwatch`` command line: a thin shell over the stages.

Library errors become one line and an exit code here, at the boundary: 0 success,
1 the job ran but some sources failed, 2 bad usage or configuration.  Commands live in
``migwatch/commands/``, one module per command group.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import click
import typer
from rich.console import Console

from config.errors import MigwatchError
from migwatch.context import AppContext

app = typer.Typer(
    name="migwatch",
    help="Watch the news on IOM, migration forums and UN funding; digest it weekly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@app.callback()
def _global_options(
    ctx: typer.Context,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            envvar="MIGWATCH_CONFIG",
            help="Directory holding migwatch.yaml, sources.yaml, themes.yaml "
            "[default: ./migwatch-config].",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="MIGWATCH_DB_URL",
            help="Database URL [default: sqlite:///var/migwatch.sqlite3].",
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log detail (-vv: debug).")
    ] = 0,
) -> None:
    """Global options shared by every command."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    app_ctx = AppContext.from_options(config, db)
    ctx.obj = app_ctx
    ctx.call_on_close(app_ctx.close)


COMMAND_MODULES: tuple[str, ...] = ()


def _register() -> None:
    # One import per command module; each module adds its commands to ``app``.
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(f"migwatch.commands.{name}")


_register()


def report_error(exc: MigwatchError) -> None:
    """Print a migwatch error as one line per problem, without a traceback."""
    problems = getattr(exc, "problems", None) or [str(exc)]
    for problem in problems:
        err_console.print(f"error: {problem}", markup=False)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="migwatch", standalone_mode=False)
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


if __name__ == "__main__":
    main()
