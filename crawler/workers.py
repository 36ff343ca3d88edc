"""Article extraction on every core: a process pool beside the crawl's event loop.

trafilatura is CPU-bound and the crawl is one process, so the crawl child hands each
downloaded page to a pool of worker processes, one per core.  The pool is forked
before the reactor starts (the workers inherit the imported extractor and no running
threads); each worker asks the kernel to kill it when the crawl child dies, so a killed
crawl leaves no worker behind.  How many pages wait for a worker is bounded by the
crawl's own concurrency (Scrapy keeps at most ``CONCURRENT_REQUESTS`` responses and
``SCRAPER_SLOT_MAX_ACTIVE_SIZE`` bytes in flight).
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, tzinfo
from functools import partial

from crawler.extract import ExtractedArticle, extract_article

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel for SIGKILL when our parent exits (Linux); exit if it is gone."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the crawl child decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if os.getppid() != parent:
        os._exit(0)


def _warm() -> None:
    """Nothing: makes the pool start its workers."""


class Extractor:
    """Extract pages in worker processes (or inline, with ``workers=0``)."""

    def __init__(self, workers: int) -> None:
        self.pool: ProcessPoolExecutor | None = None
        if workers > 0:
            self.pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                initializer=die_with_parent,
            )
            # With fork, the pool starts every worker on its first task: do it now,
            # while this process has no other threads.
            self.pool.submit(_warm).result()

    async def extract(self, body: bytes, url: str, *, content_type: str | None, tz: tzinfo,
                      now: datetime) -> ExtractedArticle:
        """What :func:`crawler.extract.extract_article` finds in the page."""
        job = partial(extract_article, body, url, content_type=content_type, tz=tz, now=now)
        if self.pool is None:
            return job()
        return await asyncio.get_running_loop().run_in_executor(self.pool, job)

    def close(self) -> None:
        """Stop the workers and reap them (their CPU time then counts as ours)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def default_workers() -> int:
    """One worker per core the process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
