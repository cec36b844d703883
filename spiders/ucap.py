"""开普云 Ucap 集约化 columns: a list page whose items come from ``POST /queryList``.

The list page (``/<siteCode>/<channelCode>/pc/list.html``) names its site and channel codes in
a script; the list is ``POST /queryList`` with the form ``{current, pageSize, webSiteCode,
channelCode}`` → ``{data: {total, results: [{source: {id, title, pubDate, contentSource, urls,
articleFiles}}]}}``.  Articles are ``…/pc/content/content_<19 digits>.html`` with the body in
``#UCAP-CONTENT``; files are ``/doc/ucap/<siteId>/document/YYYYMMDD/<8 chars>.pdf``, also listed
in ``articleFiles`` (docs/portals.md §1, §3, §5).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from spiders.adapters import AdapterSpider, ListAdapter, response_text
from spiders.base import Entry
from spiders.gkmlpt import article_date, file_urls
from spiders.pages import safe_join

PAGE_SIZE = 20
_CODE = {
    key: re.compile(rf"""\b{key}['"]?\s*[:=]\s*['"]([\w.-]+)['"]""") for key in ("webSiteCode", "channelCode")
}
_ATTR_CODE = {
    "webSiteCode": re.compile(r"""data-(?:web-?site-?code|sitecode)=['"]([\w.-]+)['"]""", re.I),
    "channelCode": re.compile(r"""data-(?:channel-?code|channelcode)=['"]([\w.-]+)['"]""", re.I),
}
_ENDPOINT = re.compile(r"""['"]([^'"\s]*?/queryList[^'"\s]*)['"]""")
_PAGE_SIZE = re.compile(r"""\bpageSize['"]?\s*[:=]\s*['"]?(\d+)""")
_LIST_PATH = re.compile(r"/([\w-]+)/([\w-]+)/pc/list(?:_\d+)?\.html")


def list_config(text: str, url: str) -> dict[str, Any] | None:
    """Endpoint, codes and page size of a Ucap list page, or None when it is not one."""
    path = _LIST_PATH.search(urlsplit(url).path)
    # The script may live in an external file: a /pc/list.html page of a Ucap site still lists
    # through /queryList.
    if "queryList" not in text and not (path and re.search(r"ucap", text, re.I)):
        return None
    codes = {}
    for key in ("webSiteCode", "channelCode"):
        m = _CODE[key].search(text) or _ATTR_CODE[key].search(text)
        if m:
            codes[key] = m.group(1)
    if path:  # the list URL itself is /<siteCode>/<channelCode>/pc/list.html
        codes.setdefault("webSiteCode", path.group(1))
        codes.setdefault("channelCode", path.group(2))
    if len(codes) < 2:
        return None
    endpoint = _ENDPOINT.search(text)
    endpoint_url = safe_join(url, endpoint.group(1) if endpoint else "/queryList")
    if endpoint_url is None:
        return None
    size = _PAGE_SIZE.search(text)
    return {
        "endpoint": endpoint_url,
        "codes": codes,
        "page_size": int(size.group(1)) if size else PAGE_SIZE,
        "referer": url,
    }


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def article_url(source: dict[str, Any], base_url: str) -> str | None:
    """The article's page URL from ``urls`` (a path, a JSON string, a dict or a list)."""
    urls = _decoded(source.get("urls") or source.get("url"))
    candidates: list[str] = []
    if isinstance(urls, str):
        candidates = [urls]
    elif isinstance(urls, dict):
        # PC page first, then whatever else is there.
        values = [v for v in urls.values() if isinstance(v, str)]
        candidates = sorted(values, key=lambda v: ("/pc/" not in v, "wap" in v.lower()))
    elif isinstance(urls, list):
        candidates = [u if isinstance(u, str) else (u or {}).get("url", "") for u in urls]
    for c in candidates:
        url = safe_join(base_url, c) if isinstance(c, str) else None
        if url:
            return url
    return None


def article_files(source: dict[str, Any], base_url: str) -> list[str]:
    """Files in ``articleFiles`` (dicts with ``filePath``, strings, maybe JSON-encoded)."""
    return file_urls(_decoded(source.get("articleFiles")), base_url)


def results(data: Any) -> tuple[list[dict[str, Any]], int | None]:
    """The ``source`` records of a queryList answer and its total, tolerating shape variants."""
    body = data.get("data") if isinstance(data, dict) else None
    if isinstance(body, dict):
        rows = body.get("results") or body.get("list") or body.get("records") or []
        total = body.get("total") or body.get("totalCount")
    else:
        rows, total = (body if isinstance(body, list) else []), None
    out = []
    for row in rows:
        if isinstance(row, dict):
            out.append(row.get("source") if isinstance(row.get("source"), dict) else row)
    return out, int(total) if isinstance(total, (int, str)) and str(total).isdigit() else None


def source_date(source: dict[str, Any]):
    return article_date({"publish_time": source.get("pubDate") or source.get("publishDate")})


class UcapAdapter(ListAdapter):
    """POSTs queryList page by page, from the list page's own codes."""

    family = "ucap"

    def matches(self, response: Response) -> bool:
        return list_config(response_text(response), response.url) is not None

    def entries(self, spider: AdapterSpider, response: Response) -> list[Entry] | None:
        if "nianbao_ucap" not in response.meta:
            return None
        try:
            data = json.loads(response_text(response) or response.body)
        except (ValueError, UnicodeDecodeError):
            return []
        sources, _ = results(data)
        base = response.meta["nianbao_ucap"]["referer"]
        out = []
        for src in sources:
            url = article_url(src, base)
            if not url:
                continue
            out.append(Entry(url, re.sub(r"\s+", "", str(src.get("title", ""))), source_date(src)))
            files = article_files(src, url)
            if files:
                spider.extra_attachments[out[-1].url] = files  # as fetched: without a session id
        return out

    def next_pages(self, spider: AdapterSpider, response: Response) -> list[str]:
        return []

    def follow_ups(
        self, spider: AdapterSpider, response: Response, fresh: int, entries: list[Entry]
    ) -> Iterator[scrapy.Request]:
        state = response.meta.get("nianbao_ucap")
        if state is None:
            config = list_config(response_text(response), response.url)
            if config:
                yield self._page(spider, config, 1)
            return
        try:
            _, total = results(json.loads(response_text(response) or response.body))
        except (ValueError, UnicodeDecodeError):
            return
        if not entries or not fresh:
            return
        if total is not None and state["current"] * state["page_size"] >= total:
            return
        yield self._page(spider, state, state["current"] + 1)

    def _page(self, spider: AdapterSpider, config: dict[str, Any], current: int) -> scrapy.Request:
        state = {**config, "current": current}
        form = {"current": str(current), "pageSize": str(config["page_size"]), **config["codes"]}
        return spider.api_request(
            "ucap",
            config["endpoint"],
            method="POST",
            formdata=form,
            headers={"Referer": config["referer"], "X-Requested-With": "XMLHttpRequest"},
            meta={"nianbao_ucap": state},
        )


class UcapSpider(AdapterSpider):
    """A Ucap list (or a site to discover it on)."""

    name = "ucap"
    family = "ucap"
    adapters = (UcapAdapter(), ListAdapter())
