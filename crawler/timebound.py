"""A hard time bound per source: past ``NIANBAO_MAX_SECONDS`` its crawl is stopped, whatever waits.

Scrapy's CLOSESPIDER_TIMEOUT closes the spider gracefully: every request already handed to the
downloader is still fetched first.  For a portal answering in 5 s, or one whose 5xx answers set a
back-off of minutes (``crawler.barriers``), that holds the source — and the batch that waits for
its last source — for minutes past its bound.  So when the time is up this drops the requests
still queued in the downloader (each fails with IgnoreRequest, which nothing retries) and closes
the spider with reason ``time_limit``; only downloads already on the wire finish, bounded by
``DOWNLOAD_TIMEOUT``.  The run is then recorded interrupted (``crawler.runner._incomplete``).
"""

from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import deferred_from_coro
from twisted.python.failure import Failure

log = logging.getLogger(__name__)

REASON = "time_limit"


class TimeBound:
    def __init__(self, crawler: Crawler, seconds: float):
        self.crawler = crawler
        self.seconds = seconds
        self.call = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TimeBound:
        seconds = crawler.settings.getfloat("NIANBAO_MAX_SECONDS")
        if seconds <= 0:
            raise NotConfigured
        ext = cls(crawler, seconds)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.call = call_later(self.seconds, self.time_up, spider)

    def spider_closed(self, spider: Spider) -> None:
        if self.call is not None:
            self.call.cancel()  # a no-op when it fired already

    def time_up(self, spider: Spider) -> None:
        engine = self.crawler.engine
        log.warning(
            "%s: its %.0f s are up; stopping its crawl", getattr(spider, "name", spider), self.seconds
        )
        self.crawler.stats.set_value("nianbao/time_limit", self.seconds)
        dropped = 0
        for slot in list(engine.downloader.slots.values()):
            if slot.latercall is not None:
                slot.latercall.cancel()  # a back-off of minutes: nothing will be sent after it
                slot.latercall = None
            while slot.queue:
                _request, queued = slot.queue.popleft()
                queued.errback(Failure(IgnoreRequest("the source's time bound is up")))
                dropped += 1
        self.crawler.stats.inc_value("nianbao/time_limit_dropped", dropped)
        deferred_from_coro(engine.close_spider_async(reason=REASON))
