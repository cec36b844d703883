"""Hanweb 大汉 jcms/jpage columns: lists inside an XML datastore, paged through dataproxy.jsp.

A column page (``/col/col<id>/index.html``) carries its first records only inside
``<script type="text/xml"><datastore>…<record><![CDATA[<li>…</li>]]></record>…`` and a
``<nextgroup>`` link naming the proxy and the column (``webid``, ``columnid``, ``unitid``).
Further records come from POSTing the proxy with ``startrecord``/``endrecord``/``perpage`` in
the query and the column's form fields in the body; one answer is a *group* of 3 pages.  Some
servers ignore ``startrecord`` and honour ``page`` instead, so both are sent and the next group
starts after what actually came back (docs/portals.md §3).  Articles are
``/art/Y/M/D/art_<col>_<id>.html``; files go through ``downfile.jsp`` redirects (§5).
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import scrapy
from parsel import Selector
from scrapy.http import Response

from spiders.adapters import AdapterSpider, ListAdapter, response_text
from spiders.base import Entry
from spiders.pages import parse_date, safe_join

DEFAULT_PROXY = "/module/web/jpage/dataproxy.jsp"
GROUP_PAGES = 3
DEFAULT_PERPAGE = 15
_DATASTORE = re.compile(r"<datastore>(.*?)</datastore>", re.S | re.I)
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>\s*</nextgroup>", re.S | re.I)
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>|totalRecord\s*[:=]\s*['\"]?(\d+)", re.I)
_PROXY = re.compile(r"""(?:proxyUrl\s*[:=]\s*['"]|href=['"])([^'"]*?/dataproxy\.jsp)""", re.I)
_PERPAGE = re.compile(r"""\bper[Pp]age\s*[:=]\s*['"]?(\d+)""")
# key: value pairs of the jpage call's parameters, quoted or not.
_JS_PARAM = re.compile(
    r"""\b(webid|columnid|unitid|webname|col|appid|path|sourceContentType|permissiontype)\s*:\s*(?:'([^']*)'|"([^"]*)"|([\w/.%-]+))"""
)
FORM_DEFAULTS = {"col": "1", "appid": "1", "path": "/", "sourceContentType": "1", "permissiontype": "0"}


@dataclass
class Jpage:
    """What a column page says about its dataproxy paging."""

    proxy: str  # absolute URL of dataproxy.jsp
    form: dict[str, str]
    perpage: int = DEFAULT_PERPAGE
    total: int | None = None
    referer: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def group_request_args(self, start: int) -> tuple[str, dict[str, str]]:
        """(URL, form) of the group whose first record is ``start`` (1-based)."""
        end = start + self.perpage * GROUP_PAGES - 1
        page = (start - 1) // self.perpage + 1
        query = urlencode({"startrecord": start, "endrecord": end, "perpage": self.perpage, "page": page})
        return f"{self.proxy}?{query}", dict(self.form)


def datastore_records(text: str) -> list[str]:
    """The HTML fragments of a datastore's records (a column page or a dataproxy answer)."""
    stores = _DATASTORE.findall(text) or ([text] if "<record" in text.lower() else [])
    return [r for store in stores for r in _RECORD.findall(store)]


def record_entries(records: list[str], base_url: str) -> list[Entry]:
    """Entries of datastore records: the first link of each, title= first, the date beside it."""
    out = []
    for record in records:
        sel = Selector(text=record)
        a = sel.css("a[href]")
        if not a:
            continue
        a = a[0]
        url = safe_join(base_url, a.attrib["href"])  # one bad record never loses the others
        if url is None:
            continue
        title = (a.attrib.get("title") or " ".join(a.css("::text").getall())).strip()
        rest = " ".join(sel.xpath("//text()").getall())
        out.append(Entry(url, re.sub(r"\s+", "", htmllib.unescape(title)), parse_date(rest)))
    return out


def total_records(text: str) -> int | None:
    m = _TOTAL.search(text)
    return int(m.group(1) or m.group(2)) if m else None


def read_jpage(text: str, url: str) -> Jpage | None:
    """The dataproxy paging a Hanweb column page announces, or None when it has none."""
    if not _DATASTORE.search(text):
        return None
    params: dict[str, str] = {}
    proxy_path = None
    m = _NEXTGROUP.search(text)
    if m:
        href = Selector(text=m.group(1)).css("a::attr(href)").get() or ""
        href = htmllib.unescape(href)
        parts = urlsplit(href)
        if parts.path:
            proxy_path = parts.path
        params.update(dict(parse_qsl(parts.query, keep_blank_values=True)))
    for pm in _JS_PARAM.finditer(text):
        params.setdefault(pm.group(1), next(g for g in pm.groups()[1:] if g is not None))
    if not proxy_path:
        p = _PROXY.search(text)
        proxy_path = p.group(1) if p else DEFAULT_PROXY
    if "columnid" not in params:
        return None  # an encrypted or unknown nextgroup: only the embedded records are readable
    if "unitid" not in params:
        div = re.search(r"<div[^>]+id=['\"](\d+)['\"][^>]*>\s*<script[^>]+text/xml", text)
        if div:
            params["unitid"] = div.group(1)
    perpage = _PERPAGE.search(text)
    form = {**FORM_DEFAULTS}
    for key in ("webid", "columnid", "unitid", "webname", *FORM_DEFAULTS):
        if key in params:
            form[key] = params[key]
    proxy = safe_join(url, proxy_path)
    if proxy is None:
        return None
    return Jpage(
        proxy=proxy,
        form=form,
        perpage=int(perpage.group(1)) if perpage else DEFAULT_PERPAGE,
        total=total_records(text),
        referer=url,
    )


class HanwebAdapter(ListAdapter):
    """Reads datastore records and walks the column group by group through dataproxy.jsp."""

    family = "hanweb"

    def matches(self, response: Response) -> bool:
        return bool(_DATASTORE.search(response_text(response)) or "<record" in response_text(response)[:4000])

    def entries(self, spider: AdapterSpider, response: Response) -> list[Entry] | None:
        text = response_text(response)
        records = datastore_records(text)
        if not records:
            return None if not response.meta.get("nianbao_jpage") else []
        return record_entries(records, response.meta.get("nianbao_jpage_referer") or response.url)

    def next_pages(self, spider: AdapterSpider, response: Response) -> list[str]:
        return []

    def follow_ups(
        self, spider: AdapterSpider, response: Response, fresh: int, entries: list[Entry]
    ) -> Iterator[scrapy.Request]:
        jpage: Jpage | None = response.meta.get("nianbao_jpage")
        if jpage is None:  # the column page itself: its records are the first group
            jpage = read_jpage(response_text(response), response.url)
            if jpage is None:
                return
            start = len(entries) + 1
        else:
            if not entries or not fresh:
                return  # past the last group, or a server repeating one group whatever we ask
            start = response.meta["nianbao_jpage_start"] + len(entries)
            jpage.total = jpage.total or total_records(response_text(response))
        if not entries or (jpage.total is not None and start > jpage.total):
            return
        url, form = jpage.group_request_args(start)
        yield spider.api_request(
            "hanweb",
            url,
            method="POST",
            formdata=form,
            headers={"Referer": jpage.referer, "X-Requested-With": "XMLHttpRequest"},
            meta={
                "nianbao_jpage": jpage,
                "nianbao_jpage_start": start,
                "nianbao_jpage_referer": jpage.referer,
            },
        )


class HanwebSpider(AdapterSpider):
    """A Hanweb column (or a site to discover it on)."""

    name = "hanweb"
    family = "hanweb"
    adapters = (HanwebAdapter(), ListAdapter())
