"""One spelling per article address, so that an article is stored once.

Contract: :func:`canonicalize_url` resolves a link against its page, keeps only http(s),
and rewrites the address into a canonical form: lower-case scheme and host, the host in
IDNA (punycode), no default port, no fragment, an empty path written ``/``, unsafe
characters percent-encoded (w3lib's ``safe_url_string``, WHATWG URL rules), and tracking
parameters removed.  The remaining query parameters keep their order and their spelling:
some sites (old CGI and ASP.NET pages, Japanese government CMSs) route on the first
parameter or on the raw string, and sorting them (as w3lib's and courlan's canonicalisers
do) would produce addresses that fail to load.  Trailing slashes and letter case in the
path are kept for the same reason: servers disagree on whether they matter.

:func:`content_hash` gives an identity to feed entries that carry no link at all.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string

logger = logging.getLogger(__name__)

_HTTP_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Click and campaign identifiers added by mail tools, ad networks and social sites; they
# never select content.  Compared case-insensitively.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "mc_cid", "mc_eid", "igshid", "_hsenc", "_hsmi", "ref_src", "cmpid", "ocid",
        "spm", "at_medium", "at_campaign", "at_custom1", "at_custom2", "rss",
    }
)
TRACKING_PREFIXES = ("utm_",)
# Parameters that are tracking only when their value says the visitor came from a feed
# (``?from=rss``); ``?from=2025-01-01`` on a search page is content.
FEED_MARKER_PARAMETERS = frozenset({"from", "ref", "src", "source", "via", "feed"})
FEED_MARKER_VALUES = frozenset({"rss", "rss2", "atom", "feed", "rdf"})

_WHITESPACE = re.compile(r"\s+")


def is_http_url(url: str) -> bool:
    """True if ``url`` is an absolute http:// or https:// address with a host."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in _HTTP_SCHEMES and bool(parts.hostname)


def url_domain(url: str) -> str:
    """The lower-case host of ``url`` without a leading ``www.`` ('' if there is none)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _is_tracking(pair: str) -> bool:
    name, _, value = pair.partition("=")
    name = unquote_plus(name).strip().lower()
    if name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES):
        return True
    return name in FEED_MARKER_PARAMETERS and unquote_plus(value).strip().lower() in (
        FEED_MARKER_VALUES
    )


def _clean_query(query: str) -> str:
    # Filter the raw "k=v" pieces instead of parsing and re-encoding the query, so the
    # kept parameters stay byte-for-byte as the site wrote them (w3lib's
    # url_query_cleaner works the same way but cannot match prefixes or values).
    pieces = [piece for piece in query.split("&") if piece and not _is_tracking(piece)]
    return "&".join(pieces)


def canonicalize_url(url: str, base: str | None = None) -> str | None:
    """The canonical http(s) form of ``url`` (resolved against ``base``), or None."""
    raw = url.strip()
    if not raw:
        return None
    try:
        if base:
            raw = urljoin(base.strip(), raw)
        parts = urlsplit(safe_url_string(raw))
        scheme = parts.scheme.lower()
        if scheme not in _HTTP_SCHEMES or not parts.hostname:
            return None
        port = parts.port
    except ValueError as exc:  # bad port, bad IPv6 literal, IDNA failure
        logger.debug("not a usable address %r: %s", url, exc)
        return None
    host = parts.hostname.rstrip(".")
    if ":" in host:  # an IPv6 literal keeps its brackets (RFC 3986 §3.2.2)
        host = f"[{host}]"
    netloc = host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def content_hash(*parts: str) -> str:
    """SHA-256 hex of the NFKC-normalised, whitespace-collapsed parts joined by newlines."""
    normalized = (
        _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", part)).strip() for part in parts
    )
    return hashlib.sha256("\n".join(normalized).encode("utf-8")).hexdigest()
