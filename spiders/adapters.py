"""Family adapters: how one portal family lists a column, plugged into the shared walk.

``spiders.base.PortalSpider`` walks list page → article → attachments and asks its subclass for
``list_entries`` and ``next_pages`` (GET links).  Families whose lists come from an API (Hanweb's
``dataproxy.jsp`` POSTs, gkmlpt's and Ucap's JSON) need to send their own requests instead, so
an :class:`AdapterSpider` hands each list page to a :class:`ListAdapter` chosen by the page's
fingerprints (``spiders.detect``) and sends the adapter's follow-up requests exactly where the
base walk would have followed its next pages — so the base's incremental stop (a page holding
only known reports ends the walk) holds for API pages too.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from spiders.base import COLUMN, MAX_DISCOVERY_DEPTH, START, Entry, PortalSpider, base_url
from spiders.detect import detect_family, needs_browser
from spiders.pages import is_attachment_url, safe_join
from spiders.trs import TrsSpider

FAMILY_META = "nianbao_family"  # request meta: which adapter reads the response
_PAGER_URL = re.compile(
    r"[?&](?:page|pageNo|pageNum|pageNumber|pageIndex|cur_page|currentPage|current)=\d+"
    r"|/(?:index|list|default)_\d+\.s?html?$|-index-\d+\.s?html?$"
)
_PAGER_TEXT = re.compile(r"\d{1,4}|下一?页|尾页|末页|>|»|›")
# Attachment paths written inside scripts (gkmlpt keeps the article in window._CONFIG JSON).
_SCRIPT_FILE = re.compile(
    r"""["']((?:https?:)?[^"'\s<>]*?\.(?:pdf|docx?|wps|xlsx?|zip|rar|rtf|ofd))["']""", re.I
)


def response_text(response: Response) -> str:
    """The decoded body of a text response, '' for binary ones."""
    try:
        return response.text
    except AttributeError:
        return ""


class ListAdapter:
    """How a family lists a column.  The default reads links and the TRS pager."""

    family = "generic"

    def matches(self, response: Response) -> bool:
        """True when this page carries the family's list (not just its fingerprints)."""
        return False

    def entries(self, spider: AdapterSpider, response: Response) -> list[Entry] | None:
        """The column's entries on this page; None lets the shared link reader do it."""
        return None

    def next_pages(self, spider: AdapterSpider, response: Response) -> Iterable[str]:
        """GET pages that continue the column: the TRS pager, else the page's pager links."""
        # Lazily: a TRS pager may announce a million pages, and the walk takes what its budget allows.
        pages = iter(TrsSpider.next_pages(spider, response))  # type: ignore[arg-type]
        first = next(pages, None)
        if first is not None:
            return itertools.chain([first], pages)
        if _is_data(response):
            return []
        return pager_links(response)

    def follow_ups(
        self, spider: AdapterSpider, response: Response, fresh: int, entries: list[Entry]
    ) -> Iterator[scrapy.Request]:
        """API requests that continue the column; ``fresh`` counts entries not seen before."""
        return iter(())

    def attachment_urls(self, spider: AdapterSpider, response: Response) -> list[str]:
        """Attachments an article page names outside its HTML links (scripts, JSON)."""
        return []


class AdapterSpider(PortalSpider):
    """A column walk whose list pages are read by family adapters chosen per page.

    ``adapters`` is the order they are tried in when fingerprints do not settle it; a family
    spider lists its own adapter first, the generic spider lists them all.
    """

    adapters: tuple[ListAdapter, ...] = (ListAdapter(),)
    # Settings the family needs, applied even when the runner subclasses the spider with its
    # own ``custom_settings`` (it does, to set ROBOTSTXT_OBEY per source).
    family_settings: dict[str, Any] = {}

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        for key, value in cls.family_settings.items():
            settings.set(key, value, priority="spider")
        if "PLAYWRIGHT_LAUNCH_OPTIONS" in cls.family_settings:
            # config.yaml's crawl.browser (executable, timeout in s), when the runner passes them.
            executable = settings.get("NIANBAO_BROWSER_EXECUTABLE")
            if executable:
                launch = {**cls.family_settings["PLAYWRIGHT_LAUNCH_OPTIONS"], "executable_path": executable}
                settings.set("PLAYWRIGHT_LAUNCH_OPTIONS", launch, priority="spider")
            timeout = settings.getint("NIANBAO_BROWSER_TIMEOUT", 0)
            if timeout:
                settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", timeout * 1000, priority="spider")
        super().update_settings(settings)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._pager_reached: set[int] = set()
        self._entries: dict[int, list[Entry]] = {}
        self.extra_attachments: dict[str, list[str]] = {}  # article URL -> files an API named
        self._canonical: dict[str, str] = {}  # canonical_url -> the first URL listed for it
        self._listed_by: dict[str, ListAdapter] = {}  # entry URL -> the adapter whose list named it

    # -- choosing the adapter ---------------------------------------------------------------

    def adapter_for(self, response: Response) -> ListAdapter:
        by_name = {a.family: a for a in self.adapters}
        named = response.meta.get(FAMILY_META)
        if named in by_name:
            return by_name[named]
        text = response_text(response)
        family = detect_family(response.url, text) if text else None
        if family in by_name and by_name[family].matches(response):
            return by_name[family]
        for adapter in self.adapters:
            if adapter.matches(response):
                return adapter
        return by_name.get("generic") or ListAdapter()

    # -- the walk, with adapters ------------------------------------------------------------

    def parse_column(self, response: Response, depth: int = 0, role: str = START) -> Iterator[Any]:
        key = id(response)  # per-response caches, dropped when this page is done
        try:
            if self._wants_browser(response):
                self.logger.info(
                    "%s: list filled in by script, rendering %s", self.source["id"], response.url
                )
                yield from self.admitted([self.browser_request(response, depth, role)], self.list_budget)
                return
            adapter = self.adapter_for(response)
            entries = self._entries_of(response, adapter)
            fresh = len({e.url for e in entries if e.url not in self.seen_entries})
            yield from super().parse_column(response, depth, role)
            if key in self._pager_reached:  # the base walk did not stop before its next pages
                follow_ups = adapter.follow_ups(self, response, fresh, entries)
                yield from self.admitted(follow_ups, self.list_budget)
        finally:
            self._entries.pop(key, None)
            self._pager_reached.discard(key)

    def list_entries(self, response: Response) -> Iterator[Entry]:
        entries = self._entries.get(id(response))
        if entries is None:
            entries = self._entries_of(response, self.adapter_for(response))
        out = []
        for e in entries:
            # One report, several URLs: a mobile _wap copy or the http/https twin is not fetched
            # again (the same report in a department column, at another path, still is).
            first = self._canonical.setdefault(canonical_url(e.url), e.url)
            if first == e.url:
                out.append(e)
        return iter(out)

    def _entries_of(self, response: Response, adapter: ListAdapter) -> list[Entry]:
        if id(response) not in self._entries:
            found = adapter.entries(self, response)
            if found is None:
                found = list(super().list_entries(response))
            self._entries[id(response)] = found
            for e in found:
                self._listed_by.setdefault(e.url, adapter)
        return self._entries[id(response)]

    def next_pages(self, response: Response) -> Iterable[str]:
        self._pager_reached.add(id(response))
        return self.adapter_for(response).next_pages(self, response)

    def subcolumns(self, response: Response) -> Iterator[str]:
        if _is_data(response):  # an API answer has no sub-column links (and no CSS)
            return iter(())
        return super().subcolumns(response)

    def column_links(self, response: Response) -> tuple[list[str], list[str]]:
        if _is_data(response):
            return [], []
        return super().column_links(response)

    def attachment_links(self, response: Response) -> list[str]:
        urls = super().attachment_links(response)
        # The family that listed the article reads it (fingerprinting every article costs ~0.5 ms).
        adapter = self._listed_by.get(response.url) or self.adapter_for(response)
        extra = self.extra_attachments.get(response.url, []) + adapter.attachment_urls(self, response)
        return urls + [u for u in dict.fromkeys(extra) if u not in urls]

    # -- requests ---------------------------------------------------------------------------

    def api_request(self, family: str, url: str, **kwargs: Any) -> scrapy.Request:
        """A list-API request whose answer goes back through ``parse_column`` to ``family``."""
        meta = {FAMILY_META: family, **kwargs.pop("meta", {})}
        cls = scrapy.FormRequest if "formdata" in kwargs else scrapy.Request
        return cls(
            url,
            callback=self.parse_column,
            cb_kwargs={"depth": MAX_DISCOVERY_DEPTH, "role": COLUMN},
            meta=meta,
            **kwargs,
        )

    def browser_allowed(self) -> bool:
        """Whether this source may use the browser (``browser: true``, or the JS-only family)."""
        return bool(self.source.get("browser")) or self.family == "jsonly"

    def browser_request(self, response: Response, depth: int, role: str = START) -> scrapy.Request:
        """The list page again, rendered by Chromium, once its script has added links."""
        from spiders.browser import browser_timeout_ms, render_meta

        links = len(response.css("a[href]"))
        return scrapy.Request(
            response.url,
            callback=self.parse_column,
            cb_kwargs={"depth": depth, "role": role},
            meta=render_meta(browser_timeout_ms(self.settings), links_over=links),
            dont_filter=True,
        )

    def _wants_browser(self, response: Response) -> bool:
        """Whether this list page must be rendered: a script fills it and it lists no report.

        With the browser off for the source, such a page is counted in ``nianbao/needs_browser``
        instead, so the run says the walk could not see the list (never "nothing published").
        """
        if response.meta.get("playwright") or response.meta.get(FAMILY_META):
            return False  # rendered already, or an API answer: data, not a page to render
        text = response_text(response)
        if not text or not needs_browser(text):
            return False
        adapter = self.adapter_for(response)
        if [e for e in self._entries_of(response, adapter) if _report_like(e)]:
            return False
        if self.browser_allowed():
            return True
        if detect_family(response.url, text) != "jsonly":
            return False  # a family's list machinery is on the page: its adapter reads the list
        stats = self.crawler.stats
        seen = stats.get_value("nianbao/needs_browser") or []
        if response.url not in seen:
            stats.set_value("nianbao/needs_browser", [*seen, response.url])
        return False


def canonical_url(url: str) -> str:
    """A URL without its scheme and without a mobile ``_wap`` suffix (the same page either way)."""
    parts = urlsplit(url)
    path = re.sub(r"_wap(\.s?html?)$", r"\1", parts.path)
    return parts.netloc.lower() + path + ("?" + parts.query if parts.query else "")


def pager_links(response: Response) -> list[str]:
    """Links of a static pager (§1.2.7: ``?page=N``, ``index_N.html``, 下一页) on the same path."""
    here = urlsplit(response.url)
    folder = here.path.rsplit("/", 1)[0] + "/"
    out = []
    base = base_url(response)
    for a in response.css("a[href]"):
        url = safe_join(base, a.attrib["href"])  # a bad link is no pager link (list_entries counts it)
        if url is None:
            continue
        text = re.sub(r"\s+", "", " ".join(a.css("::text").getall()))
        parts = urlsplit(url)
        if parts.netloc != here.netloc or not parts.path.startswith(folder) or url == response.url:
            continue
        if (_PAGER_URL.search(url) or _PAGER_TEXT.fullmatch(text)) and url not in out:
            out.append(url)
    return out


def _is_data(response: Response) -> bool:
    """An API answer (JSON, or XML records) rather than an HTML page."""
    if response.meta.get(FAMILY_META):
        return True
    sel = getattr(response, "selector", None)
    return sel is None or getattr(sel, "type", "html") not in ("html", "xml")


def _report_like(entry: Entry) -> bool:
    from spiders.pages import is_report_title

    return is_report_title(entry.title)


def script_attachments(response: Response) -> list[str]:
    """Document files named in a page's scripts or JSON (``\\/``-escaped paths included)."""
    text = response_text(response).replace("\\/", "/")
    urls = []
    base = base_url(response)
    for m in _SCRIPT_FILE.finditer(text):
        url = safe_join(base, m.group(1))
        if url and is_attachment_url(url) and url not in urls:
            urls.append(url)
    return urls
