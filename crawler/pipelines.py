"""The item pipeline: every item of the crawl goes to the batched :class:`CrawlStore`.

The pipeline builds its store in :meth:`StorePipeline.from_crawler` from the crawler's
settings (the plan and the database URL the child was given) and writes every second
what is pending, so a kill loses at most about a second of work; a :class:`SourceDone`
writes the source's last articles and its outcome together.
"""

from __future__ import annotations

import sys
from typing import Any, Self

from scrapy import Spider
from scrapy.crawler import Crawler
from twisted.internet import task

from crawler.spider import SourceDone, StoreArticle, StoreSighting
from crawler.store import CrawlStore
from db import create_db_engine

FLUSH_SECONDS = 1.0


class StorePipeline:
    """Write articles, sightings and source outcomes to the database, in batches."""

    def __init__(self, store: CrawlStore) -> None:
        self.store = store
        self.timer = task.LoopingCall(store.flush)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        plan = crawler.settings["MIGWATCH_PLAN"]
        engine = create_db_engine(crawler.settings["MIGWATCH_DB_URL"])
        events = sys.stdout if crawler.settings.getbool("MIGWATCH_PROGRESS", True) else None
        batch_size = crawler.settings.getint("MIGWATCH_BATCH_SIZE", 100)
        return cls(CrawlStore(engine, plan, events=events, batch_size=batch_size))

    def open_spider(self, spider: Spider | None = None) -> None:
        self.timer.start(FLUSH_SECONDS, now=False)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        store = self.store
        if isinstance(item, StoreArticle):
            store.add_article(item.source_key, item.article)
        elif isinstance(item, StoreSighting):
            store.add_sighting(item.source_key, item.identity, item.url, item.title)
        elif isinstance(item, SourceDone):
            store.finish_source(item.outcome)
        return item

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.timer.running:
            self.timer.stop()
        self.store.close("the crawl was stopped")
        self.store.engine.dispose()
