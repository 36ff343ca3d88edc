"""Which change to ``themes.yaml`` would turn a wrong verdict around, in plain words.

Read from the rules' own explanation of the verdict (:class:`.tagger.Verdict`): the score
against the threshold, the require groups without a hit, the look-alike phrases and the
context rules that dropped hits.  Each suggestion names the key to edit and a value taken
from the article, so a user can copy it into the file.
"""

from __future__ import annotations

import re

from digest.sanitize import plain_text
from migwatch.web.app import _
from migwatch.web.tagger import Verdict

_CONTEXT_CHARS = 8
CLOSE_SHARE = 0.6  # below this share of the threshold, a lower threshold is no fix


def _around(text: str, term: str) -> str | None:
    """The term with a few characters either side, as the article writes it."""
    found = re.search(re.escape(term), text, re.IGNORECASE)
    if found is None:
        return None
    start = max(0, found.start() - _CONTEXT_CHARS)
    end = min(len(text), found.end() + _CONTEXT_CHARS)
    return text[start:end].strip()


def _missed(verdict: Verdict, title: str) -> list[str]:
    fixes = []
    if not verdict.terms:
        fixes.append(_("None of the theme's terms is in the article: add a word the article "
                       "uses for this subject to the theme's terms (its title: “{title}”).",
                       title=title[:80]))
    for phrase in verdict.exclusions:
        fixes.append(_("The look-alike phrase “{phrase}” removed hits: take it out of exclude, "
                       "or make it longer so it fits only the look-alike.", phrase=phrase))
    for term in verdict.dropped_terms:
        fixes.append(_("“{term}” was not counted because none of its context words were near: "
                       "add a word of this article to its context list.", term=term))
    for group in verdict.missing_groups:
        fixes.append(_("No word of a require group is in the article ({words}…): add the "
                       "word this article uses to that group.", words=", ".join(group[:5])))
    if verdict.terms and verdict.score < verdict.threshold * CLOSE_SHARE:
        fixes.append(_("The score is {score:g}, far below the threshold {threshold:g}: add "
                       "the words this article uses for the subject to the theme's terms.",
                       score=verdict.score, threshold=verdict.threshold))
    elif verdict.terms and verdict.score < verdict.threshold:
        best = max(verdict.terms, key=lambda t: t[2])[0]
        fixes.append(_("The score is {score:g}, the threshold {threshold:g}: lower threshold "
                       "to {score:g}, or raise the weight of “{term}”.", score=verdict.score,
                       threshold=verdict.threshold, term=best))
    if verdict.passing_mention:
        fixes.append(_("The hits looked like a passing mention: a term in the title or the "
                       "first paragraph would count (or set scoring.spread: false)."))
    if verdict.only_supporting:
        fixes.append(_("Only supporting terms were found: make one of them a full term "
                       "(remove supporting: true)."))
    if verdict.dominated:
        fixes.append(_("The theme scored far below the article's main theme: lower "
                       "scoring.dominance."))
    return fixes


def _wrong(verdict: Verdict, text: str) -> list[str]:
    fixes = []
    for term, _field, _count in verdict.terms[:3]:
        context = _around(text, term)
        if context:
            fixes.append(_("“{term}” counted here as “{context}”: add that phrase (or a "
                           "shorter one that is only the look-alike) to the theme's exclude "
                           "list, or add a word of it to the term's not_with list.",
                           term=term, context=context))
    fixes.append(_("The score is {score:g}, the threshold {threshold:g}: a threshold above "
                   "{score:g} would leave this article out, and maybe others too.",
                   score=verdict.score, threshold=verdict.threshold))
    return fixes


def suggestions(verdict: Verdict, kind: str, title: str, text: str) -> list[str]:
    """What would fix a missed theme (``kind`` "missed") or a wrong one ("wrong")."""
    if kind == "missed":
        if verdict.is_match:
            return [_("The current rules already tag the article with this theme; "
                      "re-tagging has stored it.")]
        return _missed(verdict, plain_text(title))
    if not verdict.is_match:
        return [_("The current rules no longer tag the article with this theme; "
                  "re-tagging has removed it.")]
    return _wrong(verdict, f"{plain_text(title)} {plain_text(text)}")
