"""``migwatch init``: a starter configuration directory and a migrated database."""

from __future__ import annotations

import shutil

import click

from config.loader import DEFAULTS_DIR, SETTINGS_FILE, SOURCES_FILE, THEMES_FILE
from migwatch.cli import cli, console
from migwatch.context import AppContext


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite existing configuration files.")
@click.pass_obj
def init(app: AppContext, force: bool) -> None:
    """Write a starter config directory and create or migrate the database."""
    app.config_path.mkdir(parents=True, exist_ok=True)
    for name in (SETTINGS_FILE, SOURCES_FILE, THEMES_FILE):
        target = app.config_path / name
        source = DEFAULTS_DIR / name
        if not source.exists():
            continue
        if target.exists() and not force:
            console.print(f"kept      {target}")
            continue
        shutil.copyfile(source, target)
        console.print(f"wrote     {target}")
    app.engine  # noqa: B018 — creates and migrates the database
    console.print(f"database  {app.engine.url.render_as_string(hide_password=True)} (up to date)")
    console.print("next: edit sources.yaml, then run `migwatch collect`")
