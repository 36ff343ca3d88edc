"""Keep a hostile feed from turning migwatch against the network it runs in.

Contract: a feed or page can name any address, so before connecting the crawler checks
that the scheme is http(s) and that the host (as written, and again as resolved at connect
time, which also defeats DNS rebinding) is a public internet address.  Loopback, private
(RFC 1918, RFC 4193), link-local (including the cloud metadata service 169.254.169.254),
shared CGNAT space (RFC 6598), multicast, unspecified, documentation and reserved ranges
are refused unless ``network.allow_private`` is set.  Nothing here touches the network.

Refusals raise :class:`config.errors.FetchError` with a one-line message that says what
to do.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from config.errors import FetchError

logger = logging.getLogger(__name__)

# Ranges Python 3.11's ``is_global`` misses or that must never be a news server.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network" (RFC 1122); 0.0.0.0 reaches localhost on Linux
        "100.64.0.0/10",  # shared address space, carrier-grade NAT (RFC 6598)
        "192.0.0.0/24",  # IETF protocol assignments (RFC 6890)
        "192.0.2.0/24",  # documentation (RFC 5737)
        "198.18.0.0/15",  # benchmarking (RFC 2544)
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",  # reserved, includes 255.255.255.255
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix

_PRIVATE_HINT = "set network.allow_private: true only if you trust this source"


def _is_public_v4(address: ipaddress.IPv4Address) -> bool:
    if any(address in net for net in _BLOCKED_V4):
        return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_link_local
    )


def is_public_address(ip: str) -> bool:
    """True if ``ip`` is a global unicast address; False for anything else or a non-address."""
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return _is_public_v4(address)
    # An IPv6 address that carries an IPv4 one reaches that IPv4 host: judge the inner one.
    embedded = address.ipv4_mapped or address.sixtofour
    if embedded is None and address in _NAT64:
        embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if embedded is not None:
        return _is_public_v4(embedded)
    if address.teredo is not None:
        return _is_public_v4(address.teredo[1])
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_link_local
    )


def _literal_address(host: str) -> str | None:
    """The IP address a host name spells by itself, without DNS, or None."""
    host = host.strip("[]").rstrip(".")
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        pass
    # WHATWG URL "ends in a number": a host whose last label is numeric is an IPv4
    # address in any of the legacy spellings inet_aton accepts (127.1, 0x7f.0.0.1,
    # 2130706433), and the resolver will connect to it as such.
    last = host.rsplit(".", 1)[-1].lower()
    if last and (last.isdigit() or (last.startswith("0x") and _is_hex(last[2:]))):
        try:
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError as exc:
            raise FetchError(f"refused: {host} is neither a host name nor an IP address") from exc
    return None


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdef" for ch in text)


def check_url_allowed(url: str, *, allow_private: bool) -> None:
    """Raise FetchError unless ``url`` is http(s) and its host is not a non-public IP literal."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        raise FetchError(f"refused: {url} is not a valid web address ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https"):
        scheme = parts.scheme or "no scheme"
        raise FetchError(f"refused: {url} uses {scheme}; only http and https are fetched")
    if not host:
        raise FetchError(f"refused: {url} has no host name")
    if allow_private:
        return
    name = host.rstrip(".").lower()
    # RFC 6761 §6.3: localhost and *.localhost always mean the loopback interface.
    if name == "localhost" or name.endswith(".localhost"):
        raise FetchError(f"refused: {host} is this machine (loopback); {_PRIVATE_HINT}")
    literal = _literal_address(host)
    if literal is not None and not is_public_address(literal):
        raise FetchError(f"refused: {host} is a private/loopback address; {_PRIVATE_HINT}")


def check_resolved_address(host: str, ip: str, *, allow_private: bool,
                           via_proxy: bool = False) -> None:
    """Raise FetchError if ``host`` resolved to a non-public ``ip`` and that is not allowed."""
    if allow_private or is_public_address(ip):
        return
    logger.warning("refused host=%s ip=%s status=private_address", host, ip)
    through = " (checked before asking the proxy)" if via_proxy else ""
    raise FetchError(
        f"refused: {host} resolves to {ip}, a private/loopback address{through}; "
        f"{_PRIVATE_HINT}"
    )


def check_host_resolves_public(host: str, *, allow_private: bool) -> None:
    """Resolve ``host`` (IPv4 and IPv6) and raise FetchError unless every answer is public.

    For requests sent through a proxy, which would otherwise resolve the name itself: the
    target is refused here, by name, before anything is sent.  This blocks; the crawl
    calls it in a thread.
    """
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise FetchError(
            f"refused: {host} could not be looked up to check its address before asking the "
            f"proxy ({reason}); check the URL or your DNS"
        ) from exc
    for *_, sockaddr in infos:
        check_resolved_address(host, str(sockaddr[0]), allow_private=False, via_proxy=True)


PROXY_PASSWORD_ENV = "MIGWATCH_PROXY_PASSWORD"


def proxy_url(configured: str, environ: Mapping[str, str] = os.environ) -> str:
    """``network.proxy`` with the password from ``MIGWATCH_PROXY_PASSWORD`` put in, when
    it names a user (secrets stay out of migwatch.yaml)."""
    password = environ.get(PROXY_PASSWORD_ENV)
    parts = urlsplit(configured)
    if not configured or not password or not parts.username or parts.password is not None:
        return configured
    user, host = parts.netloc.rsplit("@", 1)
    return parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}").geturl()
