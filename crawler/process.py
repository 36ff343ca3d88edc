"""Run a crawl in a child process, so the CLI and a long-lived scheduler can crawl again.

Twisted's reactor cannot be restarted inside one process; a child per crawl also means a
crash, a leak or a kill affects only that crawl.  The child writes progress as JSON Lines
on its stdout; its log goes to stderr, which the parent keeps for error reports.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def crawl_command(config_dir: Path, db_url: str, run_id: int, keys: Sequence[str],
                  *, log_level: str = "ERROR") -> list[str]:
    """The command line of a crawl child."""
    command = [sys.executable, "-m", "crawler", "--config", str(config_dir), "--db", db_url,
               "--run-id", str(run_id), "--log-level", log_level]
    for key in keys:
        command += ["--source", key]
    return command


def run_crawl_child(
    config_dir: Path,
    db_url: str,
    run_id: int,
    keys: Sequence[str],
    *,
    on_event: ProgressHandler | None = None,
    on_start: Callable[[subprocess.Popen[str]], None] | None = None,
    log_level: str = "ERROR",
) -> ChildResult:
    """Start the crawl child, relay its progress events, and wait for it."""
    command = crawl_command(config_dir, db_url, run_id, keys, log_level=log_level)
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as stderr_file:
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr_file, text=True, encoding="utf-8",
            env=env, start_new_session=True,
        )
        if on_start is not None:
            on_start(child)
        try:
            assert child.stdout is not None
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
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=8)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
            raise
        stderr_file.seek(0)
        tail = stderr_file.read()[-4000:]
    return ChildResult(returncode=returncode, stderr_tail=tail)
