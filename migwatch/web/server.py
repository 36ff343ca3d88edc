"""Serving the web app with waitress: in the foreground (``migwatch web``) or on a thread
beside the scheduler (``migwatch serve --web``) and in tests."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

from migwatch.context import AppContext
from migwatch.web.app import Clock, create_app, utc_now
from migwatch.web.security import Guard, password_hash_from

log = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
THREADS = 4


def guard_for(host: str, port: int, *, extra_hosts: tuple[str, ...] = (),
              behind_https: bool = False, environ: Mapping[str, str] | None = None) -> Guard:
    """The security settings for ``host:port`` (ConfigError off loopback without password)."""
    env = os.environ if environ is None else environ
    return Guard(host=host, port=port, password_hash=password_hash_from(env, host),
                 extra_hosts=extra_hosts, behind_https=behind_https)


def _not_ready(_environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
    start("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


class WebServer:
    """The web app on a waitress server, bound on creation; ``run`` or ``start``/``stop``."""

    def __init__(self, app_ctx: AppContext, guard: Guard, *, clock: Clock = utc_now) -> None:
        app_ctx.engine  # noqa: B018 — migrate once, before any request thread asks
        self.server: Any = create_server(_not_ready, host=guard.host, port=guard.port,
                                         threads=THREADS, ident="migwatch")
        self.port = int(self.server.effective_port)  # port 0 asks for a free one
        self.host = guard.host
        self.guard = replace(guard, port=self.port)
        self.flask_app = create_app(app_ctx, self.guard, clock=clock)
        self.server.application = self.flask_app
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C) or :meth:`stop`."""
        log.info("web status=started url=%s", self.url)
        try:
            self.server.run()
        finally:
            with contextlib.suppress(OSError):  # already closed by stop()
                self.server.close()

    def start(self) -> WebServer:
        """Serve on a background thread."""
        self._thread = threading.Thread(target=self.run, name="migwatch-web", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop serving and wait for the thread."""
        if self._thread is not None and self._thread.is_alive():
            # Closed from the loop's own thread (through its wake-up pipe): a socket closed
            # under a running select() from another thread fails with EBADF there.
            self.server.trigger.pull_trigger(self._close_all)
            self._thread.join(timeout_seconds)
        else:
            with contextlib.suppress(OSError):
                self.server.close()
        self.server.task_dispatcher.shutdown()
        log.info("web status=stopped")

    def _close_all(self) -> None:
        wasyncore.close_all(self.server._map, ignore_all=True)  # an empty map ends the loop

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
