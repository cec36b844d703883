"""The storage pipeline: every item a spider yields becomes a version, a check or an event."""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler

from spiders.items import BlockedItem, DocumentItem, GoneItem, NotModifiedItem
from storage import Fetched, Store


class StoragePipeline:
    """Stores documents as versions (same bytes → a check) and counts what happened."""

    def __init__(self, db_path: str, crawler: Crawler):
        self.db_path = db_path
        self.crawler = crawler
        self.stats = crawler.stats
        self.store: Store | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoragePipeline:
        return cls(crawler.settings.get("NIANBAO_DB"), crawler)

    def open_spider(self, spider: Spider | None = None) -> None:
        self.store = Store(self.db_path)

    def close_spider(self, spider: Spider | None = None) -> None:
        if self.store:
            self.store.close()

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        assert self.store is not None
        spider = self.crawler.spider  # Scrapy 2.19 no longer passes the spider to pipelines
        run_id = getattr(spider, "run_id", None)
        if isinstance(item, DocumentItem):
            recorded = self.store.record_fetch(
                Fetched(
                    source_id=spider.source["id"],
                    url=item.url,
                    body=item.body,
                    http_status=item.http_status,
                    headers=item.headers,
                    content_type=item.content_type,
                    kind=item.kind,
                    parent_url=item.parent_url,
                    title=item.title,
                    column_name=item.column_name,
                    published_at=item.published_at,
                    date_source=item.date_source,
                    list_date=item.list_date,
                    url_date=item.url_date,
                    filename=item.filename,
                    meta=item.meta,
                    run_id=run_id,
                    content_key=item.content_key,
                    fingerprint=item.fingerprint,
                )
            )
            self.stats.inc_value("nianbao/documents")
            self.stats.inc_value(f"nianbao/{recorded.outcome}")
            if recorded.same_as:  # the same report at another URL: one report, not two
                self.stats.inc_value("nianbao/copies")
            elif item.kind == "page":
                self.stats.inc_value("nianbao/reports")
        elif isinstance(item, NotModifiedItem):
            self.store.record_not_modified(item.url, run_id, item.http_status)
            self.stats.inc_value("nianbao/documents")
            self.stats.inc_value("nianbao/unchanged")
            self.stats.inc_value("nianbao/reports")
        elif isinstance(item, GoneItem):
            if self.store.record_gone(item.url, run_id, item.http_status, item.reason):
                self.stats.inc_value("nianbao/removed")
        elif isinstance(item, BlockedItem):
            self.stats.inc_value("nianbao/blocked")
            reasons = self.stats.get_value("nianbao/blocked_reasons") or []
            if item.reason not in reasons:
                self.stats.set_value("nianbao/blocked_reasons", [*reasons, item.reason])
        return item
