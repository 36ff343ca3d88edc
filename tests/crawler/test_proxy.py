"""The proxy policy: environment proxies are ignored; ``network.proxy`` still checks targets.

A proxy resolves host names itself, past the connect-time address check, so through a
proxy the crawl and the single-page fetch look the target up and check it first.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.errors import FetchError
from crawler.fetch_one import fetch_page
from crawler.safety import is_public_address
from migwatch.context import AppContext
from migwatch.jobs import collect
from migwatch.sampleweb import SampleWeb
from tests.crawler.proxyfixture import RecordingProxy
from tests.crawler.webfixture import build_site, write_config


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """One dialect is enough: the proxy policy lives in the crawler, not in the database."""
    path = tmp_path / "migwatch.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def web(tmp_path: Path) -> Iterator[SampleWeb]:
    build_site(tmp_path / "web")
    with SampleWeb(tmp_path / "web") as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    with RecordingProxy() as server:
        yield server


def private_name_url(web: SampleWeb) -> str:
    """The fixture web under this machine's own name, which resolves to loopback."""
    host = socket.gethostname()
    assert not is_public_address(socket.gethostbyname(host)), "needs a host name on loopback"
    return web.base_url.replace("127.0.0.1", host)


def env_proxy(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, url)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_an_environment_proxy_is_ignored_and_a_private_name_refused(
    tmp_path: Path, web: SampleWeb, proxy: RecordingProxy, db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env_proxy(monkeypatch, proxy.url)  # inherited by the crawl child
    config = write_config(tmp_path / "config", private_name_url(web), allow_private=False)
    (fetch,) = collect(AppContext(config_path=config, db_url=db_url), ["wire-en"]).fetches
    assert proxy.requests == []
    assert web.requests == []
    assert fetch.status == "error" and "resolves to 127." in (fetch.error or ""), fetch.error
    assert socket.gethostname() in (fetch.error or "")  # the refusal names the target


def test_through_network_proxy_a_private_target_is_refused_before_the_proxy_sees_it(
    tmp_path: Path, web: SampleWeb, proxy: RecordingProxy, db_url: str
) -> None:
    config = write_config(tmp_path / "config", private_name_url(web), allow_private=False,
                          proxy=proxy.url)
    (fetch,) = collect(AppContext(config_path=config, db_url=db_url), ["wire-en"]).fetches
    assert proxy.requests == []
    assert web.requests == []
    error = fetch.error or ""
    assert fetch.status == "error" and socket.gethostname() in error, error
    assert "before asking the proxy" in error


def test_through_network_proxy_the_crawl_goes_via_the_proxy(
    tmp_path: Path, web: SampleWeb, proxy: RecordingProxy, db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env_proxy(monkeypatch, "http://127.0.0.1:9")  # a dead one: must not be used
    config = write_config(tmp_path / "config", web.base_url, allow_private=True,
                          proxy=proxy.url)
    (fetch,) = collect(AppContext(config_path=config, db_url=db_url), ["wire-en"]).fetches
    assert fetch.status == "ok", fetch.error
    assert f"{web.base_url}/en/feed.rss" in proxy.requests
    assert len(web.requests) == len(proxy.requests)  # every request went through it


def test_fetch_one_ignores_an_environment_proxy(
    web: SampleWeb, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_proxy(monkeypatch, proxy.url)
    with pytest.raises(FetchError, match="resolves to 127"):
        fetch_page(private_name_url(web) + "/en/a1.html", user_agent="t", timeout_seconds=5,
                   max_bytes=10**6, allow_private=False)
    page = fetch_page(web.base_url + "/en/a1.html", user_agent="t", timeout_seconds=5,
                      max_bytes=10**6, allow_private=True)
    assert page.status == 200 and proxy.requests == []


def test_fetch_one_through_network_proxy_checks_the_target_first(
    web: SampleWeb, proxy: RecordingProxy
) -> None:
    target = private_name_url(web) + "/en/a1.html"
    with pytest.raises(FetchError, match="before asking the proxy") as caught:
        fetch_page(target, user_agent="t", timeout_seconds=5, max_bytes=10**6,
                   allow_private=False, proxy=proxy.url)
    assert socket.gethostname() in str(caught.value)
    assert proxy.requests == [] and web.requests == []
    page = fetch_page(web.base_url + "/en/a1.html", user_agent="t", timeout_seconds=5,
                      max_bytes=10**6, allow_private=True, proxy=proxy.url)
    assert page.status == 200 and proxy.requests == [web.base_url + "/en/a1.html"]
