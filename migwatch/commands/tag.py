"""``migwatch tag [--all]``: tag stored articles with the current themes.

Articles tagged with an older version of the rules are re-tagged; ``--all`` re-tags
every article.  Changing only labels, descriptions or examples in ``themes.yaml`` does
not change the version, so it re-tags nothing.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from digest.tagging.loader import load_theme_set
from digest.tagging.store import tag_stored_articles
from migwatch.cli import cli, console
from migwatch.context import AppContext


@cli.command()
@click.option("--all", "retag_all", is_flag=True, help="Re-tag every article, not only stale ones.")
@click.option("--themes", "themes_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A themes.yaml to use instead of the one in the configuration directory.")
@click.pass_obj
def tag(app: AppContext, retag_all: bool, themes_file: Path | None) -> None:
    """Tag articles not yet tagged with the current themes (or all with --all)."""
    loaded = load_theme_set(app.config_path, themes_file)
    path, theme_set = loaded.path, loaded.theme_set
    summary = tag_stored_articles(app.sessions, theme_set, retag_all=retag_all)
    table = Table(title="Tagging")
    table.add_column("themes file")
    table.add_column("version")
    table.add_column("tagged", justify="right")
    table.add_column("with a theme", justify="right")
    table.add_row(str(path), theme_set.version, str(summary.tagged), str(summary.with_themes))
    console.print(table)
