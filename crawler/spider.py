"""The collect spider: one pass over the planned sources, feeds, listings and sitemaps.

For each source it sends one conditional request (``If-None-Match`` /
``If-Modified-Since`` from the last successful pass); a 304 or a body identical to the
last one ends the source there, with no parsing.  Otherwise the entries are parsed, those
already stored become sightings, and only new ones have their page fetched (its main
text is extracted in a worker process, see :mod:`crawler.workers`).  When the
last request of a source has finished, a :class:`SourceDone` item carries the outcome (and
the new validators) to storage: validators are never saved before the articles are.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import scrapy
from scrapy.http import Request, Response
from scrapy.utils.gz import gunzip
from twisted.python.failure import Failure
from w3lib.html import remove_tags, replace_entities

from config.errors import ExtractError, ParseError
from config.schema import SourceConfig
from crawler.encoding import decode_document
from crawler.extract import ExtractedArticle
from crawler.feeds import parse_feed
from crawler.listing import SelectorError, parse_listing
from crawler.outcomes import (
    classify_failure,
    classify_status,
    describe_oversize,
    describe_status,
    parse_retry_after,
)
from crawler.plan import CrawlPlan, SourcePlan
from crawler.sitemaps import parse_sitemap
from crawler.urls import content_hash
from crawler.workers import Extractor
from db.store import NewArticle, SourceOutcome

log = logging.getLogger(__name__)

KnownCheck = Callable[[str, Iterable[str]], set[str]]  # source key, identities -> stored
HANDLED_STATUSES = [304, *range(400, 600)]
MAX_CHILD_SITEMAPS = 10


@dataclass(frozen=True)
class Candidate:
    """An entry found in a source, before we know whether it is new."""

    identity: str
    link: str | None
    guid: str | None
    title: str
    text: str
    published_at: datetime | None
    author: str | None
    language: str | None


@dataclass(frozen=True)
class StoreArticle:
    """Item: store this article (new unless another source stored it meanwhile)."""

    source_key: str
    article: NewArticle


@dataclass(frozen=True)
class StoreSighting:
    """Item: an entry whose article is known (or being fetched for another source)."""

    source_key: str
    identity: str
    url: str | None
    title: str


@dataclass(frozen=True)
class SourceDone:
    """Item: the pass over a source has ended."""

    source_key: str
    outcome: SourceOutcome


@dataclass
class SourcePass:
    """Mutable bookkeeping of one source during the crawl."""

    plan: SourcePlan
    started_at: datetime
    pending: int = 0
    pages: int = 0
    items: int = 0
    fetch_budget: int = 0
    status: str = "ok"
    http_status: int | None = None
    error: str | None = None
    error_kind: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    retry_after_until: datetime | None = None
    ttl_seconds: float | None = None
    max_age_seconds: float | None = None
    is_finished: bool = False
    visited: set[str] = field(default_factory=set)

    def fail(self, kind: str, message: str) -> None:
        """Record the first error of the pass."""
        if self.status != "error":
            self.status, self.error_kind, self.error = "error", kind, message

    def outcome(self, now: datetime) -> SourceOutcome:
        """The outcome to store."""
        return SourceOutcome(
            source_key=self.plan.config.key, status=self.status, started_at=self.started_at,
            finished_at=now, http_status=self.http_status, item_count=self.items,
            pages_fetched=self.pages, error=self.error, error_kind=self.error_kind,
            etag=self.etag, last_modified=self.last_modified, content_hash=self.content_hash,
            retry_after_until=self.retry_after_until, ttl_seconds=self.ttl_seconds,
            max_age_seconds=self.max_age_seconds,
        )


def html_to_text(markup: str) -> str:
    """Plain text of a feed's HTML summary (for storage and tagging; never rendered)."""
    text = replace_entities(remove_tags(markup.replace("<br", "\n<br").replace("</p>", "\n")))
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


class CollectSpider(scrapy.Spider):
    """Collect new articles from the planned sources."""

    name = "collect"

    def __init__(self, plan: CrawlPlan, known: KnownCheck, extractor: Extractor,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_settings = plan.settings
        self.known = known
        self.extractor = extractor
        self.tz = self.app_settings.tz
        self.passes = {
            p.config.key: SourcePass(
                plan=p, started_at=self.now(),
                fetch_budget=self.app_settings.crawler.max_articles_per_source,
            )
            for p in plan.sources
        }
        self.requested: set[str] = set()

    def now(self) -> datetime:
        """The crawl's clock (UTC)."""
        return datetime.now(UTC)

    async def start(self) -> AsyncIterator[Request]:
        for source_pass in self.passes.values():
            yield self._source_request(source_pass, source_pass.plan.config.url, first=True)

    # -- requests -------------------------------------------------------------------------

    def _max_bytes(self, kind: str) -> int:
        crawler = self.app_settings.crawler
        return crawler.max_feed_bytes if kind in {"feed", "sitemap"} else crawler.max_page_bytes

    def _source_request(self, source_pass: SourcePass, url: str, *, first: bool) -> Request:
        config, state = source_pass.plan.config, source_pass.plan.state
        headers: dict[str, str] = {}
        if first and state.url == config.url:
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
        source_pass.pending += 1
        source_pass.visited.add(url)
        return Request(
            url, headers=headers, callback=self.parse_source, errback=self.source_failed,
            dont_filter=True, priority=10,
            meta={"source_key": config.key, "first": first,
                  "download_maxsize": self._max_bytes(config.kind),
                  "handle_httpstatus_list": HANDLED_STATUSES},
        )

    def _article_request(self, source_pass: SourcePass, candidate: Candidate) -> Request:
        assert candidate.link is not None
        source_pass.pending += 1
        return Request(
            candidate.link, callback=self.parse_article, errback=self.article_failed,
            dont_filter=True,
            meta={"source_key": source_pass.plan.config.key, "candidate": candidate,
                  "download_maxsize": self.app_settings.crawler.max_page_bytes,
                  "handle_httpstatus_list": HANDLED_STATUSES},
        )

    def _tz(self, config: SourceConfig) -> tzinfo:
        """The zone a day-only date of this source is read in (its own, else the configured)."""
        return config.tz_or(self.tz)

    def _answered(self, meta: dict[str, Any]) -> SourcePass:
        """The pass a request belongs to, with that request no longer pending."""
        source_pass = self.passes[meta["source_key"]]
        source_pass.pending -= 1
        return source_pass

    def _failed(self, failure: Failure) -> tuple[SourcePass, Request, str, str]:
        """The pass of a failed request, the request, and the failure's weight and reason."""
        request = failure.request  # type: ignore[attr-defined]
        kind, message = classify_failure(
            failure, request.url, timeout_seconds=self.app_settings.crawler.timeout_seconds,
            max_bytes=request.meta.get("download_maxsize", 0),
        )
        return self._answered(request.meta), request, kind, message

    # -- source documents ----------------------------------------------------------------

    def parse_source(self, response: Response) -> Iterator[Any]:
        source_pass = self._answered(response.meta)
        source_pass.pages += 1
        try:
            yield from self._read_source(source_pass, response)
        except SelectorError as exc:  # a changed page layout: soft
            source_pass.fail("soft", str(exc))
        except ParseError as exc:
            source_pass.fail("hard", str(exc))
        except Exception as exc:  # one broken source must never stop the others
            log.exception("source=%s unexpected error", source_pass.plan.config.key)
            source_pass.fail("soft", f"{response.url} could not be read "
                                     f"({type(exc).__name__}: {exc}); please report this")
        yield from self._finish_if_done(source_pass)

    def source_failed(self, failure: Failure) -> Iterator[Any]:
        source_pass, _request, kind, message = self._failed(failure)
        source_pass.fail(kind, message)
        yield from self._finish_if_done(source_pass)

    def _read_source(self, source_pass: SourcePass, response: Response) -> Iterator[Any]:
        config = source_pass.plan.config
        first = response.meta.get("first", False)
        if first:
            source_pass.http_status = response.status
            source_pass.max_age_seconds = _max_age(_header(response, b"Cache-Control"))
        if response.status == 304:
            if first:
                source_pass.status = "not_modified"
            return
        if response.status >= 400:
            source_pass.fail(classify_status(response.status),
                             describe_status(response.status, response.url))
            source_pass.retry_after_until = parse_retry_after(
                _header(response, b"Retry-After"),
                self.now(), self.app_settings.crawler.max_retry_after,
            )
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":  # a .xml.gz sitemap served as a file, not as an encoding
            max_bytes = self._max_bytes(config.kind)
            try:
                body = gunzip(body, max_size=max_bytes)
            except ValueError:  # Scrapy's "decompressed size over max_size"
                source_pass.fail("hard", describe_oversize(response.url, max_bytes))
                return
        digest = hashlib.sha256(body).hexdigest()
        if first:
            state = source_pass.plan.state
            if state.content_hash == digest and state.url == config.url:
                source_pass.status = "unchanged"
                return
            source_pass.etag = _header(response, b"ETag")
            source_pass.last_modified = _header(response, b"Last-Modified")
            source_pass.content_hash = digest
        content_type = _header(response, b"Content-Type")
        if config.kind == "feed":
            feed = parse_feed(body, url=response.url, content_type=content_type,
                              tz=self._tz(config), now=self.now(),
                              known=lambda ids: self.known(config.key, ids),
                              max_items=self.app_settings.crawler.max_feed_items)
            source_pass.ttl_seconds = feed.ttl_seconds
            if feed.entries_left:  # keep no validators, so the next pass reads the rest
                source_pass.etag = source_pass.last_modified = source_pass.content_hash = None
            candidates = [
                _candidate(e.link, e.guid, e.title, e.content or e.summary, e.published_at,
                           e.author, e.language or config.language)
                for e in feed.entries
            ]
        elif config.kind == "listing":
            assert config.listing is not None
            html = decode_document(body, content_type).text
            page = parse_listing(html, url=response.url, selectors=config.listing,
                                 tz=self._tz(config), now=self.now())
            candidates = [
                _candidate(i.link, None, i.title, "", i.published_at, None, config.language)
                for i in page.items
            ]
            next_url = page.next_url
            if (next_url and next_url not in source_pass.visited
                    and len(source_pass.visited) < config.listing.max_pages):
                yield self._source_request(source_pass, next_url, first=False)
        else:
            sitemap = parse_sitemap(body, url=response.url, tz=self._tz(config), now=self.now())
            for child in sitemap.child_sitemaps[:MAX_CHILD_SITEMAPS]:
                if child not in source_pass.visited:
                    yield self._source_request(source_pass, child, first=False)
            candidates = [
                _candidate(e.link, None, e.title, "", e.published_at, None,
                           e.language or config.language)
                for e in sitemap.entries
            ]
        yield from self._dispatch(source_pass, candidates)

    def _dispatch(self, source_pass: SourcePass, candidates: list[Candidate]) -> Iterator[Any]:
        config = source_pass.plan.config
        source_pass.items += len(candidates)
        known = self.known(config.key, [c.identity for c in candidates])
        for candidate in candidates:
            if candidate.identity in known or candidate.identity in self.requested:
                yield StoreSighting(config.key, candidate.identity, candidate.link,
                                    candidate.title)
                continue
            self.requested.add(candidate.identity)
            if config.fetch_articles and candidate.link and source_pass.fetch_budget > 0:
                source_pass.fetch_budget -= 1
                yield self._article_request(source_pass, candidate)
            else:
                yield StoreArticle(config.key, self._article(config, candidate, None, None))

    # -- article pages -------------------------------------------------------------------

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        candidate: Candidate = response.meta["candidate"]
        extracted: ExtractedArticle | None = None
        error: str | None = None
        if response.status >= 400:
            error = describe_status(response.status, response.url)
        else:
            try:
                extracted = await self.extractor.extract(
                    response.body, response.url, content_type=_header(response, b"Content-Type"),
                    tz=self._tz(self.passes[response.meta["source_key"]].plan.config),
                    now=self.now(),
                )
            except ExtractError as exc:
                error = str(exc)
            except Exception as exc:  # a page the extractor chokes on keeps the feed's data
                log.exception("article=%s extraction failed", response.url)
                error = f"{response.url}: extraction failed ({type(exc).__name__})"
        # Answered only now: the source is not finished while its pages are extracted.
        source_pass = self._answered(response.meta)
        config = source_pass.plan.config
        yield StoreArticle(config.key, self._article(config, candidate, extracted, error))
        for item in self._finish_if_done(source_pass):
            yield item

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        source_pass, request, _kind, message = self._failed(failure)
        config = source_pass.plan.config
        # The page failed, the entry did not: keep what the feed told us.
        yield StoreArticle(config.key, self._article(config, request.meta["candidate"], None,
                                                     message))
        yield from self._finish_if_done(source_pass)

    def _article(self, config: SourceConfig, candidate: Candidate,
                 extracted: ExtractedArticle | None, error: str | None) -> NewArticle:
        text = candidate.text
        title = candidate.title
        published = candidate.published_at
        language = candidate.language
        author = candidate.author
        if extracted is not None:
            text = extracted.text or text
            title = title or extracted.title
            published = published or extracted.published_at
            language = extracted.language or language
            author = author or extracted.author
        return NewArticle(
            source_key=config.key, identity=candidate.identity, canonical_url=candidate.link,
            url=candidate.link, guid=candidate.guid,
            content_hash=content_hash(title, text), title=title[:2000],
            summary=candidate.text[:4000], text=text, language=language, author=author,
            published_at=published, is_fetched=extracted is not None, extract_error=error,
        )

    # -- the end of a source -------------------------------------------------------------

    def _finish_if_done(self, source_pass: SourcePass) -> Iterator[Any]:
        if source_pass.pending > 0 or source_pass.is_finished:
            return
        source_pass.is_finished = True
        yield SourceDone(source_pass.plan.config.key, source_pass.outcome(self.now()))

def _max_age(cache_control: str | None) -> float | None:
    """``max-age`` of a Cache-Control header (RFC 9111 §5.2.2.1), if any."""
    if not cache_control:
        return None
    match = re.search(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", cache_control, re.IGNORECASE)
    return float(match.group(1)) if match else None


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _candidate(link: str | None, guid: str | None, title: str, markup: str,
               published: datetime | None, author: str | None,
               language: str | None) -> Candidate:
    text = html_to_text(markup) if markup else ""
    title = " ".join(html_to_text(title).split()) if title else ""
    identity = link or f"urn:sha256:{content_hash(title, text)}"
    return Candidate(identity=identity, link=link, guid=guid, title=title, text=text,
                     published_at=published, author=author, language=language)
