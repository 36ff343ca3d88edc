"""How failures and HTTP answers are classified and worded for the user.

Failures are weighted for a source's health: ``hard`` (the source as configured cannot
work: 404, 410, 403, refused address, redirect loop, oversized, not a feed), ``soft``
(probably needs a look: other 4xx, a changed page layout, DNS failure) and ``temporary``
(try again later: 5xx, 429, timeouts, refused connections).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from twisted.internet.defer import CancelledError
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure

from crawler.safeguards import PublicOnlyResolver, RefusedRequest

HARD_STATUSES = {401, 403, 404, 410, 451}
TEMPORARY_STATUSES = {408, 425, 429}


def classify_status(status: int) -> str:
    """Weight class of an HTTP error status."""
    if status in HARD_STATUSES:
        return "hard"
    if status >= 500 or status in TEMPORARY_STATUSES:
        return "temporary"
    return "soft"


def describe_status(status: int, url: str) -> str:
    """One line for an HTTP error status."""
    advice = {
        "hard": "check the URL in sources.yaml or disable the source",
        "temporary": "the server has a problem; migwatch will try again",
        "soft": "check the URL in sources.yaml",
    }[classify_status(status)]
    return f"HTTP {status} from {url}; {advice}"


def describe_oversize(url: str, max_bytes: int) -> str:
    """One line for a body that decompresses past the size cap (a hard failure)."""
    return (f"{url} decompresses to more than the {max_bytes / 1024**2:g} MiB size cap; "
            "the response was dropped")


def classify_failure(failure: Failure, url: str, *, timeout_seconds: float,
                     max_bytes: int) -> tuple[str, str]:
    """Weight class and one-line message for a download failure."""
    exc = failure.value
    if isinstance(exc, RefusedRequest):
        return "hard", str(exc)
    if isinstance(exc, CannotResolveHostError | DNSLookupError):
        refusal = PublicOnlyResolver.refusals.get(urlsplit(url).hostname or "")
        if refusal:
            return "hard", refusal
        return "soft", f"host of {url} not found (DNS); check the URL or your network"
    if isinstance(exc, DownloadTimeoutError | TimeoutError):
        return "temporary", f"{url} did not answer within {timeout_seconds:g} s; will retry later"
    if isinstance(exc, DownloadCancelledError | CancelledError):
        return "hard", (f"{url} sent more than the {max_bytes / 1024**2:g} MiB size cap; "
                        "the response was dropped")
    if isinstance(exc, DownloadConnectionRefusedError | ConnectionRefusedError):
        return "temporary", f"{url} refused the connection; will retry later"
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "redirection" in text:
            return "hard", f"{url} redirects in a loop (or too many times); check the URL"
        if "robots.txt" in text.lower():
            return "hard", f"{url} is forbidden by the site's robots.txt"
        if "DOWNLOAD_MAXSIZE" in text or "larger than" in text:
            return "hard", describe_oversize(url, max_bytes)
        return "soft", f"{url} was not fetched: {text or type(exc).__name__}"
    name = type(exc).__name__
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    return "temporary", f"{url} failed: {name}: {detail[:200]}"


def parse_retry_after(value: str | None, now: datetime, cap: timedelta) -> datetime | None:
    """When a server asked us to come back (RFC 9110 §10.2.3), capped at ``cap``."""
    if not value:
        return None
    value = value.strip()
    delay: timedelta | None = None
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        delay = when - now
    if delay.total_seconds() <= 0:
        return None
    return now + min(delay, cap)
