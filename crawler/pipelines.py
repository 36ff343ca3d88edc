"""The item pipeline: every item of the crawl is written through ``db.store``.

Articles are committed one by one (a kill loses at most the one in flight); a sighting of
an article that another source is still fetching waits until that article is stored; a
:class:`SourceDone` writes the fetch log and the source's validators and health, with the
counts of new and already-known articles of the pass.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Self

from scrapy import Spider
from scrapy.crawler import Crawler

from crawler.spider import SourceDone, StoreArticle, StoreSighting
from crawler.store import CrawlStore


class StorePipeline:
    """Write articles, sightings and source outcomes to the database."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.new: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()
        self.waiting: dict[str, list[StoreSighting]] = defaultdict(list)
        self.done: set[str] = set()
        self.store: CrawlStore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.store = getattr(spider or self.crawler.spider, "store", None)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        store = self.store
        assert store is not None
        if isinstance(item, StoreArticle):
            result = store.store_article(item.source_key, item.article)
            if result.is_new:
                self.new[item.source_key] += 1
                store.progress("article", source=item.source_key, new=True)
            else:
                self.seen[item.source_key] += 1
            for sighting in self.waiting.pop(item.article.identity, []):
                self._sighting(store, sighting)
        elif isinstance(item, StoreSighting):
            if not store.record_sighting(item.source_key, item.identity, item.url, item.title):
                self.waiting[item.identity].append(item)
            else:
                self.seen[item.source_key] += 1
        elif isinstance(item, SourceDone):
            key = item.source_key
            # Sightings still waiting for another source's fetch will be recorded; they
            # count as "seen again" for this source now.
            waiting = sum(1 for group in self.waiting.values() for s in group
                          if s.source_key == key)
            self.done.add(key)
            store.record_outcome(key, item.outcome, new_count=self.new.pop(key, 0),
                                 seen_count=self.seen.pop(key, 0) + waiting)
        return item

    def _sighting(self, store: CrawlStore, sighting: StoreSighting) -> None:
        store.record_sighting(sighting.source_key, sighting.identity, sighting.url,
                              sighting.title)
        if sighting.source_key not in self.done:
            self.seen[sighting.source_key] += 1

    def close_spider(self, spider: Spider | None = None) -> None:
        store = self.store
        if store is None:
            return
        for identity, sightings in self.waiting.items():
            for sighting in sightings:
                if store.record_sighting(sighting.source_key, identity, sighting.url,
                                         sighting.title):
                    self.seen[sighting.source_key] += 1
        self.waiting.clear()
        unfinished = getattr(spider or self.crawler.spider, "unfinished_outcomes", None)
        if unfinished is not None:
            for outcome in unfinished("the crawl was stopped"):
                key = outcome.source_key
                store.record_outcome(key, outcome, new_count=self.new.pop(key, 0),
                                     seen_count=self.seen.pop(key, 0))
