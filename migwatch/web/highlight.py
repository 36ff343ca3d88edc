"""Matched words marked in titles and snippets: the text is escaped first, then marked.

Untrusted text is reduced to plain text (the digest's sanitiser) and HTML-escaped piece
by piece; only the ``<mark>`` tags we add are markup.  Matching ignores case, as the
search does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markupsafe import Markup, escape

from digest.sanitize import plain_text, shorten

SNIPPET_CHARS = 180


def _pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    wanted = sorted({w for w in words if w}, key=len, reverse=True)
    if not wanted:
        return None
    return re.compile("|".join(re.escape(w) for w in wanted), re.IGNORECASE)


def highlight(text: str, words: Sequence[str]) -> Markup:
    """``text`` escaped, with every occurrence of ``words`` in ``<mark>``."""
    pattern = _pattern(words)
    if pattern is None:
        return escape(text)
    pieces: list[str] = []
    last = 0
    for found in pattern.finditer(text):
        pieces.append(str(escape(text[last:found.start()])))
        pieces.append(f"<mark>{escape(found.group(0))}</mark>")
        last = found.end()
    pieces.append(str(escape(text[last:])))
    return Markup("".join(pieces))


def snippet(raw: str, words: Sequence[str], max_chars: int = SNIPPET_CHARS) -> Markup:
    """A plain-text window of ``raw`` around the first matched word, highlighted."""
    text = plain_text(raw)
    pattern = _pattern(words)
    found = pattern.search(text) if pattern else None
    if found is None or found.start() < max_chars // 3:
        return highlight(shorten(text, max_chars), words)
    start = max(0, found.start() - max_chars // 3)
    space = text.find(" ", start, found.start())
    if 0 <= space < found.start() - 1 and found.start() - space < max_chars // 2:
        start = space + 1  # Latin text starts at a word; Japanese has no spaces to find
    window = "…" + shorten(text[start:], max_chars)
    return highlight(window, words)


def paragraphs(raw: str) -> list[str]:
    """The article's text as plain-text paragraphs (split on line breaks)."""
    return [p for p in (plain_text(line) for line in re.split(r"\n\s*\n|\n", raw)) if p]
