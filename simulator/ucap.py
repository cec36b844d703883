"""The 开普云 Ucap 集约化 family: list shells filled by ``POST /queryList``.

What a crawler meets (docs/portals.md §1, §3, §5):

- home → ``/<siteCode>/zfxxgk/pc/index.html`` (政府信息公开) → the column
  ``/<siteCode>/<channelCode>/pc/list.html``, a shell whose ``<ul>`` is empty: a script posts
  ``current, pageSize, webSiteCode, channelCode`` to ``/queryList``;
- ``POST /queryList`` (form, or JSON) → ``{"code": 200, "data": {"total": N, "current": c,
  "pages": P, "results": [{"source": {"id": "<19 digits>", "title", "pubDate":
  "YYYY-MM-DD HH:MM:SS", "contentSource", "urls": "{\\"pc\\": \\"/…/content_<id>.html\\"}",
  "articleFiles": [{"fileName", "filePath", "fileExt"}]}}]}}``; ``urls`` is a JSON-encoded
  string unless ``urls_as_object=True``;
- articles ``/<siteCode>/<channelCode>/pc/content/content_<19-digit id>.html``, body in
  ``#UCAP-CONTENT``; files ``/doc/ucap/<19-digit siteId>/document/YYYYMMDD/<8 chars>.<ext>``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from simulator.familybase import COLUMN_NAME, ColumnSite, Item, esc, hex32, shorten, stable
from simulator.model import Region
from simulator.site import Request, Response

_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


class UcapSite(ColumnSite):
    """A Ucap platform site ``site_code`` with the report channel ``channel_code``."""

    family = "ucap"

    def __init__(
        self,
        region: Region,
        *,
        per_page: int = 15,
        site_code: str | None = None,
        channel_code: str = "zfxxgknb",
        urls_as_object: bool = False,
        special_formats: tuple[str, ...] = ("wps",),
        **options: Any,
    ) -> None:
        self.per_page = per_page
        seed = stable(region.government.name + str(options.get("agencies")))
        self.site_code = site_code or f"{region.government.code}{seed % 10000:04d}"
        self.site_uid = str(1_800_000_000_000_000_000 + seed % 10**17)  # 19 digits
        self.channels = {"main": channel_code, "dept": f"bmxxgknb{seed % 100:02d}"}
        self.urls_as_object = urls_as_object
        super().__init__(region, special_formats=special_formats, **options)

    # -- ids and URLs --------------------------------------------------------------------------

    def doc_id(self, it: Item) -> str:
        # 19-digit snowflake-like ids; a second listing is another document record.
        return str(2_062_796_646_000_000_000 + it.article_id * 7919 + (0 if it.primary else 1))

    def list_path(self, column: str = "main") -> str:
        return f"/{self.site_code}/{self.channels[column]}/pc/list.html"

    def xxgk_path(self) -> str:
        return f"/{self.site_code}/zfxxgk/pc/index.html"

    def article_path(self, it: Item) -> str:
        return f"/{self.site_code}/{self.channels[it.column]}/pc/content/content_{self.doc_id(it)}.html"

    def attachment_path(self, it: Item) -> str | None:
        h = int(hex32(self.site_code, it.article_id), 16)
        name = "".join(_ALNUM[(h >> (5 * i)) % 36] for i in range(8))
        return f"/doc/ucap/{self.site_uid}/document/{it.published:%Y%m%d}/{name}.{it.fmt}"

    def list_urls(self) -> list[str]:
        return [self.base_url + self.list_path(c) for c in self.columns()]

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/queryList":
            return self.query_list(request)
        if request.method not in ("GET", "HEAD"):
            return Response(405, "method not allowed", "text/plain")
        if path in ("/", f"/{self.site_code}/index.html", f"/{self.site_code}/"):
            return self.page(self.home_page(), self.latest())
        if path == self.xxgk_path():
            return self.page(self.xxgk_page(), self.latest())
        for col in self.columns():
            if path == self.list_path(col):
                return self.page(self.list_shell(col))
        return self.serve_route(path) or self.missing()

    def query_list(self, request: Request) -> Response:
        if request.method != "POST":
            return _json({"code": 405, "msg": "Request method 'GET' not supported", "data": None})
        form: dict[str, Any] = {}
        text = request.body.decode("utf-8", "replace")
        if "json" in request.header("content-type"):
            try:
                form = dict(json.loads(text or "{}"))
            except ValueError:
                form = {}
        else:
            form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        column = next(
            (
                c
                for c in self.columns()
                if str(form.get("channelCode")) == self.channels[c]
                and str(form.get("webSiteCode")) == self.site_code
            ),
            None,
        )
        current = _int(form.get("current"), 1)
        size = _int(form.get("pageSize"), self.per_page) or self.per_page
        entries = self.entries(column) if column else []
        chunk = entries[(current - 1) * size : current * size] if current >= 1 else []
        data = {
            "total": len(entries),
            "current": current,
            "size": size,
            "pages": self.pages(len(entries), size) if entries else 0,
            "results": [{"source": self.source_json(it)} for it in chunk],
        }
        return _json({"code": 200, "msg": "操作成功", "success": True, "data": data})

    def source_json(self, it: Item) -> dict[str, Any]:
        urls: dict[str, str] = {"pc": self.article_path(it)}
        files = []
        if it.report is not None and it.fmt != "html":
            path = self.attachment_path(it)
            assert path is not None
            files.append({"fileName": f"{it.title}.{it.fmt}", "filePath": path, "fileExt": it.fmt})
        return {
            "id": self.doc_id(it),
            "title": it.title,
            "pubDate": f"{it.published:%Y-%m-%d %H:%M:%S}",
            "contentSource": self.source_of(it),
            "channelCode": self.channels[it.column],
            "urls": urls if self.urls_as_object else json.dumps(urls, ensure_ascii=False),
            "articleFiles": files,
        }

    # -- templates -----------------------------------------------------------------------------

    def _header(self) -> str:
        return (
            f'<div class="header"><a href="/{self.site_code}/index.html">{esc(self.site_name)}</a>'
            f'<ul class="nav"><li><a href="/{self.site_code}/index.html">首页</a></li>'
            f'<li><a href="{self.xxgk_path()}">政府信息公开</a></li></ul></div>\n'
        )

    def _footer(self) -> str:
        return f'<div class="footer"><p>网站标识码：{self.site_id_code}</p></div>\n</body>\n</html>\n'

    def home_page(self) -> str:
        items = "".join(
            f'<li><a href="{self.article_path(it)}" title="{esc(it.title)}">{esc(shorten(it.title))}</a></li>'
            for it in self.entries()[:6]
        )
        return self.framed(
            self.site_name,
            self.site_metas(),
            f'<div class="main"><h3>政务公开</h3><ul>{items}</ul></div>\n',
        )

    def xxgk_page(self) -> str:
        links = f'<li><a href="{self.list_path()}">{COLUMN_NAME}</a></li>'
        if self.dual_agency:
            links += f'<li><a href="{self.list_path("dept")}">{esc(self.column_label("dept"))}</a></li>'
        return self.framed(
            f"政府信息公开-{self.site_name}",
            {**self.site_metas(), "ColumnName": "政府信息公开"},
            '<div class="xxgk-menu"><ul><li><a href="javascript:;">政府信息公开指南</a></li>'
            + f"{links}</ul></div>\n",
        )

    def list_shell(self, column: str) -> str:
        label = self.column_label(column)
        metas = {
            **self.site_metas(),
            "ColumnName": label,
            "ColumnDescription": label,
            "ColumnKeywords": "政府信息公开",
            "ColumnType": COLUMN_NAME,
        }
        script = (
            "<script>\n"
            f"var webSiteCode = '{self.site_code}';\nvar channelCode = '{self.channels[column]}';\n"
            f"var pageSize = {self.per_page};\n"
            "function loadPage(current) {\n"
            "  var body = new URLSearchParams({current: current, pageSize: pageSize,"
            " webSiteCode: webSiteCode, channelCode: channelCode});\n"
            "  fetch('/queryList', {method: 'POST', body: body}).then(function (r) { return r.json(); })"
            ".then(function (res) {\n"
            "    var ul = document.getElementById('list'); ul.innerHTML = '';\n"
            "    res.data.results.forEach(function (x) {\n"
            "      var s = x.source; var u = typeof s.urls === 'string' ? JSON.parse(s.urls) : s.urls;\n"
            "      var li = document.createElement('li'); var a = document.createElement('a');\n"
            "      a.href = u.pc; a.title = s.title; a.textContent = s.title; li.appendChild(a);\n"
            "      var sp = document.createElement('span'); sp.textContent = s.pubDate.substring(0, 10);\n"
            "      li.appendChild(sp); ul.appendChild(li);\n"
            "    });\n"
            "    var pager = document.getElementById('pager'); pager.innerHTML = '';\n"
            "    for (var i = 1; i <= res.data.pages; i++) {\n"
            "      var b = document.createElement('a'); b.href = 'javascript:loadPage(' + i + ')';\n"
            "      b.textContent = i; pager.appendChild(b);\n"
            "    }\n"
            "  });\n"
            "}\n"
            "loadPage(1);\n</script>\n"
        )
        return self.framed(
            f"{label}-{self.site_name}",
            metas,
            f'<div class="position">当前位置：<a href="{self.xxgk_path()}">政府信息公开</a> &gt; {esc(label)}</div>\n'
            + '<div class="list"><ul id="list"></ul><div id="pager"></div></div>\n'
            + script,
        )

    def article_page(self, it: Item, wap: bool = False) -> str:
        url = self.page_url(it, wap)
        metas = self.article_metas(it, url)
        source = self.source_of(it)

        def link(href: str, text: str) -> str:
            return f'<a href="{href}" target="_blank">{esc(text)}</a>'

        body = self.body_of(it, link)
        return self.framed(
            f"{it.title}-{self.site_name}",
            metas,
            '<div class="xxgk-table"><table><tr>'
            + f"<td>索引号：{self.index_no(it)}</td><td>发布机构：{esc(source)}</td></tr><tr>"
            + f"<td>发布日期：{it.published:%Y-%m-%d}</td><td>主题分类：政务公开</td></tr></table></div>\n"
            + f'<div class="article"><h1>{esc(it.title)}</h1>\n'
            + f'<div class="info">发布时间：{metas["PubDate"]} 来源：{esc(source)} {self.chrome.counter("阅读次数")}</div>\n'
            + f'<div id="UCAP-CONTENT">\n{body}\n</div></div>\n'
            + self.related(it),
        )


def _int(v: Any, default: int) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _json(data: Any) -> Response:
    return Response(200, json.dumps(data, ensure_ascii=False), "application/json")
