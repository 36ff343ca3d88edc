"""The crawl child: ``python -m crawler``, started by :func:`crawler.process.run_crawl_child`.

It reads its :class:`~crawler.plan.CrawlPlan` as the first line of stdin and the database
URL from ``$MIGWATCH_DB_URL``; progress goes to stdout as JSON Lines.  It then keeps
reading stdin: the parent never writes again, so end-of-file means the parent has gone
(or wants the crawl stopped), and the crawl stops as on SIGTERM, then exits for good a
few seconds later.  Not meant to be run by hand.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from scrapy.crawler import CrawlerProcess

from config.errors import MigwatchError
from crawler.plan import DB_URL_ENV, CrawlPlan
from crawler.scrapy_settings import scrapy_settings
from crawler.spider import CollectSpider
from crawler.store import KnownIdentities
from crawler.workers import Extractor, default_workers
from db import create_db_engine

log = logging.getLogger(__name__)
HARD_EXIT_SECONDS = 5.0


def watch_parent(process: CrawlerProcess) -> None:
    """Stop the crawl when stdin reaches end-of-file (the parent died or let go)."""

    def wait() -> None:
        try:
            while sys.stdin.read(4096):
                pass
        except (OSError, ValueError):
            pass
        from twisted.internet import reactor

        reactor.callFromThread(process.stop)
        timer = threading.Timer(HARD_EXIT_SECONDS, os._exit, args=(3,))
        timer.daemon = True
        timer.start()

    threading.Thread(target=wait, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Run one crawl over the planned sources."""
    parser = argparse.ArgumentParser(prog="python -m crawler")
    parser.add_argument("--log-level", default="ERROR")
    parser.add_argument("--workers", type=int, default=None,
                        help="extraction processes (default: one per core; 0: inline)")
    args = parser.parse_args(argv)
    db_url = os.environ.get(DB_URL_ENV)
    line = sys.stdin.readline()
    if not db_url or not line.strip():
        print(f"error: the crawl child needs its plan on stdin and ${DB_URL_ENV}",
              file=sys.stderr)
        return 2
    try:
        plan = CrawlPlan.from_json(line)
        engine = create_db_engine(db_url)
    except (MigwatchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    workers = default_workers() if args.workers is None else args.workers
    extractor = Extractor(workers)  # forks now, before any thread starts
    settings = scrapy_settings(plan.settings, log_level=args.log_level)
    settings.update({"MIGWATCH_PLAN": plan, "MIGWATCH_DB_URL": db_url})
    process = CrawlerProcess(settings)
    known = KnownIdentities(engine, plan)
    process.crawl(CollectSpider, plan=plan, known=known, extractor=extractor)
    watch_parent(process)
    try:
        process.start()
    finally:
        known.close()
        extractor.close()
        engine.dispose()
    return 0


if __name__ == "__main__":
    # Everything is stored and closed: skip the interpreter's slow teardown of Scrapy,
    # Twisted and the pool (it adds about a second to every pass).
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
