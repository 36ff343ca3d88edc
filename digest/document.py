"""The machine-readable issue: what integrations, the feeds and the tests read.

Contract: ``issue_document(ranked, subject=…, preheader=…, …)`` is pure and returns a
JSON-ready dict (format ``migwatch-issue/1``, documented in ``docs/digest.md``): the
week, the highlights, the themes with the events shown in each, the quiet themes, and
every event of the week with its theme(s), outlets, languages and member articles
(url, title, source key).  Text is sanitised and links are http(s) only, as on the page.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from db.times import as_utc
from digest.model import RankedDigest, RankedStory, StoryCluster
from digest.sanitize import plain_text, safe_url

FORMAT = "migwatch-issue/1"


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return as_utc(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _event(story: StoryCluster, language: str, placed: RankedStory | None,
           themes: list[str]) -> dict[str, Any]:
    lead = story.lead_for(language)
    return {
        "id": story.key,
        "title": plain_text(lead.title),
        "url": safe_url(lead.url),
        "theme": placed.theme_id if placed else None,
        "themes": themes,
        "score": round(placed.score, 4) if placed else 0.0,
        "outlets": [
            {"key": o.key, "name": plain_text(o.name) or o.key, "url": safe_url(o.url),
             "sources": list(o.source_keys)}
            for o in story.outlets
        ],
        "languages": list(story.languages),
        "first_seen_at": _time(story.first_seen_at),
        "articles": [
            {
                "url": safe_url(article.url),
                "title": plain_text(article.title),
                "source": article.sightings[0].source_key if article.sightings else None,
                "sources": [s.source_key for s in article.sightings],
                "language": article.language,
                "published_at": _time(article.published_at),
            }
            for article in story.articles
        ],
    }


def issue_document(
    ranked: RankedDigest, *, subject: str, preheader: str, built_at: datetime, tz: tzinfo,
    url: str | None,
) -> dict[str, Any]:
    """The issue as a JSON-ready dict."""
    lang = ranked.language
    placed: dict[str, RankedStory] = {}
    themes_of: dict[str, list[str]] = {}
    for section in ranked.sections:
        for item in (*section.stories, *section.more):
            placed[item.story.key] = item
            themes_of[item.story.key] = [item.theme_id, *item.other_themes]
    ordered = sorted(
        ranked.events,
        key=lambda s: (s.key not in placed, -(placed[s.key].score if s.key in placed else 0.0),
                       s.first_seen_at, s.lead.id),
    )
    start = as_utc(ranked.start).astimezone(tz).date()
    last = (as_utc(ranked.end).astimezone(tz) - timedelta(days=1)).date()
    counts = {t.theme.id: t for t in ranked.figures.themes}
    return {
        "format": FORMAT,
        "period": ranked.period,
        "language": lang,
        "start": start.isoformat(),
        "end": last.isoformat(),
        "is_complete": ranked.is_complete,
        "is_empty": ranked.is_empty,
        "built_at": _time(built_at),
        "subject": subject,
        "preheader": preheader,
        "url": url,
        "article_count": ranked.figures.article_count,
        "previous_article_count": ranked.figures.previous_article_count,
        "story_count": ranked.figures.story_count,
        "outlet_count": ranked.figures.source_count,
        "highlights": [item.story.key for item in ranked.highlights],
        "movers": [
            {"theme": t.theme.id, "count": t.count, "previous": t.previous}
            for t in ranked.movers
        ],
        "themes": [
            {
                "id": section.theme.id,
                "label": section.theme.label_for(lang),
                "count": counts[section.theme.id].count if section.theme.id in counts else 0,
                "previous": counts[section.theme.id].previous
                if section.theme.id in counts else 0,
                "events": [item.story.key for item in (*section.stories, *section.more)],
                "mentions": [item.story.key for item in section.mentions],
            }
            for section in ranked.sections
        ],
        "quiet_themes": [theme.id for theme in ranked.quiet],
        "events": [
            _event(story, lang, placed.get(story.key), themes_of.get(story.key, []))
            for story in ordered
        ],
        "sources": {
            "failing": [
                {"key": s.key, "name": plain_text(s.name), "state": s.state,
                 "consecutive_failures": s.consecutive_failures}
                for s in ranked.failing
            ],
            "silent": [
                {"key": s.key, "name": plain_text(s.name),
                 "last_new_article_at": _time(s.last_new_article_at)}
                for s in ranked.silent
            ],
        },
    }
