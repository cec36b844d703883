"""What the non-TRS families share: list entries, extra attachment formats, routes and ground truth.

A family subclass (Hanweb, gkmlpt, Ucap, JS-only) decides the URLs and the page templates; this
base keeps the bookkeeping identical across families so tests and the bench can compare a crawl
with ``report_urls()`` / ``documents()`` the same way for every family:

- entries: one per listing of a report (a report listed in two columns is two entries sharing one
  :class:`PlannedReport`: the same document at two URLs), plus non-report items (网站工作年度报表,
  通知, 图解) that share the column and must not be taken for reports;
- served attachment formats: the model's pdf / docx, and on request a ZIP holding the DOCX, a
  legacy DOC or a WPS (``special_formats`` assigns them to the first DOCX reports);
- routes: path -> (kind, entry) with kind article | wap | attachment; a family adds its own extra
  routes (redirectors, list APIs) in ``handle``;
- page chrome that differs per request (``noise=True``, the default; :mod:`simulator.chrome`):
  ``framed`` adds a clock, a banner, a visit counter and token scripts around every page, and
  ``related`` a rotating 相关链接 list an article template places (outside its body, or — on
  Hanweb — inside it).
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from simulator.chrome import Chrome
from simulator.model import PlannedReport, Region
from simulator.site import SOFT_404, RegionSite, Response, not_found, publication_datetime
from simulator.trs import _shorten, _stable, esc

COLUMN_NAME = "政府信息公开年报"
CONTENT_TYPES = {
    "html": "text/html",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "zip": "application/zip",
    "doc": "application/msword",
    "wps": "application/octet-stream",  # portals serve .wps as a download, not a registered type
}
SPECIAL_FORMATS = ("zip", "doc", "wps")

__all__ = ["COLUMN_NAME", "CONTENT_TYPES", "ColumnSite", "Item", "esc", "hex32", "shorten", "stable"]

stable = _stable
shorten = _shorten


def hex32(*parts: object) -> str:
    """A stable 32-hex name (Hanweb attachments, ids that look random)."""
    return hashlib.md5("|".join(map(str, parts)).encode("utf-8")).hexdigest()


@dataclass
class Item:
    """One listing: a report (or another document) as it appears in one column."""

    title: str
    published: datetime
    url_date: date
    article_id: int
    column: str  # the family's column key
    report: PlannedReport | None = None  # None: not a report
    body: str = ""  # the body of a non-report item
    fmt: str = "html"  # the served format: html | pdf | docx | zip | doc | wps
    primary: bool = True  # False: a second listing of a report already listed elsewhere
    extra: dict[str, Any] = field(default_factory=dict)  # family-specific ids

    @property
    def is_report(self) -> bool:
        return self.report is not None


class ColumnSite(RegionSite):
    """A region-backed portal with one annual-report column (and optionally a department column).

    Options shared by every family here:
      site_name: the portal's name (default: the government's, or the single agency's).
      extra_items: mix non-report documents into the column.
      soft_404: unknown paths answer 200 with a "页面不存在" page instead of 404.
      wap_copies: every article also at ``…_wap.html`` (the same page, another URL).
      dual_agency: this department's reports are also listed in a department column of the same
        site (another URL for the same document); True = the first department with reports.
      special_formats: served formats for the first DOCX reports, in order ("zip", "doc", "wps").
      noise: per-request page chrome (counter, clock, tokens, related links, session ids);
        False serves byte-stable pages.
    """

    family = "base"

    def __init__(
        self,
        region: Region,
        *,
        agencies: list[str] | None = None,
        today: date | None = None,
        charset: str = "utf-8",
        drift: dict[str, Any] | Callable[[PlannedReport], dict[str, Any]] | None = None,
        site_name: str | None = None,
        extra_items: bool = True,
        soft_404: bool = False,
        wap_copies: bool = False,
        dual_agency: str | bool | None = None,
        special_formats: tuple[str, ...] = (),
        noise: bool = True,
    ) -> None:
        super().__init__(region, agencies=agencies, today=today, charset=charset, drift=drift)
        unknown = set(special_formats) - set(SPECIAL_FORMATS)
        if unknown:
            raise ValueError(f"unknown special formats {sorted(unknown)}")
        self.soft_404 = soft_404
        self.wap_copies = wap_copies
        self.extra_items = extra_items
        if site_name is None:
            one = self.agencies is not None and len(self.agencies) == 1
            site_name = next(iter(self.agencies)) if one else region.government.name  # type: ignore[arg-type]
        self.site_name = site_name
        self.chrome = Chrome(noise, stable(site_name + self.family))
        self.site_id_code = f"{33 + region.seed % 10}{stable(site_name) % 10**8:08d}"
        self.org_code = f"{stable(site_name + 'org') % 10**9:09d}"
        owned = sorted(
            (r for r in region.reports if self.owns(r) and r.published_at), key=lambda r: r.article_id
        )
        self.dual_agency = self._pick_dual(owned, dual_agency)
        self.served_fmt = self._assign_formats(owned, special_formats)
        self.items = self._build_items(owned)
        self._primary = {id(it.report): it for it in self.items if it.report is not None and it.primary}
        self.routes: dict[str, tuple[str, Item]] = self._build_routes()

    # -- set-up --------------------------------------------------------------------------------

    def _pick_dual(self, owned: list[PlannedReport], choice: str | bool | None) -> str | None:
        if not choice:
            return None
        if isinstance(choice, str):
            return choice
        depts = [r.agency.name for r in owned if r.agency.kind == "department"]
        return depts[0] if depts else None

    def _assign_formats(self, owned: list[PlannedReport], special: tuple[str, ...]) -> dict[int, str]:
        out = {r.article_id: r.fmt for r in owned}
        docx = [r for r in owned if r.fmt == "docx" and not r.planted]
        for r, fmt in zip(docx, special, strict=False):
            out[r.article_id] = fmt
        return out

    def _build_items(self, owned: list[PlannedReport]) -> list[Item]:
        main = self.main_column()
        items = [
            Item(
                r.title,
                publication_datetime(r),
                r.url_date or r.published_at,  # type: ignore[arg-type]
                r.article_id,
                main,
                r,
                fmt=self.served_fmt[r.article_id],
            )
            for r in owned
        ]
        if self.dual_agency:
            dept = self.dept_column()
            for it in list(items):
                if it.report is not None and it.report.agency.name == self.dual_agency:
                    items.append(
                        Item(
                            it.title,
                            it.published,
                            it.url_date,
                            it.article_id,
                            dept,
                            it.report,
                            fmt=it.fmt,
                            primary=False,
                        )
                    )
        if self.extra_items:
            items += self._other_items(owned, main)
        return items

    def _other_items(self, owned: list[PlannedReport], column: str) -> list[Item]:
        """Documents filed in the same column that are not annual reports."""
        base = 9_000_000 + stable(self.site_name + self.family) % 100_000 * 10
        return [
            Item(title, published, day, aid, column, None, body)
            for aid, title, published, day, body in self.other_documents(self.site_name, owned, base)
        ]

    def _build_routes(self) -> dict[str, tuple[str, Item]]:
        routes: dict[str, tuple[str, Item]] = {}
        for it in self.items:
            routes[self.article_path(it)] = ("article", it)
            if self.wap_copies:
                routes[wap_path(self.article_path(it))] = ("wap", it)
            att = self.attachment_path(it) if it.report is not None and it.fmt != "html" else None
            if att:
                routes.setdefault(att, ("attachment", it))  # a second listing links the same file
        return routes

    # -- what a family defines -----------------------------------------------------------------

    def main_column(self) -> str:
        return "main"

    def dept_column(self) -> str:
        return "dept"

    def column_label(self, column: str) -> str:
        if column == self.dept_column() and self.dual_agency:
            return f"{self.dual_agency}{COLUMN_NAME}"
        return COLUMN_NAME

    def article_path(self, it: Item) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def attachment_path(self, it: Item) -> str | None:  # pragma: no cover - interface
        raise NotImplementedError

    def attachment_final_path(self, it: Item) -> str | None:
        """Where the attachment link ends after redirects (Hanweb: /attach/0/…)."""
        return self.attachment_path(it)

    # -- what is visible now -------------------------------------------------------------------

    def item_visible(self, it: Item) -> bool:
        if it.report is not None:
            return self.visible(it.report)
        return it.published.date() <= self.current_date()

    def item_listed(self, it: Item) -> bool:
        return self.listed(it.report) if it.report is not None else self.item_visible(it)

    def entries(self, column: str | None = None) -> list[Item]:
        """A column's items (default: the main column) as listed today, newest first."""
        col = column or self.main_column()
        live = [it for it in self.items if it.column == col and self.item_listed(it)]
        return sorted(live, key=lambda it: (it.published, it.article_id), reverse=True)

    def columns(self) -> list[str]:
        return [self.main_column()] + ([self.dept_column()] if self.dual_agency else [])

    def modified(self, it: Item) -> datetime:
        return self.modified_time(it.report) if it.report is not None else it.published

    def latest(self, column: str | None = None) -> datetime | None:
        cols = [column] if column else self.columns()
        return max((self.modified(it) for c in cols for it in self.entries(c)), default=None)

    @staticmethod
    def pages(n: int, per_page: int) -> int:
        return max(1, math.ceil(n / per_page))

    # -- ground truth --------------------------------------------------------------------------

    def report_urls(self) -> dict[str, PlannedReport]:
        """Every article page (and _wap copy, second listing) and attachment link of a report served now."""
        return {d["url"]: d["report"] for d in self._truth()}

    def documents(self) -> list[dict[str, Any]]:
        """Ground truth per served report URL: what a spider should store for it."""
        return [{k: v for k, v in d.items() if k != "report"} for d in self._truth()]

    def _truth(self) -> list[dict[str, Any]]:
        out = []
        for path, (kind, it) in self.routes.items():
            r = it.report
            if r is None or kind not in ("article", "wap", "attachment") or not self.item_visible(it):
                continue
            final = self.attachment_final_path(it) if kind == "attachment" else path
            primary = self._primary[id(r)]
            out.append(
                {
                    "url": self.base_url + path,
                    "final_url": self.base_url + (final or path),
                    "kind": kind,  # article | wap | attachment
                    "agency": r.agency.name,
                    "year": r.year,
                    "title": r.title,
                    "fmt": it.fmt if kind == "attachment" else "html",
                    "report_fmt": r.fmt,
                    "published_at": r.published_at,
                    "pubdate_text": self.pubdate_text(r),
                    "url_date": it.url_date,
                    "article_url": self.base_url + self.article_path(it),
                    "duplicate_of": None if it.primary else self.base_url + self.article_path(primary),
                    "content_type": CONTENT_TYPES[it.fmt] if kind == "attachment" else "text/html",
                    "drift": self.drift_of(r),
                    "report": r,
                }
            )
        return out

    def non_report_urls(self) -> list[str]:
        return [self.base_url + self.article_path(it) for it in self.entries() if it.report is None]

    def _item_of(self, pr: PlannedReport) -> Item:
        return self._primary[id(pr)]

    def url_of(self, pr: PlannedReport) -> str:
        return self.base_url + self.article_path(self._item_of(pr))

    def attachment_url_of(self, pr: PlannedReport) -> str | None:
        it = self._item_of(pr)
        p = self.attachment_path(it) if it.fmt != "html" else None
        return self.base_url + p if p else None

    def pubdate_text(self, pr: PlannedReport) -> str:
        return f"{publication_datetime(pr):%Y-%m-%d %H:%M}"

    # -- responses -----------------------------------------------------------------------------

    def missing(self) -> Response:
        return Response(200, SOFT_404) if self.soft_404 else not_found()

    def page(self, text: str, modified: datetime | None = None) -> Response:
        return Response(200, text, "text/html", last_modified=modified)

    def serve_route(self, path: str) -> Response | None:
        """An article, _wap copy or attachment at ``path``; None if the path is not one."""
        route = self.routes.get(path)
        if route is None:
            return None
        kind, it = route
        if not self.item_visible(it):
            return self.missing()
        if kind == "attachment":
            return self.file_response(it)
        return self.page(self.article_page(it, wap=kind == "wap"), self.modified(it))

    def page_url(self, it: Item, wap: bool = False) -> str:
        """The address an article is served at (its mobile copy's with ``wap``)."""
        path = self.article_path(it)
        return self.base_url + (wap_path(path) if wap else path)

    def article_page(self, it: Item, wap: bool = False) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def file_response(self, it: Item) -> Response:
        assert it.report is not None
        data = self.file_bytes(it.report, it.fmt)
        name = f"{it.title}.{it.fmt}"
        headers = {}
        if it.fmt in ("zip", "wps"):
            # Downloads carry a file name; RFC 5987 for the Chinese title.
            from urllib.parse import quote

            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return Response(200, data, CONTENT_TYPES[it.fmt], headers=headers, last_modified=self.modified(it))

    def file_bytes(self, pr: PlannedReport, fmt: str) -> bytes:
        """PDF / DOCX via the shared cache; a ZIP wraps the DOCX; DOC / WPS come from LibreOffice."""
        from simulator import render
        from simulator.site import cached_render

        if fmt in ("pdf", "docx"):
            return self.render_file(pr, fmt)
        if fmt == "zip":
            return zip_of(f"{pr.title}.docx", self.render_file(pr, "docx"))
        if fmt in ("doc", "wps"):
            # LibreOffice converts the (cached) DOCX: a .wps is served as the same OLE Word binary.
            docx = self.render_file(pr, "docx")
            return cached_render(
                lambda *_a, **_k: render.docx_to(docx, "doc"), "doc", pr.report, self.drift_of(pr)
            )
        raise ValueError(fmt)

    # -- shared template bits ------------------------------------------------------------------

    def domain(self) -> str:
        return self.base_url.split("://", 1)[-1]

    def site_metas(self) -> dict[str, str]:
        return {"SiteName": self.site_name, "SiteDomain": self.domain(), "SiteIDCode": self.site_id_code}

    def head(self, title: str, metas: dict[str, str], extra: str = "") -> str:
        tags = "\n".join(f'<meta name="{k}" content="{esc(v)}">' for k, v in metas.items())
        return (
            "<!DOCTYPE html>\n<html>\n<head>\n"
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
            f"{tags}\n<title>{esc(title)}</title>\n{extra}</head>\n"
        )

    def framed(self, title: str, metas: dict[str, str], content: str) -> str:
        """A whole page in the family's frame: <head>, the site header, ``content``, the footer,
        with the per-request chrome (clock, banner, counter, token scripts) around them."""
        chrome = self.chrome
        return (
            self.head(title, metas)
            + "<body>\n"
            + chrome.clock()
            + self._header()
            + chrome.banner()
            + content
            + chrome.footer_counter()
            + chrome.token_script()
            + self._footer()
        )

    def related(self, it: Item) -> str:
        """The rotating 相关链接 list of an article: other items of its column, and news."""
        others = [o for o in self.items if o.report is None and o.column == it.column][:8]
        return self.chrome.related([(self.article_path(o), o.title) for o in others if self.item_visible(o)])

    def _header(self) -> str:
        raise NotImplementedError

    def _footer(self) -> str:
        raise NotImplementedError

    def article_metas(self, it: Item, url: str) -> dict[str, str]:
        r = it.report
        return {
            **self.site_metas(),
            "ColumnName": self.column_label(it.column),
            "ColumnType": COLUMN_NAME,
            "ArticleTitle": it.title,
            "PubDate": self.pubdate_text(r) if r else f"{it.published:%Y-%m-%d %H:%M}",
            "ContentSource": self.source_of(it),
            "Keywords": "",
            "Author": "",
            "Description": it.title,
            "Url": url,
        }

    def source_of(self, it: Item) -> str:
        r = it.report
        return (r.title_agency or r.agency.name) if r else self.site_name

    def index_no(self, it: Item) -> str:
        year = it.report.year + 1 if it.report else it.published.year
        return f"{self.org_code}/{year}-{it.article_id % 100000:05d}"

    def body_of(self, it: Item, link: Callable[[str, str], str]) -> str:
        """The article body: the rendered report, or a pointer to the attachment via ``link(href, text)``."""
        r = it.report
        if r is None:
            return it.body
        if it.fmt == "html":
            return self.render_fragment(r)
        href = self.attachment_path(it)
        assert href is not None
        return f"<p>{esc(it.title)}详见附件。</p><p>附件：{link(href, f'{it.title}.{it.fmt}')}</p>"


def wap_path(path: str) -> str:
    stem, dot, ext = path.rpartition(".")
    return f"{stem}_wap.{ext}" if dot else path + "_wap"


def zip_of(name: str, data: bytes) -> bytes:
    """A ZIP with one member and a fixed timestamp (same bytes every time: stable ETag)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
    return buf.getvalue()
