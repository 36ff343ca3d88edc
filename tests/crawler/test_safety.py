"""Address checks that keep a hostile feed from reaching the local network."""

from __future__ import annotations

import pytest

from config.errors import FetchError
from crawler.safety import check_resolved_address, check_url_allowed, is_public_address


@pytest.mark.parametrize(
    "ip",
    ["8.8.8.8", "203.104.209.6", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_are_public(ip: str) -> None:
    assert is_public_address(ip)


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.0.0.5",
        "172.16.4.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata service
        "169.254.0.1",
        "100.64.0.1",  # carrier-grade NAT
        "100.127.255.254",
        "0.0.0.0",
        "0.1.2.3",
        "224.0.0.251",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.10",
        "198.18.0.1",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456:789a::1",
        "fe80::1",
        "fe80::1%eth0",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:c0a8:101::1",  # 6to4 wrapping 192.168.1.1
        "2001:db8::1",
        "[::1]",
        "not-an-address",
        "",
    ],
)
def test_non_public_addresses_are_not_public(ip: str) -> None:
    assert not is_public_address(ip)


@pytest.mark.parametrize(
    "url",
    ["https://www.iom.int/news", "http://203.104.209.6/feed.xml", "https://[2606:4700::1111]/"],
)
def test_public_http_urls_are_allowed(url: str) -> None:
    check_url_allowed(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("javascript:alert(1)", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("ftp://ftp.example.org/a", "only http and https"),
        ("gopher://127.0.0.1:6379/_", "only http and https"),
        ("http://127.0.0.1:8080/admin", "127.0.0.1 is a private/loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]/", "::1"),
        ("http://[::ffff:127.0.0.1]/", "private/loopback"),
        ("http://2130706433/", "private/loopback"),  # 127.0.0.1 as one number
        ("http://0x7f.1/", "private/loopback"),
        ("http://127.1/", "private/loopback"),
        ("http://012.0.0.1/", "private/loopback"),  # octal 012 is 10: 10.0.0.1
        ("http://localhost:8000/", "loopback"),
        ("http://intranet.localhost/", "loopback"),
        ("http:///path-only", "no host"),
        ("http://1.2.3.4.5/", "neither a host name nor an IP address"),
    ],
)
def test_refused_urls_say_why_in_one_line(url: str, message: str) -> None:
    with pytest.raises(FetchError) as caught:
        check_url_allowed(url, allow_private=False)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_allow_private_lets_local_addresses_through_but_not_other_schemes() -> None:
    check_url_allowed("http://127.0.0.1:8080/feed.xml", allow_private=True)
    check_url_allowed("http://localhost/", allow_private=True)
    with pytest.raises(FetchError, match="only http and https"):
        check_url_allowed("file:///etc/passwd", allow_private=True)


def test_resolved_private_address_is_refused_with_advice() -> None:
    with pytest.raises(FetchError) as caught:
        check_resolved_address("news.example.org", "10.1.2.3", allow_private=False)
    assert str(caught.value) == (
        "refused: news.example.org resolves to 10.1.2.3, a private/loopback address; "
        "set network.allow_private: true only if you trust this source"
    )


def test_resolved_public_or_allowed_addresses_pass() -> None:
    check_resolved_address("news.example.org", "93.184.215.14", allow_private=False)
    check_resolved_address("intranet", "10.1.2.3", allow_private=True)
