"""Rendering: a ranked issue becomes a mail subject, an HTML body, a text body and the
archive page.

Contract: ``render_digest`` is pure (handed ``now``, the time zone and the digest
settings).  Every string that came from a feed, a source or a server passes through
:mod:`digest.sanitize` here, right before the templates, and the HTML templates are
rendered with Jinja2 autoescaping on: sanitising removes markup, escaping makes what is
left inert.  Links are emitted only for http(s) URLs.

The HTML is built for mail clients: nested tables, inline ``style`` attributes, widths
in percent inside a 640 px column, bars drawn as coloured table cells, no images, no
scripts, nothing fetched from elsewhere.  The archive page is the same issue with the
stories beyond the per-theme budget listed under each theme ("+N more" links there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from config.schema import DigestSettings
from db.times import as_utc
from digest.i18n import format_date, format_short_date, language_name, translate
from digest.model import (
    RankedDigest,
    RankedStory,
    RenderedDigest,
    SourceHealth,
    ThemeSection,
)
from digest.sanitize import one_line, plain_text, safe_url, shorten

TEMPLATES = Path(__file__).parent / "templates"
SNIPPET_CHARS = {"ja": 80, "en": 160}
TITLE_CHARS = 200


@cache
def environment() -> Environment:
    """The Jinja2 environment: autoescaping for HTML and XML templates, strict names."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml", "atom"], default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class Link:
    """Text with an optional safe http(s) target."""

    text: str
    href: str | None


@dataclass(frozen=True)
class Entry:
    """One story as the templates show it: only plain, sanitised text."""

    anchor: str
    title: Link
    outlets: tuple[Link, ...]
    date: str
    languages: str
    snippet: str
    reason: str
    also: str
    shown_in: str


@dataclass(frozen=True)
class Bar:
    """A theme's counts and bar widths (percent) this week and last week."""

    label: str
    anchor: str | None
    count: int
    previous: int
    width: int
    previous_width: int


@dataclass(frozen=True)
class SectionView:
    """One theme's block."""

    anchor: str
    label: str
    entries: tuple[Entry, ...]
    more: tuple[Entry, ...]
    more_label: str
    more_href: str | None
    mentions: tuple[Entry, ...]


@dataclass(frozen=True)
class HealthRow:
    """A failing or silent source, ready to print."""

    name: str
    detail: str
    error: str


def digest_title(title: str) -> str:
    """The configured ``digest.title`` as plain text, ``migwatch`` when it has none."""
    return plain_text(title) or "migwatch"


def _local(moment: datetime, tz: tzinfo) -> datetime:
    return as_utc(moment).astimezone(tz)


def issue_filename(period: str, language: str, ext: str) -> str:
    """``2026-W48.ja.html`` and its siblings."""
    return f"{period}.{language}.{ext}"


def public_url(base_url: str, name: str) -> str | None:
    """``name`` in the archive folder at ``base_url``, or None when no base URL is configured."""
    base = safe_url(base_url.rstrip("/") + "/") if base_url else None
    return f"{base}{name}" if base else None


def issue_url(base_url: str, period: str, language: str, anchor: str = "") -> str | None:
    """The public URL of an archive page, or None when no base URL is configured."""
    return public_url(base_url, issue_filename(period, language, "html") + anchor)


def _entry(
    item: RankedStory, labels: dict[str, str], lang: str, tz: tzinfo
) -> Entry:
    story = item.story
    lead = story.lead
    title = shorten(plain_text(lead.title), TITLE_CHARS) or translate(lang, "untitled")
    outlets = tuple(
        Link(plain_text(s.source_name) or s.source_key, safe_url(s.url or lead.url))
        for s in story.sightings
    )
    moment = min(
        (a.published_at or a.first_seen_at for a in story.articles), default=lead.first_seen_at
    )
    codes = sorted({a.language for a in story.articles if a.language})
    terms = ", ".join(plain_text(term) for term in item.terms if plain_text(term))
    return Entry(
        anchor=f"story-{lead.id}",
        title=Link(title, safe_url(lead.url)),
        outlets=outlets,
        date=format_date(_local(moment, tz), lang),
        languages=", ".join(language_name(code, lang) for code in codes) or "?",
        snippet=shorten(plain_text(lead.summary), SNIPPET_CHARS.get(lang, 200)),
        reason=translate(lang, "matched_terms", terms=terms) if terms else "",
        also=translate(lang, "also_in", themes=", ".join(labels[t] for t in item.other_themes))
        if item.other_themes
        else "",
        shown_in=translate(lang, "shown_in", theme=labels.get(item.theme_id, item.theme_id)),
    )


def _section(
    section: ThemeSection,
    labels: dict[str, str],
    ranked: RankedDigest,
    settings: DigestSettings,
    tz: tzinfo,
) -> SectionView:
    lang = ranked.language
    theme_id = section.theme.id
    count = len(section.more)
    return SectionView(
        anchor=f"theme-{theme_id}",
        label=section.theme.label_for(lang),
        entries=tuple(_entry(item, labels, lang, tz) for item in section.stories),
        more=tuple(_entry(item, labels, lang, tz) for item in section.more),
        more_label=translate(lang, "more", count=count),
        more_href=issue_url(settings.base_url, ranked.period, lang, f"#more-{theme_id}"),
        mentions=tuple(_entry(item, labels, lang, tz) for item in section.mentions),
    )


def _bars(ranked: RankedDigest) -> tuple[Bar, ...]:
    themes = ranked.figures.themes
    top = max([1] + [max(t.count, t.previous) for t in themes])
    shown = {s.theme.id for s in ranked.sections}

    def width(value: int) -> int:
        return 0 if value == 0 else max(2, round(value * 100 / top))

    return tuple(
        Bar(
            label=t.theme.label_for(ranked.language),
            anchor=f"#theme-{t.theme.id}" if t.theme.id in shown else None,
            count=t.count,
            previous=t.previous,
            width=width(t.count),
            previous_width=width(t.previous),
        )
        for t in themes
    )


def _failing_detail(source: SourceHealth, lang: str) -> str:
    parts = []
    if source.consecutive_failures:
        parts.append(translate(lang, "failures", count=source.consecutive_failures))
    if source.state == "paused":
        parts.append(translate(lang, "paused"))
    return " · ".join(parts)


def _health_rows(
    failing: Sequence[SourceHealth], silent: Sequence[SourceHealth], lang: str, tz: tzinfo
) -> tuple[tuple[HealthRow, ...], tuple[HealthRow, ...]]:
    broken = tuple(
        HealthRow(
            name=plain_text(s.name) or s.key,
            detail=_failing_detail(s, lang),
            error=one_line(s.last_error, 200),
        )
        for s in failing
    )
    quiet = tuple(
        HealthRow(
            name=plain_text(s.name) or s.key,
            detail=translate(
                lang,
                "last_new",
                date=format_date(_local(s.last_new_article_at, tz), lang)
                if s.last_new_article_at
                else translate(lang, "never"),
            ),
            error="",
        )
        for s in silent
    )
    return broken, quiet


def render_subject(ranked: RankedDigest, title: str) -> str:
    """The mail subject: name, week, counts, and a mark when the week is unfinished."""
    lang = ranked.language
    subject = translate(
        lang,
        "subject",
        title=digest_title(title),
        period=ranked.period,
        articles=ranked.figures.article_count,
        stories=ranked.figures.story_count,
    )
    if not ranked.is_complete:
        subject = f"{subject} {translate(lang, 'in_progress')}"
    return subject


def render_digest(
    ranked: RankedDigest, settings: DigestSettings, *, tz: tzinfo, now: datetime
) -> RenderedDigest:
    """Render an issue into subject, mail HTML, mail text and the archive page."""
    lang = ranked.language
    labels = {t.theme.id: t.theme.label_for(lang) for t in ranked.figures.themes}
    start = _local(ranked.start, tz)
    last_day = _local(ranked.end, tz) - timedelta(days=1)
    failing, silent = _health_rows(ranked.failing, ranked.silent, lang, tz)
    subject = render_subject(ranked, settings.title)
    context = {
        "lang": lang,
        "t": lambda key, **values: translate(lang, key, **values),
        "subject": subject,
        "title": digest_title(settings.title),
        "period": ranked.period,
        "period_range": translate(
            lang,
            "period_range",
            start=format_date(start, lang),
            end=format_short_date(last_day, lang) if start.year == last_day.year
            else format_date(last_day, lang),
        ),
        "is_complete": ranked.is_complete,
        "as_of": format_date(_local(now, tz), lang) + _local(now, tz).strftime(" %H:%M"),
        "figures": ranked.figures,
        "bars": _bars(ranked),
        "sections": tuple(_section(s, labels, ranked, settings, tz) for s in ranked.sections),
        "failing": failing,
        "silent": silent,
        "silent_days": max(1, round(settings.silent_after / timedelta(days=1))),
        "archive_url": issue_url(settings.base_url, ranked.period, lang),
    }
    env = environment()
    html = env.get_template("digest.html").render(context, is_archive=False)
    archive_html = env.get_template("digest.html").render(context, is_archive=True)
    text = env.get_template("digest.txt").render(context)
    return RenderedDigest(subject=subject, html=html, text=text, archive_html=archive_html)
