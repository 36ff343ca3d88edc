"""Explain the rules' decision for every theme on one text: what counted, what did not.

Contract: :func:`explain_article` returns one :class:`~digest.tagging.match.ThemeExplanation`
per theme in display order (matched or not); :func:`notes` turns one into the short lines a
person reads (exclusions that fired, groups without a hit, passing mentions, dominance) and
:func:`explanation_dict` into plain JSON-ready data, for ``migwatch themes test --json`` and
the web app's "test this text" box.
"""

from __future__ import annotations

from typing import Any

from config.i18n import gettext
from digest.tagging.compile import ThemeSet
from digest.tagging.match import ThemeExplanation, explain_scanned
from digest.tagging.scan import scan


def explain_article(title: str, text: str, themes: ThemeSet) -> tuple[ThemeExplanation, ...]:
    """What every theme's rules decided for this article, in display order."""
    return explain_scanned(themes, scan(title, text, themes))


def notes(result: ThemeExplanation, lang: str = "en") -> list[str]:
    """Why a theme did or did not match, one short line per reason, in ``lang``."""
    def _(message: str, **values: object) -> str:
        return gettext(lang, message, **values)

    out = [_("excluded: {phrase}", phrase=r.describe(lang)) for r in result.exclusions]
    if result.reasons:  # a group is only worth showing when terms were found
        for group in result.missing_groups:
            shown = ", ".join(group[:6]) + ("…" if len(group) > 6 else "")
            out.append(_("needs one of: {terms}", terms=shown))
    out += [_("not counted (context): {term}", term=t) for t in result.dropped_terms]
    if result.passing_mention:
        out.append(_("passing mention only: needs a title hit, a lead hit or hits in two "
                     "sentences"))
    if result.only_supporting:
        out.append(_("only supporting terms: they add to a score but cannot tag alone"))
    if result.dominated:
        out.append(_("far below the article's main theme and not in the title"))
    if result.reasons and not result.is_match and not out and result.score < result.threshold:
        out.append(_("below the threshold"))
    return out


def explanation_dict(result: ThemeExplanation, lang: str = "en") -> dict[str, Any]:
    """One theme's decision as plain data (for JSON output and the web app)."""
    return {
        "theme": result.theme_id,
        "match": result.is_match,
        "score": result.score,
        "threshold": result.threshold,
        "reasons": [{"term": r.term, "field": r.field, "count": r.count}
                    for r in result.reasons],
        "exclusions": [{"term": r.term, "field": r.field, "count": r.count}
                       for r in result.exclusions],
        "missing_groups": [list(g) for g in result.missing_groups],
        "not_counted": list(result.dropped_terms),
        "passing_mention": result.passing_mention,
        "only_supporting": result.only_supporting,
        "dominated": result.dominated,
        "notes": notes(result, lang),
    }
