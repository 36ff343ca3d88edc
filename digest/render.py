"""Rendering: a ranked issue becomes a mail subject, a preheader, an HTML body, a text
body and the archive page.

Contract: ``render_digest`` is pure (handed ``now``, the time zone and the digest
settings).  Every string that came from a feed, a source or a server passes through
:mod:`digest.sanitize` here, right before the templates, and the HTML templates are
rendered with Jinja2 autoescaping on: sanitising removes markup, escaping makes what is
left inert.  Links are emitted only for http(s) URLs.  The words are the shared gettext
catalogue's (:mod:`config.i18n`, English msgids, Japanese in the ``.po``).

An issue opens with its highlights (the week's top events and the themes that moved),
then one block per theme with news; themes without any are named on one line.  The HTML
is built for mail clients: nested tables, inline ``style`` attributes, widths in percent
inside a 640 px column, bars drawn as coloured table cells, no images, no scripts,
nothing fetched from elsewhere, and a hidden preheader line for the inbox preview.

Size budget: Gmail clips a message above about 102 KB, hiding the end of the issue (the
source health).  The mail HTML is kept under :data:`MAIL_BUDGET_BYTES` by lowering the
entries shown per theme until it fits; what is cut is counted in "+N more" and listed on
the archive page, which holds every event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from config.i18n import gettext, ngettext
from config.schema import DigestSettings
from db.times import as_utc
from digest.dates import format_date, format_period, format_short_date
from digest.model import (
    RankedDigest,
    RankedStory,
    RenderedDigest,
    SourceHealth,
    StoryCluster,
    ThemeSection,
)
from digest.sanitize import plain_text, safe_url, shorten

TEMPLATES = Path(__file__).parent / "templates"
# summary length by the language of the summary, not of the issue: an English summary is
# as long in the Japanese issue as in the English one
SNIPPET_CHARS = {"ja": 110, "en": 220}
TITLE_CHARS = 200
SUBJECT_HEADLINE_CHARS = {"ja": 40, "en": 70}
PREHEADER_CHARS = 140
MAIL_BUDGET_BYTES = 90_000
MAX_OUTLET_NAMES = 6


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
    """One event as the templates show it: only plain, sanitised text."""

    anchor: str
    title: Link
    outlets: tuple[Link, ...]
    more_outlets: int
    reach: str  # 「4媒体・日英」 / "4 outlets · Japanese and English"
    date: str
    snippet: str
    reason: str
    theme: str
    shown_in: str


@dataclass(frozen=True)
class Bar:
    """A theme's count, its change against last week, and the bar widths (percent)."""

    label: str
    anchor: str | None
    count: int
    previous: int
    change: str
    width: int
    previous_width: int


@dataclass(frozen=True)
class SectionView:
    """One theme's block."""

    anchor: str
    theme_id: str
    label: str
    entries: tuple[Entry, ...]
    more: tuple[Entry, ...]  # listed on the archive page only
    more_count: int
    more_label: str
    more_href: str | None
    mentions: tuple[Entry, ...]


@dataclass(frozen=True)
class HealthRow:
    """A failing or silent source, in the reader's words."""

    name: str
    detail: str


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


def languages_text(codes: Sequence[str], lang: str) -> str:
    """The languages an event was reported in: 「日英」, "Japanese and English"."""
    known = [code for code in ("ja", "en") if code in codes]
    if len(known) == 2 and len(codes) == 2:
        return gettext(lang, "Japanese and English")
    names = {"ja": "Japanese", "en": "English"}
    return ", ".join(gettext(lang, names[code]) if code in names else code for code in codes)


def reach_text(story: StoryCluster, lang: str) -> str:
    """How widely an event was reported: outlets and languages."""
    outlets = ngettext(lang, "{count} outlet", "{count} outlets", len(story.outlets))
    codes = story.languages
    return f"{outlets}{gettext(lang, ' · ')}{languages_text(codes, lang)}" if codes else outlets


def event_title(story: StoryCluster, lang: str) -> Link:
    """The event's best headline in the issue's language, with its link."""
    lead = story.lead_for(lang)
    title = shorten(plain_text(lead.title), TITLE_CHARS) or gettext(lang, "(untitled)")
    return Link(title, safe_url(lead.url))


def _entry(
    item: RankedStory, labels: dict[str, str], lang: str, tz: tzinfo, *, compact: bool = False
) -> Entry:
    story = item.story
    lead = story.lead_for(lang)
    # only the outlets an entry names; the rest are counted
    outlets = tuple(
        Link(plain_text(o.name) or o.key, safe_url(o.url or lead.url))
        for o in story.outlets[:MAX_OUTLET_NAMES]
    )
    moment = min(
        (a.published_at or a.first_seen_at for a in story.articles), default=lead.first_seen_at
    )
    summary = "" if compact else plain_text(lead.summary)
    summary_lang = (lead.language or lang).split("-")[0]
    terms = "" if compact else gettext(lang, ", ").join(
        plain_text(term) for term in item.terms if plain_text(term)
    )
    reason = gettext(lang, "matched {terms}", terms=terms) if terms else ""
    if item.other_themes and not compact:
        also = gettext(
            lang, "also {themes}",
            themes=gettext(lang, ", ").join(labels[t] for t in item.other_themes),
        )
        reason = f"{reason}{gettext(lang, '; ')}{also}" if reason else also
    theme = labels.get(item.theme_id, item.theme_id)
    return Entry(
        anchor=story.key,
        title=event_title(story, lang),
        outlets=outlets,
        more_outlets=max(0, len(story.outlets) - MAX_OUTLET_NAMES),
        reach=reach_text(story, lang),
        date=format_short_date(_local(moment, tz), lang),
        snippet=shorten(summary, SNIPPET_CHARS.get(summary_lang, 200)),
        reason=reason,
        theme=theme,
        shown_in=gettext(lang, "→ {theme}", theme=theme),
    )


class _Entries:
    """The entries of one issue, each made once: the archive page and every mail size
    tried under the budget show the same events (keyed by the ranked item's identity;
    the issue holds every item for as long as it renders)."""

    def __init__(self, labels: dict[str, str], lang: str, tz: tzinfo) -> None:
        self.labels, self.lang, self.tz = labels, lang, tz
        self.made: dict[tuple[int, bool], Entry] = {}

    def __call__(self, item: RankedStory, *, compact: bool = False) -> Entry:
        key = (id(item), compact)
        entry = self.made.get(key)
        if entry is None:
            entry = self.made[key] = _entry(item, self.labels, self.lang, self.tz,
                                            compact=compact)
        return entry


def _section(
    section: ThemeSection,
    entry: _Entries,
    ranked: RankedDigest,
    settings: DigestSettings,
    cap: int,
    is_archive: bool,
) -> SectionView:
    lang = ranked.language
    theme_id = section.theme.id
    shown = section.stories[:cap]
    rest = section.stories[cap:] + section.more
    return SectionView(
        anchor=f"theme-{theme_id}",
        theme_id=theme_id,
        label=section.theme.label_for(lang),
        entries=tuple(entry(item) for item in shown),
        more=tuple(entry(item, compact=True) for item in rest) if is_archive else (),
        more_count=len(rest),
        more_label=gettext(lang, "+{count} more", count=len(rest)),
        more_href=issue_url(settings.base_url, ranked.period, lang, f"#more-{theme_id}"),
        mentions=tuple(entry(item) for item in section.mentions),
    )


def change_text(count: int, previous: int) -> str:
    """The week-over-week change: ``+8``, ``−2``, ``±0``."""
    delta = count - previous
    return f"+{delta}" if delta > 0 else f"−{-delta}" if delta < 0 else "±0"


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
            change=change_text(t.count, t.previous),
            width=width(t.count),
            previous_width=width(t.previous),
        )
        for t in themes
    )


def failing_detail(source: SourceHealth, lang: str) -> str:
    """What a reader needs to know of a failing source; operator detail is for ``status``."""
    if source.state == "paused":
        return gettext(lang, "paused after repeated failures")
    return ngettext(
        lang, "could not be fetched ({count} time in a row)",
        "could not be fetched ({count} times in a row)", source.consecutive_failures,
    )


def _health_rows(
    failing: Sequence[SourceHealth], silent: Sequence[SourceHealth], lang: str, tz: tzinfo
) -> tuple[tuple[HealthRow, ...], tuple[HealthRow, ...]]:
    broken = tuple(
        HealthRow(name=plain_text(s.name) or s.key, detail=failing_detail(s, lang))
        for s in failing
    )
    quiet = tuple(
        HealthRow(
            name=plain_text(s.name) or s.key,
            detail=gettext(
                lang, "last new article {date}",
                date=format_date(_local(s.last_new_article_at, tz), lang),
            )
            if s.last_new_article_at
            else gettext(lang, "no article yet"),
        )
        for s in silent
    )
    return broken, quiet


def render_subject(ranked: RankedDigest, title: str) -> str:
    """The mail subject: name, week, the lead headline, and a mark for an unfinished week."""
    lang = ranked.language
    name = digest_title(title)
    if ranked.highlights:
        headline = shorten(event_title(ranked.highlights[0].story, lang).text,
                           SUBJECT_HEADLINE_CHARS.get(lang, 70))
        others = sum(len(s.stories) + len(s.more) for s in ranked.sections) - 1
        if others > 0:
            subject = ngettext(
                lang, "[{title}] {period}: {headline} and {count} more event",
                "[{title}] {period}: {headline} and {count} more events", others,
                title=name, period=ranked.period, headline=headline,
            )
        else:
            subject = gettext(lang, "[{title}] {period}: {headline}", title=name,
                              period=ranked.period, headline=headline)
    elif ranked.is_empty:
        subject = gettext(lang, "[{title}] {period}: no new articles", title=name,
                          period=ranked.period)
    else:
        subject = ngettext(
            lang, "[{title}] {period}: {count} new article, none on a theme",
            "[{title}] {period}: {count} new articles, none on a theme",
            ranked.figures.article_count, title=name, period=ranked.period,
        )
    if not ranked.is_complete:
        subject = gettext(lang, "{text} (in progress)", text=subject)
    return subject


def render_preheader(ranked: RankedDigest) -> str:
    """The inbox preview line: the week's highlights after the lead, or its figures."""
    lang = ranked.language
    titles = [event_title(item.story, lang).text for item in ranked.highlights[1:]]
    counts = ngettext(lang, "{count} new article", "{count} new articles",
                      ranked.figures.article_count)
    if not titles:
        return counts
    return shorten(f"{gettext(lang, ' / ').join(titles)} — {counts}", PREHEADER_CHARS)


def _context(
    ranked: RankedDigest, settings: DigestSettings, tz: tzinfo, now: datetime, cap: int,
    entry: _Entries, *, is_archive: bool = False,
) -> dict[str, Any]:
    lang = ranked.language
    start = _local(ranked.start, tz)
    last_day = _local(ranked.end, tz) - timedelta(days=1)
    failing, silent = _health_rows(ranked.failing, ranked.silent, lang, tz)
    moment = _local(now, tz)
    return {
        "lang": lang,
        "t": lambda message, **values: gettext(lang, message, **values),
        "n": lambda one, many, count, **values: ngettext(lang, one, many, count, **values),
        "subject": render_subject(ranked, settings.title),
        "preheader": render_preheader(ranked),
        "title": digest_title(settings.title),
        "period": ranked.period,
        "period_range": format_period(start, last_day, lang),
        "is_complete": ranked.is_complete,
        "is_empty": ranked.is_empty,
        "as_of": f"{format_date(moment, lang)} {moment:%H:%M}",
        "figures": ranked.figures,
        "highlights": tuple(entry(item) for item in ranked.highlights),
        "movers": tuple(
            f"{t.theme.label_for(lang)} {change_text(t.count, t.previous)}" for t in ranked.movers
        ),
        "quiet": tuple(theme.label_for(lang) for theme in ranked.quiet),
        "bars": _bars(ranked),
        "sections": tuple(
            _section(s, entry, ranked, settings, cap, is_archive) for s in ranked.sections
        ),
        "failing": failing,
        "silent": silent,
        "silent_days": max(1, round(settings.silent_after / timedelta(days=1))),
        "archive_url": issue_url(settings.base_url, ranked.period, lang),
        "is_archive": is_archive,
    }


def render_digest(
    ranked: RankedDigest, settings: DigestSettings, *, tz: tzinfo, now: datetime
) -> RenderedDigest:
    """Render an issue into subject, preheader, mail HTML and text, and the archive page."""
    env = environment()
    page = env.get_template("digest.html")
    cap = settings.max_per_theme
    lang = ranked.language
    labels = {t.theme.id: t.theme.label_for(lang) for t in ranked.figures.themes}
    entry = _Entries(labels, lang, tz)
    archive_html = page.render(_context(ranked, settings, tz, now, cap, entry, is_archive=True))
    context = _context(ranked, settings, tz, now, cap, entry)
    html = page.render(context)
    while len(html.encode()) > MAIL_BUDGET_BYTES and cap > 1:
        cap = max(1, cap - max(1, cap // 4))
        context = _context(ranked, settings, tz, now, cap, entry)
        html = page.render(context)
    text = env.get_template("digest.txt").render(context)
    return RenderedDigest(
        subject=context["subject"], html=html, text=text, archive_html=archive_html,
        preheader=context["preheader"],
    )
