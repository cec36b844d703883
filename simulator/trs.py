"""The TRS WCM family ("t-date" portals): home → 政府信息公开 → 政府信息公开年报 column.

What a crawler meets, as on real TRS portals (docs/portals.md §1–5):

- the column is static ``index.html``, ``index_1.html`` …; the pager exists only as a script:
  ``variant="classic"`` writes ``var countPage=N`` and links ``index_{i}`` with page 2 =
  ``index_1`` (0-based); ``variant="new"`` calls ``createPageHTML('page_div', N, k, 'index',
  'shtml', total)`` with page 2 = ``index_2``;
- list items ``<li><a href="./202401/t20240126_12345.html" title="…">…</a><span>2024-01-26</span></li>``,
  newest first, with non-report items mixed in (网站工作年度报表, 通知, 图解);
- articles at ``<col>/YYYYMM/tYYYYMMDD_<id>.html`` (the URL date can differ from the PubDate) with
  the 政府网站发展指引 metas, the 索引号/发布机构/发布日期 block and a ``TRS_Editor`` body;
- PDF / DOCX reports as ``./P0<14 digits><6 digits>.pdf`` in the article's directory;
- optional ``_wap`` duplicates of every article, ``.shtml`` pages, and a soft 404;
- optional bodies' own columns (``dept_columns``, ``town_columns``), reached as on 青山/硚口/重庆
  portals (docs/portals.md §2) only by the body's name: the report column links "县教育局" to
  ``/bm/jyj/`` (the bureau's 信息公开 page), which links its ``/bm/jyj/gknb/`` column; townships sit
  one click deeper, behind a "乡镇（街道）信息公开" hub ``/xzjd/`` → "城关镇" ``/xzjd/cgz/`` →
  ``/xzjd/cgz/gknb/``.  Those bodies' reports are listed only in their own column.  The report
  column also carries ``related_links`` ({text: url}) and, with ``extra_items``, a link named
  like a body that leads to a notice (an article, not a column).
- page chrome that differs per request (``noise=True``, the default; :mod:`simulator.chrome`):
  a clock and a banner in the header, a visit counter in the article's info line and the
  footer, token scripts, and a rotating 相关链接 list after the article.
"""

from __future__ import annotations

import html as _html
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from simulator.chrome import Chrome
from simulator.model import Agency, PlannedReport, Region
from simulator.site import (
    SOFT_404,
    RegionSite,
    Request,
    Response,
    not_found,
    publication_datetime,
)

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMN_NAME = "政府信息公开年报"


@dataclass
class Entry:
    """One list item: a report or another document in the same column."""

    title: str
    published: datetime
    url_date: date
    article_id: int
    report: PlannedReport | None = None  # None: not a report (a spider must not take it)
    body: str = ""  # the body of a non-report item
    column: str = ""  # the column path the item is filed under

    @property
    def is_report(self) -> bool:
        return self.report is not None


def esc(s: str) -> str:
    return _html.escape(s, quote=True)


class TrsSite(RegionSite):
    """A TRS portal serving a region's reports (or only ``agencies``'s: a department sub-site)."""

    def __init__(
        self,
        region: Region,
        *,
        variant: str = "classic",
        ext: str = "html",
        per_page: int = 15,
        charset: str = "utf-8",
        wap_copies: bool = False,
        soft_404: bool = False,
        column_path: str = "/zwgk/zfxxgk/zfxxgknb/",
        layout: str = "flat",
        site_name: str | None = None,
        agencies: list[str] | None = None,
        today: date | None = None,
        extra_items: bool = True,
        chinese_pubdate: int = 1,
        tables_attached: int = 0,
        dept_columns: int = 0,
        town_columns: int = 0,
        related_links: dict[str, str] | None = None,
        drift: dict[str, Any] | Callable[[PlannedReport], dict[str, Any]] | None = None,
        noise: bool = True,
    ) -> None:
        if variant not in ("classic", "new"):
            raise ValueError(f"unknown TRS variant {variant!r}")
        if layout not in ("flat", "per_year"):
            raise ValueError(f"unknown column layout {layout!r}")
        if dept_columns < 0 or town_columns < 0:
            raise ValueError(f"dept_columns / town_columns must be >= 0, got {dept_columns} / {town_columns}")
        super().__init__(region, agencies=agencies, today=today, charset=charset, drift=drift)
        self.variant = variant
        self.ext = ext
        self.per_page = per_page
        self.wap_copies = wap_copies
        self.soft_404 = soft_404
        self.column_path = "/" + column_path.strip("/") + "/"
        self.layout = layout
        # column path -> label.  per_year: one TRS channel per report year, "2024n_<channel id>/".
        self.columns: dict[str, str] = {self.column_path: COLUMN_NAME}
        if layout == "per_year":
            self.columns = {
                f"{self.column_path}{y}n_{5_959_000 + _stable(column_path + str(y)) % 1000}/": f"{y}年度"
                for y in sorted(region.years, reverse=True)
            }
        self.site_name = site_name or self._default_site_name()
        self.chrome = Chrome(noise, _stable(self.site_name))
        self.extra_items = extra_items
        self.related_links = dict(related_links or {})
        # unit page path ("/bm/jyj/") -> the body whose own column ("/bm/jyj/gknb/") lists its reports
        self.units = self._pick_units(dept_columns, town_columns)
        for path in self.units:
            self.columns[f"{path}gknb/"] = COLUMN_NAME
        self.site_id_code = f"37{region.seed % 100:02d}{_stable(self.site_name) % 10**6:06d}"
        self.org_code = f"{_stable(self.site_name + 'org') % 10**9:09d}"
        owned = sorted(
            (r for r in region.reports if self.owns(r) and r.published_at), key=lambda r: r.article_id
        )
        # Some reports write PubDate the 邯郸 way, "2020年08月02日" (docs/portals.md §4).
        plain = [r for r in owned if not r.planted]
        self.chinese_date_ids = {r.article_id for r in plain[:chinese_pubdate]}
        # per_year: one report sits in the previous year's column (桐梓: a 2023 report under 2022n).
        misfit = [r for r in plain[chinese_pubdate:] if r.year != min(region.years)]
        self.misfiled_ids = {misfit[0].article_id} if layout == "per_year" and misfit else set()
        # Some HTML reports also attach their tables as a spreadsheet ("统计表.xlsx").
        html_reports = [r for r in plain if r.fmt == "html"]
        self.tables_ids = {r.article_id for r in html_reports[:tables_attached]}
        self._entries_all = self._build_entries(owned)
        self._routes = self._build_routes()

    # -- set-up --------------------------------------------------------------------------------

    def _pick_units(self, depts: int, towns: int) -> dict[str, Agency]:
        """The first ``depts`` departments and ``towns`` townships with reports on this site."""
        with_reports = {r.agency.name for r in self.region.reports if self.owns(r) and r.published_at}
        units: dict[str, Agency] = {}
        for kind, n, folder in (("department", depts, "/bm/"), ("township", towns, "/xzjd/")):
            picked = [a for a in self.region.agencies if a.kind == kind and a.name in with_reports][:n]
            units.update({f"{folder}{a.code}/": a for a in picked})
        return units

    def unit_of(self, column: str) -> Agency | None:
        """The body whose own column this is (None for the main report column)."""
        return self.units.get(column[: -len("gknb/")]) if column.endswith("/gknb/") else None

    def short_name(self, agency: Agency) -> str:
        """How the report column names a body: 县教育局 for 青山县教育局, 城关镇 for 青山县城关镇."""
        county = self.region.county
        rest = agency.name[len(county) :] if agency.name.startswith(county) else agency.name
        return county[-1] + rest if agency.kind == "department" else rest

    def main_columns(self) -> list[str]:
        return [c for c in self.columns if self.unit_of(c) is None]

    def _default_site_name(self) -> str:
        if self.agencies is not None and len(self.agencies) == 1:
            return next(iter(self.agencies))
        return self.region.government.name

    def _build_entries(self, owned: list[PlannedReport]) -> list[Entry]:
        entries = [
            Entry(r.title, publication_datetime(r), r.url_date or r.published_at, r.article_id, r)  # type: ignore[arg-type]
            for r in owned
        ]
        if self.extra_items:
            entries += self._other_items(owned)
        for e in entries:
            e.column = self.column_for(e)
        return entries

    def column_for(self, e: Entry) -> str:
        own = next(
            (f"{p}gknb/" for p, a in self.units.items() if e.report and e.report.agency.name == a.name), None
        )
        if own:
            return own
        if self.layout == "flat":
            return self.column_path
        year = e.report.year if e.report else e.published.year - 1
        if e.article_id in self.misfiled_ids:
            year -= 1
        paths = list(self.columns)
        labels = [f"{y}年度" for y in sorted(self.region.years, reverse=True)]
        return paths[labels.index(f"{year}年度")] if f"{year}年度" in labels else paths[-1]

    def _other_items(self, owned: list[PlannedReport]) -> list[Entry]:
        """Documents that share the column with the reports and are not annual reports."""
        base = 9_000_000 + _stable(self.site_name) % 100_000 * 10
        return [
            Entry(title, published, day, aid, None, body)
            for aid, title, published, day, body in self.other_documents(self.site_name, owned, base)
        ]

    def article_path(self, e: Entry, wap: bool = False) -> str:
        d = e.url_date
        suffix = "_wap" if wap else ""
        return f"{e.column}{d:%Y%m}/t{d:%Y%m%d}_{e.article_id}{suffix}.{self.ext}"

    def attachment_path(self, e: Entry) -> str | None:
        r = e.report
        if r is None or r.fmt not in CONTENT_TYPES:
            return None
        # TRS: "P0" + a 14-digit timestamp + 6 digits, in the article's YYYYMM/ directory.
        tail = (r.article_id * 7919 + 13) % 1_000_000
        return f"{e.column}{e.url_date:%Y%m}/P0{e.published:%Y%m%d%H%M%S}{tail:06d}.{r.fmt}"

    def tables_path(self, e: Entry) -> str | None:
        """The spreadsheet of the report's tables, for the reports that attach one."""
        if e.article_id not in self.tables_ids:
            return None
        tail = (e.article_id * 6151 + 29) % 1_000_000
        return f"{e.column}{e.url_date:%Y%m}/P0{e.published:%Y%m%d%H%M%S}{tail:06d}.xlsx"

    def _build_routes(self) -> dict[str, tuple[str, Entry]]:
        routes: dict[str, tuple[str, Entry]] = {}
        for e in self._entries_all:
            routes[self.article_path(e)] = ("article", e)
            if self.wap_copies:
                routes[self.article_path(e, wap=True)] = ("wap", e)
            att = self.attachment_path(e)
            if att:
                routes[att] = ("file", e)
            tables = self.tables_path(e)
            if tables:
                routes[tables] = ("tables", e)
        return routes

    # -- what is visible now -------------------------------------------------------------------

    def entry_visible(self, e: Entry) -> bool:
        if e.report is not None:
            return self.visible(e.report)
        return e.published.date() <= self.current_date()

    def entry_listed(self, e: Entry) -> bool:
        return self.listed(e.report) if e.report is not None else self.entry_visible(e)

    def entries(self, column: str | None = None) -> list[Entry]:
        """A column's items (default: all columns) as listed today, newest first."""
        live = [
            e for e in self._entries_all if self.entry_listed(e) and (column is None or e.column == column)
        ]
        return sorted(live, key=lambda e: (e.published, e.article_id), reverse=True)

    def page_count(self, column: str | None = None) -> int:
        return max(1, math.ceil(len(self.entries(column or self._first_column())) / self.per_page))

    def _first_column(self) -> str:
        return next(iter(self.columns))

    def page_path(self, i: int, column: str | None = None) -> str:
        """The path of list page ``i`` (0-based) of a column (default: the first one)."""
        col = column or self._first_column()
        if i == 0:
            return f"{col}index.{self.ext}"
        n = i if self.variant == "classic" else i + 1
        return f"{col}index_{n}.{self.ext}"

    def list_urls(self) -> list[str]:
        """Every list page of every column."""
        return [
            self.base_url + self.page_path(i, col)
            for col in self.columns
            for i in range(self.page_count(col))
        ]

    def report_urls(self) -> dict[str, PlannedReport]:
        """Every article page (and _wap copy) and attachment of a report served now."""
        out: dict[str, PlannedReport] = {}
        for path, (_kind, e) in self._routes.items():
            if e.report is not None and self.entry_visible(e):
                out[self.base_url + path] = e.report
        return out

    def documents(self) -> list[dict[str, Any]]:
        """Ground truth per served report URL: what a spider should store for it."""
        out = []
        for path, (kind, e) in self._routes.items():
            r = e.report
            if r is None or not self.entry_visible(e):
                continue
            out.append(
                {
                    "url": self.base_url + path,
                    # article | wap | attachment (the report's file, or its tables' spreadsheet)
                    "kind": {"file": "attachment", "tables": "attachment"}.get(kind, kind),
                    "agency": r.agency.name,
                    "year": r.year,
                    "title": r.title,
                    "fmt": "xlsx" if kind == "tables" else r.fmt,
                    "published_at": r.published_at,
                    "pubdate_text": self.pubdate_text(r),
                    "url_date": e.url_date,
                    "article_url": self.base_url + self.article_path(e),
                    "content_type": {"file": CONTENT_TYPES.get(r.fmt), "tables": XLSX}.get(kind, "text/html"),
                    "drift": self.drift_of(r),
                }
            )
        return out

    def non_report_urls(self) -> list[str]:
        return [self.base_url + self.article_path(e) for e in self.entries() if e.report is None]

    def url_of(self, pr: PlannedReport) -> str:
        e = next(e for e in self._entries_all if e.report is pr)
        return self.base_url + self.article_path(e)

    def attachment_url_of(self, pr: PlannedReport) -> str | None:
        e = next(e for e in self._entries_all if e.report is pr)
        p = self.attachment_path(e)
        return self.base_url + p if p else None

    def pubdate_text(self, pr: PlannedReport) -> str:
        """The PubDate meta as served: "2024-01-26 10:32" or, on some pages, "2024年01月26日"."""
        dt = publication_datetime(pr)
        if pr.article_id in self.chinese_date_ids:
            return f"{dt:%Y年%m月%d日}"
        return f"{dt:%Y-%m-%d %H:%M}"

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, "method not allowed", "text/plain")
        path = request.path
        home = ("/", f"/index.{self.ext}")
        xxgk = ("/zwgk/zfxxgk/", f"/zwgk/zfxxgk/index.{self.ext}")
        if path in home:
            return self._page(self.home_page(), self._latest())
        if path in xxgk:
            return self._page(self.xxgk_page(), self._latest())
        for unit in self.units:
            if path in (unit, f"{unit}index.{self.ext}"):
                return self._page(self.unit_page(unit), self._latest())
        if self.units and path in ("/xzjd/", f"/xzjd/index.{self.ext}"):
            return self._page(self.town_hub_page(), self._latest())
        for col in (self.column_path, *self.columns, *self.units, "/xzjd/"):
            if path == col.rstrip("/"):
                return Response(301, "", headers={"Location": col})
        if self.layout == "per_year" and path in (self.column_path, f"{self.column_path}index.{self.ext}"):
            return self._page(self.year_index_page(), self._latest())
        for col in self.columns:
            if path.startswith(col):
                page = self._list_index(path[len(col) :])
                if page is not None:
                    return self.list_response(page, col)
        route = self._routes.get(path)
        if route is not None:
            kind, e = route
            if self.entry_visible(e):
                if kind == "file":
                    return self.file_response(e)
                if kind == "tables":
                    return self.tables_response(e)
                return self._page(self.article_page(e, wap=kind == "wap"), self._modified(e))
        return self.missing()

    def missing(self) -> Response:
        return Response(200, SOFT_404) if self.soft_404 else not_found()

    def _list_index(self, rest: str) -> int | None:
        if rest in ("", f"index.{self.ext}"):
            return 0
        m = re.fullmatch(rf"index_(\d+)\.{re.escape(self.ext)}", rest)
        if not m:
            return None
        n = int(m.group(1))
        i = n if self.variant == "classic" else n - 1
        return i if i >= 1 else None  # new variant: index_1 does not exist

    def _latest(self) -> datetime | None:
        return max((self._modified(e) for e in self.entries()), default=None)

    def _modified(self, e: Entry) -> datetime:
        return self.modified_time(e.report) if e.report is not None else e.published

    def _page(self, text: str, modified: datetime | None = None) -> Response:
        return Response(200, text, "text/html", last_modified=modified)

    def list_response(self, i: int, column: str) -> Response:
        entries = self.entries(column)
        pages = max(1, math.ceil(len(entries) / self.per_page))
        if i >= pages:
            return self.missing()
        chunk = entries[i * self.per_page : (i + 1) * self.per_page]
        modified = max((self._modified(e) for e in entries), default=None)
        return self._page(self.list_page(chunk, i, pages, len(entries), column), modified)

    def file_response(self, e: Entry) -> Response:
        assert e.report is not None
        data = self.render_file(e.report, e.report.fmt)
        return Response(200, data, CONTENT_TYPES[e.report.fmt], last_modified=self._modified(e))

    def tables_response(self, e: Entry) -> Response:
        assert e.report is not None
        return Response(200, self.render_file(e.report, "xlsx"), XLSX, last_modified=self._modified(e))

    # -- templates -----------------------------------------------------------------------------

    def _domain(self) -> str:
        return self.base_url.split("://", 1)[-1]

    def _head(self, title: str, metas: dict[str, str]) -> str:
        tags = "\n".join(f'<meta name="{k}" content="{esc(v)}">' for k, v in metas.items())
        return (
            "<!DOCTYPE html>\n<html>\n<head>\n"
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
            '<meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1">\n'
            f"{tags}\n<title>{esc(title)}</title>\n"
            '<link rel="stylesheet" type="text/css" href="/images/base.css">\n</head>\n'
        )

    def _site_metas(self) -> dict[str, str]:
        return {"SiteName": self.site_name, "SiteDomain": self._domain(), "SiteIDCode": self.site_id_code}

    def _header(self) -> str:
        return (
            self.chrome.clock()
            + f'<div class="header"><div class="logo"><a href="/">{esc(self.site_name)}</a></div>'
            '<div class="nav"><ul><li><a href="/">首页</a></li>'
            '<li><a href="/zwgk/zfxxgk/">政府信息公开</a></li>'
            '<li><a href="javascript:void(0)">政务服务</a></li>'
            '<li><a href="javascript:void(0)">互动交流</a></li></ul></div></div>\n' + self.chrome.banner()
        )

    def _footer(self) -> str:
        return (
            f'<div class="footer"><p>主办单位：{esc(self.site_name)}办公室</p>'
            f"<p>网站标识码 {self.site_id_code}</p>{self.chrome.footer_counter()}</div>\n"
            f"{self.chrome.token_script()}</body>\n</html>\n"
        )

    def related_items(self, e: Entry) -> list[tuple[str, str]]:
        """Other items of the column (not reports), for the article's rotating 相关链接 list."""
        others = [o for o in self._entries_all if o.report is None and o.column == e.column]
        return [(self.article_path(o), o.title) for o in others[:8] if self.entry_visible(o)]

    def home_page(self) -> str:
        main = self.main_columns()
        latest = [e for e in self.entries() if e.column in main][:6]
        items = "".join(
            f'<li><a href="{self.article_path(e)}" title="{esc(e.title)}">{esc(e.title)}</a>'
            f"<span>{e.published:%m-%d}</span></li>"
            for e in latest
        )
        return (
            self._head(self.site_name, self._site_metas())
            + "<body>\n"
            + self._header()
            + '<div class="main"><div class="box"><h3>政务公开</h3>'
            + f'<ul class="list">{items}</ul>'
            + '<a class="more" href="/zwgk/zfxxgk/">更多</a></div></div>\n'
            + self._footer()
        )

    def xxgk_page(self) -> str:
        metas = {**self._site_metas(), "ColumnName": "政府信息公开", "ColumnType": "政府信息公开"}
        col = self.column_path
        return (
            self._head(f"政府信息公开_{self.site_name}", metas)
            + "<body>\n"
            + self._header()
            + '<div class="xxgk-nav"><ul>'
            + '<li><a href="javascript:void(0)">政府信息公开指南</a></li>'
            + '<li><a href="javascript:void(0)">政府信息公开制度</a></li>'
            + '<li><a href="javascript:void(0)">法定主动公开内容</a></li>'
            + f'<li><a href="{col}">{COLUMN_NAME}</a></li>'
            + "</ul></div>\n"
            + self._footer()
        )

    def year_index_page(self) -> str:
        """per_year layout: the 年报 column links one sub-column per year."""
        metas = {**self._site_metas(), "ColumnName": COLUMN_NAME, "ColumnType": COLUMN_NAME}
        items = "".join(
            f'<li><a href="./{col[len(self.column_path) :]}">{label}</a></li>'
            for col, label in self.columns.items()
        )
        return (
            self._head(f"{COLUMN_NAME}_{self.site_name}", metas)
            + "<body>\n"
            + self._header()
            + '<div class="position">当前位置：<a href="/">首页</a> &gt; '
            + f'<a href="/zwgk/zfxxgk/">政府信息公开</a> &gt; <a href="./">{COLUMN_NAME}</a></div>\n'
            + f'<div class="sub-columns"><ul class="columns">{items}</ul></div>\n'
            + self.units_block()
            + self._footer()
        )

    def units_block(self) -> str:
        """The report column's links to the bodies' own columns, by name, and its 相关链接."""
        if not self.units and not self.related_links:
            return ""
        depts = [(p, a) for p, a in self.units.items() if a.kind == "department"]
        out = '<div class="bmnb">'
        if depts:
            links = "".join(f'<li><a href="{p}">{esc(self.short_name(a))}</a></li>' for p, a in depts)
            out += f'<h4>部门年报</h4><ul class="bm-list">{links}</ul>'
        if len(depts) < len(self.units):
            out += '<h4>乡镇年报</h4><ul><li><a href="/xzjd/">乡镇（街道）信息公开</a></li></ul>'
        related = self.related()
        if related:
            links = "".join(
                f'<li><a href="{esc(u)}" target="_blank">{esc(t)}</a></li>' for t, u in related.items()
            )
            out += f'<h4>相关链接</h4><ul class="related">{links}</ul>'
        return out + "</div>\n"

    def related(self) -> dict[str, str]:
        """The report column's 相关链接 {text: url}: ``related_links``, and with bodies' columns a
        link named like a body ("县统计局") that leads to a notice (an article, not a column)."""
        related = dict(self.related_links)
        main = self.main_columns()[0]
        notice = next((e for e in self._entries_all if e.report is None and e.column == main), None)
        if self.units and notice is not None:
            related.setdefault("县统计局", self.article_path(notice))
        return related

    def unit_page(self, unit: str) -> str:
        """A body's 信息公开 page: its guide, its 法定主动公开内容 and its own 年报 column."""
        agency = self.units[unit]
        short = self.short_name(agency)
        metas = {**self._site_metas(), "ColumnName": f"{short}信息公开", "ColumnType": "政府信息公开"}
        up = '<a href="/xzjd/">乡镇（街道）信息公开</a> &gt; ' if agency.kind == "township" else ""
        return (
            self._head(f"{agency.name}信息公开_{self.site_name}", metas)
            + "<body>\n"
            + self._header()
            + '<div class="position">当前位置：<a href="/">首页</a> &gt; '
            + f'<a href="/zwgk/zfxxgk/">政府信息公开</a> &gt; {up}{esc(short)}</div>\n'
            + f'<div class="xxgk-nav"><h2>{esc(agency.name)}</h2><ul>'
            + '<li><a href="javascript:void(0)">机构职能</a></li>'
            + '<li><a href="javascript:void(0)">政府信息公开指南</a></li>'
            + '<li><a href="javascript:void(0)">法定主动公开内容</a></li>'
            + f'<li><a href="{unit}gknb/index.{self.ext}">{COLUMN_NAME}</a></li>'
            + "</ul></div>\n"
            + self._footer()
        )

    def town_hub_page(self) -> str:
        """乡镇（街道）信息公开: one link per township, by its name."""
        towns = [(p, a) for p, a in self.units.items() if a.kind == "township"]
        items = "".join(f'<li><a href="{p}">{esc(self.short_name(a))}</a></li>' for p, a in towns)
        metas = {**self._site_metas(), "ColumnName": "乡镇（街道）信息公开", "ColumnType": "政府信息公开"}
        return (
            self._head(f"乡镇（街道）信息公开_{self.site_name}", metas)
            + "<body>\n"
            + self._header()
            + '<div class="position">当前位置：<a href="/">首页</a> &gt; '
            + '<a href="/zwgk/zfxxgk/">政府信息公开</a> &gt; 乡镇（街道）信息公开</div>\n'
            + f'<div class="list-box"><ul class="towns">{items}</ul></div>\n'
            + self._footer()
        )

    def list_page(self, chunk: list[Entry], i: int, pages: int, total: int, column: str) -> str:
        label = self.columns[column]
        crumb = f'<a href="{self.column_path}">{COLUMN_NAME}</a>'
        unit = self.unit_of(column)
        if unit is not None:
            crumb = f'<a href="../">{esc(self.short_name(unit))}</a> &gt; <a href="./">{COLUMN_NAME}</a>'
        elif label != COLUMN_NAME:
            crumb += f' &gt; <a href="./">{label}</a>'
        metas = {
            **self._site_metas(),
            "ColumnName": label,
            "ColumnDescription": f"{self.site_name}{COLUMN_NAME}",
            "ColumnKeywords": "政府信息公开,年报",
            "ColumnType": COLUMN_NAME,
        }
        items = "\n".join(
            f'<li><a href="./{e.url_date:%Y%m}/t{e.url_date:%Y%m%d}_{e.article_id}.{self.ext}" '
            f'title="{esc(e.title)}" target="_blank">{esc(_shorten(e.title))}</a>'
            f"<span>{e.published:%Y-%m-%d}</span></li>"
            for e in chunk
        )
        pager = (
            classic_pager(i, pages, total, self.ext)
            if self.variant == "classic"
            else new_pager(i + 1, pages, total, self.ext)
        )
        return (
            self._head(f"{COLUMN_NAME}_{self.site_name}", metas)
            + "<body>\n"
            + self._header()
            + '<div class="position">当前位置：<a href="/">首页</a> &gt; '
            + f'<a href="/zwgk/zfxxgk/">政府信息公开</a> &gt; {crumb}</div>\n'
            + f'<div class="list-box"><ul class="list">\n{items}\n</ul>\n'
            + f'<div class="page">{pager}</div></div>\n'
            + (self.units_block() if unit is None else "")
            + self._footer()
        )

    def article_page(self, e: Entry, wap: bool = False) -> str:
        r = e.report
        pub = e.published
        source = (r.title_agency or r.agency.name) if r else self.site_name
        pubdate = self.pubdate_text(r) if r else f"{pub:%Y-%m-%d %H:%M}"
        visible_date = pubdate[:10] if not pubdate.endswith("日") else pubdate
        metas = {
            **self._site_metas(),
            "ColumnName": self.columns[e.column],
            "ColumnType": COLUMN_NAME,
            "ArticleTitle": e.title,
            "PubDate": pubdate,
            "ContentSource": source,
            "Keywords": "",
            "Author": "",
            "Url": self.base_url + self.article_path(e, wap),
            "catalogs": str(1000 + _stable(e.column) % 9000),
            "contentid": str(e.article_id),
        }
        year = r.year if r else e.published.year
        index_no = f"{self.org_code}/{year + (1 if r else 0)}-{e.article_id % 100000:05d}"
        block = (
            '<div class="xxgk-meta"><table class="xxgk-table"><tr>'
            f"<td><strong>索引号</strong>：{index_no}</td>"
            f"<td><strong>发布机构</strong>：{esc(source)}</td></tr><tr>"
            f"<td><strong>名称</strong>：{esc(e.title)}</td><td><strong>文号</strong>：无</td></tr><tr>"
            f"<td><strong>主题分类</strong>：政务公开</td>"
            f"<td><strong>发布日期</strong>：{visible_date}</td></tr></table></div>\n"
        )
        body = self.render_fragment(r) if r and r.fmt == "html" else (e.body if not r else "")
        attachment = self.attachment_path(e)
        appendix = ""
        if attachment and r is not None:
            name = attachment.rsplit("/", 1)[1]
            link = f'<a href="./{name}" OLDSRC="/protect/{name}">{esc(e.title)}.{r.fmt}</a>'
            if r.fmt == "pdf":  # linked inside the body
                body = f"<p>{esc(e.title)}详见附件。</p><p>附件：{link}</p>"
            else:  # in an #appendix block after the body (财政部-style templates)
                body = f"<p>现将{esc(e.title)}予以公布。</p>"
                appendix = f'<div id="appendix"><p>附件：</p><ul><li>{link}</li></ul></div>\n'
        tables = self.tables_path(e)
        if tables:
            name = tables.rsplit("/", 1)[1]
            appendix += (
                f'<div id="appendix"><p>附件：</p><ul><li><a href="./{name}">'
                f"{esc(e.title)}统计表.xlsx</a></li></ul></div>\n"
            )
        wap_link = ""
        if self.wap_copies and not wap:
            wap_link = f'<a class="wap" href="./{self.article_path(e, True).rsplit("/", 1)[1]}">手机版</a>'
        return (
            self._head(f"{e.title}_{self.site_name}", metas)
            + "<body>\n"
            + self._header()
            + '<div class="position">当前位置：<a href="/">首页</a> &gt; '
            + f'<a href="/zwgk/zfxxgk/">政府信息公开</a> &gt; <a href="../">{self.columns[e.column]}</a></div>\n'
            + block
            + f'<div class="article"><h1 class="title">{esc(e.title)}</h1>\n'
            + f'<div class="info"><span>发布日期：{visible_date}</span> <span>来源：{esc(source)}</span> '
            + f"<span>{self.chrome.counter()}</span> {wap_link}</div>\n"
            + f'<div class="TRS_Editor">\n{body}\n</div>\n{appendix}</div>\n'
            + self.chrome.related(self.related_items(e))
            + self._footer()
        )


# -- pagers ----------------------------------------------------------------------------------------

_CLASSIC_PAGER = """<script language="javascript">
    var countnum= {total};
    var currentPage={current};
    var prevPage=currentPage-1
    var nextPage=currentPage+1
    var countPage={pages}
    var endPage=countPage-1
    document.write("<a href=\\"index.{ext}\\" target=\\"_self\\" >首页</a>&nbsp;&nbsp;");
    if(countPage>1&&currentPage!=0&&currentPage!=1)
        document.write("<a  href=\\"index"+"_"+prevPage+"."+"{ext}\\" target=\\"_self\\">上一页</a>&nbsp;&nbsp;");
    else if(countPage>1&&currentPage!=0&&currentPage==1)
        document.write("<a  href=\\"index.{ext}\\" target=\\"_self\\">上一页</a>&nbsp;&nbsp;");
    else
        document.write("<span class='bg'>上一页</span>&nbsp;&nbsp;");
    var num=6;
    var startPage=currentPage-2;
    if(startPage<0)startPage=0;
    var endpage=startPage+num;
    if(endpage>countPage)
        endpage=countPage;
    startPage=endpage-6;
    if(startPage<0)startPage=0;
    for(var i=startPage;i<endpage;i++){{
        if(currentPage==i)
            document.write("<span class='now'>"+(i+1)+"</span>&nbsp;&nbsp;");
        else if(i==0){{
            document.write("<a  href=\\"index.{ext}\\" target=\\"_self\\" class='pnum'>"+1+"</a>&nbsp;&nbsp;");
        }}else
            document.write("<a href=\\"index"+"_"+i+"."+"{ext}\\" target=\\"_self\\" class='pnum'>"+(i+1)+"</a>&nbsp;&nbsp;");}}
    if(countPage>1&&currentPage!=(countPage-1))
        document.write("<a href=\\"index"+"_"+nextPage+"."+"{ext}\\" target=\\"_self\\">下一页</a>&nbsp;&nbsp;");
    else
        document.write("<span class='bg'>下一页</span>&nbsp;&nbsp;");
    if(countPage==1)
        document.write("<a  href=\\"index.{ext}\\" target=\\"_self\\">尾页</a>");
    else if(countPage>1)
        document.write("<a  href=\\"index_"+endPage+".{ext}\\" target=\\"_self\\">尾页</a>");
</script>"""

# The pager function newer TRS templates load from a shared page.js; inlined here.
_CREATE_PAGE_JS = """<script type="text/javascript">
function createPageHTML(divId, _nPageCount, _nCurrIndex, _sPageName, _sPageExt, _nRecordCount) {
    if (_nPageCount == null || _nPageCount <= 1) { return; }
    var html = "<span>共" + _nRecordCount + "条</span> ";
    function link(i, text) {
        var href = (i == 1) ? _sPageName + "." + _sPageExt : _sPageName + "_" + i + "." + _sPageExt;
        return "<a href='" + href + "'>" + text + "</a> ";
    }
    html += link(1, "首页");
    if (_nCurrIndex > 1) { html += link(_nCurrIndex - 1, "上一页"); }
    for (var i = Math.max(1, _nCurrIndex - 2); i <= Math.min(_nPageCount, _nCurrIndex + 2); i++) {
        html += (i == _nCurrIndex) ? "<span class='current'>" + i + "</span> " : link(i, i);
    }
    if (_nCurrIndex < _nPageCount) { html += link(_nCurrIndex + 1, "下一页"); }
    html += link(_nPageCount, "尾页");
    document.getElementById(divId).innerHTML = html;
}
</script>"""


def classic_pager(current: int, pages: int, total: int, ext: str) -> str:
    """The 邯郸-style countPage writer (docs/portals.md §3), 0-based: page 2 is index_1."""
    return _CLASSIC_PAGER.format(total=total, current=current, pages=pages, ext=ext)


def new_pager(current: int, pages: int, total: int, ext: str) -> str:
    """createPageHTML('page_div', N, k, 'index', ext, total), 1-based: page 2 is index_2."""
    return (
        _CREATE_PAGE_JS
        + '\n<div id="page_div" class="page_div"></div>\n<script type="text/javascript">'
        + f"createPageHTML('page_div', {pages}, {current}, 'index', '{ext}', {total});</script>"
    )


# -- helpers ---------------------------------------------------------------------------------------


def _shorten(title: str, n: int = 30) -> str:
    """List anchors often truncate long titles; the full title stays in title=."""
    return title if len(title) <= n else title[: n - 1] + "…"


def _stable(s: str) -> int:
    """A hash that does not change between runs (str hash is salted)."""
    h = 0
    for ch in s.encode("utf-8"):
        h = (h * 131 + ch) % (1 << 61)
    return h
