"""The crawl reaches IPv6 servers, and the address checks apply to them as to IPv4."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from migwatch.context import AppContext
from migwatch.jobs import collect
from tests.crawler.webfixture import write_config

FEED = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>v6 wire</title><link>http://[::1]/</link><description>d</description>
<item><title>IOM opens a regional office</title><link>http://[::1]/news/1</link>
<pubDate>Tue, 24 Nov 2026 10:00:00 +0000</pubDate><description>Office.</description></item>
</channel></rss>"""


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@pytest.fixture
def v6_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = FEED if self.path == "/feed.rss" else b"User-agent: *\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml" if body is FEED
                             else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    try:
        server = _V6Server(("::1", 0), Handler)
    except OSError:
        pytest.skip("this machine has no IPv6 loopback (::1)")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://[::1]:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """One dialect: this is about connections, not storage."""
    path = tmp_path / "migwatch.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def v6_config(tmp_path: Path, base: str, *, allow_private: bool) -> Path:
    extra = (f'  - {{key: v6, name: IPv6 wire, kind: feed, url: "{base}/feed.rss", '
             f"fetch_articles: false}}\n")
    return write_config(tmp_path / "config", base, extra_sources=extra,
                        allow_private=allow_private)


def test_a_feed_on_an_ipv6_server_is_collected(
    tmp_path: Path, v6_server: tuple[str, list[str]], db_url: str
) -> None:
    base, seen = v6_server
    app = AppContext(config_path=v6_config(tmp_path, base, allow_private=True), db_url=db_url)
    (fetch,) = collect(app, ["v6"]).fetches
    assert fetch.status == "ok", fetch.error
    assert fetch.new_count == 1 and "/feed.rss" in seen


def test_the_ipv6_loopback_is_refused_without_allow_private(
    tmp_path: Path, v6_server: tuple[str, list[str]], db_url: str
) -> None:
    base, seen = v6_server
    app = AppContext(config_path=v6_config(tmp_path, base, allow_private=False),
                     db_url=db_url)
    (fetch,) = collect(app, ["v6"]).fetches
    assert fetch.status == "error" and "loopback" in (fetch.error or ""), fetch.error
    assert seen == []
