"""A JS-only column: the HTML list is empty and a script fills it from a JSON endpoint.

Only a real browser sees the entries (docs/portals.md §3: "Hanweb datacall", 3.6 KB JS
shells on 淄博, 菏泽, 淮安 …):

- home → ``/zwgk/`` (政府信息公开) → ``/zwgk/nb/index.html``: ``<ul class="list" id="list"></ul>``
  plus a script that, after ``delay_ms`` (300 ms), fetches ``/api/list.json?page=N`` (N from the
  page's own ``?page=N``, default 1) and builds ``<li class="item"><a href title>…</a>
  <span>YYYY-MM-DD</span></li>`` and a pager of ``index.html?page=K`` links;
- ``GET /api/list.json?page=N`` → ``{"page": N, "pages": P, "total": T, "list": [{"title",
  "url", "date"}]}``, ``per_page`` items per page, newest first;
- articles ``/zwgk/nb/YYYYMM/<id>.html`` (plain HTML, body in ``.article-body``), attachments
  ``/uploads/YYYYMMDD/<32hex>.<ext>``; ``wap_copies`` adds ``…_wap.html``.
"""

from __future__ import annotations

import json
from typing import Any

from simulator.familybase import COLUMN_NAME, ColumnSite, Item, esc, hex32
from simulator.model import Region
from simulator.site import Request, Response

COLUMN = "/zwgk/nb/"


class JsOnlySite(ColumnSite):
    """A portal whose report column is rendered client-side."""

    family = "jsonly"

    def __init__(self, region: Region, *, per_page: int = 10, delay_ms: int = 300, **options: Any) -> None:
        if options.get("dual_agency"):
            raise ValueError("the JS-only site has a single column: no dual_agency")
        self.per_page = per_page
        self.delay_ms = delay_ms
        super().__init__(region, **options)

    def article_path(self, it: Item) -> str:
        return f"{COLUMN}{it.url_date:%Y%m}/{it.article_id}.html"

    def attachment_path(self, it: Item) -> str | None:
        return f"/uploads/{it.published:%Y%m%d}/{hex32('jsonly', self.site_name, it.article_id)}.{it.fmt}"

    def list_urls(self) -> list[str]:
        n = self.pages(len(self.entries()), self.per_page)
        return [self.base_url + f"/api/list.json?page={p}" for p in range(1, n + 1)]

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, "method not allowed", "text/plain")
        path = request.path
        if path in ("/", "/index.html"):
            return self.page(self.home_page(), self.latest())
        if path in ("/zwgk/", "/zwgk/index.html"):
            return self.page(self.xxgk_page(), self.latest())
        if path == COLUMN.rstrip("/"):
            return Response(301, "", headers={"Location": COLUMN})
        if path in (COLUMN, COLUMN + "index.html"):
            return self.page(self.column_page())  # the same bytes whatever the list holds
        if path == "/api/list.json":
            return self.api(request)
        return self.serve_route(path) or self.missing()

    def api(self, request: Request) -> Response:
        try:
            page = max(1, int(request.arg("page", "1") or 1))
        except ValueError:
            page = 1
        entries = self.entries()
        chunk = entries[(page - 1) * self.per_page : page * self.per_page]
        data = {
            "page": page,
            "pages": self.pages(len(entries), self.per_page),
            "total": len(entries),
            "list": [
                {"title": it.title, "url": self.article_path(it), "date": f"{it.published:%Y-%m-%d}"}
                for it in chunk
            ],
        }
        return Response(
            200, json.dumps(data, ensure_ascii=False), "application/json", last_modified=self.latest()
        )

    # -- templates -----------------------------------------------------------------------------

    def _header(self) -> str:
        return (
            f'<div class="header"><a href="/">{esc(self.site_name)}</a><ul class="nav">'
            '<li><a href="/">首页</a></li><li><a href="/zwgk/">政府信息公开</a></li></ul></div>\n'
        )

    def _footer(self) -> str:
        return f'<div class="footer">网站标识码：{self.site_id_code}</div>\n</body>\n</html>\n'

    def home_page(self) -> str:
        return self.framed(
            self.site_name,
            self.site_metas(),
            '<div class="main"><h3>政务公开</h3><a href="/zwgk/">更多</a></div>\n',
        )

    def xxgk_page(self) -> str:
        return self.framed(
            f"政府信息公开_{self.site_name}",
            {**self.site_metas(), "ColumnName": "政府信息公开"},
            '<div class="menu"><ul><li><a href="javascript:;">政府信息公开指南</a></li>'
            + f'<li><a href="{COLUMN}">{COLUMN_NAME}</a></li></ul></div>\n',
        )

    def column_page(self) -> str:
        metas = {**self.site_metas(), "ColumnName": COLUMN_NAME, "ColumnType": COLUMN_NAME}
        script = (
            "<script>\n(function () {\n"
            "  var m = /[?&]page=(\\d+)/.exec(location.search); var page = m ? parseInt(m[1], 10) : 1;\n"
            "  setTimeout(function () {\n"
            "    var xhr = new XMLHttpRequest();\n"
            "    xhr.open('GET', '/api/list.json?page=' + page);\n"
            "    xhr.onload = function () {\n"
            "      var d = JSON.parse(xhr.responseText); var ul = document.getElementById('list');\n"
            "      d.list.forEach(function (x) {\n"
            "        var li = document.createElement('li'); li.className = 'item';\n"
            "        var a = document.createElement('a'); a.href = x.url; a.title = x.title;\n"
            "        a.textContent = x.title; li.appendChild(a);\n"
            "        var s = document.createElement('span'); s.textContent = x.date; li.appendChild(s);\n"
            "        ul.appendChild(li);\n"
            "      });\n"
            "      var p = document.getElementById('pager');\n"
            "      for (var i = 1; i <= d.pages; i++) {\n"
            "        var b = document.createElement('a'); b.href = 'index.html?page=' + i; b.textContent = i;\n"
            "        if (i === page) { b.className = 'current'; }\n"
            "        p.appendChild(b);\n"
            "      }\n"
            "    };\n"
            "    xhr.send();\n"
            f"  }}, {self.delay_ms});\n"
            "})();\n</script>\n"
        )
        return self.framed(
            f"{COLUMN_NAME}_{self.site_name}",
            metas,
            f'<div class="position">当前位置：<a href="/zwgk/">政府信息公开</a> &gt; {COLUMN_NAME}</div>\n'
            + '<div class="list-box"><ul class="list" id="list"></ul><div class="pager" id="pager"></div></div>\n'
            + script,
        )

    def article_page(self, it: Item, wap: bool = False) -> str:
        url = self.page_url(it, wap)
        metas = self.article_metas(it, url)

        def link(href: str, text: str) -> str:
            return f'<a href="{href}">{esc(text)}</a>'

        body = self.body_of(it, link)
        return self.framed(
            f"{it.title}_{self.site_name}",
            metas,
            f'<div class="meta"><span>索引号：{self.index_no(it)}</span><span>发布机构：{esc(self.source_of(it))}</span>'
            + f"<span>发布日期：{it.published:%Y-%m-%d}</span></div>\n"
            + f'<div class="article"><h1>{esc(it.title)}</h1>\n'
            + f'<div class="views">{self.chrome.counter("点击数")}</div>\n'
            + f'<div class="article-body">\n{body}\n</div></div>\n'
            + self.related(it),
        )
