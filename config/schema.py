"""The settings schema: every key, its default and its meaning, declared once.

``migwatch.yaml`` maps to :class:`Settings`, ``sources.yaml`` to :class:`SourcesFile`.
Unknown keys are errors (a misspelt key silently ignored is the worst kind of bug for a
user who is not a programmer).  Durations are written ``30s``, ``15m``, ``2h``, ``1d``.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from datetime import timedelta, tzinfo
from functools import cache
from typing import Annotated, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kib|mib|gib|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}
KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
# A BCP 47 tag (RFC 5646 §2.1): a primary language subtag of 2-3 letters, then subtags.
_LANGUAGE_TAG = re.compile(r"^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$")


@cache
def _language_names() -> tuple[frozenset[str], dict[str, str]]:
    """Known primary language subtags, and language names (English, Japanese, own) → tag."""
    from babel import Locale  # the CLDR tables; imported only when a language is checked

    codes: set[str] = set()
    names: dict[str, str] = {}
    for display in ("en", "ja"):
        for code, label in Locale(display).languages.items():
            if "_" in code:
                continue
            codes.add(code)
            names.setdefault(label.casefold(), code)
    return frozenset(codes), names


def parse_language(value: object) -> object:
    """A source language as its BCP 47 primary subtag: ``ja``, ``en``, ``zh``.

    ``ja-JP`` and ``en_US`` are read as ``ja`` and ``en``; a language written as a name
    (``Japanese``, ``日本語``) is refused with the tag to use instead.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    codes, names = _language_names()
    match = _LANGUAGE_TAG.match(text)
    if match and match.group(1).lower() in codes:
        return match.group(1).lower()
    named = names.get(text.casefold())
    if named:
        raise ValueError(f"{value!r} is a language name; use {named}")
    raise ValueError(f"{value!r} is not a language tag; write a BCP 47 tag such as ja, en or "
                     "zh")


_PROXY_URL = re.compile(r"https?://([^\s/@]+@)?(\[[0-9A-Fa-f:.]+\]|[^\s/@:\[\]]+)(:\d{1,5})?/?")


def parse_duration(value: object) -> timedelta:
    """Parse ``30s``/``15m``/``2h``/``1d``/``1w`` (or plain seconds) into a timedelta."""
    if isinstance(value, timedelta):
        return value
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds is None or not math.isfinite(seconds):
        # YAML's .inf and .nan are floats; timedelta would overflow on them.
        raise ValueError(f"{value!r} is not a duration; write it like 30s, 15m, 2h or 1d")
    if seconds > _LONGEST.total_seconds():
        raise ValueError(f"{value!r} is too long; at most {_in_words(_LONGEST)}")
    return timedelta(seconds=seconds)


def _in_words(value: timedelta) -> str:
    """``10 minutes``, ``1 day``, ``30 days``: a bound as a user reads it."""
    seconds = value.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds:g} seconds"


def parse_size(value: object) -> int:
    """Parse ``15 MiB``/``500kb``/``1048576`` into a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = _SIZE.match(value)
        if match:
            unit = (match.group(2) or "b").lower()
            return int(float(match.group(1)) * _SIZE_UNITS[unit])
    raise ValueError(f"{value!r} is not a size; write it like 15 MiB or 500 KiB")


def _check_positive(value: timedelta) -> timedelta:
    if value.total_seconds() <= 0:
        raise ValueError("must be longer than zero")
    return value


def _at_most(limit: timedelta) -> AfterValidator:
    def check(value: timedelta) -> timedelta:
        if value > limit:
            raise ValueError(f"must be at most {_in_words(limit)}")
        return value

    return AfterValidator(check)


def _seconds_at_most(limit: float, *, zero_ok: bool = False) -> AfterValidator:
    """A number of seconds that is finite, above zero (or zero) and at most ``limit``."""
    shown = _in_words(timedelta(seconds=limit))

    def check(value: float) -> float:
        low_ok = value >= 0 if zero_ok else value > 0
        if not math.isfinite(value) or not low_ok or value > limit:
            lowest = "0" if zero_ok else "more than 0"
            raise ValueError(f"must be a number of seconds from {lowest} to {limit:g} ({shown})")
        return value

    return AfterValidator(check)


# Every duration has an upper bound: an endless timeout or wait (YAML's .inf) would hang
# a crawl or the daemon for good instead of failing with a message.
_LONGEST = timedelta(days=366)
Duration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_check_positive)]
ShortDuration = Annotated[Duration, _at_most(timedelta(days=1))]
MonthDuration = Annotated[Duration, _at_most(timedelta(days=30))]
TimeoutSeconds = Annotated[float, _seconds_at_most(600)]
DelaySeconds = Annotated[float, _seconds_at_most(3600, zero_ok=True)]
ByteSize = Annotated[int, BeforeValidator(parse_size), Field(gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrawlerSettings(_Model):
    """How politely and how carefully pages are downloaded."""

    user_agent: str = Field(
        "migwatch/0.1 (news monitoring; set crawler.user_agent to name yourself and a contact)",
        description="User-Agent sent with every request; name yourself and a contact.",
    )
    download_delay_seconds: DelaySeconds = Field(
        1.0, description="Pause between two requests to the same domain (at most 1 hour)."
    )
    timeout_seconds: TimeoutSeconds = Field(
        30.0, description="Give up on a request after this (at most 10 minutes)."
    )
    obey_robots: bool = Field(True, description="Obey each site's robots.txt.")
    max_feed_bytes: ByteSize = Field(
        15 * 1024**2, description="Largest feed or sitemap accepted, after decompression."
    )
    max_page_bytes: ByteSize = Field(
        32 * 1024**2, description="Largest page accepted, after decompression."
    )
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per request.")
    retries: int = Field(1, ge=0, le=5, description="Retries of a request that failed briefly.")
    max_articles_per_source: int = Field(
        200, ge=1, description="Most new article pages fetched from one source in one pass."
    )
    max_feed_items: int = Field(
        500, ge=1, le=10_000,
        description="Most entries read from one feed in one pass, newest first; the rest "
                    "are read in the next passes.",
    )
    max_retry_after: MonthDuration = Field(
        timedelta(hours=24), description="Longest Retry-After a server may ask us to wait."
    )


class NetworkSettings(_Model):
    """Which addresses may be contacted."""

    allow_private: bool = Field(
        False,
        description=(
            "Allow loopback, private, link-local and metadata addresses. Off by default so a "
            "hostile feed cannot make migwatch probe your own network."
        ),
    )
    proxy: str = Field(
        "",
        description=(
            "Send every request through this HTTP proxy (http://host:port, or "
            "http://user@host:port with the password in MIGWATCH_PROXY_PASSWORD). Empty: connect "
            "directly and ignore http_proxy/https_proxy in the environment. Through a proxy "
            "each site's address is still looked up and checked before the request leaves."
        ),
    )

    @field_validator("proxy")
    @classmethod
    def _check_proxy(cls, value: str) -> str:
        value = value.strip()
        match = _PROXY_URL.fullmatch(value) if value else None
        if value and match is None:
            raise ValueError("write the proxy as http://host:port (or leave it empty)")
        if match is not None and ":" in (match.group(1) or ""):
            raise ValueError("no password here: write http://user@host:port and set the "
                             "password in the environment variable MIGWATCH_PROXY_PASSWORD")
        return value


class DigestSettings(_Model):
    """What the weekly digest looks like and who receives it."""

    language: Literal["ja", "en"] = Field("ja", description="Language of the digest's text.")
    recipients: list[str] = Field(default_factory=list, description="Email addresses.")
    archive_dir: str = Field("var/archive", description="Where HTML/text/Atom issues are kept.")
    max_per_theme: int = Field(7, ge=1, le=100, description="Stories shown per theme.")
    title: str = Field("migwatch", description="Name shown at the top of every issue.")
    base_url: str = Field(
        "", description="Public URL of the archive folder, used for links in mail and Atom."
    )
    silent_after: Duration = Field(
        timedelta(days=14), description="A source with nothing new for this long is 'silent'."
    )
    max_attempts: int = Field(
        5, ge=1, description="Attempts to mail an issue to one recipient before giving up."
    )
    feed_entries: int = Field(
        20, ge=1, description="Newest finished issues kept in each feed.<lang>.atom."
    )
    skip_empty: bool = Field(
        True, description="A week without any new article is archived but not mailed."
    )
    retry_wait: ShortDuration = Field(
        timedelta(minutes=10),
        description="Wait before mailing a failed recipient again; doubles after each try.",
    )

    @field_validator("recipients")
    @classmethod
    def _check_recipients(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address):
                raise ValueError(f"{address!r} is not an email address")
        return value


class SmtpSettings(_Model):
    """The mail server; the password comes only from ``MIGWATCH_SMTP_PASSWORD``."""

    host: str = Field("localhost", description="SMTP server host name.")
    port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS.")
    ssl: bool = Field(False, description="Connect with TLS from the start (port 465).")
    username: str = Field("", description="Login name; empty for no login.")
    sender: str = Field("migwatch@localhost", description="From: address of the digest.")
    timeout_seconds: TimeoutSeconds = Field(
        30.0, description="Give up on the server after this (at most 10 minutes)."
    )

    @model_validator(mode="after")
    def _one_tls_mode(self) -> SmtpSettings:
        if self.ssl and self.starttls:
            raise ValueError("choose either ssl (implicit TLS) or starttls, not both")
        return self


class ScheduleSettings(_Model):
    """When the daemon collects and sends."""

    tick: ShortDuration = Field(
        timedelta(minutes=1), description="How often due sources are sought."
    )
    min_interval: MonthDuration = Field(timedelta(minutes=15), description="Fastest polling.")
    max_interval: MonthDuration = Field(timedelta(hours=24), description="Slowest polling.")
    digest_cron: str = Field("0 8 * * mon", description="When the digest is sent (crontab).")
    digest_misfire_grace: MonthDuration = Field(
        timedelta(hours=12), description="How late a missed digest run may still start."
    )
    pause_after_failures: float = Field(
        10.0, gt=0, le=1000, allow_inf_nan=False,
        description="Weighted failures (hard 1, soft 0.5, temporary 0.25) that pause a source.",
    )
    probe_interval: MonthDuration = Field(
        timedelta(days=1), description="How often a paused source is tried again."
    )

    @field_validator("digest_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("write five crontab fields: minute hour day month weekday")
        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"not a crontab line ({exc}); for example '0 8 * * mon'") from exc
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ScheduleSettings:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not be longer than max_interval")
        return self


class QueueSettings(_Model):
    """``serve --queue`` and ``worker``: the task queue in PostgreSQL (see docs/scaling.md)."""

    heartbeat: Duration = Field(
        timedelta(seconds=10), description="How often a worker says it is alive."
    )
    stalled_after: Duration = Field(
        timedelta(seconds=60),
        description="A worker silent this long is dead: its running jobs are tried again.",
    )
    max_attempts: int = Field(5, ge=1, le=100, description="Tries of a job whose crawl crashed.")
    retry_wait: Duration = Field(
        timedelta(seconds=30), description="Wait before a crashed job is tried again."
    )

    @model_validator(mode="after")
    def _heartbeat_within_timeout(self) -> QueueSettings:
        if self.stalled_after < 2 * self.heartbeat:
            raise ValueError("stalled_after must be at least twice the heartbeat")
        return self


class Settings(_Model):
    """Everything in ``migwatch.yaml``."""

    timezone: str = Field("Asia/Tokyo", description="IANA time zone for weeks and schedules.")
    crawler: CrawlerSettings = Field(default_factory=CrawlerSettings)  # type: ignore[arg-type]
    network: NetworkSettings = Field(default_factory=NetworkSettings)  # type: ignore[arg-type]
    digest: DigestSettings = Field(default_factory=DigestSettings)  # type: ignore[arg-type]
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)  # type: ignore[arg-type]
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)  # type: ignore[arg-type]
    queue: QueueSettings = Field(default_factory=QueueSettings)  # type: ignore[arg-type]

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone such as Asia/Tokyo") from exc
        return value

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The configured time zone."""
        return zoneinfo.ZoneInfo(self.timezone)


class ListingSelectors(_Model):
    """CSS selectors that find articles on an HTML listing page."""

    item: str = Field(description="One element per article, e.g. 'ul.news li'.")
    link: str = Field("a", description="Inside an item: the element whose href is the article.")
    title: str | None = Field(None, description="Inside an item: the title (default: link text).")
    date: str | None = Field(None, description="Inside an item: the date (datetime attr or text).")
    next_page: str | None = Field(None, description="The link to the next listing page.")
    max_pages: int = Field(1, ge=1, le=50, description="Listing pages read per pass.")


class SourceConfig(_Model):
    """One source in ``sources.yaml``."""

    key: str = Field(pattern=KEY_PATTERN, description="Short unique id, e.g. 'un-news-migrants'.")
    name: str = Field(description="Name shown to readers.")
    kind: Literal["feed", "listing", "sitemap"]
    url: str
    language: Annotated[str | None, BeforeValidator(parse_language)] = Field(
        None, description="BCP 47 primary tag (ja, en, ...); detected when absent."
    )
    enabled: bool = True
    weight: float = Field(1.0, ge=0, le=10, description="Importance in the digest ranking.")
    fetch_articles: bool = Field(True, description="Download each new article's page.")
    interval: MonthDuration | None = Field(
        None, description="Fixed polling interval (no adaptation)."
    )
    listing: ListingSelectors | None = None
    categories: list[str] = Field(default_factory=list, description="Free labels (OPML).")
    note: str | None = Field(None, description="Anything worth remembering about the source.")
    timezone: str | None = Field(
        None, description="IANA time zone of the source's dates (default: the configured one)."
    )
    outlet: str | None = Field(
        None, min_length=1, max_length=300,
        description="Outlet name: sources with the same one count as one outlet in the digest.",
    )

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"{value!r} is not an IANA time zone such as Asia/Tokyo or Europe/Paris"
            ) from exc
        return value

    @field_validator("outlet")
    @classmethod
    def _check_outlet(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if not value:
            raise ValueError("must be a name, e.g. 'NHK'; leave it out to use the site's domain")
        return value

    def tz_or(self, default: tzinfo) -> tzinfo:
        """The source's time zone, or ``default`` (the configured one) when it has none."""
        return zoneinfo.ZoneInfo(self.timezone) if self.timezone else default

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// address")
        return value

    @model_validator(mode="after")
    def _listing_needs_selectors(self) -> SourceConfig:
        if self.kind == "listing" and self.listing is None:
            raise ValueError("a 'listing' source needs a 'listing:' block with at least 'item'")
        return self


class SourcesFile(_Model):
    """The whole ``sources.yaml``."""

    sources: list[SourceConfig] = Field(default_factory=list)
