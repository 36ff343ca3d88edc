"""``migwatch themes list|test|classify``: see the themes and try the rules.

``test`` is how users tune ``themes.yaml``: for every theme it shows whether the text
matched, the score against the threshold, each term with its field and count, the
exclusions that fired and the requirement groups that had no hit.  ``classify`` runs the
rules over a JSON Lines file (``title`` and ``text`` per line) and writes each line back
with ``themes`` and ``reasons`` added, for evaluating rules on a batch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, Any

import click
from rich.markup import escape
from rich.table import Table

from config.errors import ConfigError
from config.themes import load_themes, themes_path
from digest.themes import ThemeSet, compile_themes, explain_article, tag_article
from migwatch.cli import cli, console
from migwatch.context import AppContext

_THEMES_OPTION = click.option(
    "--themes",
    "themes_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A themes.yaml to use instead of the one in the configuration directory.",
)
_LANG_OPTION = click.option(
    "--lang", type=click.Choice(["ja", "en"]), default="en", show_default=True,
    help="Language of labels and reasons.",
)


def load_theme_set(app: AppContext, themes_file: Path | None = None) -> tuple[Path, ThemeSet]:
    """The themes file in use (``--themes``, the user's, or the shipped one), compiled."""
    path = themes_file or themes_path(app.config_path)
    return path, compile_themes(load_themes(path))


@cli.group()
def themes() -> None:
    """See the themes and try their rules on text."""


@themes.command("list")
@_THEMES_OPTION
@_LANG_OPTION
@click.pass_obj
def list_themes(app: AppContext, themes_file: Path | None, lang: str) -> None:
    """List the themes with their labels, term counts and thresholds."""
    path, theme_set = load_theme_set(app, themes_file)
    table = Table(title=f"Themes from {path} (version {theme_set.version})")
    table.add_column("id", style="bold")
    table.add_column("label")
    table.add_column("description")
    table.add_column("terms", justify="right")
    table.add_column("threshold", justify="right")
    for theme in theme_set.themes:
        table.add_row(
            theme.id,
            escape(theme.label_for(lang)),
            escape(theme.description.for_lang(lang)),
            str(theme.term_count),
            f"{theme.threshold:g}",
        )
    console.print(table)


def _read_text(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


@themes.command("test")
@click.argument("text")
@click.option("--title", default="", help="A title to test along with TEXT (counts more).")
@_THEMES_OPTION
@_LANG_OPTION
@click.pass_obj
def test_themes(
    app: AppContext, text: str, title: str, themes_file: Path | None, lang: str
) -> None:
    """Show which themes TEXT matches and exactly why (TEXT '-' reads standard input)."""
    _, theme_set = load_theme_set(app, themes_file)
    body = _read_text(text)
    table = Table(title="Theme test")
    table.add_column("theme", style="bold")
    table.add_column("match")
    table.add_column("score / threshold", justify="right")
    table.add_column("terms (field ×count)")
    table.add_column("exclusions / missing")
    matched = 0
    for result in explain_article(title, body, theme_set):
        matched += result.is_match
        terms = "\n".join(escape(r.describe(lang)) for r in result.reasons) or "—"
        notes = [f"excluded: {escape(r.describe(lang))}" for r in result.exclusions]
        if result.reasons:  # a group is only worth showing when terms were found
            notes += [f"needs one of: {escape(', '.join(g[:6]))}{'…' if len(g) > 6 else ''}"
                      for g in result.missing_groups]
        notes += [f"not counted (context): {escape(t)}" for t in result.dropped_terms]
        if result.passing_mention:
            notes.append("passing mention only: needs a title hit, a lead hit or hits in "
                         "two sentences")
        if result.only_supporting:
            notes.append("only supporting terms: they add to a score but cannot tag alone")
        if result.dominated:
            notes.append("far below the article's main theme and not in the title")
        table.add_row(
            result.theme_id,
            "[green]yes[/green]" if result.is_match else "[dim]no[/dim]",
            f"{result.score:g} / {result.threshold:g}",
            terms,
            "\n".join(notes) or "—",
        )
    console.print(table)
    console.print(f"{matched} theme(s) matched.")


def _classify_line(line: str, number: int, source: str, theme_set: ThemeSet) -> str:
    try:
        item: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}:{number}: not a JSON object: {exc.msg}") from exc
    if not isinstance(item, dict):
        raise ConfigError(f"{source}:{number}: not a JSON object; expected {{\"title\", \"text\"}}")
    matches = tag_article(str(item.get("title") or ""), str(item.get("text") or ""), theme_set)
    item["themes"] = [m.theme_id for m in matches]
    item["reasons"] = {
        m.theme_id: [{"term": r.term, "field": r.field, "count": r.count} for r in m.reasons]
        for m in matches
    }
    return json.dumps(item, ensure_ascii=False)


@themes.command("classify")
@click.option("--jsonl", "jsonl", required=True,
              type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
              help="JSON Lines input, one object with title and text per line ('-' for stdin).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output.")
@_THEMES_OPTION
@click.pass_obj
def classify(app: AppContext, jsonl: Path, out: Path | None, themes_file: Path | None) -> None:
    """Add themes and reasons to every line of a JSON Lines file."""
    _, theme_set = load_theme_set(app, themes_file)
    source = str(jsonl)
    try:
        handle: IO[str] = (
            sys.stdin if source == "-" else jsonl.open(encoding="utf-8")
        )
    except OSError as exc:
        raise ConfigError(f"{jsonl}: cannot be read: {exc.strerror}") from exc
    lines = []
    with handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                lines.append(_classify_line(line, number, source, theme_set))
    output = "".join(f"{line}\n" for line in lines)
    if out is None:
        click.echo(output, nl=False)
        return
    try:
        out.write_text(output, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{out}: cannot be written: {exc.strerror}") from exc
    click.echo(f"{len(lines)} lines classified, written to {out}", err=True)
