"""A real HTTP server on 127.0.0.1 that serves the bundled sample sites and test routes.

``migwatch demo`` and the end-to-end tests crawl it instead of the internet.  Contract:

* Static files under ``root`` are served with a Content-Type from their extension
  (charset utf-8 unless ``_headers.yaml`` says otherwise), a strong ETag (sha1 of the bytes
  actually sent) and a fixed Last-Modified (from ``_headers.yaml`` or
  :data:`DEFAULT_LAST_MODIFIED`; never the file's mtime, which changes on every checkout).
* Conditional GETs get 304: ``If-None-Match`` first and, when it is present,
  ``If-Modified-Since`` is ignored (RFC 9110 §13.2.2).
* ``{base}`` in text files is replaced by :attr:`SampleWeb.base_url` at serve time, on the
  bytes, so Shift_JIS and EUC-JP files keep their encoding.
* ``_headers.yaml`` in the root maps a path (or an fnmatch pattern such as ``/old/*``) to
  header overrides; a ``null`` value removes a header, ``gzip: true`` makes the file
  answer ``Accept-Encoding: gzip`` with a gzip body.  Names starting with ``_`` are not served.
* :meth:`SampleWeb.route` registers an exact path (query ignored) that wins over files.
* Every request is appended to :attr:`SampleWeb.requests` before it is answered.
* :meth:`SampleWeb.stop` sets :attr:`SampleWeb.release`, stops the loop, closes open
  connections and joins every thread, so tests leak nothing.
"""

from __future__ import annotations

import contextlib
import fnmatch
import gzip
import hashlib
import io
import socket
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from ruamel.yaml import YAML

DEMO_SITES = Path(__file__).parent / "demo_sites"
HEADERS_FILE = "_headers.yaml"
# A fixed date after the newest sample article, so validators are stable across checkouts.
DEFAULT_LAST_MODIFIED = "Sun, 29 Nov 2026 21:00:00 GMT"
SLOW_TIMEOUT_SECONDS = 30.0

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".yaml": "application/yaml; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
}
TEXT_SUFFIXES = frozenset({".html", ".htm", ".xml", ".rss", ".rdf", ".atom", ".txt"})
BASE_PLACEHOLDER = b"{base}"

Body = bytes | Callable[[], Iterator[bytes]]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    host: str


@dataclass(frozen=True)
class Reply:
    """What a route answers; a callable body is streamed without Content-Length."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""


Handler = Callable[[RecordedRequest], Reply]


class SampleWeb:
    """Serve ``root`` (default: the bundled demo sites) plus registered routes."""

    def __init__(self, root: Path | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = (root if root is not None else DEMO_SITES).resolve()
        self.host = host
        self.port = port
        self.base_url = ""
        self.requests: list[RecordedRequest] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._routes: dict[str, Reply | Handler] = {}
        self._manifest = _load_manifest(self.root / HEADERS_FILE)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SampleWeb:
        """Bind, start serving in a background thread and return self."""
        if self._server is not None:
            raise RuntimeError("SampleWeb is already running")
        self.release.clear()
        server = _Server((self.host, self.port), _RequestHandler, self)
        self._server = server
        bound_port = server.server_address[1]
        self.base_url = f"http://{self.host}:{bound_port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sampleweb-{bound_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release slow handlers, stop serving, close connections and join all threads."""
        self.release.set()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()  # joins the handler threads (block_on_close)
        if thread is not None:
            thread.join()

    def __enter__(self) -> SampleWeb:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- routes and the request log ----------------------------------------------------

    def route(self, path: str, reply: Reply | Handler) -> None:
        """Answer ``path`` (exact, query ignored) with ``reply`` instead of a file."""
        with self._lock:
            self._routes[path] = reply

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """Requests whose path (without query) is ``path``, in order."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def clear_log(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self.requests.clear()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return self.base_url + path

    # -- used by the request handler ---------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _reply_for(self, request: RecordedRequest) -> Reply:
        with self._lock:
            routed = self._routes.get(request.path)
        if routed is not None:
            return routed(request) if callable(routed) else routed
        return self._serve_file(request)

    def _serve_file(self, request: RecordedRequest) -> Reply:
        if request.method not in ("GET", "HEAD"):
            return status(405, b"method not allowed\n", {"Allow": "GET, HEAD"})
        path = self._file_for(request.path)
        if path is None:
            return status(404, b"not found\n", {"Content-Type": "text/plain; charset=utf-8"})
        data = path.read_bytes()
        if path.suffix in TEXT_SUFFIXES:
            data = data.replace(BASE_PLACEHOLDER, self.base_url.encode("ascii"))
        headers = _Headers()
        headers.set("Content-Type", CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
        headers.set("Last-Modified", DEFAULT_LAST_MODIFIED)
        options = self._manifest.options_for(request.path)
        use_gzip = bool(options.get("gzip")) and _accepts_gzip(request.headers)
        if use_gzip:
            # mtime=0 keeps the compressed bytes, and so the ETag, identical every time.
            data = gzip.compress(data, mtime=0)
            headers.set("Content-Encoding", "gzip")
        if options.get("gzip"):
            headers.set("Vary", "Accept-Encoding")
        # A strong validator must differ between content codings (RFC 9110 §8.8.3), and
        # hashing the gzip bytes gives exactly that.
        headers.set("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
        for name, value in self._manifest.headers_for(request.path).items():
            headers.set(name, value)
        if _is_not_modified(request.headers, headers.get("ETag"), headers.get("Last-Modified")):
            kept = {k: v for k, v in headers.items() if k.lower() in _KEPT_ON_304}
            return Reply(304, kept, b"")
        return Reply(200, dict(headers.items()), data)

    def _file_for(self, url_path: str) -> Path | None:
        relative = unquote(url_path).lstrip("/")
        parts = [p for p in relative.split("/") if p]
        if any(p in (".", "..") or p.startswith("_") or "\\" in p for p in parts):
            return None
        candidate = self.root.joinpath(*parts) if parts else self.root
        if candidate.is_dir():
            candidate = candidate / "index.html"
        try:
            candidate.resolve().relative_to(self.root)
        except ValueError:
            return None
        return candidate if candidate.is_file() else None


# -- helpers for tests ---------------------------------------------------------------------


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
    """A fixed reply with ``code``."""
    return Reply(code, dict(headers or {}), body)


def redirect_loop(path_a: str, path_b: str) -> Handler:
    """A handler to route on both paths: each answers 302 to the other."""

    def handler(request: RecordedRequest) -> Reply:
        target = path_b if request.path == path_a else path_a
        return Reply(302, {"Location": target, "Content-Type": "text/plain"}, b"moved\n")

    return handler


def slow(event: threading.Event) -> Handler:
    """A handler that blocks until ``event`` is set (or 30 s pass), then answers briefly."""

    def handler(request: RecordedRequest) -> Reply:
        event.wait(SLOW_TIMEOUT_SECONDS)
        return Reply(200, {"Content-Type": "text/html; charset=utf-8"}, b"<p>late</p>")

    return handler


def oversized(n_bytes: int, chunk_bytes: int = 64 * 1024) -> Reply:
    """A reply streaming exactly ``n_bytes`` of plausible HTML with no Content-Length."""
    head = b"<!DOCTYPE html><html><head><title>Archive</title></head><body>\n"
    tail = b"</body></html>\n"
    line = b"<p>" + b"Migration news archive line. " * 8 + b"</p>\n"

    def stream() -> Iterator[bytes]:
        remaining = n_bytes
        start = head[:remaining]
        remaining -= len(start)
        yield start
        filler = max(remaining - len(tail), 0)
        block = line * max(chunk_bytes // len(line), 1)
        while filler > 0:
            piece = block[:filler]
            filler -= len(piece)
            remaining -= len(piece)
            yield piece
        yield tail[:remaining]

    return Reply(200, {"Content-Type": "text/html; charset=utf-8"}, stream)


def gzip_bomb(n_bytes: int) -> Reply:
    """A small gzip body (Content-Encoding: gzip) that expands to ``n_bytes`` of spaces."""
    out = io.BytesIO()
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    chunk = b" " * (1024 * 1024)
    remaining = n_bytes
    while remaining > 0:
        piece = chunk[: min(remaining, len(chunk))]
        out.write(compressor.compress(piece))
        remaining -= len(piece)
    out.write(compressor.flush())
    headers = {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"}
    return Reply(200, headers, out.getvalue())


# -- internals -----------------------------------------------------------------------------

_KEPT_ON_304 = frozenset({"etag", "last-modified", "vary", "cache-control", "expires"})


class _Headers:
    """An ordered, case-insensitive header map; ``None`` removes a header."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str]] = {}

    def set(self, name: str, value: str | None) -> None:
        if value is None:
            self._items.pop(name.lower(), None)
        else:
            self._items[name.lower()] = (name, value)

    def get(self, name: str) -> str | None:
        item = self._items.get(name.lower())
        return item[1] if item else None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.values())


@dataclass(frozen=True)
class _Manifest:
    """Per-path overrides from ``_headers.yaml``: patterns apply first, exact paths last."""

    entries: tuple[tuple[str, dict[str, Any]], ...] = ()

    def _matching(self, path: str) -> list[dict[str, Any]]:
        patterns = [v for k, v in self.entries if k != path and fnmatch.fnmatchcase(path, k)]
        exact = [v for k, v in self.entries if k == path]
        return patterns + exact

    def options_for(self, path: str) -> dict[str, Any]:
        """Lower-case, non-header switches such as ``gzip``."""
        merged: dict[str, Any] = {}
        for entry in self._matching(path):
            merged.update({k: v for k, v in entry.items() if k in _OPTIONS})
        return merged

    def headers_for(self, path: str) -> dict[str, str | None]:
        """Header overrides; ``None`` means: send no such header."""
        merged: dict[str, str | None] = {}
        for entry in self._matching(path):
            for key, value in entry.items():
                if key not in _OPTIONS:
                    merged[key] = None if value is None else str(value)
        return merged


_OPTIONS = frozenset({"gzip"})


def _load_manifest(path: Path) -> _Manifest:
    if not path.is_file():
        return _Manifest()
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of path -> headers")
    entries = []
    for key, value in data.items():
        if not isinstance(value, dict):
            raise ValueError(f"{path}: {key}: expected a mapping of header -> value")
        entries.append((str(key), dict(value)))
    return _Manifest(tuple(entries))


def _accepts_gzip(headers: dict[str, str]) -> bool:
    for coding in headers.get("accept-encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _etag_matches(header: str, etag: str | None) -> bool:
    if etag is None:
        return False
    if header.strip() == "*":
        return True
    # If-None-Match uses the weak comparison (RFC 9110 §13.1.2).
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def _is_not_modified(headers: dict[str, str], etag: str | None, last_modified: str | None) -> bool:
    if "if-none-match" in headers:
        return _etag_matches(headers["if-none-match"], etag)
    since = headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an unparseable date is ignored (RFC 9110 §13.1.3)


class _Server(ThreadingHTTPServer):
    """Tracks open connections so stop() can close keep-alive sockets and join threads."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], web: SampleWeb
    ) -> None:
        self.web = web
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SampleWeb/1.0"
    sys_version = ""
    timeout = 10  # an idle keep-alive connection must not hold a thread forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the request log is :attr:`SampleWeb.requests`."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        web = self.server.web
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = RecordedRequest(
            method=self.command,
            path=split.path or "/",
            query=split.query,
            headers=headers,
            host=headers.get("host", ""),
        )
        web._record(request)
        length = int(headers.get("content-length", "0") or 0)
        if length:
            self.rfile.read(length)
        try:
            reply = web._reply_for(request)
        except Exception as exc:  # a broken test handler should show up as a 500, not hang
            reply = status(500, f"handler failed: {exc!r}\n".encode())
        try:
            self._send(reply, head_only=self.command == "HEAD")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, reply: Reply, *, head_only: bool) -> None:
        self.send_response(reply.status)
        names = {k.lower() for k in reply.headers}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if callable(reply.body):
            # No Content-Length: the end of the body is the end of the connection.
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            if not head_only:
                for chunk in reply.body():
                    if chunk:
                        self.wfile.write(chunk)
            return
        if "content-length" not in names and reply.status not in (204, 304):
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if not head_only and reply.status not in (204, 304):
            self.wfile.write(reply.body)
