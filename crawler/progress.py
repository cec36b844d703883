"""A Scrapy extension that prints one progress line per source every few seconds (to stderr)."""

from __future__ import annotations

import sys

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from twisted.internet import task

INTERVAL = 5.0


class Progress:
    """``[source] 12 pages, 40 documents (38 new), 0 errors`` while a crawl runs."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.loop: task.LoopingCall | None = None
        self.quiet = crawler.settings.getbool("NIANBAO_QUIET")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        if not self.quiet:
            self.loop = task.LoopingCall(self.report, spider)
            self.loop.start(INTERVAL, now=False)

    def spider_closed(self, spider: Spider) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()

    def report(self, spider: Spider) -> None:
        s = self.crawler.stats
        print(
            f"[{spider.source['id']}] {s.get_value('response_received_count', 0)} responses, "
            f"{s.get_value('nianbao/documents', 0)} documents "
            f"({s.get_value('nianbao/new_version', 0)} new), "
            f"{s.get_value('log_count/ERROR', 0)} errors",
            file=sys.stderr,
            flush=True,
        )
