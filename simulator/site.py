"""The shared base of every simulated portal family: requests, responses, and a region-backed site.

A *site* turns a :class:`Request` into a :class:`Response`; :mod:`simulator.server` puts it on a
real socket.  :class:`RegionSite` holds what every family shares: the region it serves, the
simulator's "today", and the mutation state (edited / removed reports) tests drive between two
crawls.  A family (TRS, Hanweb, gkmlpt, …) only decides URLs and page templates.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html import escape
from pathlib import Path
from typing import Any

from simulator.model import PlannedReport, Region


@dataclass
class Request:
    method: str  # GET | HEAD | POST
    path: str  # the URL path, percent-decoded, without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    # A str body is encoded by the server in the site's charset; bytes are sent as they are.
    body: str | bytes = b""
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None  # enables If-Modified-Since; ETag is always computed


def html(text: str, status: int = 200, last_modified: datetime | None = None) -> Response:
    return Response(status, text, "text/html", last_modified=last_modified)


def not_found() -> Response:
    return Response(404, "<html><body><h1>404 Not Found</h1></body></html>", "text/html")


SOFT_404 = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>页面不存在</title></head>'
    '<body><div class="error"><h2>抱歉，您访问的页面不存在或已被删除！</h2>'
    '<p>可能原因：网址有错误；网址已失效。</p><p><a href="/">返回首页</a></p></div></body></html>'
)


class Site:
    """Anything that answers HTTP requests.  ``charset`` is how the server encodes str bodies."""

    charset: str = "utf-8"
    base_url: str = ""

    def bind(self, base_url: str) -> None:
        """Called by the server once its port is known (pages carry their own domain)."""
        self.base_url = base_url

    def handle(self, request: Request) -> Response:  # pragma: no cover - interface
        raise NotImplementedError


def report_key(pr: PlannedReport) -> tuple[str, int]:
    return (pr.agency.name, pr.year)


def publication_datetime(pr: PlannedReport) -> datetime:
    """The publication time of day is not in the model; derive a stable one from the article id."""
    assert pr.published_at is not None
    return datetime.combine(pr.published_at, time(8 + pr.article_id % 10, (pr.article_id * 7) % 60))


class RegionSite(Site):
    """A site that serves (part of) a region's reports, with a movable clock and mutations.

    ``agencies``: only these agencies' reports are served (a department sub-site); None = all.
    ``today``: the simulator's date; reports published later are not served.  None = real today.
    """

    def __init__(
        self,
        region: Region,
        *,
        agencies: list[str] | None = None,
        today: date | None = None,
        charset: str = "utf-8",
        drift: dict[str, Any] | Callable[[PlannedReport], dict[str, Any]] | None = None,
    ) -> None:
        self.region = region
        self.agencies = set(agencies) if agencies is not None else None
        self.today = today
        self.charset = charset
        # Render drift (simulator.render options): one dict for every report, or per report.
        self.drift = drift if callable(drift) else dict(drift or {})
        self.removed: set[tuple[str, int]] = set()
        self.unlisted: set[tuple[str, int]] = set()  # still served, no longer in the column
        self.edits: dict[tuple[str, int], int] = {}  # how many times each report was edited
        self.edited_at: dict[tuple[str, int], datetime] = {}
        self._originals: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.RLock()

    # -- what is served ------------------------------------------------------------------------

    def current_date(self) -> date:
        return self.today or date.today()

    def owns(self, pr: PlannedReport) -> bool:
        return self.agencies is None or pr.agency.name in self.agencies

    def visible(self, pr: PlannedReport) -> bool:
        """Published, already public as of today, not removed, and this site's agency."""
        return (
            self.owns(pr)
            and pr.published_at is not None
            and pr.published_at <= self.current_date()
            and report_key(pr) not in self.removed
        )

    def listed(self, pr: PlannedReport) -> bool:
        """Visible and in its column's list (a report can be served without being listed)."""
        return self.visible(pr) and report_key(pr) not in self.unlisted

    def visible_reports(self) -> list[PlannedReport]:
        return [r for r in self.region.reports if self.visible(r)]

    def other_documents(
        self, site_name: str, owned: list[PlannedReport], id_base: int
    ) -> list[tuple[int, str, datetime, date, str]]:
        """Documents filed in the report column that are not annual reports, per year: the
        website's 年度报表, a 通知, and the 图解 of the government's report (the same title words).

        Each is (article id, title, publication time, date, body HTML).
        """
        out = []
        for i, y in enumerate(self.region.years):
            entries = [
                (f"{site_name}{y}年政府网站工作年度报表", date(y + 1, 1, 12)),
                (f"关于做好{y + 1}年政务公开工作的通知", date(y + 1, 4, 18)),
            ]
            gov = next((r for r in owned if r.year == y and r.agency.kind == "government"), None)
            if gov is not None and gov.published_at is not None:
                entries.append((f"图解：{gov.title}", gov.published_at + timedelta(days=2)))
            for j, (title, d) in enumerate(entries):
                body = (
                    f"<p>{escape(title)}。</p><p>现将有关事项公布如下，请结合实际认真抓好落实。</p>"
                    f"<p>{escape(site_name)}</p><p>{d.year}年{d.month}月{d.day}日</p>"
                )
                out.append((id_base + i * 10 + j, title, datetime.combine(d, time(9, 30)), d, body))
        return out

    def modified_time(self, pr: PlannedReport) -> datetime:
        return self.edited_at.get(report_key(pr)) or publication_datetime(pr)

    # -- rendering (simulator.render is imported late: it is written separately) ---------------

    def drift_of(self, pr: PlannedReport) -> dict[str, Any]:
        """The render drift of a report; render.expected(pr.report, **drift) is what a parser reads."""
        return dict(self.drift(pr)) if callable(self.drift) else dict(self.drift)

    def render_fragment(self, pr: PlannedReport) -> str:
        from simulator import render

        return render.render_html_fragment(pr.report, **self.drift_of(pr))

    def render_file(self, pr: PlannedReport, fmt: str) -> bytes:
        """The PDF / DOCX bytes of a report, or its tables as XLSX (cached by content: DOCX
        rendering takes ~1 s)."""
        from simulator import render

        fn = {"pdf": render.render_pdf, "docx": render.render_docx, "xlsx": render.render_tables_xlsx}[fmt]
        return cached_render(fn, fmt, pr.report, self.drift_of(pr))

    # -- mutations between two crawls ----------------------------------------------------------

    def _find(self, agency: str, year: int) -> PlannedReport:
        pr = self.region.report(agency, year)
        if pr is None or not self.owns(pr):
            raise KeyError(f"{agency} {year} is not served by this site")
        return pr

    def edit(self, agency: str, year: int) -> PlannedReport:
        """A corrected version at the same URL: some numbers change, the report stays consistent.

        The region's report dict is changed in place, so ground truth follows what is served.
        """
        with self._lock:
            pr = self._find(agency, year)
            key = report_key(pr)
            self._originals.setdefault(key, copy.deepcopy(pr.report))
            n = self.edits.get(key, 0) + 1
            self.edits[key] = n
            self.edited_at[key] = datetime.now().replace(microsecond=0)
            apply_edit(pr.report)
            return pr

    def remove(self, agency: str, year: int) -> PlannedReport:
        with self._lock:
            pr = self._find(agency, year)
            self.removed.add(report_key(pr))
            return pr

    def unlist(self, agency: str, year: int) -> PlannedReport:
        """Take a report out of its column's list while its page still answers 200."""
        with self._lock:
            pr = self._find(agency, year)
            self.unlisted.add(report_key(pr))
            return pr

    def restore(self, agency: str, year: int) -> PlannedReport:
        """Undo remove(), unlist() and edit(): the report is back as first published."""
        with self._lock:
            pr = self._find(agency, year)
            key = report_key(pr)
            self.removed.discard(key)
            self.unlisted.discard(key)
            if key in self._originals:
                pr.report = self._originals.pop(key)
                self.edited_at[key] = datetime.now().replace(microsecond=0)
            return pr

    def report_urls(self) -> dict[str, PlannedReport]:  # pragma: no cover - interface
        raise NotImplementedError


_RENDER_CACHE: dict[str, bytes] = {}
_RENDER_LOCK = threading.Lock()
_KEY_LOCKS: dict[str, threading.Lock] = {}


def cached_render(fn: Any, fmt: str, report: dict[str, Any], drift: dict[str, Any]) -> bytes:
    """Render once per distinct (content, drift, format), shared by every site in the process.

    Exactly once: renderers stamp the time into PDF and DOCX files, so two concurrent first
    requests rendering one file each would serve the same unedited report as two different
    byte strings (a false "modified").  Set NIANBAO_SIM_CACHE to a directory to keep renderings
    between runs (the bench).
    """
    blob = json.dumps([fmt, report, sorted(drift.items())], sort_keys=True, default=str, ensure_ascii=False)
    key = hashlib.sha1(blob.encode("utf-8")).hexdigest()
    with _RENDER_LOCK:
        if key in _RENDER_CACHE:
            return _RENDER_CACHE[key]
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:
        return _render_once(fn, fmt, report, drift, key)


def _render_once(fn: Any, fmt: str, report: dict[str, Any], drift: dict[str, Any], key: str) -> bytes:
    with _RENDER_LOCK:
        if key in _RENDER_CACHE:  # rendered by the request this one waited for
            return _RENDER_CACHE[key]
    disk = os.environ.get("NIANBAO_SIM_CACHE")
    path = Path(disk) / f"{key}.{fmt}" if disk else None
    if path is not None and path.exists():
        data = path.read_bytes()
    else:
        data = fn(report, **drift)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp" + str(threading.get_ident()))
            tmp.write_bytes(data)
            tmp.replace(path)
    with _RENDER_LOCK:
        _RENDER_CACHE[key] = data
    return data


def apply_edit(report: dict[str, Any]) -> None:
    """Change a report's numbers while keeping every consistency rule that held."""
    t1 = report["table1"]
    t1["licensing"] = int(t1.get("licensing") or 0) + 7
    t1["normative_docs"]["in_force"] = int(t1["normative_docs"]["in_force"]) + 1
    t2 = report.get("table2")
    if t2:
        # One more application from a natural person, received and disclosed this year.
        for key in ("new_received", "disclosed", "total_handled"):
            t2[key][0] += 1
            t2[key][-1] += 1
