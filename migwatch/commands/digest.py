"""``migwatch digest``: build a week's issue into the archive and, with --send, mail it.

A week that has not started is refused (exit 2).  Built without ``--week``, an empty last
week says how many articles the week in progress already holds and how to preview it
(the usual case after a first collection).  ``--json`` prints one JSON object (the issue's
files and figures, and the delivery outcomes) instead of the human lines.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from config.errors import ConfigError
from config.schema import Settings
from db.digests import count_articles
from digest.deliver import resend_hint, send_digest
from digest.model import BuiltDigest, DeliveryReport
from digest.periods import current_week, iso_week_bounds, parse_week
from migwatch.cli import cli
from migwatch.cli import unwrapped_console as console
from migwatch.context import AppContext

STATUS_STYLE = {
    "sent": "green", "already-sent": "cyan", "dry-run": "cyan", "failed": "red",
    "given-up": "red", "skipped": "yellow",
}


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"--now {value!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@cli.command("digest")
@click.option("--week", metavar="YYYY-Www",
              help="ISO week to build, e.g. 2026-W48 [default: the last complete week].")
@click.option("--lang", type=click.Choice(["ja", "en"]),
              help="Language of the issue [default: digest.language].")
@click.option("--send", is_flag=True, help="Mail the issue to digest.recipients (once each).")
@click.option("--retry-given-up", is_flag=True,
              help="With --send: try the recipients given up on for this issue again.")
@click.option("--dry-run", is_flag=True,
              help="Write the mails as .eml files under <out>/outbox instead of sending.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Archive folder [default: digest.archive_dir].")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (files, figures, deliveries) instead of text.")
@click.option("--now", "now_text", hidden=True, metavar="ISO",
              help="Pretend it is this time (reproducible builds and tests).")
@click.pass_obj
def digest_command(
    app: AppContext, week: str | None, lang: str | None, send: bool, retry_given_up: bool,
    dry_run: bool, out: Path | None, as_json: bool, now_text: str | None,
) -> int:
    """Build the weekly digest (HTML, text, JSON, Atom) and optionally mail it."""
    from digest.build import build_digest, load_theme_infos  # heavy: see migwatch.cli
    settings = app.settings
    if retry_given_up and not send:
        raise ConfigError("--retry-given-up works only with --send")
    now = _parse_now(now_text)
    if week is not None:
        refuse_future_week(parse_week(week), settings, now)
    themes = load_theme_infos(app.config_path)
    built = build_digest(
        app.sessions, settings, themes, week=week, language=lang or settings.digest.language,
        now=now, out_dir=out,
    )
    hint = empty_week_hint(app, settings, built, now) if week is None else None
    if not as_json:
        state = "" if built.is_complete else " (in progress)"
        console.print(
            f"{built.period}{state}: {built.article_count} articles, {built.story_count} "
            f"events, {built.source_count} outlets",
            markup=False,
        )
        for path in (built.html_path, built.text_path, built.json_path, built.index_path,
                     built.feed_path):
            console.print(f"wrote {path}", markup=False)
        if hint:
            console.print(hint, markup=False)
    report = None
    if send or dry_run:
        outbox = (out if out is not None else Path(settings.digest.archive_dir)) / "outbox"
        report = send_digest(
            app.sessions, settings, built, now=now, dry_run_dir=outbox if dry_run else None,
            retry_given_up=retry_given_up,
        )
        if not as_json:
            print_report(report)
    if as_json:
        click.echo(json.dumps(json_summary(built, report, hint), ensure_ascii=False, indent=2))
    return 1 if report is not None and report.has_failures else 0


def refuse_future_week(period: str, settings: Settings, now: datetime) -> None:
    """ConfigError (exit 2) for a week that has not started at ``now``."""
    start, _ = iso_week_bounds(period, settings.tz)
    if start > now:
        local = start.astimezone(settings.tz)
        raise ConfigError(
            f"--week {period} has not started yet (it begins {local:%Y-%m-%d}); "
            f"the latest week is {current_week(now, settings.tz)}"
        )


def empty_week_hint(
    app: AppContext, settings: Settings, built: BuiltDigest, now: datetime
) -> str | None:
    """For an empty last week: how many articles this week already holds, and how to see it."""
    if not built.is_empty:
        return None
    this_week = current_week(now, settings.tz)
    start, end = iso_week_bounds(this_week, settings.tz)
    with app.sessions() as session:
        waiting = count_articles(session, start, end)
    if not waiting:
        return None
    return (
        f"{built.period} has no new articles; this week ({this_week}) already holds "
        f"{waiting} article{'' if waiting == 1 else 's'}: preview it with "
        f"migwatch digest --week {this_week}"
    )


def json_summary(
    built: BuiltDigest, report: DeliveryReport | None, hint: str | None
) -> dict[str, Any]:
    """What ``--json`` prints: the issue's files and figures, and the deliveries."""
    return {
        "period": built.period,
        "language": built.language,
        "is_complete": built.is_complete,
        "is_empty": built.is_empty,
        "subject": built.subject,
        "article_count": built.article_count,
        "event_count": built.story_count,
        "outlet_count": built.source_count,
        "highlights": built.document.get("highlights", []),
        "files": {
            "html": str(built.html_path), "text": str(built.text_path),
            "json": str(built.json_path), "index": str(built.index_path),
            "feed": str(built.feed_path),
        },
        "hint": hint,
        "deliveries": None if report is None else [
            {"recipient": o.recipient, "status": o.status, "attempts": o.attempts,
             "error": o.error, "path": str(o.path) if o.path else None}
            for o in report.outcomes
        ],
    }


def print_report(report: DeliveryReport) -> None:
    """One row per recipient: outcome, attempts, and the reason when it failed."""
    table = Table(title=f"delivery {report.period} ({report.language})", title_justify="left")
    for column in ("recipient", "status", "attempts", "note"):
        table.add_column(column, justify="right" if column == "attempts" else "left")
    for outcome in report.outcomes:
        style = STATUS_STYLE.get(outcome.status, "")
        note = outcome.error or (str(outcome.path) if outcome.path else "")
        table.add_row(
            escape(outcome.recipient), f"[{style}]{outcome.status}[/]", str(outcome.attempts),
            escape(note),
        )
    console.print(table)
    given_up = sum(outcome.status == "given-up" for outcome in report.outcomes)
    if given_up:
        console.print(
            f"given up on {given_up} recipient{'' if given_up == 1 else 's'}: check the "
            f"address and the smtp settings, then run: "
            f"{resend_hint(report.period, report.language)}",
            markup=False,
        )
