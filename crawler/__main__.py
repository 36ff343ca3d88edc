"""The crawl child: ``python -m crawler --config DIR --db URL --run-id N --source KEY…``.

Started by :func:`crawler.process.run_crawl_child`; not meant to be run by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.crawler import CrawlerProcess

from config import load_settings, load_sources
from config.errors import MigwatchError
from crawler.scrapy_settings import scrapy_settings
from crawler.spider import CollectSpider, SourcePlan
from crawler.store import CrawlStore
from db import create_db_engine, session_factory
from db.store import source_states


def main(argv: list[str] | None = None) -> int:
    """Run one crawl over the given sources; progress as JSON Lines on stdout."""
    parser = argparse.ArgumentParser(prog="python -m crawler")
    parser.add_argument("--config", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--source", action="append", default=[])
    parser.add_argument("--log-level", default="ERROR")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(Path(args.config))
        configs = {s.key: s for s in load_sources(Path(args.config))}
        engine = create_db_engine(args.db)
        sessions = session_factory(engine)
        with sessions() as session:
            states = source_states(session, args.source)
        plans = [SourcePlan(configs[key], states[key]) for key in args.source
                 if key in configs and key in states]
        store = CrawlStore(sessions, {k: s.id for k, s in states.items()}, args.run_id,
                           schedule=settings.schedule,
                           fixed_intervals={k: c.interval for k, c in configs.items()},
                           events=sys.stdout)
    except MigwatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    process = CrawlerProcess(scrapy_settings(settings, log_level=args.log_level),
                             install_root_handler=True)
    process.crawl(CollectSpider, plans=plans, app_settings=settings, store=store)
    process.start()
    store.close()
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
