"""``log_count/<LEVEL>`` per source, when many sources crawl in one process.

Scrapy's own LogCount extension counts every record that reaches the root logger, whichever
crawler logged it: with a hundred sources in one process, each source's ``log_count/ERROR``
would hold everyone's errors, and every walk would look incomplete (``spiders.base``).  This
one counts only the records Scrapy attributes to this crawler's spider (``extra={"spider": …}``,
which Scrapy's downloader, retry, robots.txt and scraper messages and ``spider.logger`` carry).
"""

from __future__ import annotations

import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler


class _SpiderCounter(logging.Handler):
    def __init__(self, crawler: Crawler, spider: Spider, level: str):
        super().__init__(level=level)
        self.crawler = crawler
        self.spider = spider

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "spider", None) is self.spider:
            self.crawler.stats.inc_value(f"log_count/{record.levelname}")


class SourceLogCount:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.handler: _SpiderCounter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceLogCount:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.handler = _SpiderCounter(self.crawler, spider, self.crawler.settings.get("LOG_LEVEL"))
        logging.root.addHandler(self.handler)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.handler is not None:
            logging.root.removeHandler(self.handler)
            self.handler = None
