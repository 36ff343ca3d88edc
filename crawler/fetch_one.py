"""Download one page outside Scrapy, for ``migwatch extract URL`` and quick checks.

Contract: :func:`fetch_page` returns the final address, status, headers and the body
(decompressed), or raises :class:`config.errors.FetchError` with a one-line reason: an
HTTP error status, a timeout, a body over ``max_bytes``, too many redirects or a redirect
loop, an unreachable host, or a refused address.  Every hop is checked with
:func:`crawler.safety.check_url_allowed`, and the connection is made only to an address
that :func:`crawler.safety.check_resolved_address` accepted (the name is resolved once,
here, so DNS cannot answer differently between the check and the connect).  Environment
proxies are ignored on purpose: a proxy resolves names itself, past that check.  With
``network.proxy`` every hop's host is resolved and checked here before the proxy is asked.

Only the standard library is used (urllib, http.client, zlib); the crawl itself goes
through Scrapy.
"""

from __future__ import annotations

import functools
import http.client
import logging
import socket
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

from config.errors import FetchError
from config.schema import Settings
from crawler.safety import (
    check_host_resolves_public,
    check_resolved_address,
    check_url_allowed,
    proxy_url,
)

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 64 * 1024
DEFAULT_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class FetchedPage:
    """A downloaded page: final URL, HTTP status, lower-cased headers, decompressed body."""

    url: str
    status: int
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, if any."""
        return self.headers.get("content-type")


def _connect_checked(
    address: tuple[str, int],
    timeout: float | None = None,
    source_address: tuple[str, int] | None = None,
    *,
    allow_private: bool,
    proxy_host: str = "",
) -> socket.socket:
    """Resolve, check every address, then connect to a checked one (no second lookup).
    The configured proxy is the one host allowed to be private."""
    host, port = address
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    allowed = allow_private or (bool(proxy_host) and host == proxy_host)
    for *_, sockaddr in infos:
        check_resolved_address(host, str(sockaddr[0]), allow_private=allowed)
    last_error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        return sock
    raise last_error or OSError(f"no address for {host}")


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, allow_private: bool, proxy_host: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = functools.partial(
            _connect_checked, allow_private=allow_private, proxy_host=proxy_host
        )


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, allow_private: bool, proxy_host: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # TLS still verifies the certificate against the host name (SNI and
        # check_hostname use self.host), only the TCP connect goes to the checked IP.
        self._create_connection = functools.partial(
            _connect_checked, allow_private=allow_private, proxy_host=proxy_host
        )


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, allow_private: bool, proxy_host: str) -> None:
        super().__init__()
        self.allow_private = allow_private
        self.proxy_host = proxy_host

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        factory = functools.partial(_CheckedHTTPConnection, allow_private=self.allow_private,
                                    proxy_host=self.proxy_host)
        return self.do_open(factory, req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, allow_private: bool, proxy_host: str) -> None:
        super().__init__()
        self.allow_private = allow_private
        self.proxy_host = proxy_host

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        factory = functools.partial(_CheckedHTTPSConnection, allow_private=self.allow_private,
                                    proxy_host=self.proxy_host)
        context = getattr(self, "_context", None)
        return self.do_open(factory, req, context=context)


def _check_target(url: str, *, allow_private: bool, via_proxy: bool) -> None:
    """The checks of one hop: the URL itself, and through a proxy (which would resolve the
    name itself, unchecked) the addresses the host resolves to."""
    check_url_allowed(url, allow_private=allow_private)
    if via_proxy:
        check_host_resolves_public(urlsplit(url).hostname or "", allow_private=allow_private)


class _CheckedRedirectHandler(urllib.request.HTTPRedirectHandler):
    def __init__(self, allow_private: bool, max_redirects: int, via_proxy: bool) -> None:
        super().__init__()
        self.allow_private = allow_private
        self.max_redirects = max_redirects
        self.via_proxy = via_proxy

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        visited: list[str] = getattr(req, "migwatch_visited", [req.full_url])
        try:
            _check_target(newurl, allow_private=self.allow_private, via_proxy=self.via_proxy)
            if newurl in visited:
                raise FetchError(f"redirect loop: {newurl} redirects back to itself via {code}")
            if len(visited) > self.max_redirects:
                raise FetchError(
                    f"too many redirects (more than {self.max_redirects}) from {visited[0]}"
                )
        except FetchError:
            fp.close()
            raise
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.migwatch_visited = [*visited, newurl]  # type: ignore[attr-defined]
        return new


def _read_capped(response: http.client.HTTPResponse, url: str, max_bytes: int) -> bytes:
    coding = (response.headers.get("content-encoding") or "identity").strip().lower()
    decoder: Any = None
    if coding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif coding == "deflate":
        decoder = None  # decided on the first chunk: zlib-wrapped or raw (RFC 9110 §8.4.1.2)
    elif coding != "identity":
        raise FetchError(f"{url} is sent with unsupported Content-Encoding {coding!r}")
    declared = response.headers.get("content-length")
    if coding == "identity" and declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{url} is too large: {int(declared)} bytes, limit {max_bytes}")

    too_large = FetchError(f"{url} is too large: more than {max_bytes} bytes")
    body = bytearray()
    raw_read = 0
    try:
        while True:
            chunk = response.read(_CHUNK_BYTES)
            if not chunk:
                break
            raw_read += len(chunk)
            if coding == "deflate" and decoder is None:
                # A zlib header is CM=8 with a header checksum (RFC 1950 §2.2); servers
                # that send raw deflate instead are common enough to accept.
                wrapped = len(chunk) >= 2 and chunk[0] & 0x0F == 8 and (
                    (chunk[0] << 8 | chunk[1]) % 31 == 0
                )
                raw = not wrapped
                decoder = zlib.decompressobj(-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
            if decoder is None:
                body += chunk
            else:
                # The cap counts decompressed bytes; max_length keeps a gzip bomb from
                # inflating more than one byte past the limit in memory.
                body += decoder.decompress(chunk, max_bytes + 1 - len(body))
                if raw_read > 2 * max_bytes + _CHUNK_BYTES:
                    raise too_large
            if len(body) > max_bytes:
                raise too_large
        if decoder is not None:
            body += decoder.flush()
            if len(body) > max_bytes:
                raise too_large
    except zlib.error as exc:
        raise FetchError(f"{url} sent a corrupt {coding} body: {exc}") from exc
    return bytes(body)


def fetch_page(
    url: str,
    *,
    user_agent: str,
    timeout_seconds: float,
    max_bytes: int,
    allow_private: bool,
    max_redirects: int = DEFAULT_MAX_REDIRECTS,
    proxy: str = "",
) -> FetchedPage:
    """Download ``url`` with address checks on every hop, a timeout and a size cap;
    through ``proxy`` if one is given (environment proxies are never used)."""
    via_proxy = bool(proxy)
    _check_target(url, allow_private=allow_private, via_proxy=via_proxy)
    # Through a proxy the connection made is to the proxy, which the user chose (it may
    # well be on the local network); the targets were checked above.  Any other host
    # (one no_proxy sends direct) is still checked at connect time.
    proxy_host = urlsplit(proxy).hostname or "" if proxy else ""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {}),
        _CheckedHTTPHandler(allow_private, proxy_host),
        _CheckedHTTPSHandler(allow_private, proxy_host),
        _CheckedRedirectHandler(allow_private, max_redirects, via_proxy),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": user_agent,
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "Accept-Encoding": "gzip, deflate",
        },
    )
    try:
        with opener.open(request, timeout=timeout_seconds) as response:
            body = _read_capped(response, url, max_bytes)
            final_url = response.geturl()
            status = response.status
            headers: dict[str, str] = {}
            for name, value in response.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
    except urllib.error.HTTPError as exc:
        exc.close()
        if 300 <= exc.code < 400:
            raise FetchError(f"refused redirect from {url}: {exc.reason}") from exc
        raise FetchError(f"HTTP {exc.code} {exc.reason} from {url}") from exc
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError | socket.timeout):
            raise FetchError(f"timed out after {timeout_seconds:g}s fetching {url}") from exc
        if isinstance(reason, socket.gaierror):
            raise FetchError(f"cannot resolve the host of {url}: {reason.strerror}") from exc
        raise FetchError(f"cannot reach {url}: {reason}") from exc
    except TimeoutError as exc:
        raise FetchError(f"timed out after {timeout_seconds:g}s fetching {url}") from exc
    except (http.client.HTTPException, OSError) as exc:
        raise FetchError(f"connection to {url} failed: {exc}") from exc
    logger.info("fetched url=%s status=%d bytes=%d", final_url, status, len(body))
    return FetchedPage(url=final_url, status=status, headers=headers, body=body)


def fetch_with_settings(url: str, settings: Settings, *, max_bytes: int) -> FetchedPage:
    """:func:`fetch_page` with the user agent, timeout, redirects and network rules of
    ``migwatch.yaml``."""
    return fetch_page(
        url,
        user_agent=settings.crawler.user_agent,
        timeout_seconds=settings.crawler.timeout_seconds,
        max_bytes=max_bytes,
        allow_private=settings.network.allow_private,
        max_redirects=settings.crawler.max_redirects,
        proxy=proxy_url(settings.network.proxy),
    )
