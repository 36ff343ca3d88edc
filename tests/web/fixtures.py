"""Real items for the web tests: the demo's sample sites collected and tagged by the real
pipeline into a test database, and the web app served on 127.0.0.1."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migwatch.context import AppContext
from migwatch.demo import prepare_demo
from migwatch.jobs import collect, tag
from migwatch.sampleweb import SampleWeb
from migwatch.web.security import Guard
from migwatch.web.server import WebServer, guard_for

# Phrases from the text (not the title) of two demo articles, and where those articles live.
JA_PHRASE = "日本国内で保護された人身取引"
JA_ARTICLE = "iom-japan-trafficking-return"
EN_PHRASE = "Governments at the Global Forum"
EN_ARTICLE = "gfmd-summit-closes-skills-partnerships"


@dataclass(frozen=True)
class Collected:
    """A configuration directory and a database holding the demo's collected articles."""

    app: AppContext
    config: Path


def collect_demo(root: Path, web: SampleWeb, db_url: str) -> Collected:
    """Collect and tag the demo sites served by ``web`` into ``db_url``."""
    paths = prepare_demo(root, web)
    app = AppContext(config_path=paths.config, db_url=db_url)
    summary = collect(app)
    assert not summary.failed, summary
    tag(app)
    return Collected(app=app, config=paths.config)


@contextmanager
def serve(app: AppContext, guard: Guard | None = None) -> Iterator[WebServer]:
    """The web app over ``app`` on a free port of 127.0.0.1."""
    server = WebServer(app, guard or guard_for("127.0.0.1", 0, environ={}))
    with server:
        yield server


@dataclass(frozen=True)
class Reply:
    """An HTTP reply as a test reads it."""

    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
          method: str | None = None) -> Reply:
    """One request; HTTP errors come back as replies, not exceptions."""
    url = urllib.parse.quote(url, safe=":/?&=%#+")  # Japanese in the query, as a browser sends it
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as reply:
            return Reply(reply.status, dict(reply.headers), reply.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read().decode("utf-8"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class Browser:
    """A cookie and the page's CSRF token, as a browser keeps them, for form posts."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookie = ""
        self.token = ""

    def get(self, path: str) -> Reply:
        reply = fetch(self.base + path.lstrip("/"), headers=self._headers())
        self._remember(reply)
        return reply

    def post(self, path: str, fields: dict[str, str],
             files: dict[str, tuple[str, bytes]] | None = None) -> Reply:
        if not self.token:
            self.get("/")
        fields = {"csrf_token": self.token, **fields}
        if files:
            boundary = "migwatch-test-boundary"
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                     .encode() for k, v in fields.items()]
            for name, (filename, content) in files.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                             f'filename="{filename}"\r\nContent-Type: text/xml\r\n\r\n'.encode()
                             + content + b"\r\n")
            data = b"".join(parts) + f"--{boundary}--\r\n".encode()
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            data = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        reply = fetch(self.base + path.lstrip("/"), data=data,
                      headers={**self._headers(), "Content-Type": content_type})
        self._remember(reply)
        return reply

    def _headers(self) -> dict[str, str]:
        return {"Cookie": self.cookie} if self.cookie else {}

    def _remember(self, reply: Reply) -> None:
        if "Set-Cookie" in reply.headers:
            self.cookie = reply.headers["Set-Cookie"].split(";")[0]
        found = re.search(r'name="csrf_token" value="([^"]+)"', reply.body)
        if found:
            self.token = found.group(1)
