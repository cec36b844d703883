"""The shared walk of a report column: list pages → article pages → attachments.

A family spider says how its column lists entries (``list_entries``) and how it paginates
(``next_pages``); everything else — following articles, reading their metadata, fetching their
attachments, incremental stopping — is here.  Spiders only find and yield items
(``crawler.items``); the storage pipeline stores them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urldefrag, urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response

from crawler.items import DocumentItem, GoneItem, NotModifiedItem
from spiders.fingerprint import PageBody, content_key, file_fingerprint, in_body, page_fingerprint
from spiders.pages import (
    clean_url,
    content_disposition_filename,
    has_column_slug,
    is_attachment_url,
    is_report_title,
    looks_like_article,
    looks_like_column,
    page_meta,
    page_text,
    page_title,
    parse_date,
    publication,
    url_date,
)

# Column links that lead to a year or unit sub-column of the report column.
SUBCOLUMN_TEXT = re.compile(
    r"^\s*((19|20)\d\d\s*年度?|(19|20)\d\d)\s*$|部门年报|乡镇.{0,4}年报|街道.{0,4}年报|政府年报"
)

# Links that lead from a home page or a 政府信息公开 page towards the annual-report column.
REPORT_COLUMN_TEXT = re.compile(r"(政府)?信息公开(工作)?(年度)?(年报|年度报告)|^年度报告$|^年报$")
DISCLOSURE_TEXT = re.compile(r"^(政府)?信息公开$|政府信息公开(平台|专栏|目录)?$|^政务公开$")
MAX_DISCOVERY_DEPTH = 2
MAX_COLUMN_DEPTH = 5  # home → 政府信息公开 → report column → department column → year column
KNOWN_STATUSES = [304, 404, 410]
UNLISTED = "no longer listed in its column"
# Stats that say a walk may have missed list pages: then an unlisted report proves nothing.
_INCOMPLETE_WALK_STATS = {
    "log_count/ERROR": "errors",
    "retry/max_reached": "requests that failed after retries",
    "httperror/response_ignored_count": "pages that answered an HTTP error",
    "nianbao/backoff_gave_up": "overloaded pages given up",
    "nianbao/blocked": "blocked requests",
    "robotstxt/forbidden": "pages robots.txt forbids",
}


@dataclass
class Entry:
    """One item of a column list: where it points, its title and the date beside it."""

    url: str
    title: str
    list_date: date | None = None

    def __post_init__(self) -> None:
        self.url = clean_url(self.url)  # a session id in a link never makes another document


class PortalSpider(scrapy.Spider):
    """Walks one source's annual-report column.  Subclasses set ``family`` and may override
    ``list_entries``, ``next_pages`` and ``start_requests_for``."""

    name = "portal"
    family = "generic"

    def __init__(
        self,
        source: dict[str, Any],
        known_urls: Iterable[str] = (),
        validators: dict[str, tuple[str | None, str | None]] | None = None,
        revalidate: bool = False,
        children: dict[str, list[str]] | None = None,
        recheck: Iterable[str] = (),
        gone: Iterable[str] = (),
        orphans: Iterable[dict[str, Any]] = (),
        max_pages: int = 5000,
        **kwargs: Any,
    ):
        super().__init__(name=f"{self.family}:{source['id']}", **kwargs)
        self.source = source
        self.known = set(known_urls)
        self.validators = validators or {}
        self.revalidate = revalidate
        self.children = children or {}  # page URL -> its known attachments (re-checked on 304)
        self.recheck = list(recheck)  # known reports to look for when revalidating
        self.gone = set(gone)  # known reports that were removed: fetched again when listed
        self.probed = False
        self.orphans = list(orphans)  # attachments of stored pages that were never fetched
        self.max_pages = max_pages
        self.list_pages = 0
        self.seen_entries: set[str] = set()
        self.column_prefix = _column_prefix(source["start_url"])

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.probe_unlisted, signal=signals.spider_idle)
        return spider

    # -- the walk ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.start_requests_for(self.source["start_url"]):
            yield request
        # A crawl cut short between a page and its files: fetch the files now.
        for o in self.orphans:
            parent = DocumentItem(
                url=o["page_url"],
                body=b"",
                http_status=200,
                headers={},
                content_type="",
                title=o["title"],
                column_name=o["column_name"],
                published_at=o["published_at"],
                date_source=o["date_source"],
            )
            yield scrapy.Request(
                o["url"],
                callback=self.parse_attachment,
                cb_kwargs={"parent": parent, "entry": Entry(o["url"], o["title"] or "")},
                headers={"Referer": o["page_url"]},
                meta={"handle_httpstatus_list": KNOWN_STATUSES},
            )

    def start_requests_for(self, url: str) -> Iterator[scrapy.Request]:
        yield scrapy.Request(url, callback=self.parse_column, cb_kwargs={"depth": 0})

    def parse_column(self, response: Response, depth: int = 0) -> Iterator[Any]:
        """A list page: follow its report entries, its sub-columns and (maybe) its next pages."""
        self.list_pages += 1
        # A link titled like a report that leads to a column index is a (department) column.
        titled = [e for e in self.list_entries(response) if is_report_title(e.title)]
        entries = [e for e in titled if not looks_like_column(e.url)]
        if depth < MAX_COLUMN_DEPTH:
            for e in titled:
                if looks_like_column(e.url) and e.url != response.url:
                    yield response.follow(e.url, self.parse_column, cb_kwargs={"depth": depth + 1})
        new = 0
        for entry in entries:
            if entry.url in self.seen_entries:
                continue
            self.seen_entries.add(entry.url)
            if entry.url in self.known and entry.url not in self.gone and not self.revalidate:
                continue
            new += 1
            yield self.article_request(entry)
        self.crawler.stats.set_value("nianbao/listed", len(self.seen_entries))
        for url in self.subcolumns(response):
            yield response.follow(clean_url(url), self.parse_column, cb_kwargs={"depth": depth + 1})
        if depth < MAX_DISCOVERY_DEPTH:
            # A home page or a 政府信息公开 page (which may show a few recent reports of its own):
            # look for the way to the report column.
            columns, sections = self.column_links(response)
            for url in columns or sections:
                yield response.follow(clean_url(url), self.parse_column, cb_kwargs={"depth": depth + 1})
        # Incremental: a page that holds only known items ends the walk (newest items come first).
        if entries and new == 0 and self.known and not self.revalidate:
            return
        if self.list_pages >= self.max_pages:
            self.logger.warning("%s: stopped at max_pages=%d", self.source["id"], self.max_pages)
            return
        for url in self.next_pages(response):
            yield response.follow(
                clean_url(response.urljoin(url)), self.parse_column, cb_kwargs={"depth": depth}
            )

    def probe_unlisted(self) -> None:
        """When a full walk is done: ask for each known report the column did not list.

        A 404/410 is a removal; a page that still answers but is gone from a column we walked
        completely is a removal too ("no longer listed").  Restorations come from the walk
        itself: a removed report listed again is fetched again.
        """
        if self.probed or not self.revalidate:
            return
        self.probed = True
        unlisted = [url for url in self.recheck if url not in self.seen_entries]
        if not unlisted:
            return
        incomplete = self.walk_incomplete()
        if incomplete:
            self.logger.info(
                "%s: walk incomplete (%s): %d unlisted reports count as removed only on 404/410",
                self.source["id"],
                incomplete,
                len(unlisted),
            )
        for url in unlisted:
            self.crawler.engine.crawl(
                scrapy.Request(
                    url,
                    callback=self.parse_unlisted,
                    cb_kwargs={"walk_complete": not incomplete},
                    headers=self.conditional_headers(url),
                    meta={"handle_httpstatus_list": KNOWN_STATUSES},
                )
            )
        raise DontCloseSpider

    def walk_incomplete(self) -> str | None:
        """Why this walk may have missed list pages, or None when it saw the whole column."""
        if self.list_pages >= self.max_pages:
            return f"stopped at max_pages={self.max_pages}"
        stats = self.crawler.stats
        found = [
            f"{stats.get_value(k)} {what}" for k, what in _INCOMPLETE_WALK_STATS.items() if stats.get_value(k)
        ]
        return ", ".join(found) or None

    def parse_unlisted(self, response: Response, walk_complete: bool) -> Iterator[Any]:
        """A known report its column no longer lists: removed, or (walk cut short) no news."""
        if response.status in (404, 410):
            yield from self._status_item(response)
        elif walk_complete:
            yield GoneItem(clean_url(response.url), response.status, UNLISTED)

    def conditional_headers(self, url: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since for a document we already hold."""
        if url not in self.known:
            return {}
        etag, modified = self.validators.get(url, (None, None))
        return {k: v for k, v in (("If-None-Match", etag), ("If-Modified-Since", modified)) if v}

    def article_request(self, entry: Entry) -> scrapy.Request:
        headers = self.conditional_headers(entry.url)
        callback = self.parse_attachment if is_attachment_url(entry.url) else self.parse_article
        kwargs = {"entry": entry} if callback == self.parse_article else {"parent": None, "entry": entry}
        return scrapy.Request(
            entry.url,
            callback=callback,
            cb_kwargs=kwargs,
            headers=headers,
            meta={"handle_httpstatus_list": KNOWN_STATUSES},
        )

    def parse_article(self, response: Response, entry: Entry) -> Iterator[Any]:
        """An article page: the page itself as a document, then each attachment it links."""
        if response.status in KNOWN_STATUSES:
            yield from self._status_item(response)
            return
        if not hasattr(response, "selector"):  # not HTML after all: treat as a file
            yield from self.parse_attachment(response, None, entry)
            return
        sel = response.selector
        meta = page_meta(sel)
        published, source = publication(meta, lambda: page_text(sel), entry.list_date)
        heading = page_title(sel, meta)
        title = heading or entry.title
        item = _document(
            response,
            kind="page",
            title=title,
            column_name=meta.get("ColumnName"),
            published_at=published.isoformat() if published else None,
            date_source=source,
            list_date=entry.list_date.isoformat() if entry.list_date else None,
            meta=meta,
        )
        attachments = list(dict.fromkeys(clean_url(u) for u in self.attachment_links(response)))
        body = PageBody(sel.root)  # the page read once for both keys
        item.content_key = content_key(sel.root, title, attachments, body)
        item.fingerprint = page_fingerprint(sel.root, heading, item.url, body)
        if attachments:
            item.meta = {**meta, "attachments": attachments}  # lets a later crawl finish a cut-short one
        yield item
        for url in attachments:
            yield scrapy.Request(
                url,
                callback=self.parse_attachment,
                cb_kwargs={"parent": item, "entry": entry},
                meta={"handle_httpstatus_list": KNOWN_STATUSES},
                headers={**self.conditional_headers(url), "Referer": response.url},
            )

    def parse_attachment(
        self, response: Response, parent: DocumentItem | None, entry: Entry
    ) -> Iterator[Any]:
        """A document file; it inherits the publication date of the page that links it."""
        if response.status in KNOWN_STATUSES:
            yield from self._status_item(response)
            return
        published, source = (parent.published_at, f"parent:{parent.date_source}") if parent else (None, None)
        if parent is None and entry.list_date:
            published, source = entry.list_date.isoformat(), "list"
        item = _document(
            response,
            kind="attachment",
            parent_url=parent.url if parent else None,
            title=parent.title if parent else entry.title,
            column_name=parent.column_name if parent else None,
            published_at=published,
            date_source=source,
            list_date=entry.list_date.isoformat() if entry.list_date else None,
            filename=_filename(response),
        )
        if hasattr(response, "selector"):  # a page served where a file was linked
            item.fingerprint = page_fingerprint(
                response.selector.root, page_title(response.selector, page_meta(response.selector)), item.url
            )
        else:
            item.fingerprint = file_fingerprint(response.body)
        # Where the file was linked from, when a redirect stored it elsewhere (downfile.jsp →
        # /attach/…): the link is then known as fetched (Store.orphan_attachments).
        redirected = response.meta.get("redirect_urls")
        if redirected:
            item.meta = {"link": clean_url(redirected[0])}
        yield item

    # -- what families override -------------------------------------------------------------

    def list_entries(self, response: Response) -> Iterator[Entry]:
        """Every link on a list page, with its title (title= first) and the date beside it."""
        if not hasattr(response, "selector"):
            return
        for a in response.css("a[href]"):
            href = a.attrib["href"].strip()
            if not href or href.startswith(("javascript:", "#", "mailto:")):
                continue
            title = (a.attrib.get("title") or " ".join(a.css("::text").getall())).strip()
            container = a.xpath("ancestor::*[self::li or self::tr or self::dd or self::p][1]")
            around = " ".join(container.css("::text").getall()) if container else ""
            yield Entry(urldefrag(response.urljoin(href))[0], re.sub(r"\s+", "", title), parse_date(around))

    def next_pages(self, response: Response) -> Iterable[str]:
        """URLs of the column's further list pages (none by default)."""
        return ()

    def subcolumns(self, response: Response) -> Iterator[str]:
        """Year or unit sub-columns of the report column ("2023年", "部门年报"), inside its path."""
        if not hasattr(response, "selector"):
            return
        for a in response.css("a[href]"):
            text = " ".join(a.css("::text").getall()).strip()
            if not SUBCOLUMN_TEXT.search(text):
                continue
            url = urldefrag(response.urljoin(a.attrib["href"]))[0]
            if url != response.url and urlsplit(url).path.startswith(self.column_prefix):
                yield url

    def column_links(self, response: Response) -> tuple[list[str], list[str]]:
        """Same-host links named like the report column, and those named like the 政府信息公开 section."""
        if not hasattr(response, "selector"):
            return [], []
        host = urlsplit(response.url).netloc
        columns, sections = [], []
        for a in response.css("a[href]"):
            text = re.sub(r"\s+", "", " ".join(a.css("::text").getall()) or a.attrib.get("title", ""))
            url = urldefrag(response.urljoin(a.attrib["href"]))[0]
            if urlsplit(url).netloc != host or url == response.url:
                continue
            # A report's own title (it has a year) or an article link is not the way to a column.
            if len(text) > 40 or re.search(r"\d", text) or looks_like_article(url) or is_attachment_url(url):
                continue
            # Named like the column, or an unnamed link (an image, "更多") in a column's usual directory.
            named = REPORT_COLUMN_TEXT.search(text)
            if (named or (len(text) <= 16 and has_column_slug(url))) and url not in columns:
                columns.append(url)
            elif DISCLOSURE_TEXT.search(text) and url not in sections:
                sections.append(url)
        return columns, sections

    def attachment_links(self, response: Response) -> list[str]:
        """Document files linked from the article body (or, failing a known body, the page)."""
        # The body and the #appendix block are siblings on TRS pages: look in every container.
        # Only the few file links are placed: walking the ancestors of each is cheaper than
        # matching every element of a table-heavy page against the containers.
        found: list[tuple[str, bool]] = []
        for a in response.selector.root.iter("a"):
            href = (a.get("href") or "").strip()
            url = urldefrag(response.urljoin(href))[0] if href else ""
            if url and is_attachment_url(url) and url not in (u for u, _ in found):
                found.append((url, in_body(a)))
        inside_body = [u for u, inside in found if inside]
        return inside_body or [u for u, _ in found]

    # -- helpers ----------------------------------------------------------------------------

    def _status_item(self, response: Response) -> Iterator[Any]:
        if response.status == 304:
            yield NotModifiedItem(clean_url(response.url))
            # An unchanged page can still link a corrected file: re-check its known attachments.
            for url in self.children.get(response.url, []):
                yield scrapy.Request(
                    url,
                    callback=self.parse_attachment,
                    cb_kwargs={"parent": None, "entry": Entry(url, "")},
                    headers={**self.conditional_headers(url), "Referer": response.url},
                    meta={"handle_httpstatus_list": KNOWN_STATUSES},
                )
        else:
            yield GoneItem(clean_url(response.url), response.status, f"HTTP {response.status}")


def _document(response: Response, **fields: Any) -> DocumentItem:
    """A fetched document: what the transport says (URL, bytes, status, headers) plus ``fields``."""
    return DocumentItem(
        url=clean_url(response.url),
        body=response.body,
        http_status=response.status,
        headers=_headers(response),
        content_type=_header(response, "Content-Type"),
        url_date=_iso(url_date(response.url)),
        **fields,
    )


def _column_prefix(start_url: str) -> str:
    path = urlsplit(start_url).path
    return path if path.endswith("/") else path.rsplit("/", 1)[0] + "/"


def _header(response: Response, name: str) -> str:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else ""


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}


def _filename(response: Response) -> str | None:
    """The Content-Disposition file name, recorded for people; never used as a path."""
    raw = response.headers.get("Content-Disposition")
    if not raw:
        return None
    for enc in ("utf-8", "gb18030"):
        try:
            return content_disposition_filename(raw.decode(enc))
        except UnicodeDecodeError:
            continue
    return content_disposition_filename(raw.decode("latin-1"))


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None
