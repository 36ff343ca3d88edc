"""Run a crawl in a child process, so the CLI and a long-lived scheduler can crawl again.

Twisted's reactor cannot be restarted inside one process; a child per crawl also means a
crash, a leak or a kill affects only that crawl.  The child reads its plan from stdin and
the database URL from its environment (never argv, where ``ps`` shows a password); it
writes progress as JSON Lines on its stdout; its log goes to stderr, which the parent
keeps for error reports.  It stops when its stdin closes, so it never outlives us.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from crawler.plan import DB_URL_ENV, CrawlPlan

log = logging.getLogger(__name__)

ProgressHandler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class ChildResult:
    """How the crawl child ended."""

    returncode: int
    stderr_tail: str

    @property
    def was_killed(self) -> bool:
        """Whether the child died of a signal."""
        return self.returncode < 0


def crawl_command(*, log_level: str = "ERROR", workers: int | None = None) -> list[str]:
    """The command line of a crawl child: no source, no database URL (``ps`` shows argv)."""
    command = [sys.executable, "-m", "crawler", "--log-level", log_level]
    if workers is not None:
        command += ["--workers", str(workers)]
    return command


def run_crawl_child(
    plan: CrawlPlan,
    db_url: str,
    *,
    on_event: ProgressHandler | None = None,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
    log_level: str = "ERROR",
    workers: int | None = None,
) -> ChildResult:
    """Start the crawl child, hand it the plan, relay its progress events, wait for it.

    The child's stdin stays open for its whole life: when this process dies, the
    kernel closes it and the child stops.  An exception here (Ctrl-C, SIGTERM turned
    into an exception by the command) stops the child gracefully first.
    """
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    env[DB_URL_ENV] = db_url
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as stderr_file:
        child = subprocess.Popen(
            crawl_command(log_level=log_level, workers=workers), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=stderr_file, text=True, encoding="utf-8",
            env=env, start_new_session=True,
        )
        if on_start is not None:
            on_start(child)
        try:
            assert child.stdin is not None and child.stdout is not None
            try:
                child.stdin.write(plan.to_json() + "\n")
                child.stdin.flush()
            except BrokenPipeError:
                pass  # the child died at start; its stderr says why
            for line in child.stdout:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if on_event is not None:
                    on_event(event)
            returncode = child.wait()
        except BaseException:
            # Our own interruption: stop the child gracefully, it records what it finished.
            stop_child(child)
            raise
        finally:
            _close(child.stdin)
        stderr_file.seek(0)
        tail = stderr_file.read()[-4000:]
    return ChildResult(returncode=returncode, stderr_tail=tail)


def stop_child(child: subprocess.Popen[str], grace_seconds: float = 8.0) -> None:
    """SIGTERM (the child stores what it finished), then SIGKILL after the grace."""
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _close(stream: IO[str] | None) -> None:
    if stream is None:
        return
    with contextlib.suppress(OSError):
        stream.close()
