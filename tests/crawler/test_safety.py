"""Address checks that keep a hostile feed from reaching the local network."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError
from scrapy.resolver import HostResolution
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver

from config.errors import FetchError
from config.schema import NetworkSettings
from crawler.safeguards import PublicOnlyResolver
from crawler.safety import (
    check_resolved_address,
    check_url_allowed,
    is_public_address,
    proxy_url,
)


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


# -- the crawl's resolver: both address families, every answer checked ----------------------


class _FakeNameResolver:
    """Answers every name with fixed addresses, synchronously, like a tiny DNS."""

    def __init__(self, answers: list[str]) -> None:
        self.answers = answers

    def resolveHostName(self, receiver: Any, name: str, port: int = 0,  # noqa: N802
                        *_: object) -> object:
        receiver.resolutionBegan(HostResolution(name))
        for ip in self.answers:
            kind = IPv6Address if ":" in ip else IPv4Address
            receiver.addressResolved(kind("TCP", ip, port))
        receiver.resolutionComplete()
        return receiver


class _Collect:
    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.is_complete = False

    def resolutionBegan(self, resolution: object) -> None:  # noqa: N802
        pass

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        self.addresses.append(address.host)

    def resolutionComplete(self) -> None:  # noqa: N802
        self.is_complete = True


def resolve(answers: list[str], *, allow_private: bool = False) -> tuple[str, list[str]]:
    name = f"site-{uuid.uuid4().hex[:8]}.example"  # Scrapy's DNS cache is process-wide
    resolver = PublicOnlyResolver(SimpleNamespace(nameResolver=_FakeNameResolver(answers)), 0)
    resolver.allow_private = allow_private
    receiver = _Collect()
    resolver.resolveHostName(receiver, name, 80)
    assert receiver.is_complete
    return name, receiver.addresses


def test_the_crawl_resolver_asks_for_ipv6_too() -> None:
    assert IHostnameResolver.implementedBy(PublicOnlyResolver)  # getaddrinfo, not gethostbyname


def test_an_aaaa_only_site_resolves() -> None:
    _name, addresses = resolve(["2606:4700:4700::1111"])
    assert addresses == ["2606:4700:4700::1111"]
    _name, both = resolve(["203.104.209.6", "2606:4700:4700::1111"])
    assert both == ["203.104.209.6", "2606:4700:4700::1111"]


@pytest.mark.parametrize("private", ["::1", "fc00::1", "fd12:3456::9", "fe80::1",
                                     "::ffff:127.0.0.1", "::ffff:10.1.2.3", "127.0.0.1"])
def test_a_name_with_any_private_answer_is_refused_whatever_the_family(private: str) -> None:
    name, addresses = resolve(["2606:4700:4700::1111", private])
    assert addresses == []
    assert PublicOnlyResolver.refusals[name].startswith(f"refused: {name} resolves to {private}")


def test_allow_private_lets_private_answers_through() -> None:
    _name, addresses = resolve(["::1", "127.0.0.1"], allow_private=True)
    assert addresses == ["::1", "127.0.0.1"]


def test_the_proxy_password_comes_from_the_environment_only() -> None:
    env = {"MIGWATCH_PROXY_PASSWORD": "s3cr/t@x"}
    assert proxy_url("http://analyst@proxy.example:3128", env) == (
        "http://analyst:s3cr%2Ft%40x@proxy.example:3128")
    assert proxy_url("http://proxy.example:3128", env) == "http://proxy.example:3128"
    assert proxy_url("http://analyst@proxy.example:3128", {}) == (
        "http://analyst@proxy.example:3128")
    assert proxy_url("", env) == ""
    with pytest.raises(ValidationError, match="MIGWATCH_PROXY_PASSWORD"):
        NetworkSettings(proxy="http://analyst:hunter2@proxy.example:3128")
