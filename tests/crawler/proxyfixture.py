"""A tiny forwarding HTTP proxy on 127.0.0.1 that records every request it is asked for."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class RecordingProxy:
    """``with RecordingProxy() as proxy:`` serves on ``proxy.url``; ``proxy.requests`` lists
    the absolute URLs (or CONNECT targets) clients asked it for."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "proxy-connection", "connection")}
                try:
                    with direct.open(urllib.request.Request(self.path, headers=headers),
                                     timeout=10) as upstream:
                        status, reply_headers, body = (upstream.status,
                                                       upstream.headers.items(), upstream.read())
                except urllib.error.HTTPError as exc:
                    status, reply_headers, body = exc.code, exc.headers.items(), exc.read()
                self.send_response(status)
                for name, value in reply_headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_CONNECT(self) -> None:
                owner.requests.append(f"CONNECT {self.path}")
                self.send_error(502, "this test proxy does not tunnel")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
