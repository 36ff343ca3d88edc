"""``migwatch demo``: collect → tag → digest against bundled sample sites, offline."""

from __future__ import annotations

import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.deliver import send_digest
from digest.periods import current_week
from migwatch.cli import cli, console
from migwatch.commands.collect import print_summary
from migwatch.context import AppContext
from migwatch.demo import prepare_demo
from migwatch.jobs import collect, tag
from migwatch.sampleweb import SampleWeb


@cli.command()
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path),
              default=Path("var/demo"), show_default=True,
              help="Where the demo writes its config, database and digest (wiped first).")
@click.option("--web", "with_web", is_flag=True,
              help="Then open the demo's data in the web app until Ctrl-C.")
def demo(root: Path, with_web: bool) -> int:
    """Run the whole pipeline offline against sample sites served on 127.0.0.1."""
    from digest.build import build_digest, load_theme_infos  # heavy: see migwatch.cli
    with SampleWeb() as web:  # the bundled demo sites
        paths = prepare_demo(root, web)
        console.print(f"sample sites serving on {web.base_url}")
        app = AppContext(config_path=paths.config, db_url=paths.db_url)
        try:
            summary = collect(app)
            print_summary(summary)
            tagged = tag(app)
            console.print(f"tagged {tagged.tagged} articles, {tagged.with_themes} with a theme")
            now = datetime.now(UTC)
            themes = load_theme_infos(app.config_path)
            built = {}
            for language in ("ja", "en"):
                # The sample articles were first seen just now: show this week, in progress.
                built[language] = build_digest(
                    app.sessions, app.settings, themes, week=current_week(now, app.settings.tz),
                    language=language, now=now, out_dir=paths.archive,
                )
            report = send_digest(app.sessions, app.settings, built[app.settings.digest.language],
                                 now=now, dry_run_dir=paths.outbox)
        finally:
            app.close()
    ja = built["ja"]
    console.print(f"\n{ja.article_count} articles, {ja.story_count} stories from "
                  f"{ja.source_count} sources in {ja.period}")
    console.print(f"mail (not sent, written as .eml): {len(report.outcomes)} in {paths.outbox}")
    console.print(f"Atom feed: {ja.feed_path}")
    console.print(f"English issue: {built['en'].html_path}")
    console.print(f"[bold]digest: {ja.html_path.resolve()}[/]")
    # the same executable that runs this demo (.venv/bin/migwatch after `make demo`), so the
    # line can be pasted as it is, without activating the virtual environment
    executable = Path(sys.executable).with_name("migwatch")
    program = "migwatch"
    if executable.exists():
        relative = os.path.relpath(executable)
        program = str(executable) if relative.startswith("..") else relative
    command = shlex.join([program, "--config", str(paths.config), "--db", paths.db_url, "web"])
    console.print(f"web app: {command}", markup=False, soft_wrap=True)
    if with_web:
        from migwatch.commands.web import run_web  # heavy: flask, waitress
        run_web(AppContext(config_path=paths.config, db_url=paths.db_url), "127.0.0.1", 8470)
    return 1 if summary.failed else 0

