"""The Hanweb 大汉 jcms family: home → 政府信息公开 → ``/col/col<id>/index.html`` column.

What a crawler meets, as on real Hanweb portals (docs/portals.md §1, §3, §4, §5):

- the column page has no HTML list: the first 45 records sit only in
  ``<div id="<unitid>"><script type="text/xml"><datastore><nextgroup><![CDATA[<a href=
  "/module/web/jpage/dataproxy.jsp?page=1&webid=..&columnid=..&unitid=.."></a>]]></nextgroup>
  <recordset><record><![CDATA[<li><a href="/art/…" title="…">…</a><span>2024-01-30</span></li>]]>
  </record>…</recordset></datastore></script></div>``;
- further records: ``POST /module/web/jpage/dataproxy.jsp?startrecord=46&endrecord=90&perpage=15``
  with the form ``col=1&appid=1&webid=..&path=/&columnid=..&sourceContentType=1&unitid=..&
  webname=..&permissiontype=0`` → ``<datastore><totalrecord>N</totalrecord><totalpage>P</totalpage>
  <recordset>…</recordset></datastore>``, a group of 3 pages per request;
  ``ignore_startrecord=True``: the server ignores startrecord/endrecord and pages by ``page=``
  (1-based, ``perpage`` records per page; no ``page`` = page 1); ``max_records=300``: one
  answer holds at most that many records (盐城/阜宁: big ``perpage`` values are truncated);
- Zhejiang jcms style: ``/col/col<id>/index.html?uid=<unitid>&pageNum=<n>`` embeds page n
  (``per_page`` records) in the datastore instead of the first group;
- articles ``/art/YYYY/M/D/art_<col>_<id>.html`` (month and day not zero-padded) with the
  ``ZJEG_RSS`` / ``ContentStart`` markers, metas ArticleTitle / PubDate / ContentSource /
  i_columnid / i_articleid / Maketime, the 大汉版通 comment and the body in ``#zoom``;
- attachments ``/module/download/downfile.jsp?classid=0&filename=<32hex>.<ext>`` → 302 to
  ``/attach/0/<file>``; ``referer_required=True``: downfile.jsp without a Referer from this
  site answers 403 (hotlink protection);
- with ``noise`` (the default), Tomcat's URL rewriting: article and attachment links carry
  ``;jsessionid=<new id>`` (``art_….html;jsessionid=…``, ``downfile.jsp;jsessionid=…?classid=…``),
  and the article's rotating 相关链接 list sits *inside* ``#zoom``, after the content markers.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs, quote

from simulator.familybase import COLUMN_NAME, ColumnSite, Item, esc, hex32, shorten, stable
from simulator.model import Region
from simulator.site import Request, Response

DATAPROXY = "/module/web/jpage/dataproxy.jsp"
DOWNFILE = "/module/download/downfile.jsp"
GROUP_PAGES = 3  # jpage asks for three pages per request
JPAGE_JS = "/module/web/jpage/jpage.js"

# A small stand-in for jpage.js (and the bit of jQuery it needs): a browser shows the datastore's
# records page by page and asks dataproxy.jsp for the next group, as on a real Hanweb column.
_JPAGE = r"""(function () {
  var REC = /<record><!\[CDATA\[([\s\S]*?)\]\]><\/record>/g;
  function records(text) { var out = [], m; REC.lastIndex = 0; while ((m = REC.exec(text))) out.push(m[1]); return out; }
  function jpage(el, cfg) {
    var cache = {}, per = cfg.perPage, total = cfg.totalRecord, group = per * cfg.groupSize;
    var pages = Math.max(1, Math.ceil(total / per));
    records(el.querySelector('script[type="text/xml"]').textContent).forEach(function (r, i) { cache[i] = r; });
    var box = document.createElement('div'); box.className = 'default_pgContainer'; el.appendChild(box);
    var bar = document.createElement('div'); bar.className = 'default_pgPanel'; el.appendChild(bar);
    function pager(p) {
      bar.innerHTML = '';
      for (var i = 1; i <= pages; i++) {
        var a = document.createElement('a'); a.href = 'javascript:;'; a.textContent = i;
        if (i === p) { a.className = 'default_pgCurrentPage'; }
        a.onclick = (function (n) { return function () { show(n); }; })(i);
        bar.appendChild(a);
      }
    }
    function show(p) {
      var start = (p - 1) * per;
      function draw() {
        var html = '';
        for (var i = start; i < Math.min(start + per, total); i++) { html += cache[i] || ''; }
        box.innerHTML = '<ul>' + html + '</ul>'; pager(p);
      }
      if (start >= total || cache[start] !== undefined) { draw(); return; }
      var s = Math.floor(start / group) * group + 1;
      var xhr = new XMLHttpRequest();
      xhr.open('POST', cfg.proxyUrl + '?startrecord=' + s + '&endrecord=' + (s + group - 1) + '&perpage=' + per);
      xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8');
      xhr.onload = function () { records(xhr.responseText).forEach(function (r, i) { cache[s - 1 + i] = r; }); draw(); };
      xhr.send(Object.keys(cfg.ajaxParam).map(function (k) {
        return k + '=' + encodeURIComponent(cfg.ajaxParam[k]); }).join('&'));
    }
    show(1);
  }
  if (!window.$) {
    window.$ = function (x) {
      if (typeof x === 'function') {
        if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', x); } else { x(); }
        return null;
      }
      // Hanweb unit ids are numeric: "#764752" is not a valid CSS id selector, jQuery copes.
      var el = document.querySelector(x.replace(/^#(\w+)/, '[id="$1"]'));
      return { jpage: function (cfg) { jpage(el, cfg); }, text: function () { return el ? el.textContent : ''; } };
    };
  }
})();
"""


class HanwebSite(ColumnSite):
    """A Hanweb jcms portal; ``per_page`` is jpage's perpage (a group is 3 pages)."""

    family = "hanweb"

    def __init__(
        self,
        region: Region,
        *,
        per_page: int = 15,
        ignore_startrecord: bool = False,
        referer_required: bool = True,
        absolute_links: bool = False,
        max_records: int | None = None,
        special_formats: tuple[str, ...] = ("zip", "doc"),
        **options: Any,
    ) -> None:
        self.per_page = per_page
        self.ignore_startrecord = ignore_startrecord
        self.referer_required = referer_required
        self.absolute_links = absolute_links
        self.max_records = max_records
        seed = stable(region.government.name + str(options.get("agencies")))
        self.webid = 1 + seed % 90
        self.xxgk_col = 1_229_000_000 + seed % 1_000_000
        self.col_ids = {"main": self.xxgk_col + 17, "dept": self.xxgk_col + 29}
        self.unit_ids = {"main": 700_000 + seed % 90_000, "dept": 800_000 + seed % 90_000}
        super().__init__(region, special_formats=special_formats, **options)

    # -- URLs ----------------------------------------------------------------------------------

    def column_url(self, column: str = "main") -> str:
        return f"/col/col{self.col_ids[column]}/index.html"

    def xxgk_url(self) -> str:
        return f"/col/col{self.xxgk_col}/index.html"

    def article_path(self, it: Item) -> str:
        d = it.url_date
        return f"/art/{d.year}/{d.month}/{d.day}/art_{self.col_ids[it.column]}_{it.article_id}.html"

    def file_name(self, it: Item) -> str:
        return f"{hex32(self.site_name, it.article_id, it.fmt)}.{it.fmt}"

    def attachment_path(self, it: Item) -> str | None:
        return f"{DOWNFILE}?classid=0&filename={self.file_name(it)}"

    def attachment_final_path(self, it: Item) -> str | None:
        return f"/attach/0/{self.file_name(it)}"

    def _build_routes(self) -> dict[str, tuple[str, Item]]:
        routes = super()._build_routes()
        # The downfile.jsp link is a query URL: the bytes live at /attach/0/<file>.
        for kind, it in list(routes.values()):
            if kind == "attachment":
                routes[self.attachment_final_path(it)] = ("file", it)  # type: ignore[index]
        return routes

    def list_urls(self) -> list[str]:
        return [self.base_url + self.column_url(c) for c in self.columns()]

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.split(";", 1)[0]  # the servlet container drops ;jsessionid=…
        if path == DATAPROXY:
            return self.dataproxy(request)
        if request.method not in ("GET", "HEAD"):
            return Response(405, "method not allowed", "text/plain")
        if path in ("/", "/index.html"):
            return self.page(self.home_page(), self.latest())
        if path == self.xxgk_url():
            return self.page(self.xxgk_page(), self.latest())
        for col in self.columns():
            if path == self.column_url(col):
                page_num = (
                    _int(request.arg("pageNum"), 0) if request.arg("uid") == str(self.unit_ids[col]) else 0
                )
                return self.page(self.column_page(col, page_num), self.latest(col))
        if path == DOWNFILE:
            return self.downfile(request)
        if path == JPAGE_JS:
            return Response(200, _JPAGE, "application/javascript")
        route = self.routes.get(path)
        if route is not None and route[0] == "file":
            it = route[1]
            return self.file_response(it) if self.item_visible(it) else self.missing()
        if route is not None and route[0] == "attachment":
            return self.missing()  # only reachable with its query string
        return self.serve_route(path) or self.missing()

    def downfile(self, request: Request) -> Response:
        name = request.arg("filename")
        target = f"/attach/0/{name}"
        route = self.routes.get(target)
        if not name or route is None or not self.item_visible(route[1]):
            return self.missing()
        if self.referer_required and not self._from_here(request.header("referer")):
            return Response(403, "<html><body><h1>403 Forbidden</h1><p>禁止盗链</p></body></html>")
        return Response(302, "", headers={"Location": self.base_url + target})

    def _from_here(self, referer: str) -> bool:
        return bool(referer) and referer.split("://", 1)[-1].split("/", 1)[0] == self.domain()

    def dataproxy(self, request: Request) -> Response:
        """jpage's data proxy: query and form parameters together, like a servlet's getParameter."""
        params: dict[str, list[str]] = dict(request.query)
        if request.body:
            for k, v in parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True).items():
                params.setdefault(k, v)

        def arg(name: str, default: str = "") -> str:
            return (params.get(name) or [default])[0]

        column = next((c for c in self.columns() if arg("columnid") == str(self.col_ids[c])), None)
        if column is None or arg("unitid") not in ("", str(self.unit_ids[column])):
            return Response(
                200, "<datastore><totalrecord>0</totalrecord><totalpage>0</totalpage></datastore>", "text/xml"
            )
        entries = self.entries(column)
        perpage = _int(arg("perpage"), self.per_page) or self.per_page
        if self.ignore_startrecord:
            n = max(1, _int(arg("page"), 1))
            start, end = (n - 1) * perpage + 1, n * perpage
        else:
            start = max(1, _int(arg("startrecord"), 1))
            end = _int(arg("endrecord"), start + perpage * GROUP_PAGES - 1)
        if self.max_records:
            end = min(end, start + self.max_records - 1)
        chunk = entries[start - 1 : max(start - 1, end)]
        total = len(entries)
        body = (
            f"<datastore><totalrecord>{total}</totalrecord><totalpage>{math.ceil(total / perpage)}</totalpage>"
            f"<recordset>{''.join(self.record(it) for it in chunk)}</recordset></datastore>"
        )
        return Response(200, body, "text/xml", last_modified=self.latest(column))

    # -- templates -----------------------------------------------------------------------------

    def record(self, it: Item) -> str:
        href = self.article_path(it) + self.chrome.session()
        if self.absolute_links:
            href = self.base_url + href
        return (
            f'<record><![CDATA[\n<li><a href="{href}" title="{esc(it.title)}" target="_blank">'
            f"{esc(shorten(it.title))}</a><span>{it.published:%Y-%m-%d}</span></li>]]></record>\n"
        )

    def _header(self) -> str:
        return (
            f'<div class="header"><div class="logo"><a href="/">{esc(self.site_name)}</a></div>'
            '<div class="nav"><ul><li><a href="/">首页</a></li>'
            f'<li><a href="{self.xxgk_url()}">政府信息公开</a></li>'
            '<li><a href="javascript:void(0)">政务服务</a></li></ul></div></div>\n'
        )

    def _footer(self) -> str:
        return (
            f'<div class="footer"><p>主办：{esc(self.site_name)}办公室</p><p>网站标识码：{self.site_id_code}</p></div>\n'
            "<!-- Produced By 大汉网络 大汉版通发布系统 -->\n</body>\n</html>\n"
        )

    def home_page(self) -> str:
        items = "".join(
            f'<li><a href="{self.article_path(it)}" title="{esc(it.title)}">{esc(shorten(it.title))}</a>'
            f"<span>{it.published:%m-%d}</span></li>"
            for it in self.entries()[:6]
        )
        return self.framed(
            self.site_name,
            self.site_metas(),
            f'<div class="main"><div class="box"><h3>政务公开</h3><ul>{items}</ul>'
            + f'<a class="more" href="{self.xxgk_url()}">更多</a></div></div>\n',
        )

    def xxgk_page(self) -> str:
        links = f'<li><a href="{self.column_url()}">{COLUMN_NAME}</a></li>'
        if self.dual_agency:
            links += f'<li><a href="{self.column_url("dept")}">{esc(self.column_label("dept"))}</a></li>'
        metas = {**self.site_metas(), "ColumnName": "政府信息公开", "ColumnType": "政府信息公开"}
        return self.framed(
            f"政府信息公开 {self.site_name}",
            metas,
            '<div class="xxgk-nav"><ul><li><a href="javascript:void(0)">政府信息公开指南</a></li>'
            + '<li><a href="javascript:void(0)">政府信息公开制度</a></li>'
            + '<li><a href="javascript:void(0)">法定主动公开内容</a></li>'
            + f"{links}</ul></div>\n",
        )

    def column_page(self, column: str, page_num: int = 0) -> str:
        """The column; ``page_num`` >= 1 embeds that page (?uid=&pageNum=) instead of the first group."""
        entries = self.entries(column)
        col, unit = self.col_ids[column], self.unit_ids[column]
        if page_num >= 1:
            shown = entries[(page_num - 1) * self.per_page : page_num * self.per_page]
        else:
            shown = entries[: self.per_page * GROUP_PAGES]
        records = "".join(self.record(it) for it in shown)
        webname = quote(self.site_name)
        nextgroup = f"{DATAPROXY}?page=1&webid={self.webid}&columnid={col}&unitid={unit}"
        label = self.column_label(column)
        metas = {
            **self.site_metas(),
            "ColumnName": label,
            "ColumnDescription": f"{self.site_name}{label}",
            "ColumnKeywords": "政府信息公开,年报",
            "ColumnType": COLUMN_NAME,
        }
        # jpage.js turns the datastore into the list and asks dataproxy.jsp for the next groups.
        script = (
            f'<script language="javascript" src="{JPAGE_JS}"></script>\n'
            "<script>$(function(){"
            f"$('#{unit}').jpage({{dataStore:$('#{unit} script[type=\"text/xml\"]').text(),"
            f"proxyUrl:'{DATAPROXY}',perPage:{self.per_page},groupSize:{GROUP_PAGES},totalRecord:{len(entries)},"
            f"ajaxParam:{{col:1,appid:1,webid:{self.webid},path:'/',columnid:{col},sourceContentType:1,"
            f"unitid:{unit},webname:'{webname}',permissiontype:0}}}});}});</script>\n"
        )
        return self.framed(
            f"{label} {self.site_name}",
            metas,
            f'<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="{self.xxgk_url()}">政府信息公开</a>'
            + f' &gt; <a href="{self.column_url(column)}">{esc(label)}</a></div>\n'
            + f'<div class="list-box"><div id="{unit}"><script type="text/xml"><datastore>\n'
            + f'<nextgroup><![CDATA[<a href="{nextgroup}"></a>]]></nextgroup>\n'
            + f"<recordset>\n{records}</recordset>\n</datastore></script></div></div>\n"
            + script,
        )

    def article_page(self, it: Item, wap: bool = False) -> str:
        url = self.page_url(it, wap)
        metas = self.article_metas(it, url)
        pub = metas["PubDate"]
        metas |= {
            "i_columnid": str(self.col_ids[it.column]),
            "i_articleid": str(it.article_id),
            "Maketime": f"{it.published:%Y-%m-%d %H:%M:%S}",
        }
        source = self.source_of(it)
        group = f"{it.report.year}年度" if it.report else "其他"
        block = (
            '<div class="xxgk-info"><table><tr>'
            f"<td>索引号: {self.index_no(it)}</td><td>成文日期: {it.published:%Y-%m-%d}</td></tr><tr>"
            f"<td>公开方式: 主动公开</td><td>组配分类: {group}</td></tr><tr>"
            f"<td>发布机构: {esc(source)}</td><td></td></tr></table></div>\n"
        )

        def link(href: str, text: str) -> str:
            href = href.replace(DOWNFILE, DOWNFILE + self.chrome.session(), 1)
            return f'<a href="{href}" target="_blank">{esc(text)}</a>'

        body = self.body_of(it, link)
        counter = self.chrome.counter()
        return self.framed(
            f"{it.title}",
            metas,
            f'<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="{self.xxgk_url()}">政府信息公开</a>'
            + f' &gt; <a href="{self.column_url(it.column)}">{esc(self.column_label(it.column))}</a></div>\n'
            + block
            + f'<div class="article"><h1 class="title"><!--<$[标题名称]>begin-->{esc(it.title)}<!--<$[标题名称]>end--></h1>\n'
            + f'<div class="info">发布日期:{pub} {counter or "浏览次数:"} 信息来源:<!--<$[信息来源]>begin-->{esc(source)}'
            + "<!--<$[信息来源]>end--></div>\n"
            + '<div id="zoom"><!--ZJEG_RSS.content.begin--><meta name="ContentStart">'
            + f"<!--<$[信息内容]>begin-->\n{body}\n<!--<$[信息内容]>end-->"
            + '<meta name="ContentEnd"><!--ZJEG_RSS.content.end-->'
            + f"{self.related(it)}</div>\n</div>\n",
        )


def _int(s: str, default: int) -> int:
    try:
        return int(s)
    except (TypeError, ValueError):
        return default
