"""``migwatch search TEXT``: the web app's article search on the command line."""

from __future__ import annotations

from datetime import datetime

import click
from rich.markup import escape

from db.search import ArticleQuery, search_articles, search_words
from migwatch.cli import cli
from migwatch.cli import unwrapped_console as console
from migwatch.commands.sources import format_when
from migwatch.context import AppContext


@cli.command()
@click.argument("text")
@click.option("--theme", help="Only articles tagged with this theme id.")
@click.option("--source", help="Only articles seen in this source (its key).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
              help="Only articles first seen on or after this date (configured time zone).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500),
              help="How many to show.")
@click.pass_obj
def search(app: AppContext, text: str, theme: str | None, source: str | None,
           since: datetime | None, limit: int) -> None:
    """Find stored articles whose title or text holds every word of TEXT (Japanese too)."""
    settings = app.settings
    if theme is not None:
        from digest.tagging.loader import load_theme_set
        from migwatch.commands.themes import check_theme_id

        check_theme_id(theme, load_theme_set(app.config_path).theme_set.ids)
    query = ArticleQuery(words=search_words(text), theme=theme, source=source,
                         since=since.replace(tzinfo=settings.tz) if since else None,
                         limit=limit)
    with app.sessions() as session:
        page = search_articles(session, query)
    if page.is_more:
        console.print(f"more than {page.total} articles match; newest first:")
    elif page.total:
        console.print(f"{page.total} articles match; best first:")
    else:
        console.print("no article matches; try fewer words or another spelling")
    for hit in page.hits:
        when = format_when(hit.published_at or hit.first_seen_at, settings)
        themes = f"  [dim]{', '.join(hit.themes)}[/]" if hit.themes else ""
        console.print(f"{when}  [bold]{escape(hit.title or '(no title)')}[/]{themes}")
        console.print(f"{'':16}  {escape(hit.source)} · {escape(hit.url or '—')}  "
                      f"[dim]#{hit.id}[/]")
