"""The shared walk of a report column: list pages → article pages → attachments.

A family spider says how its column lists entries (``list_entries``) and how it paginates
(``next_pages``); everything else — following articles, reading their metadata, fetching their
attachments, incremental stopping — is here.  Spiders only find and yield items
(``spiders.items``); the storage pipeline stores them.
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
from scrapy.http import Response, TextResponse
from scrapy.utils.response import get_base_url

from spiders.budget import Budget
from spiders.fingerprint import PageBody, content_key, file_fingerprint, in_body, page_fingerprint
from spiders.items import DocumentItem, GoneItem, NotModifiedItem
from spiders.pages import (
    DOWNLOAD_PATH,
    MAYBE_FILE_HREF,
    clean_url,
    content_disposition_filename,
    has_column_slug,
    is_attachment_url,
    is_report_title,
    link_refusal,
    looks_like_article,
    looks_like_column,
    page_meta,
    page_text,
    page_title,
    parse_date,
    publication,
    safe_join,
    url_date,
)
from spiders.units import is_body_name, is_unit_hub

# Column links that lead to a year or unit sub-column of the report column.
SUBCOLUMN_TEXT = re.compile(
    r"^\s*((19|20)\d\d\s*年度?|(19|20)\d\d)\s*$|部门年报|乡镇.{0,4}年报|街道.{0,4}年报|政府年报"
)

# Links that lead from a home page or a 政府信息公开 page towards the annual-report column.
REPORT_COLUMN_TEXT = re.compile(r"(政府)?信息公开(工作)?(年度)?(年报|年度报告)|^年度报告$|^年报$")
DISCLOSURE_TEXT = re.compile(r"^(政府)?信息公开$|政府信息公开(平台|专栏|目录)?$|^政务公开$")
MAX_DISCOVERY_DEPTH = 2
# How many clicks below the start page a column may be (crawl.max_column_depth):
# home → 政府信息公开 → report column → 县教育局 → its 年报 column → a year of it.
DEFAULT_MAX_COLUMN_DEPTH = 6
DEFAULT_MAX_UNITS = 200  # bodies' columns explored per source (crawl.max_department_columns)
# How a list page was reached, which decides what is followed from it: the start page; a
# 政府信息公开 page; a report column (or a hub of bodies' columns); a body's page or anything
# below it (its own 信息公开 page and column, where other bodies' links are navigation).
START, SECTION, COLUMN, UNIT = "start", "section", "column", "unit"
KNOWN_STATUSES = [304, 404, 410]
UNLISTED = "no longer listed in its column"
REFUSED_STAT = "nianbao/refused"  # + "/<reason>": URLs never fetched (crawler.containment)
WALK_INCOMPLETE_STAT = "nianbao/walk_incomplete"  # why the walk may have missed reports, or None
CAPPED_STAT = "nianbao/capped"  # why the run stopped short: "max_pages_per_source=30"
# Stats that say a walk may have missed list pages: then an unlisted report proves nothing.
_INCOMPLETE_WALK_STATS = {
    "log_count/ERROR": "errors",
    "retry/max_reached": "requests that failed after retries",
    "httperror/response_ignored_count": "pages that answered an HTTP error",
    "nianbao/backoff_gave_up": "overloaded pages given up",
    "nianbao/blocked": "blocked requests",
    "robotstxt/forbidden": "pages robots.txt forbids",
    "nianbao/units_unexplored": "bodies' columns left unexplored (crawl.max_department_columns)",
}


def count_refusal(stats: Any, reason: str) -> None:
    """Count one URL that is not fetched: in total, and under its reason."""
    stats.inc_value(REFUSED_STAT)
    stats.inc_value(f"{REFUSED_STAT}/{reason}")


def base_url(response: Response) -> str:
    """What a page's relative links are relative to: its ``<base href>``, else its URL."""
    if not isinstance(response, TextResponse):
        return response.url
    try:
        return get_base_url(response)
    except ValueError:  # a <base href> that does not parse
        return response.url


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
    ``list_entries``, ``next_pages`` and ``start_requests_for``.

    Every list-page request goes through ``list_budget`` (``max_pages``, the start page
    included) and every document request through ``document_budget`` (``max_documents``); the
    first request a budget refuses marks the run capped (the ``nianbao/capped`` stat).  Links
    are read one by one through ``join_link``: a bad one is skipped and counted, never raised.
    """

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
        max_documents: int = 20000,
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
        self.list_budget = Budget("max_pages_per_source", max_pages)
        self.document_budget = Budget("max_documents_per_run", max_documents)
        self.capped: list[str] = []  # the budgets this run ran out of
        self.seen_entries: set[str] = set()
        self.column_prefix = _column_prefix(source["start_url"])
        depth, units = source.get("max_column_depth"), source.get("max_department_columns")
        self.max_column_depth = DEFAULT_MAX_COLUMN_DEPTH if depth is None else int(depth)
        self.max_units = DEFAULT_MAX_UNITS if units is None else int(units)
        self.units: set[str] = set()  # bodies' pages and hubs requested (each once, at most max_units)
        self.columns_seen: set[str] = set()  # _column_key of every list page reached or asked for

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.probe_unlisted, signal=signals.spider_idle)
        return spider

    # -- the walk ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.admitted(self.start_requests_for(self.source["start_url"]), self.list_budget):
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
            request = scrapy.Request(
                o["url"],
                callback=self.parse_attachment,
                cb_kwargs={"parent": parent, "entry": Entry(o["url"], o["title"] or "")},
                headers={"Referer": o["page_url"]},
                meta={"handle_httpstatus_list": KNOWN_STATUSES},
            )
            if not self.admit(request, self.document_budget):
                return
            yield request

    def start_requests_for(self, url: str) -> Iterator[scrapy.Request]:
        yield scrapy.Request(url, callback=self.parse_column, cb_kwargs={"depth": 0, "role": START})

    def parse_column(self, response: Response, depth: int = 0, role: str = START) -> Iterator[Any]:
        """A list page: follow its report entries, its sub-columns and (maybe) its next pages.

        ``depth`` counts clicks from the start page (pages of one column share it); ``role`` is
        how the page was reached (START, SECTION, COLUMN, UNIT), which decides what it may lead to.
        """
        self.columns_seen.add(_column_key(response.url))
        below = UNIT if role == UNIT else COLUMN  # what a column found here is
        # A link titled like a report that leads to a column index is a (department) column.
        titled = [e for e in self.list_entries(response) if is_report_title(e.title)]
        entries = [e for e in titled if not looks_like_column(e.url)]
        columns = [e.url for e in titled if looks_like_column(e.url) and e.url != response.url]
        yield from self.follow_columns(response, columns, depth, below)
        new = 0
        for entry in entries:
            if entry.url in self.seen_entries:
                continue
            self.seen_entries.add(entry.url)
            if entry.url in self.known and entry.url not in self.gone and not self.revalidate:
                continue
            request = self.article_request(entry)
            if not self.admit(request, self.document_budget):
                break
            new += 1
            yield request
        self.crawler.stats.set_value("nianbao/listed", len(self.seen_entries))
        yield from self.follow_columns(response, self.subcolumns(response), depth, below)
        if depth < MAX_DISCOVERY_DEPTH or role == UNIT:
            # A home page or a 政府信息公开 page (which may show a few recent reports of its own),
            # or a body's own page: look for the way to the report column.
            columns, sections = self.column_links(response)
            yield from self.follow_columns(response, columns, depth, below)
            if not columns:
                yield from self.follow_columns(response, sections, depth, UNIT if role == UNIT else SECTION)
        if role in (SECTION, COLUMN) or (role == START and not _is_home(response.url)):
            yield from self.unit_requests(response, depth)
        # Incremental: a page that holds only known items ends the walk (newest items come first).
        if entries and new == 0 and self.known and not self.revalidate:
            return
        yield from self.follow_lists(response, self.next_pages(response), depth, role)

    # -- bounds -----------------------------------------------------------------------------

    def follow_lists(
        self, response: Response, urls: Iterable[str], depth: int, role: str
    ) -> Iterator[scrapy.Request]:
        """List-page requests for ``urls``, while the source's list-page budget lasts (a pager's
        name that is no URL, such as a script's ``"http://[x"``, is skipped and counted)."""
        absolute = (self.join_link(response, url) for url in urls)
        requests = (
            response.follow(url, self.parse_column, cb_kwargs={"depth": depth, "role": role})
            for url in absolute
            if url
        )
        yield from self.admitted(requests, self.list_budget)

    def follow_columns(
        self, response: Response, urls: Iterable[str], depth: int, role: str
    ) -> Iterator[scrapy.Request]:
        """Requests for the columns ``urls`` one click below ``response``, except those deeper than
        the bound or asked for already (``dir/`` and ``dir/index.html`` are one column)."""
        fresh = []
        for href in urls:
            url = self.join_link(response, href)
            if url is None or _column_key(url) in self.columns_seen:
                continue
            if depth + 1 > self.max_column_depth:
                self.crawler.stats.inc_value("nianbao/columns_too_deep")
                self.logger.debug("%s: %s is deeper than max_column_depth", self.source["id"], url)
                continue
            self.columns_seen.add(_column_key(url))
            fresh.append(url)
        yield from self.follow_lists(response, fresh, depth + 1, role)

    def admitted(self, requests: Iterable[scrapy.Request], budget: Budget) -> Iterator[scrapy.Request]:
        """``requests`` until ``budget`` refuses one; the rest are never built (a pager may
        announce a million pages)."""
        for request in requests:
            if not self.admit(request, budget):
                return
            yield request

    def admit(self, request: scrapy.Request, budget: Budget) -> bool:
        """Whether ``request`` fits in ``budget``; the first refusal marks the run capped."""
        crawler = getattr(self, "crawler", None)
        fingerprinter = getattr(crawler, "request_fingerprinter", None)
        key = (
            fingerprinter.fingerprint(request)
            if fingerprinter
            else f"{request.method} {request.url} {request.body!r}".encode()
        )
        if budget.admit(key):
            return True
        if budget.reason not in self.capped:
            self.capped.append(budget.reason)
            self.logger.warning("%s: stopped at %s", self.source["id"], budget.reason)
            if crawler is not None:
                crawler.stats.set_value(CAPPED_STAT, "; ".join(self.capped))
        return False

    def refuse_link(self, href: str | None) -> None:
        """Count a link on a page that ``safe_join`` would not make a URL (a bad link is skipped)."""
        reason = link_refusal(href)
        crawler = getattr(self, "crawler", None)
        if reason and crawler is not None:
            count_refusal(crawler.stats, reason)

    def join_link(self, response: Response, href: str | None, count: bool = True) -> str | None:
        """``href`` on ``response`` as an absolute http(s) URL, or None (counted when ``count``)."""
        url = safe_join(base_url(response), href)
        if url is None:
            if count:
                self.refuse_link(href)
            return None
        return clean_url(url)  # a session id in a link never makes another document

    def unit_requests(self, response: Response, depth: int) -> Iterator[scrapy.Request]:
        """Requests for the bodies' pages and hubs a report column or 政府信息公开 page links,
        each once per crawl and at most ``max_units`` of them."""
        for url, role in self.unit_links(response):
            if (
                url in self.units
                or _column_key(url) in self.columns_seen
                or depth + 1 > self.max_column_depth
            ):
                continue  # asked for already (maybe as a sub-column), or too deep
            if len(self.units) >= self.max_units:
                if not self.crawler.stats.get_value("nianbao/units_unexplored"):
                    self.logger.warning(
                        "%s: stopped exploring bodies' columns at max_department_columns=%d",
                        self.source["id"],
                        self.max_units,
                    )
                self.crawler.stats.inc_value("nianbao/units_unexplored")
                continue
            self.units.add(url)
            yield from self.follow_columns(response, [url], depth, role)

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
            request = scrapy.Request(
                url,
                callback=self.parse_unlisted,
                cb_kwargs={"walk_complete": not incomplete},
                headers=self.conditional_headers(url),
                meta={"handle_httpstatus_list": KNOWN_STATUSES},
            )
            if not self.admit(request, self.document_budget):
                break
            self.crawler.engine.crawl(request)
        raise DontCloseSpider

    def closed(self, reason: str) -> None:
        """Leave in the stats why the walk may have missed reports (``nianbao/walk_incomplete``):
        the run then proves no absence, however it finished."""
        self.crawler.stats.set_value(WALK_INCOMPLETE_STAT, self.walk_incomplete())

    def walk_incomplete(self) -> str | None:
        """Why this walk may have missed list pages, or None when it saw the whole column."""
        if self.capped:
            return "stopped at " + ", ".join(self.capped)
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
            request = scrapy.Request(
                url,
                callback=self.parse_attachment,
                cb_kwargs={"parent": item, "entry": entry},
                meta={"handle_httpstatus_list": KNOWN_STATUSES},
                headers={**self.conditional_headers(url), "Referer": response.url},
            )
            if not self.admit(request, self.document_budget):
                return
            yield request

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
        """Every link on a list page, with its title (title= first) and the date beside it.

        Each link is read on its own: one that is not an http(s) URL (``javascript:``,
        ``mailto:``, ``file:``, ``http://[broken``) is skipped and counted, and the rest are read.
        """
        if not hasattr(response, "selector"):
            return
        for a in response.css("a[href]"):
            url = self.join_link(response, a.attrib["href"])
            if url is None:
                continue
            title = (a.attrib.get("title") or " ".join(a.css("::text").getall())).strip()
            container = a.xpath("ancestor::*[self::li or self::tr or self::dd or self::p][1]")
            around = " ".join(container.css("::text").getall()) if container else ""
            yield Entry(url, re.sub(r"\s+", "", title), parse_date(around))

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
            # list_entries counted the page's bad links already
            url = self.join_link(response, a.attrib["href"], count=False)
            if url and url != response.url and urlsplit(url).path.startswith(self.column_prefix):
                yield url

    def column_links(self, response: Response) -> tuple[list[str], list[str]]:
        """Same-host links named like the report column, and those named like the 政府信息公开 section."""
        if not hasattr(response, "selector"):
            return [], []
        host = urlsplit(response.url).netloc
        columns, sections = [], []
        for a in response.css("a[href]"):
            text = re.sub(r"\s+", "", " ".join(a.css("::text").getall()) or a.attrib.get("title", ""))
            url = self.join_link(response, a.attrib["href"], count=False)
            if not url or urlsplit(url).netloc != host or url == response.url:
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

    def unit_links(self, response: Response) -> list[tuple[str, str]]:
        """(url, role) of same-site links named by a body ("县教育局", "城关镇": UNIT) or by a hub of
        bodies' columns ("部门年报", "乡镇信息公开": COLUMN).

        Never the home page, an article or a file: those are not a body's column.
        """
        if getattr(getattr(response, "selector", None), "type", None) != "html":
            return []  # a file, or a list API's JSON or XML answer
        host = urlsplit(response.url).netloc
        found: dict[str, str] = {}
        for a in response.css("a[href]"):
            url = self.join_link(response, a.attrib["href"], count=False)  # list_entries counts
            if not url or urlsplit(url).netloc != host or url == response.url:
                continue
            if _is_home(url) or looks_like_article(url) or is_attachment_url(url):
                continue
            texts = (" ".join(a.css("::text").getall()), a.attrib.get("title", ""))
            if any(is_unit_hub(t) for t in texts):
                found.setdefault(url, COLUMN)
            elif any(is_body_name(t) for t in texts):
                found.setdefault(url, UNIT)
        return list(found.items())

    def attachment_links(self, response: Response) -> list[str]:
        """Document files linked from the article body (or, failing a known body, the page)."""
        # The body and the #appendix block are siblings on TRS pages: look in every container.
        # Only the few file links are placed: walking the ancestors of each is cheaper than
        # matching every element of a table-heavy page against the containers.
        found: list[tuple[str, bool]] = []
        # Joining every link of a long page costs ~0.7 ms: only hrefs that may name a file are
        # joined, unless the page itself sits in a download path (then any relative link may).
        every = bool(DOWNLOAD_PATH.search(urlsplit(response.url).path))
        for a in response.selector.root.iter("a"):
            href = a.get("href")
            if not href or not (every or MAYBE_FILE_HREF.search(href)):
                continue
            url = self.join_link(response, href)  # a bad link is skipped and counted
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
                request = scrapy.Request(
                    url,
                    callback=self.parse_attachment,
                    cb_kwargs={"parent": None, "entry": Entry(url, "")},
                    headers={**self.conditional_headers(url), "Referer": response.url},
                    meta={"handle_httpstatus_list": KNOWN_STATUSES},
                )
                if not self.admit(request, self.document_budget):
                    return
                yield request
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


def _is_home(url: str) -> bool:
    """A site's home page ("/", "/index.html"): it names the site's own government, not a body's column."""
    return bool(re.fullmatch(r"/?((index|default)\.\w+)?", urlsplit(url).path))


def _column_key(url: str) -> str:
    """A column page's URL with its index file name dropped: ``/nb/`` and ``/nb/index.html`` are one page."""
    url = urldefrag(url)[0]
    parts = urlsplit(url)
    path = re.sub(r"/(index|default)\.(s?html?|jsp|php|aspx?)$", "/", parts.path, flags=re.I)
    return parts._replace(path=path).geturl()


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
