"""Scrapy settings derived from ``migwatch.yaml``: one request at a time per domain."""

from __future__ import annotations

from typing import Any

from config.schema import Settings

RETRY_CODES = [500, 502, 503, 504, 522, 524, 408, 429]


def scrapy_settings(settings: Settings, *, log_level: str = "ERROR") -> dict[str, Any]:
    """Translate our settings into Scrapy's."""
    crawler = settings.crawler
    return {
        "BOT_NAME": "migwatch",
        "USER_AGENT": crawler.user_agent,
        "ROBOTSTXT_OBEY": crawler.obey_robots,
        "ROBOTSTXT_USER_AGENT": crawler.user_agent,
        "DOWNLOAD_DELAY": crawler.download_delay_seconds,
        "DOWNLOAD_DELAY_JITTER": 0,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "DOWNLOADER": "crawler.downloader.PoliteDownloader",  # enforces the line above
        # Our pipeline is synchronous (it buffers): nothing gains from processing a
        # response's output in parallel, and each parallel slot costs a task per response.
        "CONCURRENT_ITEMS": 1,
        "DOWNLOAD_TIMEOUT": crawler.timeout_seconds,
        "DNS_TIMEOUT": crawler.timeout_seconds,
        "DOWNLOAD_MAXSIZE": crawler.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": crawler.max_redirects,
        "RETRY_TIMES": crawler.retries,
        "RETRY_HTTP_CODES": RETRY_CODES,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": log_level,
        "LOG_FORMAT": "%(levelname)s %(name)s: %(message)s",
        "DNS_RESOLVER": "crawler.safeguards.PublicOnlyResolver",
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.safeguards.SafetyMiddleware": 50,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.safeguards.PoliteRetryMiddleware": 550,
        },
        # Depth statistics and the meta-copy debugging aid do nothing for us, and every
        # spider middleware wraps every callback's output once more.
        "SPIDER_MIDDLEWARES": {
            "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
            "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
        },
        "ITEM_PIPELINES": {"crawler.pipelines.StorePipeline": 300},
        "MIGWATCH_ALLOW_PRIVATE": settings.network.allow_private,
        "STATS_DUMP": False,
        "LOGSTATS_INTERVAL": 0,
        "MEMUSAGE_ENABLED": False,
    }
