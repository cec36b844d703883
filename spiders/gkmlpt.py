"""Guangdong's 政府信息公开目录管理平台 (gkmlpt): a JSON list API behind a script-built catalogue.

The catalogue page (``/gkmlpt/index``, ``/gkmlpt/annualreport#<catId>``) holds no list: it sets
``window._CONFIG = {SID: '175', TREE: [...], ...}`` and a script asks
``GET /gkmlpt/api/all/<catId>?page=<n>&sid=<sid>`` → ``{total, articles: [{id, title, url,
display_publish_time, create_time, attachment, ...}]}`` (~100 a page).  The report category is
the page's ``#<catId>`` (lost when a link is followed, since fragments never reach the server),
else the catalogue node named like the annual report (docs/portals.md §1, §3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from spiders.adapters import AdapterSpider, ListAdapter, response_text, script_attachments
from spiders.base import Entry
from spiders.pages import is_attachment_url, parse_date, safe_join

_CONFIG = re.compile(r"window\._CONFIG\s*=")
_SID = re.compile(r"""\bSID\s*[:=]\s*['"]?(\d+)""")
_HASH = re.compile(r"#(\d+)$")
_REPORT_NODE = re.compile(r"年报|年度报告")
_LINK_HASH = re.compile(r"""href=['"][^'"]*#(\d+)['"][^>]*>\s*([^<]*)""")
CHINA = timezone(timedelta(hours=8))


def read_sid(text: str) -> str | None:
    m = _SID.search(text)
    return m.group(1) if m else None


def config_tree(text: str) -> list[dict[str, Any]]:
    """The catalogue ``TREE`` of ``window._CONFIG`` (a JSON array inside a JS object), or []."""
    m = re.search(r"\bTREE\s*:\s*\[", text)
    if not m:
        return []
    start = m.end() - 1
    depth = 0
    in_str: str | None = None
    i = start
    while i < len(text):  # the matching bracket, skipping brackets inside strings
        ch = text[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == in_str:
                in_str = None
        elif ch in "\"'":
            in_str = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                break
        i += 1
    try:
        tree = json.loads(text[start : i + 1])
    except ValueError:
        return []
    return tree if isinstance(tree, list) else []


def report_categories(text: str, page_url: str, start_url: str = "") -> list[str]:
    """The annual-report category ids: the URL's #hash, else catalogue nodes and links named 年报."""
    for url in (page_url, start_url):
        m = _HASH.search(url or "")
        if m and "/gkmlpt/" in url:
            return [m.group(1)]
    found: list[str] = []

    def walk(nodes: list[Any]) -> None:
        for node in nodes:
            if not isinstance(node, dict):
                continue
            if _REPORT_NODE.search(str(node.get("name", ""))) and not node.get("jump_url"):
                found.append(str(node.get("id")))
            walk(node.get("children") or [])

    walk(config_tree(text))
    for m in _LINK_HASH.finditer(text):
        if _REPORT_NODE.search(m.group(2)) and m.group(1) not in found:
            found.append(m.group(1))
    return [c for c in dict.fromkeys(found) if c and c != "None"]


def api_url(page_url: str, category: str, sid: str, page: int) -> str:
    root = page_url.split("/gkmlpt/")[0] if "/gkmlpt/" in page_url else _origin(page_url)
    return f"{root}/gkmlpt/api/all/{category}?page={page}&sid={sid}"


def article_date(article: dict[str, Any]) -> date | None:
    """display_publish_time (epoch seconds or a date string), else create_time."""
    for key in ("display_publish_time", "publish_time", "create_time", "date"):
        value = article.get(key)
        if value in (None, "", 0):
            continue
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
            seconds = float(value)
            if seconds > 1e11:  # milliseconds
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC).astimezone(CHINA).date()
        d = parse_date(str(value))
        if d:
            return d
    return None


def api_entries(data: dict[str, Any], base_url: str) -> tuple[list[Entry], dict[str, list[str]]]:
    """Entries of one API page, and the files each article's JSON names."""
    entries, files = [], {}
    for art in data.get("articles") or []:
        url = safe_join(base_url, str(art["url"])) if isinstance(art, dict) and art.get("url") else None
        if url is None:  # one bad record never loses the others
            continue
        entries.append(Entry(url, re.sub(r"\s+", "", str(art.get("title", ""))), article_date(art)))
        attached = file_urls(art.get("attachment") or art.get("attachments"), url)
        if attached:
            files[entries[-1].url] = attached  # keyed as the article is fetched: without a session id
    return entries, files


URL_KEYS = ("url", "link", "href", "path", "filePath", "file_path", "fileUrl", "file_url", "downloadUrl")


def file_urls(value: Any, base_url: str) -> list[str]:
    """Files named in an API's attachment field: dicts (URL keys first; never a bare file name),
    strings, or either JSON-encoded."""
    out: list[str] = []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    items = value if isinstance(value, list) else [value] if value else []
    for item in items:
        if isinstance(item, dict):
            keyed = [item[k] for k in URL_KEYS if isinstance(item.get(k), str)]
            candidates = keyed or [v for v in item.values() if isinstance(v, str) and "/" in v]
        else:
            candidates = [item]
        for c in candidates:
            url = safe_join(base_url, c) if isinstance(c, str) else None
            if url and is_attachment_url(url):
                if url not in out:
                    out.append(url)
                break
    return out


def _json(response: Response) -> dict[str, Any] | None:
    try:
        data = json.loads(response_text(response) or response.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


class GkmlptAdapter(ListAdapter):
    """The catalogue page → the report category's API pages, until the articles run out."""

    family = "gkmlpt"

    def matches(self, response: Response) -> bool:
        text = response_text(response)
        return "/gkmlpt/" in response.url and bool(_CONFIG.search(text) and read_sid(text))

    def entries(self, spider: AdapterSpider, response: Response) -> list[Entry] | None:
        if "nianbao_gkmlpt" not in response.meta:
            return None  # the catalogue page: links only (its list is built by script)
        data = _json(response) or {}
        entries, files = api_entries(data, response.url)
        spider.extra_attachments.update(files)
        return entries

    def next_pages(self, spider: AdapterSpider, response: Response) -> list[str]:
        return []

    def follow_ups(
        self, spider: AdapterSpider, response: Response, fresh: int, entries: list[Entry]
    ) -> Iterator[scrapy.Request]:
        state = response.meta.get("nianbao_gkmlpt")
        if state is None:
            text = response_text(response)
            sid = read_sid(text)
            if not sid:
                return
            for category in report_categories(text, response.url, spider.source.get("start_url", "")):
                yield self._page(spider, response.url, category, sid, 1)
            return
        data = _json(response) or {}
        total = data.get("total") or (data.get("classify") or {}).get("post_count")
        seen = state["page"] * max(len(entries), 1)
        if not entries or not fresh or (isinstance(total, int) and seen >= total):
            return
        yield self._page(spider, state["referer"], state["category"], state["sid"], state["page"] + 1)

    def attachment_urls(self, spider: AdapterSpider, response: Response) -> list[str]:
        return script_attachments(response)

    def _page(
        self, spider: AdapterSpider, referer: str, category: str, sid: str, page: int
    ) -> scrapy.Request:
        state = {"referer": referer, "category": category, "sid": sid, "page": page}
        return spider.api_request(
            "gkmlpt",
            api_url(referer, category, sid, page),
            headers={"Referer": referer, "Accept": "application/json"},
            meta={"nianbao_gkmlpt": state},
        )


class GkmlptSpider(AdapterSpider):
    """A gkmlpt site's annual-report category (or a site to discover it on)."""

    name = "gkmlpt"
    family = "gkmlpt"
    adapters = (GkmlptAdapter(), ListAdapter())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
