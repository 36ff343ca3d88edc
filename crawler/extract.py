"""Get the article out of one page: title, author, date, language, main text, canonical URL.

Contract: :func:`extract_article` is pure (no network, no clock: ``tz`` and ``now`` are
handed in) and returns an :class:`ExtractedArticle`, or raises
:class:`config.errors.ExtractError` when the page has no usable main text (an empty
JavaScript shell, an error page).  Bytes are decoded with
:func:`crawler.encoding.decode_document`, so Shift_JIS and EUC-JP pages arrive intact.

Main text, title, author and description come from trafilatura (its fast path, no
fallback extractors, comments excluded).  The publication date is taken, in order, from
the page's own metadata with its time of day (``article:published_time``, JSON-LD
``datePublished``, ``<time datetime>``), from htmldate's markup search (date only), and
then from dates written in the main text or in date-labelled elements, which is where
Japanese sites put ``令和7年3月23日更新`` or ``2025年3月23日(日)`` (htmldate does not read
those forms), and last from the URL (``/2017/03/09/``, ``/20170309-…``).  A date without
a time is that day in ``tz``, with its offset.  The language is ``<html lang>`` unless
the text's script contradicts it, else :func:`detect_language`.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from lxml import etree
from lxml.html import HtmlElement
from trafilatura import bare_extraction, load_html

from config.errors import ExtractError
from crawler.dates import date_in_url, find_date_in_text, parse_date
from crawler.encoding import decode_document
from crawler.urls import canonicalize_url

logger = logging.getLogger(__name__)

# Fewer characters than this (after collapsing whitespace) is a shell, not an article.
# Counted in characters, so a short Japanese notice (dense script) still passes.
MIN_TEXT_CHARS = 60

_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "datePublished",
    "date",
    "dc.date",
    "dc.date.issued",
    "dcterms.created",
    "pubdate",
    "publishdate",
    "sailthru.date",
)
_DATE_LABELS = re.compile(r"date|time|day|update|posted|publish|hiduke|hizuke|nengappi", re.I)
_LANG_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][A-Za-z0-9]+)*$")
_WHITESPACE = re.compile(r"\s+")

# Function words that make up a large share of any running text in each language.
_FUNCTION_WORDS = {
    lang: frozenset(words.split())
    for lang, words in {
        "en": "the of and to in is that for on with as was by are it from at be has have "
        "this which were said will an its their not or",
        "fr": "le la les de des du et en un une est que qui dans pour sur par au aux pas ne "
        "ce sont avec",
        "es": "el la los las de del y en un una que es por para con se al su sus como lo "
        "más fue",
        "de": "der die das und in den von zu mit sich des auf für ist im dem nicht ein eine "
        "als auch es an",
    }.items()
}
# Navigation that old Japanese sites lay out as tables or plain divs, which trafilatura's
# own boilerplate rules (written for <nav> and common CMS classes) let through.
_PRUNE_XPATH = [
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' menu ')]",
    "//*[contains(@class, 'navi') or contains(@id, 'navi') or contains(@class, 'gnav')]",
    "//*[contains(@class, 'pankuzu') or contains(@class, 'breadcrumb') or @id='topicpath']",
]
_LATIN_WORD = re.compile(r"[a-zà-ÿ]+")


@dataclass(frozen=True)
class ExtractedArticle:
    """What one article page says about itself."""

    title: str
    author: str | None
    published_at: datetime | None
    language: str | None
    text: str
    description: str | None
    canonical_url: str | None


_SCRIPTS = {
    "kana": re.compile("[\u3040-\u30ff\uff66-\uff9f]"),
    "han": re.compile("[\u4e00-\u9fff\u3400-\u4dbf]"),
    "hangul": re.compile("[\uac00-\ud7af\u1100-\u11ff]"),
    "thai": re.compile("[\u0e00-\u0e7f]"),
    "latin": re.compile("[A-Za-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]"),
}
_OTHER_LETTER = re.compile(
    "[^\\W\\d_A-Za-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
    "\u3040-\u30ff\uff66-\uff9f\u4e00-\u9fff\u3400-\u4dbf\uac00-\ud7af\u1100-\u11ff"
    "\u0e00-\u0e7f]"
)


def _script_counts(sample: str) -> Counter[str]:
    # One regular-expression pass per script: an order of magnitude faster than a
    # Python loop over the characters, on every page of a crawl.
    counts: Counter[str] = Counter(
        {name: len(pattern.findall(sample)) for name, pattern in _SCRIPTS.items()})
    counts["other"] = len(_OTHER_LETTER.findall(sample))
    return +counts


def detect_language(text: str) -> str | None:
    """Guess the ISO 639-1 language of ``text`` from its script and function words, or None."""
    # Hand-written on purpose: migwatch needs ja versus en (and to recognise zh, ko, fr,
    # es, de), which script shares and function words answer in microseconds, while a
    # statistical detector would load a model in every crawler process.
    sample = text[:4000]
    counts = _script_counts(sample)
    letters = sum(counts.values())
    if letters < 10:
        return None
    cjk = counts["kana"] + counts["han"]
    if cjk / letters >= 0.3:
        # Any real share of kana means Japanese; Han alone is Chinese.
        return "ja" if counts["kana"] / cjk >= 0.05 else "zh"
    if counts["hangul"] / letters >= 0.3:
        return "ko"
    if counts["thai"] / letters >= 0.3:
        return "th"
    if counts["latin"] / letters < 0.6:
        return None
    words = _LATIN_WORD.findall(sample.lower())
    if len(words) < 5:
        return None
    scores = {lang: sum(w in vocab for w in words) for lang, vocab in _FUNCTION_WORDS.items()}
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    if best_score / len(words) < 0.08 or best_score < 1.5 * second_score:
        return None
    return best


def _declared_language(tree: HtmlElement) -> str | None:
    for value in (
        tree.get("lang"),
        tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
        *tree.xpath("//meta[@http-equiv='content-language' or @name='language']/@content"),
        *tree.xpath("//meta[@property='og:locale']/@content"),
    ):
        match = _LANG_TAG.match((value or "").strip())
        if match:
            return match.group(1).lower()
    return None


def _meta_contents(tree: HtmlElement, names: tuple[str, ...]) -> Iterator[str]:
    wanted = {name.lower() for name in names}
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in wanted and meta.get("content"):
            yield str(meta.get("content"))


def _json_ld_dates(tree: HtmlElement) -> Iterator[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            value = node.get("datePublished") or node.get("dateCreated")
            if isinstance(value, str):
                yield value
            for child in node.values():
                yield from walk(child)
        elif isinstance(node, list):
            for child in node:
                yield from walk(child)

    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        yield from walk(data)


def _markup_date(tree: HtmlElement, tz: tzinfo, now: datetime | None) -> datetime | None:
    """A publication timestamp the page states in its metadata, with time of day."""
    candidates: list[str] = [
        *_meta_contents(tree, _PUBLISHED_META),
        *_json_ld_dates(tree),
        *tree.xpath("//time[@itemprop='datePublished' or @pubdate]/@datetime"),
        *tree.xpath("//*[@itemprop='datePublished']/@content"),
        *tree.xpath("(//article//time/@datetime | //time/@datetime)[1]"),
    ]
    for value in candidates:
        found = parse_date(str(value), tz, now=now)
        if found is not None:
            return found
    return None


def _labelled_date(tree: HtmlElement, tz: tzinfo, now: datetime | None) -> datetime | None:
    """A date written in an element whose class or id says it holds one."""
    for element in tree.iter("p", "span", "div", "time", "li", "dd", "td"):
        label = f"{element.get('class') or ''} {element.get('id') or ''}"
        if label.strip() and _DATE_LABELS.search(label):
            text = element.text_content()
            if len(text) <= 200:
                found = find_date_in_text(text, tz, now=now)
                if found is not None:
                    return found
    return None


def _canonical_url(tree: HtmlElement, page_url: str | None) -> str | None:
    hrefs = [
        *tree.xpath("//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]"
                    "/@href"),
        *_meta_contents(tree, ("og:url",)),
    ]
    for href in hrefs:
        url = canonicalize_url(str(href), page_url)
        if url is not None:
            return url
    return None


def _clean(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = _WHITESPACE.sub(" ", value).strip()
    return value or None


def extract_article(
    html: str | bytes,
    url: str | None = None,
    *,
    content_type: str | None = None,
    tz: tzinfo,
    now: datetime | None = None,
) -> ExtractedArticle:
    """Extract title, author, date, language, main text and canonical URL from one page."""
    where = url or "the page"
    text_html = decode_document(html, content_type).text if isinstance(html, bytes) else html
    try:
        tree = load_html(text_html)
    except (ValueError, etree.LxmlError) as exc:
        raise ExtractError(f"no article text found in {where}: not an HTML page ({exc})") from exc
    if tree is None:
        raise ExtractError(f"no article text found in {where}: the page is empty")

    # Read our metadata before trafilatura, which prunes the tree it is given.
    published_at = _markup_date(tree, tz, now)
    declared_language = _declared_language(tree)
    canonical_url = _canonical_url(tree, url)
    labelled_date = None if published_at else _labelled_date(tree, tz, now)

    max_date = (now or datetime(2100, 1, 1)).strftime("%Y-%m-%d")
    document = bare_extraction(
        tree,
        url=url,
        fast=True,
        include_comments=False,
        include_tables=True,
        prune_xpath=_PRUNE_XPATH,
        with_metadata=True,
        date_extraction_params={
            "extensive_search": False,
            "original_date": True,
            "max_date": max_date,
        },
    )
    fields: dict[str, Any] = {}
    if isinstance(document, dict):
        fields = document
    elif document is not None:
        fields = document.as_dict()
    text = (fields.get("text") or "").strip()
    if len(_WHITESPACE.sub(" ", text)) < MIN_TEXT_CHARS:
        raise ExtractError(f"no article text found in {where}")

    if published_at is None and fields.get("date"):
        published_at = parse_date(str(fields["date"]), tz, now=now)
    if published_at is None:
        published_at = labelled_date or find_date_in_text(text, tz, now=now)
    if published_at is None and url:
        published_at = date_in_url(url, tz, now=now)  # the last resort, as htmldate's

    detected = detect_language(text)
    language = declared_language or detected
    if detected in ("ja", "zh", "ko") and detected != declared_language:
        # Templates often keep lang="en" on translated pages; the script does not lie.
        language = detected

    title = _clean(fields.get("title")) or ""
    logger.debug(
        "extracted url=%s chars=%d date=%s lang=%s", url, len(text), published_at, language
    )
    return ExtractedArticle(
        title=unicodedata.normalize("NFC", title),
        author=_clean(fields.get("author")),
        published_at=published_at,
        language=language,
        text=text,
        description=_clean(fields.get("description")),
        canonical_url=canonical_url,
    )
