"""``migwatch check``: is this set-up ready to be left running?

One line per check, ✓ or ✗ (! a warning, – not checked), then what to do about a failure.
The checks are independent: a broken sources.yaml does not hide an unreachable mail server.
No mail is sent and no file is left behind; the database is created or migrated as by
any other command.  Exit code 2 when a configuration file is invalid, 1 when another
check failed, 0 when all passed.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import click
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from config.errors import ConfigError, MigwatchError
from config.loader import SETTINGS_FILE, SOURCES_FILE, THEMES_FILE
from config.schema import Settings
from db.engine import hide_password
from db.queries import article_count
from digest.deliver import Mailer, smtp_password
from digest.tagging.loader import load_theme_set
from migwatch.cli import cli
from migwatch.cli import unwrapped_console as console
from migwatch.context import AppContext

Status = Literal["ok", "warn", "fail", "invalid", "skip"]
MARKS: dict[Status, tuple[str, str]] = {
    "ok": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red"),
    "invalid": ("✗", "red"), "skip": ("–", "dim"),
}
FIX_LINES = "fix the lines above, then run `migwatch check` again"


@dataclass
class Result:
    """The outcome of one check: its line, the reasons under it and what to do."""

    status: Status
    line: str
    details: list[str] = field(default_factory=list)
    todo: str = ""


def _failure(line: str, reason: str, todo: str) -> Result:
    # migwatch messages say "what happened; what to do": add a hint only when one is missing
    return Result("fail", line, [reason], "" if "; " in reason else todo)


def check_settings(app: AppContext) -> tuple[Result, Settings | None]:
    """``migwatch.yaml`` valid, or absent (the defaults apply)."""
    try:
        settings = app.settings
    except ConfigError as exc:
        return Result("invalid", f"{SETTINGS_FILE}: invalid", exc.problems, FIX_LINES), None
    state = "valid" if (app.config_path / SETTINGS_FILE).exists() else "not present: defaults"
    return Result("ok", f"{SETTINGS_FILE}: {state}"), settings


def check_sources(app: AppContext) -> Result:
    """``sources.yaml`` valid, with how many sources are enabled."""
    try:
        sources = app.sources
    except ConfigError as exc:
        return Result("invalid", f"{SOURCES_FILE}: invalid", exc.problems, FIX_LINES)
    enabled = sum(source.enabled for source in sources)
    line = f"{SOURCES_FILE}: valid, {_count(len(sources), 'source')}, {enabled} enabled"
    if not enabled:
        return Result("warn", line, ["nothing will be collected"],
                      "add a source (`migwatch sources add URL`) or enable one")
    return Result("ok", line)


def check_themes(app: AppContext) -> Result:
    """The user's ``themes.yaml`` (or the shipped one) valid, with its number of themes."""
    try:
        loaded = load_theme_set(app.config_path)
        path, theme_set = loaded.path, loaded.theme_set
    except ConfigError as exc:
        return Result("invalid", f"{THEMES_FILE}: invalid", exc.problems, FIX_LINES)
    themes = _count(len(theme_set.themes), "theme")
    if path.parent == app.config_path:
        return Result("ok", f"{THEMES_FILE}: valid, {themes}")
    return Result("ok", f"{THEMES_FILE}: not present: the shipped one, {themes}")


def check_database(app: AppContext) -> Result:
    """The database reachable and migrated, with its number of articles."""
    label = f"database {hide_password(app.db_url)}"
    try:
        app.engine  # noqa: B018 — connects and migrates to the newest schema
        with app.sessions() as session:
            articles = article_count(session)
    except (MigwatchError, SQLAlchemyError, OSError) as exc:
        # the first line, and never a password, wherever the message quotes the URL
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return _failure(f"{label}: cannot be used", hide_password(reason),
                        "check --db / MIGWATCH_DB_URL")
    return Result("ok", f"{label}: reachable, schema up to date, "
                        f"{_count(articles, 'article')}")


def check_archive(settings: Settings) -> Result:
    """The archive folder exists or can be created, and a file can be written in it."""
    folder = Path(settings.digest.archive_dir).absolute()
    label = f"archive folder {folder}"
    todo = "set digest.archive_dir in migwatch.yaml to a folder migwatch may write in"
    made: list[Path] = []  # folders this check creates, deepest first, removed again
    step = "cannot look at it"
    try:
        existing = folder
        while not existing.exists():
            made.append(existing)
            existing = existing.parent
        if not existing.is_dir():
            return Result("fail", f"{label}: cannot be created",
                          [f"{existing} is a file, not a folder"], todo)
        step = "cannot create it"
        folder.mkdir(parents=True, exist_ok=True)
        step = "cannot write a file in it"
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".migwatch-check-"):
            pass
    except OSError as exc:
        return Result("fail", f"{label}: not writable", [f"{step}: {exc.strerror or exc}"],
                      todo)
    finally:
        for path in made:
            with contextlib.suppress(OSError):
                path.rmdir()
    return Result("ok", f"{label}: {'writable' if not made else 'can be created'}")


def check_mail(settings: Settings, skip: bool) -> Result:
    """Log in to the mail server as delivery does, then say goodbye: nothing is sent."""
    smtp, recipients = settings.smtp, settings.digest.recipients
    if not recipients:
        return Result("warn", "mail: digest.recipients is empty",
                      ["issues are only written to the archive folder"])
    server = f"mail server {smtp.host}:{smtp.port}"
    if skip:
        return Result("skip", f"{server}: not checked (--no-smtp)")
    try:
        Mailer(smtp, smtp_password(smtp)).check()
    except MigwatchError as exc:
        return _failure(f"{server}: not usable", str(exc),
                        f"check the smtp settings in {SETTINGS_FILE}")
    tls = "SSL" if smtp.ssl else "STARTTLS" if smtp.starttls else "no TLS"
    login = f"logged in as {smtp.username}" if smtp.username else "no login"
    return Result("ok", f"{server}: connected ({tls}, {login}), "
                        f"{_count(len(recipients), 'recipient')}, nothing sent")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _print(result: Result) -> None:
    mark, style = MARKS[result.status]
    console.print(Text.assemble((mark, style), " ", result.line))
    for detail in result.details:
        console.print(Text(f"    {detail}"))
    if result.todo:
        console.print(Text(f"    → {result.todo}"))


@cli.command()
@click.option("--no-smtp", is_flag=True, help="Do not connect to the mail server.")
@click.pass_obj
def check(app: AppContext, no_smtp: bool) -> int:
    """Check the configuration, database, archive folder and mail server (sends nothing)."""
    app.is_preflight_done = True  # each file is checked, and reported, on its own below
    console.print(Text(f"configuration folder {app.config_path.absolute()}"))
    settings_result, settings = check_settings(app)
    checks: list[Callable[[], Result]] = [
        lambda: settings_result, partial(check_sources, app), partial(check_themes, app),
        partial(check_database, app),
    ]
    if settings is None:
        checks.append(lambda: Result(
            "skip", f"archive folder and mail: not checked ({SETTINGS_FILE} is invalid)"))
    else:
        checks += [partial(check_archive, settings), partial(check_mail, settings, no_smtp)]
    results = []
    for run_check in checks:  # printed one by one: the mail server may take a while
        results.append(run_check())
        _print(results[-1])
    counts = {status: sum(r.status == status for r in results) for status in MARKS}
    failed = counts["fail"] + counts["invalid"]
    summary = ", ".join(part for part, n in [
        (f"{failed} failed", failed), (f"{counts['ok']} passed", 1),
        (_count(counts["warn"], "warning"), counts["warn"]),
        (f"{counts['skip']} not checked", counts["skip"])] if n)
    if not failed:
        console.print(Text.assemble(("ready", "green"), f": {summary}"))
        return 0
    console.print(Text.assemble(("not ready", "red"), f": {summary}; fix what is marked ✗, "
                                "then run `migwatch check` again"))
    return 2 if counts["invalid"] else 1
