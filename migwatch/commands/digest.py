"""``migwatch digest``: build a week's issue into the archive and, with --send, mail it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from config.errors import ConfigError
from digest.deliver import resend_hint, send_digest
from digest.model import DeliveryReport
from migwatch.cli import cli
from migwatch.cli import unwrapped_console as console
from migwatch.context import AppContext

STATUS_STYLE = {
    "sent": "green", "already-sent": "cyan", "dry-run": "cyan", "failed": "red",
    "given-up": "red",
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
@click.option("--now", "now_text", hidden=True, metavar="ISO",
              help="Pretend it is this time (reproducible builds and tests).")
@click.pass_obj
def digest_command(
    app: AppContext, week: str | None, lang: str | None, send: bool, retry_given_up: bool,
    dry_run: bool, out: Path | None, now_text: str | None,
) -> int:
    """Build the weekly digest (HTML, text, Atom) and optionally mail it."""
    from digest.build import build_digest, load_theme_infos  # heavy: see migwatch.cli
    settings = app.settings
    if retry_given_up and not send:
        raise ConfigError("--retry-given-up works only with --send")
    now = _parse_now(now_text)
    themes = load_theme_infos(app.config_path)
    built = build_digest(
        app.sessions, settings, themes, week=week, language=lang or settings.digest.language,
        now=now, out_dir=out,
    )
    state = "" if built.is_complete else " (in progress)"
    console.print(
        f"{built.period}{state}: {built.article_count} articles, {built.story_count} stories, "
        f"{built.source_count} sources",
        markup=False,
    )
    for path in (built.html_path, built.text_path, built.index_path, built.feed_path):
        console.print(f"wrote {path}", markup=False)
    if not (send or dry_run):
        return 0
    outbox = (out if out is not None else Path(settings.digest.archive_dir)) / "outbox"
    report = send_digest(
        app.sessions, settings, built, now=now, dry_run_dir=outbox if dry_run else None,
        retry_given_up=retry_given_up,
    )
    print_report(report)
    return 1 if report.has_failures else 0


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
