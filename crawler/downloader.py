"""Scrapy's downloader with its per-host limit enforced on the asyncio reactor.

Scrapy 2.19 starts each download as an asyncio task and counts a request as
"transferring" only once that task runs; with no download delay, one pass of its queue
loop therefore hands every queued request of a host to the network at once, and
``CONCURRENT_REQUESTS_PER_DOMAIN = 1`` does not hold.  This subclass marks the request
as transferring before scheduling it, so one host gets one request at a time.
"""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.defer import _schedule_coro


class PoliteDownloader(Downloader):
    """One request at a time per host (as configured), whatever the reactor."""

    def _process_queue(self, slot: Slot) -> None:
        if slot.latercall or slot.download_delay():
            super()._process_queue(slot)  # with a delay, Scrapy's own pass is right
            return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = monotonic()
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)  # counted now, not when the task starts
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
