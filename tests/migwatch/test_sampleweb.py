"""The sample web server: validators and 304s, {base} substitution, routes, log, gzip."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from migwatch.sampleweb import (
    DEFAULT_LAST_MODIFIED,
    RecordedRequest,
    Reply,
    SampleWeb,
    gzip_bomb,
    oversized,
    redirect_loop,
    slow,
    status,
)

SJIS_TEXT = "令和8年11月20日 ① 外国人受入れ ㈱サンプル"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "news.rss").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><link>{base}/</link></channel></rss>',
        encoding="utf-8",
    )
    (tmp_path / "old").mkdir()
    page = f'<html><meta charset="Shift_JIS"><a href="{{base}}/old/2.html">{SJIS_TEXT}</a></html>'
    (tmp_path / "old" / "1.html").write_bytes(page.encode("cp932"))
    (tmp_path / "plain.html").write_text("<p>plain {base}</p>", encoding="utf-8")
    (tmp_path / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n", encoding="utf-8")
    (tmp_path / "_headers.yaml").write_text(
        "/old/*:\n"
        "  Content-Type: text/html; charset=Shift_JIS\n"
        "  Last-Modified: Fri, 20 Nov 2026 01:00:00 GMT\n"
        "/old/1.html:\n"
        "  ETag: null\n"
        "/feeds/news.rss:\n"
        "  gzip: true\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.fixture
def web(site: Path) -> Iterator[SampleWeb]:
    with SampleWeb(site) as server:
        yield server


def get(
    web: SampleWeb, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(web.base_url.removeprefix("http://"), timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def test_static_file_has_strong_etag_of_the_served_bytes(web: SampleWeb) -> None:
    code, headers, body = get(web, "/plain.html")
    assert code == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["etag"] == f'"{hashlib.sha1(body).hexdigest()}"'
    assert headers["last-modified"] == DEFAULT_LAST_MODIFIED
    assert body == f"<p>plain {web.base_url}</p>".encode()


def test_matching_if_none_match_answers_304_without_body(web: SampleWeb) -> None:
    _, first, _ = get(web, "/plain.html")
    code, headers, body = get(web, "/plain.html", {"If-None-Match": first["etag"]})
    assert code == 304
    assert body == b""
    assert headers["etag"] == first["etag"]


def test_if_none_match_takes_precedence_over_if_modified_since(web: SampleWeb) -> None:
    code, _, _ = get(
        web, "/plain.html", {"If-None-Match": '"other"', "If-Modified-Since": DEFAULT_LAST_MODIFIED}
    )
    assert code == 200


def test_if_modified_since_answers_304_when_not_newer(web: SampleWeb) -> None:
    assert get(web, "/plain.html", {"If-Modified-Since": DEFAULT_LAST_MODIFIED})[0] == 304
    assert get(web, "/plain.html", {"If-Modified-Since": "Sun, 01 Nov 2026 00:00:00 GMT"})[0] == 200


def test_headers_file_overrides_type_date_and_removes_etag(web: SampleWeb) -> None:
    code, headers, _ = get(web, "/old/1.html")
    assert code == 200
    assert headers["content-type"] == "text/html; charset=Shift_JIS"
    assert headers["last-modified"] == "Fri, 20 Nov 2026 01:00:00 GMT"
    assert "etag" not in headers
    since = {"If-Modified-Since": "Fri, 20 Nov 2026 01:00:00 GMT"}
    assert get(web, "/old/1.html", since)[0] == 304


def test_base_substitution_keeps_shift_jis_bytes_valid(web: SampleWeb) -> None:
    _, _, body = get(web, "/old/1.html")
    text = body.decode("cp932")  # strict: raises on any damaged byte
    assert SJIS_TEXT in text
    assert f"{web.base_url}/old/2.html" in text


def test_gzip_is_served_only_when_accepted_and_marked(web: SampleWeb) -> None:
    _, plain_headers, plain = get(web, "/feeds/news.rss")
    code, headers, body = get(web, "/feeds/news.rss", {"Accept-Encoding": "gzip"})
    assert code == 200
    assert "content-encoding" not in plain_headers
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == plain
    assert headers["etag"] != plain_headers["etag"]
    assert headers["content-type"] == "application/rss+xml; charset=utf-8"
    _, other, _ = get(web, "/plain.html", {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in other


def test_robots_private_and_missing_files(web: SampleWeb, site: Path) -> None:
    code, _, body = get(web, "/robots.txt")
    assert code == 200
    assert b"Disallow: /private/" in body
    assert get(web, "/nothing.html")[0] == 404
    assert get(web, "/_headers.yaml")[0] == 404
    assert get(web, "/../etc/passwd")[0] == 404


def test_route_overrides_file_and_ignores_query(web: SampleWeb) -> None:
    web.route("/plain.html", Reply(200, {"Content-Type": "text/plain"}, b"routed"))
    code, _, body = get(web, "/plain.html?x=1")
    assert (code, body) == (200, b"routed")


def test_route_handler_sees_the_recorded_request(web: SampleWeb) -> None:
    seen: list[RecordedRequest] = []

    def handler(request: RecordedRequest) -> Reply:
        seen.append(request)
        return status(503, b"busy", {"Retry-After": "120"})

    web.route("/busy", handler)
    code, headers, _ = get(web, "/busy?a=b", {"User-Agent": "migwatch-test"})
    assert code == 503
    assert headers["retry-after"] == "120"
    assert seen[0].query == "a=b"
    assert seen[0].headers["user-agent"] == "migwatch-test"
    assert seen[0].host == web.base_url.removeprefix("http://")


def test_request_log_is_ordered_filterable_and_clearable(web: SampleWeb) -> None:
    get(web, "/plain.html")
    get(web, "/robots.txt")
    get(web, "/plain.html", method="HEAD")
    assert [r.path for r in web.requests] == ["/plain.html", "/robots.txt", "/plain.html"]
    assert [r.method for r in web.requests_for("/plain.html")] == ["GET", "HEAD"]
    web.clear_log()
    assert web.requests == []


def test_redirect_loop_bounces_between_two_paths(web: SampleWeb) -> None:
    loop = redirect_loop("/a", "/b")
    web.route("/a", loop)
    web.route("/b", loop)
    assert get(web, "/a")[1]["location"] == "/b"
    assert get(web, "/b")[1]["location"] == "/a"


def test_oversized_streams_exactly_n_bytes_without_length(web: SampleWeb) -> None:
    web.route("/big.html", oversized(300_000))
    code, headers, body = get(web, "/big.html")
    assert code == 200
    assert "content-length" not in headers
    assert len(body) == 300_000
    assert body.startswith(b"<!DOCTYPE html>")


def test_gzip_bomb_is_small_on_the_wire_and_large_inflated(web: SampleWeb) -> None:
    web.route("/bomb.html", gzip_bomb(20 * 1024 * 1024))
    _, headers, body = get(web, "/bomb.html")
    assert headers["content-encoding"] == "gzip"
    assert len(body) < 100_000
    assert len(zlib.decompress(body, 31)) == 20 * 1024 * 1024


def test_slow_handler_is_released_by_stop(site: Path) -> None:
    web = SampleWeb(site).start()
    web.route("/slow", slow(web.release))
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            urllib.request.urlopen(web.base_url + "/slow", timeout=20).read()
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as exc:
            errors.append(exc)

    client = threading.Thread(target=fetch)
    client.start()
    deadline = time.monotonic() + 5
    while not web.requests_for("/slow") and time.monotonic() < deadline:
        time.sleep(0.01)
    before = set(threading.enumerate())
    started = time.monotonic()
    web.stop()
    client.join(10)
    assert time.monotonic() - started < 5
    assert not client.is_alive()
    leftover = [t for t in threading.enumerate() if t in before and t.name.startswith("sample")]
    assert leftover == []


def test_stop_joins_threads_even_with_an_idle_keep_alive_connection(site: Path) -> None:
    before = threading.active_count()
    web = SampleWeb(site).start()
    conn = http.client.HTTPConnection(web.base_url.removeprefix("http://"), timeout=5)
    conn.request("GET", "/plain.html")
    conn.getresponse().read()  # the connection stays open (HTTP/1.1 keep-alive)
    started = time.monotonic()
    web.stop()
    conn.close()
    assert time.monotonic() - started < 3
    assert threading.active_count() == before
