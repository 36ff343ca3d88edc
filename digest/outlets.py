"""Outlets: the site behind a source, so one outlet reached through two feeds counts once.

Contract: ``outlet_key(source_url, source_key, outlet)`` is the outlet configured on the
source (``outlet:`` in ``sources.yaml``; sources naming the same outlet, compared without
regard to case and spacing, are one outlet, whatever their domains), else the registrable
domain of the source's address (``www3.nhk.or.jp`` and ``news.web.nhk`` are two outlets,
``feeds.example-news.co.jp`` and ``www.example-news.co.jp`` one), read with the public
suffix list that tldextract ships (no download: ``suffix_list_urls=()``).  The
documentation domains of RFC 2606 (``example.com``, ``.org``, ``.net``) count as
suffixes, so each name under them is an outlet of its own.  On an address without a
public suffix (an IP address, ``localhost``: the demo, a test server) sites are told
apart by the first folder of the path (``127.0.0.1:8000/gmw``); with no folder either,
the source key stands in.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from tldextract import TLDExtract


@cache
def _extractor() -> TLDExtract:
    # Built on first use: tldextract imports requests, which `migwatch --help` should not pay.
    from tldextract import TLDExtract

    return TLDExtract(cache_dir=None, suffix_list_urls=(),
                      extra_suffixes=("example.com", "example.org", "example.net"))


@cache
def outlet_key(source_url: str | None, source_key: str, outlet: str | None = None) -> str:
    """The configured ``outlet`` name, else the registrable domain of ``source_url``, else
    ``source_key``."""
    if outlet and outlet.strip():
        # A prefix no domain or key can have, so a name never merges with a domain.
        return "outlet:" + " ".join(outlet.casefold().split())
    if not source_url:
        return source_key
    parts = _extractor()(source_url)
    domain = parts.top_domain_under_public_suffix
    if parts.suffix and domain:
        return domain.lower()
    split = urlsplit(source_url)
    folder = split.path.strip("/").split("/")[0] if "/" in split.path.strip("/") else ""
    return f"{split.netloc.lower()}/{folder}" if split.netloc and folder else source_key
