"""Downloader middlewares and the DNS resolver that keep the crawl safe and polite.

* :class:`SafetyMiddleware` refuses non-http(s) schemes and literal private addresses on
  every request, redirects included (each redirect is a new request through this chain).
* :class:`PublicOnlyResolver` refuses host names that resolve to private, loopback,
  link-local or metadata addresses at connect time, so a DNS answer cannot smuggle one in.
* :class:`PoliteRetryMiddleware` retries brief failures but never hammers a server that
  sent ``Retry-After`` (RFC 9110 §10.2.3): the source is deferred until then instead.

``network.allow_private`` (setting ``MIGWATCH_ALLOW_PRIVATE``) switches the first two off.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Response
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.defer import Deferred

from config.errors import FetchError
from crawler.safety import check_resolved_address, check_url_allowed


class RefusedRequest(IgnoreRequest):
    """A request refused before it left: bad scheme or forbidden address."""


class SafetyMiddleware:
    """Refuse unsafe URLs before any connection is made."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.getbool("MIGWATCH_ALLOW_PRIVATE"))

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        try:
            check_url_allowed(request.url, allow_private=self.allow_private)
        except FetchError as exc:
            raise RefusedRequest(str(exc)) from exc


class PublicOnlyResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing non-public answers unless allowed."""

    allow_private = False
    # Twisted replaces a resolver's exception by a generic DNS error on the way to the
    # download handler, so refusals are remembered here for the error message.
    refusals: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> Self:
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow_private = crawler.settings.getbool("MIGWATCH_ALLOW_PRIVATE")
        return resolver

    def getHostByName(self, name: str, timeout: Any = ()) -> Deferred[str]:  # noqa: N802
        deferred = super().getHostByName(name, timeout)
        deferred.addCallback(self._check, name)
        return deferred

    def _check(self, address: str, name: str) -> str:
        try:
            check_resolved_address(name, address, allow_private=self.allow_private)
        except FetchError as exc:
            self.refusals[name] = str(exc)
            raise CannotResolveHostError(str(exc)) from exc
        return address


class PoliteRetryMiddleware(RetryMiddleware):
    """Retry brief failures, except when the server said when to come back."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if response.status in (429, 503) and response.headers.get(b"Retry-After"):
            return response
        return super().process_response(request, response)
