"""Downloader middlewares: the transport concerns of Chinese government portals."""

from __future__ import annotations

import logging

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

from crawler.containment import Scope
from reports.decode import pick_charset
from reports.sniff import FILE_FORMATS, sniff
from spiders.base import count_refusal

logger = logging.getLogger(__name__)


class ChineseEncodingMiddleware:
    """Re-decodes text responses by the one charset policy (``reports.decode.pick_charset``:
    Scrapy alone trusts a wrong header, GBK bytes under ``charset=utf-8``, and mis-guesses short
    GBK pages with no declaration as cp949), and hands
    documents that are files on as binary responses."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if not isinstance(response, TextResponse):
            return response
        if sniff(response.body[:65536]) in FILE_FORMATS:  # Scrapy takes application/pdf for text
            # A file served as text: decoding it would run charset detection over a PDF.
            return Response(**{name: getattr(response, name) for name in Response.attributes})
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        # The one charset policy (``reports.decode``): a stored version is read the same way.
        # Always pin the encoding we chose: asking Scrapy for response.encoding first would run
        # its own detection (charset-normalizer) on every page for nothing.
        return response.replace(encoding=pick_charset(response.body, content_type))


class ContainmentMiddleware:
    """Keeps a source's crawl on its own site (``crawler.containment``): a request outside the
    scope is refused when it is scheduled — so a redirect or a meta refresh to another host,
    which Scrapy schedules as a new request, is checked too — and again before it is sent
    (robots.txt requests are never scheduled).  Each refusal is counted by reason
    (``nianbao/refused``, ``nianbao/refused/<reason>``) and never fetched.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.allowed_hosts = crawler.settings.getlist("NIANBAO_ALLOWED_HOSTS")
        self.scope: Scope | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ContainmentMiddleware:
        mw = cls(crawler)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.request_scheduled, signal=signals.request_scheduled)
        return mw

    def spider_opened(self, spider: Spider) -> None:
        source = spider.source
        self.scope = Scope.of(source["start_url"], [*source.get("allowed_hosts", []), *self.allowed_hosts])

    def request_scheduled(self, request: Request, spider: Spider | None = None) -> None:
        self.check(request)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        self.check(request)

    def check(self, request: Request) -> None:
        """Raise IgnoreRequest (counted) for a request outside the source's scope."""
        if self.scope is None:  # before spider_opened: scope from the spider the crawler holds
            self.spider_opened(self.crawler.spider)
        assert self.scope is not None
        reason = self.scope.refusal(request.url)
        if reason is None:
            return
        count_refusal(self.crawler.stats, reason)
        logger.info("refused (%s): %s", reason, request.url)
        raise IgnoreRequest(f"refused ({reason}): {request.url}")
