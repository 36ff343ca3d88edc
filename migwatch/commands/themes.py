"""``migwatch themes list|test|classify|misses``: see the themes and tune the rules.

``test`` is how users tune ``themes.yaml``: for every theme it shows whether the text (or a
stored article, ``--article ID|URL``) matched, the score against the threshold, each term
with its field and count, the exclusions that fired and the requirement groups that had no
hit; ``--json`` prints the same as data.  ``misses`` lists stored articles with evidence
for a theme that stayed below its threshold: what the rules lose.  ``classify`` runs the
rules over a JSON Lines file (``title`` and ``text`` per line) and writes each line back
with ``themes`` and ``reasons`` added.  Tables speak the configured digest language
unless ``--lang`` says otherwise.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import click
from rich.markup import escape
from rich.table import Table

from config.errors import ConfigError, did_you_mean
from config.i18n import gettext
from crawler.urls import canonicalize_url
from db.queries import ExportRow, export_articles
from digest.tagging.compile import ThemeSet
from digest.tagging.explain import explain_article, explanation_dict, notes
from digest.tagging.loader import LoadedThemes, load_theme_set
from digest.tagging.match import tag_article
from migwatch.cli import cli, console
from migwatch.context import AppContext

_THEMES_OPTION = click.option(
    "--themes",
    "themes_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A themes.yaml to use instead of the one in the configuration directory.",
)
_LANG_OPTION = click.option(
    "--lang", type=click.Choice(["ja", "en"]), default=None,
    help="Language of labels and reasons (default: the digest's language).",
)


def _loaded(app: AppContext, themes_file: Path | None) -> LoadedThemes:
    return load_theme_set(app.config_path, themes_file)


def _lang(app: AppContext, lang: str | None) -> str:
    return lang or app.settings.digest.language


@cli.group()
def themes() -> None:
    """See the themes and try their rules on text."""



def check_theme_id(theme_id: str, ids: Sequence[str]) -> None:
    """Refuse an unknown ``--theme`` as a usage error, suggesting the closest theme id."""
    if theme_id not in ids:
        raise click.BadParameter(
            f"{theme_id!r} is not a theme{did_you_mean(theme_id, ids)} "
            f"(themes: {', '.join(ids)})", param_hint="--theme")


@themes.command("list")
@_THEMES_OPTION
@_LANG_OPTION
@click.pass_obj
def list_themes(app: AppContext, themes_file: Path | None, lang: str | None) -> None:
    """List the themes with their labels, term counts and thresholds."""
    loaded = _loaded(app, themes_file)
    lang = _lang(app, lang)

    def _(message: str, **values: object) -> str:
        return gettext(lang, message, **values)

    theme_set = loaded.theme_set
    table = Table(title=_("Themes from {path} (version {version})", path=loaded.path,
                          version=theme_set.version))
    table.add_column(_("id"), style="bold")
    table.add_column(_("label"))
    table.add_column(_("description"))
    table.add_column(_("terms"), justify="right")
    table.add_column(_("threshold"), justify="right")
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


def _find_article(app: AppContext, wanted: str) -> ExportRow:
    """A stored article by id or by (canonical) URL; a usage error naming it when absent."""
    url = None if wanted.isdigit() else canonicalize_url(wanted)
    if not wanted.isdigit() and url is None:
        raise click.BadParameter(f"{wanted!r} is not an article id or an http(s) URL; "
                                 "see `migwatch export` for ids", param_hint="--article")
    with app.sessions() as session:
        for row in export_articles(session):
            if (url is None and row.id == int(wanted)) or (url and row.canonical_url == url):
                return row
    raise click.BadParameter(f"no stored article with id or URL {wanted!r}; "
                             "see `migwatch export` for ids", param_hint="--article")


@themes.command("test")
@click.argument("text", required=False)
@click.option("--title", default="", help="A title to test along with TEXT (counts more).")
@click.option("--article", "article", metavar="ID|URL",
              help="Explain a stored article (its id or URL) instead of TEXT.")
@click.option("--json", "as_json", is_flag=True, help="Print the decisions as JSON.")
@_THEMES_OPTION
@_LANG_OPTION
@click.pass_obj
def test_themes(
    app: AppContext, text: str | None, title: str, article: str | None, as_json: bool,
    themes_file: Path | None, lang: str | None,
) -> None:
    """Show which themes TEXT matches and exactly why (TEXT '-' reads standard input)."""
    theme_set = _loaded(app, themes_file).theme_set
    lang = _lang(app, lang)

    def _(message: str, **values: object) -> str:
        return gettext(lang, message, **values)

    if article is not None:
        if text is not None:
            raise click.UsageError(_("give TEXT or --article, not both"))
        row = _find_article(app, article)
        title, body, heading = row.title or "", row.text or "", f"#{row.id} {row.title or ''}"
    elif text is None:
        raise click.UsageError(_("give TEXT ('-' for standard input) or --article ID|URL"))
    else:
        body, heading = _read_text(text), ""
    results = explain_article(title, body, theme_set)
    if as_json:
        click.echo(json.dumps({"title": title, "themes_version": theme_set.version,
                               "matched": [r.theme_id for r in results if r.is_match],
                               "themes": [explanation_dict(r, lang) for r in results]},
                              ensure_ascii=False, indent=2))
        return
    table = Table(title=_("Theme test") + (f": {escape(heading)}" if heading else ""))
    table.add_column(_("theme"), style="bold")
    table.add_column(_("match"))
    table.add_column(_("score / threshold"), justify="right")
    table.add_column(_("terms (field ×count)"))
    table.add_column(_("exclusions / missing"))
    matched = 0
    for result in results:
        matched += result.is_match
        terms = "\n".join(escape(r.describe(lang)) for r in result.reasons) or "—"
        table.add_row(
            result.theme_id,
            f"[green]{_('yes')}[/green]" if result.is_match else f"[dim]{_('no')}[/dim]",
            f"{result.score:g} / {result.threshold:g}",
            terms,
            "\n".join(escape(n) for n in notes(result, lang)) or "—",
        )
    console.print(table)
    console.print(_("{count} theme(s) matched.", count=matched))


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date; write it like 2026-11-30",
                                 param_hint="--since") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@themes.command("misses")
@click.option("--theme", "theme_id", required=True, help="The theme id (see `themes list`).")
@click.option("--since", "since", metavar="DATE", help="Only articles first seen on or after.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@_THEMES_OPTION
@_LANG_OPTION
@click.pass_obj
def misses(app: AppContext, theme_id: str, since: str | None, limit: int,
           themes_file: Path | None, lang: str | None) -> None:
    """List stored articles with evidence for a theme that stayed below its threshold."""
    theme_set: ThemeSet = _loaded(app, themes_file).theme_set
    lang = _lang(app, lang)

    def _(message: str, **values: object) -> str:
        return gettext(lang, message, **values)

    check_theme_id(theme_id, theme_set.ids)
    table = Table(title=_("Near misses for {theme}", theme=theme_id))
    table.add_column(_("article"), justify="right")
    table.add_column(_("title"))
    table.add_column(_("score / threshold"), justify="right")
    table.add_column(_("terms (field ×count)"))
    table.add_column(_("why not"))
    shown = 0
    with app.sessions() as session:
        for row in export_articles(session, since=_parse_since(since)):
            result = next(r for r in explain_article(row.title or "", row.text or "", theme_set)
                          if r.theme_id == theme_id)
            if result.is_match or not result.has_evidence:
                continue
            table.add_row(str(row.id), escape(row.title or ""),
                          f"{result.score:g} / {result.threshold:g}",
                          "\n".join(escape(r.describe(lang)) for r in result.reasons),
                          "\n".join(escape(n) for n in notes(result, lang)) or "—")
            shown += 1
            if shown >= limit:
                break
    console.print(table)
    console.print(_("{count} article(s) with evidence below the threshold.", count=shown))


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
    theme_set = _loaded(app, themes_file).theme_set
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
