"""Fetching one page from a real local HTTP server: redirects, caps, gzip, refusals."""

from __future__ import annotations

import gzip
import socket
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from config.errors import FetchError
from crawler.fetch_one import fetch_page

PAGE = (
    "<html><head><meta charset='utf-8'><title>IOM 駐日事務所</title></head>"
    "<body><p>国際移住機関の支援事業についてのお知らせです。</p></body></html>"
).encode()
release = threading.Event()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def send_body(
        self,
        body: bytes,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        length: bool = True,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str, status: int = 302) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        path = self.path
        if path == "/page":
            self.send_body(PAGE, headers={"ETag": '"v1"'})
        elif path == "/ua":
            self.send_body(self.headers.get("User-Agent", "").encode())
        elif path == "/gzip":
            self.send_body(gzip.compress(PAGE), headers={"Content-Encoding": "gzip"})
        elif path == "/big":
            self.send_body(b"x" * 5000)
        elif path == "/big-unannounced":
            self.send_body(b"x" * 5000, length=False)
            self.close_connection = True
        elif path == "/bomb":
            self.send_body(gzip.compress(b"\0" * 5_000_000), headers={"Content-Encoding": "gzip"})
        elif path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            if left == 0:
                self.redirect("/page", 301)
            else:
                self.redirect(f"/hop/{left - 1}")
        elif path == "/loop-a":
            self.redirect("/loop-b")
        elif path == "/loop-b":
            self.redirect("/loop-a", 307)
        elif path == "/to-file":
            self.redirect("file:///etc/passwd")
        elif path == "/missing":
            self.send_body(b"<h1>Not here</h1>", status=404)
        elif path == "/broken":
            self.send_body(b"<h1>Oops</h1>", status=503)
        elif path == "/slow":
            release.wait(10)
            self.send_body(PAGE)
        else:
            self.send_body(b"?", status=400)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    release.set()
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "user_agent": "migwatch-test/1.0",
        "timeout_seconds": 5.0,
        "max_bytes": 100_000,
        "allow_private": True,
    }
    options.update(overrides)
    return fetch_page(url, **options)


def test_page_is_fetched_with_status_headers_and_user_agent(server: str) -> None:
    page = fetch(f"{server}/page")
    assert page.status == 200
    assert page.body == PAGE
    assert page.headers["etag"] == '"v1"'
    assert page.content_type == "text/html; charset=utf-8"
    assert fetch(f"{server}/ua").body == b"migwatch-test/1.0"


def test_gzip_body_is_decompressed(server: str) -> None:
    assert fetch(f"{server}/gzip").body == PAGE


def test_redirects_are_followed_and_the_final_url_reported(server: str) -> None:
    page = fetch(f"{server}/hop/3")
    assert page.url == f"{server}/page"
    assert page.body == PAGE


def test_more_than_five_redirects_fail(server: str) -> None:
    with pytest.raises(FetchError, match=r"too many redirects \(more than 5\)"):
        fetch(f"{server}/hop/6")


def test_redirect_loop_is_reported_as_such(server: str) -> None:
    with pytest.raises(FetchError, match="redirect loop"):
        fetch(f"{server}/loop-a")


def test_redirect_to_a_file_url_is_refused(server: str) -> None:
    with pytest.raises(FetchError, match="refused"):
        fetch(f"{server}/to-file")


@pytest.mark.parametrize(("path", "message"), [("/missing", "HTTP 404"), ("/broken", "HTTP 503")])
def test_error_statuses_become_one_line_fetch_errors(server: str, path: str, message: str) -> None:
    with pytest.raises(FetchError, match=message) as caught:
        fetch(f"{server}{path}")
    assert f"{server}{path}" in str(caught.value)


@pytest.mark.parametrize("path", ["/big", "/big-unannounced", "/bomb"])
def test_bodies_over_the_cap_fail_even_when_compressed(server: str, path: str) -> None:
    with pytest.raises(FetchError, match="too large"):
        fetch(f"{server}{path}", max_bytes=4000)


def test_slow_server_times_out(server: str) -> None:
    with pytest.raises(FetchError, match=r"timed out after 0\.2s"):
        fetch(f"{server}/slow", timeout_seconds=0.2)


def test_loopback_server_is_refused_without_allow_private(server: str) -> None:
    with pytest.raises(FetchError, match=r"127\.0\.0\.1 is a private/loopback address"):
        fetch(f"{server}/page", allow_private=False)


def test_host_name_resolving_to_loopback_is_refused_at_connect_time(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No DNS offline: a stub resolver answers for one name, as a hostile DNS record would.
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "news.rebind.example":
            return real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    port = server.rsplit(":", 1)[1]
    with pytest.raises(FetchError) as caught:
        fetch(f"http://news.rebind.example:{port}/page", allow_private=False)
    assert str(caught.value) == (
        "refused: news.rebind.example resolves to 127.0.0.1, a private/loopback address; "
        "set network.allow_private: true only if you trust this source"
    )
    # Allowed, the connection goes to the address that was checked.
    assert fetch(f"http://news.rebind.example:{port}/page").body == PAGE


def test_unreachable_port_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="cannot reach"):
        fetch(f"http://127.0.0.1:{port}/")


@pytest.mark.parametrize("wbits", [15, -15])
def test_deflate_body_is_decompressed_whether_zlib_wrapped_or_raw(wbits: int) -> None:
    compressor = zlib.compressobj(wbits=wbits)
    body = compressor.compress(PAGE) + compressor.flush()

    class DeflateHandler(Handler):
        def do_GET(self) -> None:
            self.send_body(body, headers={"Content-Encoding": "deflate"})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), DeflateHandler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        assert fetch(f"http://127.0.0.1:{httpd.server_address[1]}/").body == PAGE
    finally:
        httpd.shutdown()
        httpd.server_close()
