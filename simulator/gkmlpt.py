"""The Guangdong gkmlpt family (政府信息公开目录管理平台): a JSON list API behind a script shell.

What a crawler meets (docs/portals.md §1, §2, §3, §5):

- the home page links ``/gkmlpt/index``, a shell page whose only data is
  ``window._CONFIG = {SID: '<sid>', TREE: [...], ...}``; the annual-report category is a hash
  route, ``/gkmlpt/annualreport#<catId>`` (the TREE node has ``"id": <catId>`` and that link);
- ``GET /gkmlpt/api/all/<catId>?page=<n>&sid=<sid>`` (n from 1) → JSON ``{"total": N,
  "articles": [{"id", "title", "url", "publisher", "display_publish_time": "2025-03-31",
  "create_time": <epoch seconds>, "first_publish_time", "identifier", "document_number", …}]}``,
  ``per_page`` articles per page (100 on real sites), newest first; a wrong sid gets nothing;
- articles ``/gkmlpt/content/<id // 10**6>/<id // 10**3>/post_<id>.html`` with the 索引号 / 分类 /
  发布机构 / 成文日期 / 名称 / 文号 / 发布日期 / 主题词 header; attachments
  ``/attachment/0/<f // 10**3>/<f>/<fileid>.<ext>`` linked from the body.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from simulator.familybase import COLUMN_NAME, ColumnSite, Item, esc, stable
from simulator.model import Region
from simulator.site import Request, Response

_CST = timezone(timedelta(hours=8))
_API = re.compile(r"/gkmlpt/api/all/(\d+)")


class GkmlptSite(ColumnSite):
    """A gkmlpt portal with the annual-report category ``cat_id`` (and a department category)."""

    family = "gkmlpt"

    def __init__(self, region: Region, *, per_page: int = 100, **options: Any) -> None:
        self.per_page = per_page
        seed = stable(region.government.name + str(options.get("agencies")))
        self.sid = str(100 + seed % 800)
        self.cat_ids = {"main": 2600 + seed % 300, "dept": 3000 + seed % 300}
        super().__init__(region, **options)

    # -- ids and URLs --------------------------------------------------------------------------

    def post_id(self, it: Item) -> int:
        # 7-digit post ids; a second listing is another post of the same document.
        return 4_000_000 + it.article_id * 3 + (0 if it.primary else 1)

    def article_path(self, it: Item) -> str:
        pid = self.post_id(it)
        return f"/gkmlpt/content/{pid // 10**6}/{pid // 10**3}/post_{pid}.html"

    def attachment_path(self, it: Item) -> str | None:
        folder = 599_000 + it.article_id % 1000
        return f"/attachment/0/{folder // 1000}/{folder}/{4_800_000 + it.article_id}.{it.fmt}"

    def api_url(self, column: str = "main", page: int = 1) -> str:
        return f"/gkmlpt/api/all/{self.cat_ids[column]}?page={page}&sid={self.sid}"

    def list_urls(self) -> list[str]:
        return [
            self.base_url + self.api_url(c, p)
            for c in self.columns()
            for p in range(1, self.pages(len(self.entries(c)), self.per_page) + 1)
        ]

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, "method not allowed", "text/plain")
        path = request.path
        if path in ("/", "/index.html"):
            return self.page(self.home_page(), self.latest())
        if path in ("/gkmlpt/index", "/gkmlpt/annualreport", "/gkmlpt/"):
            return self.page(self.shell_page(), self.latest())
        if m := _API.fullmatch(path):
            return self.api(int(m.group(1)), request)
        if path == "/gkmlpt/api/all":
            return self.missing()
        # Attachments and articles may also be asked for without the CMS prefix by some spiders.
        return self.serve_route(path) or self.missing()

    def api(self, cat: int, request: Request) -> Response:
        column = next((c for c in self.columns() if self.cat_ids[c] == cat), None)
        if column is None or request.arg("sid") != self.sid:
            return _json({"total": 0, "articles": []})
        try:
            page = max(1, int(request.arg("page", "1") or 1))
        except ValueError:
            page = 1
        entries = self.entries(column)
        chunk = entries[(page - 1) * self.per_page : page * self.per_page]
        return _json(
            {"total": len(entries), "page": page, "articles": [self.article_json(it) for it in chunk]},
            self.latest(column),
        )

    def article_json(self, it: Item) -> dict[str, Any]:
        created = it.published.replace(tzinfo=_CST).astimezone(UTC)
        epoch = int(created.timestamp())
        return {
            "id": self.post_id(it),
            "title": it.title,
            "url": self.base_url + self.article_path(it),
            "publisher": self.source_of(it),
            "identifier": self.index_no(it),
            "document_number": "",
            "display_publish_time": f"{it.published:%Y-%m-%d}",
            "create_time": epoch,
            "first_publish_time": epoch,
            "publish_time": epoch,
            "classify_main_name": self.column_label(it.column),
            "attachment": [],
        }

    # -- templates -----------------------------------------------------------------------------

    def tree(self) -> list[dict[str, Any]]:
        nodes: list[dict[str, Any]] = [
            {"id": self.cat_ids["main"] - 3, "name": "政府信息公开指南", "parent": 0, "children": []},
            {"id": self.cat_ids["main"] - 2, "name": "政府信息公开制度", "parent": 0, "children": []},
            {
                "id": self.cat_ids["main"],
                "name": COLUMN_NAME,
                "parent": 0,
                "alias": "annualreport",
                "link": f"/gkmlpt/annualreport#{self.cat_ids['main']}",
                "children": [],
            },
        ]
        if self.dual_agency:
            nodes.append(
                {
                    "id": self.cat_ids["dept"],
                    "name": self.column_label("dept"),
                    "parent": 0,
                    "alias": "annualreport",
                    "link": f"/gkmlpt/annualreport#{self.cat_ids['dept']}",
                    "children": [],
                }
            )
        return nodes

    def home_page(self) -> str:
        return (
            self.head(self.site_name, self.site_metas())
            + "<body>\n"
            + f'<div class="header"><a href="/">{esc(self.site_name)}</a>'
            + '<ul class="nav"><li><a href="/">首页</a></li><li><a href="/gkmlpt/index">政府信息公开</a></li></ul></div>\n'
            + f'<div class="footer">网站标识码：{self.site_id_code}</div>\n</body>\n</html>\n'
        )

    def shell_page(self) -> str:
        """The single-page app: nothing but the config and the bundle."""
        tree = json.dumps(self.tree(), ensure_ascii=False)
        metas = {**self.site_metas(), "ColumnName": "政府信息公开", "ColumnType": "政府信息公开"}
        return (
            self.head(f"政府信息公开 {self.site_name}", metas)
            + "<body>\n"
            + '<div id="app"></div>\n'
            + "<script>\nwindow._CONFIG = {"
            + f"SID: '{self.sid}', SITE_NAME: '{self.site_name}', TREE: {tree}, "
            + f"ANNUAL_REPORT_ID: {self.cat_ids['main']}, API: '/gkmlpt/api/all/'"
            + "};\n</script>\n"
            + '<script src="/gkmlpt/static/js/app.js"></script>\n'
            + f'<noscript><a href="/gkmlpt/annualreport#{self.cat_ids["main"]}">{COLUMN_NAME}</a></noscript>\n'
            + "</body>\n</html>\n"
        )

    def article_page(self, it: Item, wap: bool = False) -> str:
        url = self.page_url(it, wap)
        metas = self.article_metas(it, url)
        source = self.source_of(it)
        day = f"{it.published:%Y-%m-%d}"
        block = (
            '<div class="classify"><table><tr>'
            f"<td>索引号: {self.index_no(it)}</td><td>分类:</td></tr><tr>"
            f"<td>发布机构: {esc(source)}</td><td>成文日期: {day}</td></tr><tr>"
            f'<td colspan="2">名称: {esc(it.title)}</td></tr><tr>'
            f"<td>文号:</td><td>发布日期: {day}</td></tr><tr><td>主题词:</td></tr></table></div>\n"
        )

        def link(href: str, text: str) -> str:
            return f'<a href="{href}">{esc(text)}</a>'

        body = self.body_of(it, link)
        chrome = self.chrome
        return (
            self.head(f"{it.title}", metas)
            + "<body>\n"
            + chrome.clock()
            + f'<div class="header"><a href="/gkmlpt/index">{esc(self.site_name)}政府信息公开</a></div>\n'
            + block
            + f'<div class="content-box"><h1 class="content-title">{esc(it.title)}</h1>\n'
            + f'<div class="date">发布日期:{day}  {chrome.counter() or "浏览次数:-"}</div>\n'
            + f'<div class="article-content">\n{body}\n</div></div>\n'
            + self.related(it)
            + f'<div class="footer">网站标识码：{self.site_id_code}{chrome.footer_counter()}</div>\n'
            + f"{chrome.token_script()}</body>\n</html>\n"
        )


def _json(data: Any, modified: datetime | None = None) -> Response:
    return Response(200, json.dumps(data, ensure_ascii=False), "application/json", last_modified=modified)
