"""Untrusted feed text made safe to show: plain text only, and http(s) links only.

Titles, snippets, reasons, source errors and SMTP replies come from outside.  They are
reduced to plain text with nh3 (no tags at all; ``script``/``style`` contents dropped),
entity-decoded, and cleaned again until stable, so ``&lt;script&gt;`` cannot come back
as a tag after decoding.  Templates then autoescape whatever remains.  Links are kept
only when they are absolute http or https URLs; anything else is shown without a link.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import nh3

from crawler.urls import is_http_url

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
_MAX_ROUNDS = 4
# whitespace or a character that could close an attribute or start markup
_UNSAFE_IN_URL = re.compile(r"[\s<>\"'`\\]")
# block-level boundaries become spaces, or "full.</p><p>More" would read "full.More"
_BLOCK_END = re.compile(r"(</(?:p|div|li|h[1-6]|td|tr|blockquote)\s*>|<br\s*/?>)", re.IGNORECASE)


def plain_text(value: str | None) -> str:
    """Strip every tag and decode entities; whitespace collapsed to single spaces."""
    if not value:
        return ""
    if "<" not in value and "&" not in value:
        # no tag and no entity: nothing for nh3 to remove (the common case, and a third
        # of the digest's clustering time when it was cleaned anyway)
        return _SPACE.sub(" ", _CONTROL.sub("", value)).strip()
    text = _BLOCK_END.sub(r"\1 ", value)
    for _ in range(_MAX_ROUNDS):
        cleaned = html.unescape(nh3.clean(text, tags=set(), attributes={}, strip_comments=True))
        if cleaned == text:
            break
        text = cleaned
    else:
        # still changing after several rounds: nested encodings, drop anything tag-like
        text = text.replace("<", "‹").replace(">", "›")
    return _SPACE.sub(" ", _CONTROL.sub("", text)).strip()


def shorten(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars`` characters, ending with an ellipsis when cut."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rstrip()
    space = cut.rfind(" ")
    # break Latin text at a word; Japanese has no spaces, so any character will do
    if space > max_chars * 0.6 and not text[len(cut)].isspace():
        cut = cut[:space]
    return cut + "…"


def one_line(value: str | None, max_chars: int = 300) -> str:
    """Plain text on one line, shortened: for error messages from servers and sources."""
    return shorten(plain_text(value), max_chars)


@lru_cache(maxsize=65_536)  # pure; a week's digest checks each link several times
def safe_url(value: str | None) -> str | None:
    """``value`` if it is an absolute http(s) URL without surprises, else None."""
    if not value:
        return None
    candidate = unicodedata.normalize("NFKC", value).strip()
    if _CONTROL.search(candidate) or _UNSAFE_IN_URL.search(candidate):
        return None
    return candidate if is_http_url(candidate) else None
