"""Reading pages: the latest issue and the archive, the article list and search, one
article, and the same search as JSON at ``/api/articles``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request, send_file
from sqlalchemy import select

from config.errors import ConfigError
from db.models import DigestIssue
from db.queries import article_count
from db.search import (
    ArticleDetail,
    ArticleQuery,
    SearchPage,
    article_detail,
    search_articles,
    sources_with_articles,
)
from db.search import search_words as split_words
from digest.periods import current_week, iso_week_bounds, parse_week, previous_week
from digest.sanitize import plain_text, safe_url
from migwatch.web.app import _, state
from migwatch.web.highlight import highlight, paragraphs, snippet
from migwatch.web.security import ARCHIVE_CSP

pages = Blueprint("reading", __name__)
PAGE_SIZE = 25
API_MAX = 200
_ARCHIVE_NAME = re.compile(
    r"^(\d{4}-W\d{2}\.(ja|en)\.(html|txt|json)|index\.html|feed(\.(ja|en))?\.atom)$")


@dataclass(frozen=True)
class Filters:
    """The filters of the article list, as given in the query string."""

    q: str = ""
    theme: str = ""
    source: str = ""
    language: str = ""
    week: str = ""
    digest: str = ""  # "" | "in" | "out"
    page: int = 1

    def as_args(self, **change: Any) -> dict[str, Any]:
        """The filters as query arguments, with ``change`` applied."""
        values = {"q": self.q, "theme": self.theme, "source": self.source,
                  "language": self.language, "week": self.week, "digest": self.digest}
        values.update(change)
        return {k: v for k, v in values.items() if v}


def _since(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"since={value!r}: write a date like 2026-11-24") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=state().app.settings.tz)


def _read_filters() -> Filters:
    args = request.args
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    week = args.get("week", "").strip()
    if week:
        week = parse_week(week)
    digest = args.get("digest", "")
    return Filters(q=args.get("q", "").strip(), theme=args.get("theme", ""),
                   source=args.get("source", ""), language=args.get("language", ""),
                   week=week, digest=digest if digest in ("in", "out") else "", page=page)


def _query(filters: Filters, limit: int, since: datetime | None = None) -> ArticleQuery:
    web = state()
    tz = web.app.settings.tz
    until = None
    week = filters.week
    if filters.digest and not week:
        week = current_week(web.clock(), tz)
    if week:
        since, until = iso_week_bounds(week, tz)
    only: frozenset[int] | None = None
    leave_out: frozenset[int] = frozenset()
    if filters.digest:
        from migwatch.web.digest_view import digest_article_ids
        shown = digest_article_ids(web.app, week, web.app.settings.digest.language, web.clock())
        if filters.digest == "in":
            only = shown
        else:
            leave_out = shown
    return ArticleQuery(
        words=split_words(filters.q), theme=filters.theme or None,
        source=filters.source or None, language=filters.language or None,
        since=since, until=until, only_ids=only, except_ids=leave_out,
        limit=limit, offset=(filters.page - 1) * limit)


def _search(query: ArticleQuery) -> SearchPage:
    with state().app.sessions() as session:
        return search_articles(session, query)


def _theme_labels() -> dict[str, str]:
    from migwatch.web.app import lang
    from migwatch.web.themes import current_themes
    return {t.id: t.label_for(lang()) for t in current_themes().config.themes}


def _recent_weeks(count: int = 12) -> list[str]:
    web = state()
    week = current_week(web.clock(), web.app.settings.tz)
    weeks = [week]
    for _i in range(count - 1):
        week = previous_week(week, web.app.settings.tz)
        weeks.append(week)
    return weeks


@pages.get("/")
def home() -> str:
    """The latest issue, the archive of issues and this week's newest articles."""
    web = state()
    with web.app.sessions() as session:
        issues = list(session.scalars(select(DigestIssue).order_by(
            DigestIssue.period.desc(), DigestIssue.language)))
    archive = Path(web.app.settings.digest.archive_dir)
    wanted = web.app.settings.digest.language  # the newest issue, in the digest's language
    latest = next((i for i in issues if i.period == issues[0].period and i.language == wanted),
                  issues[0]) if issues else None
    week = current_week(web.clock(), web.app.settings.tz)
    newest = _search(ArticleQuery(limit=10))
    with web.app.sessions() as session:
        stored = article_count(session)
    return render_template(
        "home.html", issues=issues, latest=latest, week=week, newest=newest, stored=stored,
        has_archive=archive.is_dir(), labels=_theme_labels(), words=())


@pages.get("/articles")
def articles() -> str:
    """Articles newest first (best match first when searching), with filters."""
    filters = _read_filters()
    result = _search(_query(filters, PAGE_SIZE))
    words = split_words(filters.q)
    with state().app.sessions() as session:
        known_sources = sources_with_articles(session)
    rows = [(hit, highlight(hit.title or _("(no title)"), words), snippet(hit.text, words),
             safe_url(hit.url)) for hit in result.hits]
    pages_total = max(1, -(-result.total // PAGE_SIZE))
    return render_template(
        "articles.html", filters=filters, result=result, rows=rows, words=words,
        labels=_theme_labels(), sources=known_sources, weeks=_recent_weeks(),
        pages_total=pages_total)


def _without_headline(texts: list[str], title: str) -> list[str]:
    """The paragraphs, less a first one that only repeats the headline."""
    return texts[1:] if texts and texts[0] == plain_text(title) else texts


@pages.get("/articles/<int:article_id>")
def article(article_id: int) -> str:
    """One article: its text, themes and reasons, sightings and story."""
    from migwatch.web.digest_view import story_of
    web = state()
    with web.app.sessions() as session:
        detail: ArticleDetail | None = article_detail(session, article_id)
    if detail is None:
        abort(404)
    week, story = story_of(web.app, article_id, detail.hit.first_seen_at)
    words = split_words(request.args.get("q", ""))
    tagged = {t.theme_id for t in detail.tags}
    themes = list(_theme_labels().items())
    return render_template(
        "article.html", detail=detail, hit=detail.hit, week=week, story=story,
        title=highlight(detail.hit.title or _("(no title)"), words),
        body=[highlight(p, words) for p in _without_headline(paragraphs(detail.hit.text),
                                                             detail.hit.title)],
        link=safe_url(detail.hit.url), labels=_theme_labels(), tagged=tagged,
        untagged=[(i, label) for i, label in themes if i not in tagged],
        sightings=[(s, safe_url(s.url)) for s in detail.sightings])


@pages.get("/api/articles")
def api_articles() -> Response:
    """The article search as JSON: ``q``, ``theme``, ``source``, ``since``, ``limit``.

    ``total`` counts at most ``db.search.COUNT_LIMIT`` matches; ``more`` says there are more.
    """
    args = request.args
    try:
        limit = min(API_MAX, max(1, int(args.get("limit", "50"))))
        offset = max(0, int(args.get("offset", "0")))
    except ValueError:
        abort(400)
    query = ArticleQuery(
        words=split_words(args.get("q", "")), theme=args.get("theme") or None,
        source=args.get("source") or None, language=args.get("language") or None,
        since=_since(args.get("since", "")), limit=limit, offset=offset)
    result = _search(query)
    return jsonify({
        "total": result.total,
        "more": result.is_more,  # true: more than "total" match (counting stops there)
        "articles": [
            {"id": h.id, "title": h.title, "url": safe_url(h.url), "source": h.source,
             "language": h.language,
             "published_at": h.published_at.isoformat() if h.published_at else None,
             "first_seen_at": h.first_seen_at.isoformat(), "themes": list(h.themes)}
            for h in result.hits
        ],
    })


@pages.get("/archive/<name>")
def archive_file(name: str) -> Response:
    """A file of the digest archive (issue pages run without script, sandboxed)."""
    if not _ARCHIVE_NAME.match(name):
        abort(404)
    path = Path(state().app.settings.digest.archive_dir).resolve() / name
    if not path.is_file():
        abort(404)
    response = send_file(path, max_age=60)
    response.headers["Content-Security-Policy"] = ARCHIVE_CSP
    return response
