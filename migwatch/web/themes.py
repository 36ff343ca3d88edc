"""Theme pages: every theme with this week's articles, "test a text", and the feedback
buttons on an article ("missed theme", "not this theme") that add it as an example to the
user's ``themes.yaml``, say which rule change would fix the verdict, and re-tag it."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from db.search import ArticleQuery, article_detail, search_articles
from digest.periods import current_week, iso_week_bounds
from digest.sanitize import plain_text, safe_url, shorten
from migwatch.themes_file import add_example, user_themes_path
from migwatch.web import tagger
from migwatch.web.app import lang, state
from migwatch.web.suggest import suggestions

pages = Blueprint("themes", __name__)
EXAMPLE_CHARS = 240


def current_themes() -> tagger.LoadedThemes:
    """The themes in use (the user's file, else the shipped one), reloaded when edited."""
    return tagger.load(state().app.config_path)


def example_text(title: str, text: str) -> str:
    """What an example of an article holds: its title and the start of its text."""
    title = plain_text(title)
    body = plain_text(text)
    if title and body.startswith(title):  # extracted text often opens with the headline
        body = body[len(title):].lstrip()
    return shorten(f"{title} {body}".strip(), EXAMPLE_CHARS)


@pages.get("/themes")
def themes_page() -> str:
    """Every theme with its label, description and this week's articles."""
    web = state()
    themes = current_themes()
    week = current_week(web.clock(), web.app.settings.tz)
    since, until = iso_week_bounds(week, web.app.settings.tz)
    rows = []
    with web.app.sessions() as session:
        for theme in themes.config.themes:
            found = search_articles(session, ArticleQuery(theme=theme.id, since=since,
                                                          until=until, limit=5))
            rows.append((theme, found))
    return render_template("themes.html", rows=rows, week=week, themes=themes,
                           verdicts=None, test_title="", test_text="",
                           retagged=request.args.get("retagged"))


@pages.post("/themes/retag")
def retag_all() -> ResponseReturnValue:
    """Tag again every stored article whose tags came from other rules (after an edit)."""
    tagged, _with_themes = tagger.retag_stale(state().app.sessions, current_themes())
    return redirect(url_for("themes.themes_page", retagged=tagged), code=303)


@pages.post("/themes/test")
def test_text() -> str:
    """The rules' verdict on a pasted text, theme by theme, with the reasons."""
    themes = current_themes()
    title = request.form.get("title", "")[:2000]
    text = request.form.get("text", "")[:100_000]
    verdicts = tagger.explain(themes, title, text)
    labels = {t.id: t.label_for(lang()) for t in themes.config.themes}
    return render_template("theme_test.html", verdicts=verdicts, labels=labels,
                           test_title=title, test_text=text)


@pages.post("/articles/<int:article_id>/feedback")
def feedback(article_id: int) -> str:
    """Add the article as a must / must-not example of a theme, explain, and re-tag."""
    web = state()
    kind = request.form.get("kind")
    theme_id = request.form.get("theme", "")
    if kind not in ("missed", "wrong"):
        abort(400)
    with web.app.sessions() as session:
        detail = article_detail(session, article_id)
    if detail is None:
        abort(404)
    themes = current_themes()
    labels = {t.id: t.label_for(lang()) for t in themes.config.themes}
    if theme_id not in labels:
        abort(400)
    path = user_themes_path(web.app.config_path)
    example = example_text(detail.hit.title, detail.hit.text)
    added = add_example(path, theme_id, "match" if kind == "missed" else "no_match", example)
    themes = current_themes()  # the user's file now, with the example
    verdict = next(v for v in tagger.explain(themes, detail.hit.title, detail.hit.text)
                   if v.theme_id == theme_id)
    with web.app.sessions() as session:
        now_tagged = tagger.retag(session, themes, article_id, detail.hit.title,
                                  detail.hit.text)
        session.commit()
    return render_template(
        "feedback.html", hit=detail.hit, link=safe_url(detail.hit.url), kind=kind,
        theme_id=theme_id, label=labels[theme_id], path=path, added=added, example=example,
        verdict=verdict, fixes=suggestions(verdict, kind, detail.hit.title, detail.hit.text),
        now_tagged=now_tagged, labels=labels)
