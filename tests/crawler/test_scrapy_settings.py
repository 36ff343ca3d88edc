"""The crawl's Scrapy settings follow migwatch.yaml: polite by construction."""

from __future__ import annotations

from config.schema import Settings
from crawler.scrapy_settings import scrapy_settings


def test_one_request_at_a_time_per_domain_with_the_configured_delay_and_limits() -> None:
    settings = Settings.model_validate({
        "crawler": {"download_delay_seconds": 2.5, "timeout_seconds": 12, "obey_robots": True,
                    "max_page_bytes": "8 MiB", "max_redirects": 3, "user_agent": "ua/1"},
        "network": {"allow_private": False},
    })
    values = scrapy_settings(settings)
    assert values["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1
    assert values["DOWNLOAD_DELAY"] == 2.5
    assert values["DOWNLOAD_TIMEOUT"] == 12
    assert values["DOWNLOAD_MAXSIZE"] == 8 * 1024 * 1024
    assert values["REDIRECT_MAX_TIMES"] == 3
    assert values["ROBOTSTXT_OBEY"] is True
    assert values["USER_AGENT"] == "ua/1"
    assert values["MIGWATCH_ALLOW_PRIVATE"] is False
    assert values["COOKIES_ENABLED"] is False


def test_no_proxy_unless_one_is_configured() -> None:
    plain = scrapy_settings(Settings.model_validate({}))
    assert plain["HTTPPROXY_ENABLED"] is False  # http_proxy in the environment is ignored
    assert plain["DNS_RESOLVER"] == "crawler.safeguards.PublicOnlyResolver"
    proxied = scrapy_settings(Settings.model_validate(
        {"network": {"proxy": "http://proxy.example:3128"}}))
    assert proxied["HTTPPROXY_ENABLED"] is True
    assert proxied["MIGWATCH_PROXY"] == "http://proxy.example:3128"
