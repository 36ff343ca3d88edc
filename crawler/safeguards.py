"""Downloader middlewares and the DNS resolver that keep the crawl safe and polite.

* :class:`SafetyMiddleware` refuses non-http(s) schemes and literal private addresses on
  every request, redirects included (each redirect is a new request through this chain);
  with ``network.proxy`` it also looks the target up and checks it, then sets the proxy.
* :class:`PublicOnlyResolver` refuses host names that resolve (IPv4 or IPv6) to private,
  loopback, link-local or metadata addresses at connect time, so a DNS answer cannot
  smuggle one in.
* :class:`PoliteRetryMiddleware` retries brief failures but never hammers a server that
  sent ``Retry-After`` (RFC 9110 §10.2.3): the source is deferred until then instead.

``network.allow_private`` (setting ``MIGWATCH_ALLOW_PRIVATE``) switches the first two off;
``network.proxy`` is ``MIGWATCH_PROXY``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.resolver import CachingHostnameResolver
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.interfaces import IAddress, IHostResolution, IResolutionReceiver
from twisted.internet.threads import deferToThread
from zope.interface import provider

from config.errors import FetchError
from crawler.safety import check_host_resolves_public, check_resolved_address, check_url_allowed


class RefusedRequest(IgnoreRequest):
    """A request refused before it left: bad scheme or forbidden address."""


class SafetyMiddleware:
    """Refuse unsafe URLs before any connection is made; route requests to the proxy.

    Without ``network.proxy`` Scrapy's proxy middleware is off (environment proxies are
    ignored) and the resolver checks every address at connect time.  With one, the
    resolver only ever sees the proxy's name, so the target is looked up and checked in
    this middleware instead (once per host and crawl), before it is handed to the proxy.
    """

    def __init__(self, allow_private: bool, proxy: str = "") -> None:
        self.allow_private = allow_private
        self.proxy = proxy
        self._checked: dict[str, str | None] = {}  # host → refusal, or None when public

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.getbool("MIGWATCH_ALLOW_PRIVATE"),
                   crawler.settings.get("MIGWATCH_PROXY") or "")

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        try:
            check_url_allowed(request.url, allow_private=self.allow_private)
        except FetchError as exc:
            raise RefusedRequest(str(exc)) from exc
        if not self.proxy:
            return
        host = urlparse_cached(request).hostname or ""
        if not self.allow_private:
            if host not in self._checked:
                self._checked[host] = await maybe_deferred_to_future(
                    deferToThread(_refusal_of, host)
                )
            refusal = self._checked[host]
            if refusal is not None:
                raise RefusedRequest(refusal)
        request.meta["proxy"] = self.proxy  # wins over http_proxy/https_proxy


def _refusal_of(host: str) -> str | None:
    try:
        check_host_resolves_public(host, allow_private=False)
    except FetchError as exc:
        return str(exc)
    return None


@provider(IResolutionReceiver)
class _PublicOnlyReceiver:
    """Holds a name's answers until all are in, then passes all on or, if any is not
    public, none (the connection then fails with a DNS error, reworded from
    :attr:`PublicOnlyResolver.refusals`)."""

    def __init__(self, receiver: Any, name: str, allow_private: bool) -> None:
        self.receiver = receiver  # an IResolutionReceiver (zope interfaces elude mypy)
        self.name = name
        self.allow_private = allow_private
        self.addresses: list[IAddress] = []

    def resolutionBegan(self, resolution: IHostResolution) -> None:  # noqa: N802
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:  # noqa: N802
        self.addresses.append(address)

    def resolutionComplete(self) -> None:  # noqa: N802
        try:
            for address in self.addresses:
                check_resolved_address(self.name, str(getattr(address, "host", address)),
                                       allow_private=self.allow_private)
        except FetchError as exc:
            PublicOnlyResolver.refusals[self.name] = str(exc)
        else:
            for address in self.addresses:
                self.receiver.addressResolved(address)
        self.receiver.resolutionComplete()


class PublicOnlyResolver(CachingHostnameResolver):
    """Scrapy's caching resolver for IPv4 and IPv6, refusing a name with any non-public
    answer unless allowed.  Scrapy's default resolver asks for IPv4 only, so a site with
    only an AAAA record could not be crawled."""

    allow_private = False
    proxy_host = ""  # the configured proxy may be on the local network
    # Twisted replaces a failed resolution by a generic DNS error on the way to the
    # download handler, so refusals are remembered here for the error message.
    refusals: ClassVar[dict[str, str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> Self:
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow_private = crawler.settings.getbool("MIGWATCH_ALLOW_PRIVATE")
        resolver.proxy_host = urlsplit(crawler.settings.get("MIGWATCH_PROXY") or "").hostname or ""
        return resolver

    def resolveHostName(  # noqa: N802
        self,
        resolutionReceiver: IResolutionReceiver,  # noqa: N803
        hostName: str,  # noqa: N803
        portNumber: int = 0,  # noqa: N803
        addressTypes: Sequence[type[IAddress]] | None = None,  # noqa: N803
        transportSemantics: str = "TCP",  # noqa: N803
    ) -> IHostResolution:
        allowed = self.allow_private or (bool(self.proxy_host) and hostName == self.proxy_host)
        receiver: Any = _PublicOnlyReceiver(resolutionReceiver, hostName, allowed)
        return super().resolveHostName(receiver, hostName, portNumber, addressTypes,
                                       transportSemantics)


class PoliteRetryMiddleware(RetryMiddleware):
    """Retry brief failures, except when the server said when to come back."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if response.status in (429, 503) and response.headers.get(b"Retry-After"):
            return response
        return super().process_response(request, response)
