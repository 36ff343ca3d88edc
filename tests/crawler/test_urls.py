"""Canonical article URLs: one spelling per article, tracking stripped, order kept."""

from __future__ import annotations

import pytest

from crawler.urls import canonicalize_url, content_hash, is_http_url, url_domain

ARTICLE = "https://www.iom.int/news/iom-scales-down-operations-sahel?page=2&lang=en"


@pytest.mark.parametrize(
    "variant",
    [
        ARTICLE,
        "https://www.iom.int/news/iom-scales-down-operations-sahel?page=2&lang=en#main",
        "HTTPS://WWW.IOM.INT:443/news/iom-scales-down-operations-sahel?page=2&lang=en",
        "https://www.iom.int/news/iom-scales-down-operations-sahel?utm_source=rss&page=2"
        "&utm_medium=feed&lang=en&utm_campaign=march",
        "https://www.iom.int/news/iom-scales-down-operations-sahel?page=2&fbclid=IwAR0x&lang=en",
        "https://www.iom.int/news/iom-scales-down-operations-sahel?gclid=abc&page=2&lang=en"
        "&msclkid=1&mc_cid=2&mc_eid=3&_hsenc=4&_hsmi=5&igshid=6&yclid=7&dclid=8",
        "https://www.iom.int/news/iom-scales-down-operations-sahel?page=2&lang=en&from=rss",
        "https://www.iom.int/news/iom-scales-down-operations-sahel?page=2&lang=en&rss=1"
        "&ref_src=twsrc&cmpid=x&ocid=y&spm=z&at_medium=a&at_campaign=b&UTM_Term=c",
        "  https://www.iom.int/news/iom-scales-down-operations-sahel?page=2&lang=en  ",
    ],
)
def test_tracking_variants_collapse_to_one_address(variant: str) -> None:
    assert canonicalize_url(variant) == ARTICLE


def test_remaining_parameters_keep_their_order_and_spelling() -> None:
    url = "https://www.moj.go.jp/isa/cgi/list.cgi?z=1&a=2&q=%E7%89%B9%E5%AE%9A&a=3"
    assert canonicalize_url(url) == url


def test_from_is_kept_when_it_is_not_a_feed_marker() -> None:
    url = "https://reliefweb.int/updates?from=2025-01-01&to=2025-03-31&from=rss"
    assert canonicalize_url(url) == "https://reliefweb.int/updates?from=2025-01-01&to=2025-03-31"


def test_fragment_only_difference_is_dropped() -> None:
    assert canonicalize_url("https://japan.iom.int/news/japan-fund-2025#section-2") == (
        "https://japan.iom.int/news/japan-fund-2025"
    )


@pytest.mark.parametrize(
    ("link", "base", "expected"),
    [
        (
            "../../news/jsbfy2020",
            "https://japan.iom.int/ja/topics/index",
            "https://japan.iom.int/news/jsbfy2020",
        ),
        (
            "13_00045.html",
            "https://www.moj.go.jp/isa/publications/press/press2025.html",
            "https://www.moj.go.jp/isa/publications/press/13_00045.html",
        ),
        ("/news?page=1", "https://www.iom.int/news", "https://www.iom.int/news?page=1"),
        (
            "//news.un.org/en/story/2025/03/1161231",
            "https://news.un.org/feed/",
            "https://news.un.org/en/story/2025/03/1161231",
        ),
        (
            "?offset=20",
            "https://www.gov-online.go.jp/info/index.html",
            "https://www.gov-online.go.jp/info/index.html?offset=20",
        ),
    ],
)
def test_relative_links_are_resolved_against_the_page(link: str, base: str, expected: str) -> None:
    assert canonicalize_url(link, base) == expected


@pytest.mark.parametrize(
    "link",
    [
        "javascript:void(0)",
        "JavaScript:openWindow('/news/1')",
        "data:text/html;base64,PGgxPmhpPC9oMT4=",
        "mailto:press@iom.int",
        "ftp://ftp.example.org/report.pdf",
        "tel:+81-3-0000-0000",
        "",
        "http://",
        "https://www.iom.int:99999/news",
    ],
)
def test_non_web_and_broken_links_give_none(link: str) -> None:
    assert canonicalize_url(link, "https://www.iom.int/news") is None


def test_international_host_names_become_idna() -> None:
    host = "多文化共生.テスト".encode("idna").decode("ascii")
    assert canonicalize_url("https://多文化共生.テスト/お知らせ/1") == (
        f"https://{host}/%E3%81%8A%E7%9F%A5%E3%82%89%E3%81%9B/1"
    )
    assert host.startswith("xn--")


def test_default_ports_go_and_other_ports_stay() -> None:
    assert canonicalize_url("http://example.org:80/a") == "http://example.org/a"
    assert canonicalize_url("https://example.org:8443/a") == "https://example.org:8443/a"
    assert canonicalize_url("http://[2001:db8::1]:8080/a") == "http://[2001:db8::1]:8080/a"


def test_empty_path_becomes_slash_and_spaces_are_escaped() -> None:
    assert canonicalize_url("https://unforum.org") == "https://unforum.org/"
    assert canonicalize_url("https://example.org/a b") == "https://example.org/a%20b"


def test_is_http_url_accepts_only_absolute_web_addresses() -> None:
    assert is_http_url("https://www.iom.int/news")
    assert is_http_url("HTTP://example.org")
    assert not is_http_url("/news/1")
    assert not is_http_url("javascript:alert(1)")
    assert not is_http_url("https://")


def test_url_domain_drops_www_and_case() -> None:
    assert url_domain("https://WWW.IOM.int/news") == "iom.int"
    assert url_domain("https://japan.iom.int/news") == "japan.iom.int"
    assert url_domain("not a url") == ""


def test_content_hash_ignores_width_and_whitespace_differences() -> None:
    first = content_hash("ＩＯＭ  駐日事務所\n発表", "令和７年３月２３日")
    second = content_hash("IOM 駐日事務所 発表", "令和7年3月23日")
    assert first == second
    assert len(first) == 64
    assert content_hash("IOM 駐日事務所 発表", "令和7年3月24日") != first
    assert content_hash("a", "b") != content_hash("a b")
