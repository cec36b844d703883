"""The dashboard as a small WSGI application over nianbao's database.

Pages: the status matrix (``/``), an agency (``/agency?name=``), a report (``/report/<id>``), the
diff of two versions of a document (``/document/<id>/diff?a=&b=``), the original bytes of a
version (``/version/<id>/raw``), crawl health (``/health``) and digests (``/digests``,
``/digest/<year>.<fmt>``).  Templates are Jinja2 with autoescaping on: everything that came from
a portal (titles, names, texts, URLs) is escaped; links to portal URLs are only made for http(s).
Stored documents are served with ``Content-Security-Policy: sandbox`` and shown in a sandboxed
iframe, so a portal's page never runs script in the dashboard's origin.  A path holding a control
character is refused (400) before anything else, and the token-to-cookie redirect goes to the
path re-encoded with one leading slash, so nothing in a request reaches a response header raw or
sends the browser off-site.  Dates and years are bounded to ``FIRST_YEAR`` … next year; error
pages never show a filesystem path.
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import re
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

import jinja2

from monitor.status import KIND_LABELS, STATUS_LABELS
from reports.model import (
    TABLE1_2021_DOC_LABELS,
    TABLE2_COLUMN_LABELS,
    TABLE2_ROWS,
    TABLE3_FIELD_LABELS,
    TABLE3_FIELDS,
    TABLE3_GROUP_LABELS,
    TABLE3_GROUPS,
)
from storage.store import Store

log = logging.getLogger("nianbao.web")

HERE = Path(__file__).resolve().parent
DIGEST_FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格"),
    "csv": ("text/csv; charset=utf-8", "CSV"),
    "html": ("text/html; charset=utf-8", "网页"),
    "md": ("text/markdown; charset=utf-8", "Markdown"),
    "json": ("application/json; charset=utf-8", "JSON"),
}
TABLE1_LABELS = {
    "rules": "规章",
    "normative_docs": "行政规范性文件",
    "licensing": "行政许可",
    "penalty": "行政处罚",
    "coercion": "行政强制",
    "fees_10k_yuan": "行政事业性收费（万元）",
    "other_services": "其他对外管理服务事项",
    "fees": "行政事业性收费",
    "procurement": "政府集中采购",
}
TABLE1_FIELD_LABELS = {
    **dict(zip(("issued", "abolished", "in_force"), TABLE1_2021_DOC_LABELS, strict=True)),
    "made": "本年新制作数量",
    "published": "本年新公开数量",
    "total": "对外公开总数量",
    "prev_items": "上一年项目数量",
    "change": "本年增/减",
    "decisions": "处理决定数量",
    "projects": "采购项目数量",
    "amount_yuan": "采购总金额（元）",
}
TABLE2_LABELS = {**dict(TABLE2_ROWS), "other_processing": "（六）其他处理"}
ISSUE_LABELS = {
    "template_not_found": "未找到表格",
    "row_missing": "缺少行",
    "cell_blank": "空白单元格",
    "cell_unreadable": "无法识别的单元格",
    "sum_mismatch": "勾稽关系不符",
    "year_mismatch": "年度不一致",
}
RUN_LABELS = {
    "finished": ("完成", "✓"),
    "failed": ("失败", "✗"),
    "blocked": ("被拦截", "!"),
    "running": ("进行中", "…"),
}
EVENT_LABELS = {"modified": "发布后被修改", "removed": "已被删除", "restored": "已恢复"}
# The dashboard's own pages: no script at all, styles and frames from here only.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
PREVIEW_CHARS = 30_000
SAFE_CONTENT_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+(\s*;\s*charset=[A-Za-z0-9_-]+)?$", re.I)
# The Regulations took effect in 2008: no report, deadline or date of interest is earlier.
FIRST_YEAR = 2008
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    cookies: dict[str, str]
    headers: dict[str, str]

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        raw_path = environ.get("PATH_INFO", "/") or "/"
        # WSGI hands the path over as latin-1-decoded bytes; undo that to get UTF-8 text.
        path = raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        cookie = SimpleCookie()
        try:
            cookie.load(environ.get("HTTP_COOKIE", ""))
        except Exception:  # a malformed cookie header is ignored, not a 500
            cookie = SimpleCookie()
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        return cls(
            environ.get("REQUEST_METHOD", "GET"),
            path,
            query,
            {k: m.value for k, m in cookie.items()},
            headers,
        )

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, default).strip()

    def int_arg(self, name: str) -> int | None:
        value = self.arg(name)
        if not value:
            return None
        if not value.isdigit() or len(value) > 12:
            raise HTTPError(400, f"参数 {name} 应为数字")
        return int(value)


@dataclass
class Response:
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def local_location(path: str, query: dict[str, str]) -> str:
    """A Location on this site for ``path`` and ``query``: one leading slash, unsafe bytes escaped.

    ``//host`` or ``/\\host`` would send a browser to another site; CR or LF would end the header.
    """
    path = "/" + re.sub(r"[/\\]{2,}", "/", path).lstrip("/\\")
    location = quote(path, safe="/-._~!$&'()*+,;=:@%")
    return location + (f"?{urlencode(query)}" if query else "")


def safe_url(url: Any) -> str | None:
    """``url`` if it is an http(s) URL (fit for an href), else None."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percent(value: Any) -> str:
    return "—" if value is None else f"{value * 100:+.0f}%"


def localtime(value: Any, tz: ZoneInfo) -> str:
    """A stored ISO timestamp (UTC) as local time to the minute; other values unchanged."""
    if not isinstance(value, str) or "T" not in value:
        return "—" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def content_disposition(kind: str, filename: str) -> str:
    """A header value that survives non-ASCII names (RFC 6266 / 5987)."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_") or "download"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


class Dashboard:
    """The WSGI application; ``token`` (if given) is required on every request."""

    def __init__(self, config: Any, token: str | None = None, today: Callable[[], date] | None = None):
        self.config = config
        self.token = token or None
        self.today = today or date.today
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,  # every {{ value }} is HTML-escaped unless marked safe
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        tz = ZoneInfo(config.section("schedule").get("timezone") or "Asia/Shanghai")
        self.env.filters.update(
            safe_url=safe_url, number=number, percent=percent, localtime=lambda v: localtime(v, tz)
        )
        self.env.globals.update(
            STATUS_LABELS=STATUS_LABELS,
            KIND_LABELS=KIND_LABELS,
            ISSUE_LABELS=ISSUE_LABELS,
            EVENT_LABELS=EVENT_LABELS,
            RUN_LABELS=RUN_LABELS,
            url=self.url,
        )
        self.routes: list[tuple[re.Pattern[str], Callable[..., Response]]] = [
            (re.compile(r"/"), self.matrix),
            (re.compile(r"/agency"), self.agency),
            (re.compile(r"/report/(\d{1,12})"), self.report),
            (re.compile(r"/document/(\d{1,12})/diff"), self.diff),
            (re.compile(r"/version/(\d{1,12})/raw"), self.raw),
            (re.compile(r"/health"), self.health),
            (re.compile(r"/digests"), self.digests),
            (re.compile(r"/digest/(\d{4})\.(xlsx|csv|html|md|json)"), self.digest),
            (re.compile(r"/favicon\.ico"), lambda req: Response(b"", 204, "image/x-icon")),
            (re.compile(r"/static/([a-z0-9_-]+\.(?:css|svg|png))"), self.static),
        ]

    # -- plumbing ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        req = Request.from_environ(environ)
        try:
            if CONTROL_CHARS.search(req.path):
                raise HTTPError(400, "地址中含有控制字符")
            resp = self._authorise(req) or self._dispatch(req)
        except HTTPError as exc:
            resp = self.page("error.html", http_status=exc.status, code=exc.status, message=exc.message)
        except Exception:
            log.error("error serving %s:\n%s", req.path, traceback.format_exc())
            resp = self.page(
                "error.html", http_status=500, code=500, message="服务器内部错误，详见服务日志。"
            )
        headers = self._headers(resp)
        if any(CONTROL_CHARS.search(v) for _, v in headers):  # a header must never carry raw input
            log.error("refused a response header holding a control character for %r", req.path)
            resp = self.page(
                "error.html", http_status=500, code=500, message="服务器内部错误，详见服务日志。"
            )
            headers = self._headers(resp)
        phrase = HTTPStatus(resp.status).phrase
        start_response(f"{resp.status} {phrase}", headers)
        return [b"" if req.method == "HEAD" else resp.body]

    @staticmethod
    def _headers(resp: Response) -> list[tuple[str, str]]:
        """The response's headers after the defaults it does not set itself."""
        defaults = {
            "Content-Type": resp.content_type,
            "Content-Length": str(len(resp.body)),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "Content-Security-Policy": PAGE_CSP,
        }
        given = {k.lower() for k, _ in resp.headers}
        headers = [(k, v) for k, v in defaults.items() if k.lower() not in given]
        return headers + [(k, v) for k, v in resp.headers if v is not None]

    def _dispatch(self, req: Request) -> Response:
        if req.method not in ("GET", "HEAD"):
            raise HTTPError(405, "只支持 GET 请求")
        for pattern, handler in self.routes:
            m = pattern.fullmatch(req.path)
            if m:
                return handler(req, *m.groups())
        raise HTTPError(404, "没有这个页面")

    def _authorise(self, req: Request) -> Response | None:
        if self.token is None:
            return None
        given = req.query.get("token")
        if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            # Trade the token in the URL for a cookie, and drop it from the address bar.
            rest = {k: v for k, v in req.query.items() if k != "token"}
            location = local_location(req.path, rest)
            cookie = f"nianbao_token={quote(self.token)}; Path=/; HttpOnly; SameSite=Strict"
            return Response(b"", 303, headers=[("Location", location), ("Set-Cookie", cookie)])
        bearer = req.headers.get("authorization", "")
        candidates = [unquote(req.cookies.get("nianbao_token", "")), bearer.removeprefix("Bearer ").strip()]
        if any(c and hmac.compare_digest(c.encode(), self.token.encode()) for c in candidates):
            return None
        raise HTTPError(401, "需要访问令牌：请在地址后加 ?token=…")

    def page(self, template: str, http_status: int = 200, **context: Any) -> Response:
        html = self.env.get_template(template).render(**context)
        return Response(html.encode("utf-8"), http_status)

    @staticmethod
    def url(path: str, **params: Any) -> str:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        return path + (f"?{urlencode(clean)}" if clean else "")

    def store(self) -> Store:
        if not self.config.storage_path.exists():
            # The path is the operator's business, not the visitor's: it stays out of the page.
            raise HTTPError(503, "数据库尚不存在（请先运行 nianbao crawl）")
        return Store(self.config.storage_path)

    def as_of(self, req: Request) -> date:
        value = req.arg("as_of")
        if not value:
            return self.today()
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise HTTPError(400, "as_of 应写作 YYYY-MM-DD") from None
        self.check_year(day.year, "as_of")
        return day

    def check_year(self, year: int, name: str) -> None:
        """400 unless ``year`` is from FIRST_YEAR to next year (a far year builds a huge page)."""
        last = self.today().year + 1
        if not FIRST_YEAR <= year <= last:
            raise HTTPError(400, f"{name} 的年份应在 {FIRST_YEAR} 至 {last} 之间")

    # -- the status matrix ---------------------------------------------------------------------

    def matrix(self, req: Request) -> Response:
        from monitor.status import compute_status

        as_of = self.as_of(req)
        region, kind, status = req.arg("region"), req.arg("kind"), req.arg("status")
        with self.store() as store:
            rows = compute_status(store, self.config, as_of)
            report_ids = self._report_ids_by_url(store)
        regions = sorted({r["region"] for r in rows if r["region"]})
        years = sorted({r["year"] for r in rows})
        chosen = [
            r for r in rows if (not region or r["region"] == region) and (not kind or r["kind"] == kind)
        ]
        agencies: dict[str, dict[str, Any]] = {}
        for r in chosen:
            a = agencies.setdefault(
                r["agency"], {"name": r["agency"], "kind": r["kind"], "region": r["region"], "cells": {}}
            )
            r = dict(r, report_id=report_ids.get(r["url"]) if r["url"] else None)
            a["cells"][r["year"]] = r
        if status:
            agencies = {
                k: a for k, a in agencies.items() if any(c["status"] == status for c in a["cells"].values())
            }
        counts = Counter(r["status"] for r in chosen)
        by_year = {y: Counter(r["status"] for r in chosen if r["year"] == y) for y in years}
        return self.page(
            "matrix.html",
            as_of=as_of,
            today=self.today(),
            regions=regions,
            years=years,
            agencies=list(agencies.values()),
            counts=counts,
            by_year=by_year,
            total=len(chosen),
            region=region,
            kind=kind,
            status=status,
            as_of_arg=req.arg("as_of"),
        )

    @staticmethod
    def _report_ids_by_url(store: Store) -> dict[str, int]:
        """Document URL (and its parent page's URL) → the newest parsed report on it."""
        out: dict[str, int] = {}
        for url, parent_url, rid in store.db.execute(
            """SELECT d.url, p.url, MAX(r.id) FROM reports r JOIN documents d ON d.id = r.document_id
               LEFT JOIN documents p ON p.id = d.parent_id
               WHERE r.error IS NULL AND r.agency IS NOT NULL GROUP BY d.url"""
        ):
            out[url] = rid
            if parent_url:
                out.setdefault(parent_url, rid)
        return out

    # -- an agency -----------------------------------------------------------------------------

    def agency(self, req: Request) -> Response:
        from monitor.status import compute_status

        name = req.arg("name")
        if not name:
            raise HTTPError(400, "缺少参数 name")
        as_of = self.as_of(req)
        with self.store() as store:
            rows = [r for r in compute_status(store, self.config, as_of) if r["agency"] == name]
            report_ids = self._report_ids_by_url(store)
            by_year: dict[int, dict[str, Any]] = {}
            for r in rows:
                rid = report_ids.get(r["url"]) if r["url"] else None
                by_year[r["year"]] = {"status": r, "report": self._report(store, rid) if rid else None}
            for rep in store.db.query(
                "SELECT id FROM reports WHERE agency = ? AND error IS NULL ORDER BY id DESC", [name]
            ):
                full = self._report(store, rep["id"])
                entry = by_year.setdefault(full["year"], {"status": None, "report": None})
                if entry["report"] is None:
                    entry["report"] = full
            if not by_year:
                raise HTTPError(404, "没有这个机关的记录")
            yoy = self._yoy(store, name, sorted(by_year), as_of)
        years = sorted(by_year, reverse=True)
        return self.page(
            "agency.html",
            name=name,
            as_of=as_of,
            years=years,
            by_year=by_year,
            yoy=yoy,
            tables=self._tables,
        )

    def _yoy(self, store: Store, name: str, years: list[int], as_of: date) -> dict[int, dict[str, Any]]:
        try:
            from monitor.yoy import FIGURE_LABELS, compare
        except ImportError:  # the year-on-year module is optional for the dashboard
            return {}
        out = {}
        for year in years:
            if year - 1 not in years:
                continue
            for row in compare(store, self.config, year, as_of):
                if row["agency"] == name and (row["present"] or row["previous_present"]):
                    out[year] = dict(row, labels=FIGURE_LABELS)
        return out

    # -- a report ------------------------------------------------------------------------------

    @staticmethod
    def _report(store: Store, report_id: int) -> dict[str, Any] | None:
        out = next(
            store.db.query(
                """SELECT r.id, r.version_id, r.document_id, r.source_id, r.agency, r.year, r.kind,
                          r.template, r.published_at, r.date_source, r.issues, r.error, r.data_json,
                          r.parsed_at, d.url, d.title, d.kind AS doc_kind, d.parent_id
                   FROM reports r JOIN documents d ON d.id = r.document_id WHERE r.id = ?""",
                [report_id],
            ),
            None,
        )
        if out is None:
            return None
        out["data"] = json.loads(out.pop("data_json") or "{}")
        return out

    def report(self, req: Request, report_id: str) -> Response:
        with self.store() as store:
            rep = self._report(store, int(report_id))
            if rep is None:
                raise HTTPError(404, "没有这份报告")
            document = next(store.db.query("SELECT * FROM documents WHERE id = ?", [rep["document_id"]]))
            parent = None
            if document.get("parent_id"):
                parent = next(
                    store.db.query("SELECT * FROM documents WHERE id = ?", [document["parent_id"]]), None
                )
            versions = store.versions(rep["document_id"])
            events = list(
                store.db.query(
                    "SELECT * FROM events WHERE document_id IN (?, ?) ORDER BY id",
                    [rep["document_id"], document.get("parent_id") or -1],
                )
            )
            shown = next(
                (v for v in versions if v["id"] == rep["version_id"]), versions[-1] if versions else None
            )
            preview = None
            if shown and not self._inline_kind(shown["content_type"]):
                # DOCX and the like: no browser shows them, so show their text.
                from outputs.web.text import document_text

                body = store.version_body(shown["id"])
                preview = document_text(body, shown["content_type"])[:PREVIEW_CHARS]
        for e in events:
            e["detail"] = json.loads(e.get("detail_json") or "{}")
        older = [v for v in versions if v["id"] < rep["version_id"]]
        return self.page(
            "report.html",
            rep=rep,
            data=rep["data"],
            document=document,
            parent=parent,
            versions=versions,
            shown=shown,
            diff_a=(older[-1]["id"] if older else versions[0]["id"]) if versions else None,
            diff_b=rep["version_id"],
            events=events,
            tables=self._tables,
            inline=bool(shown and self._inline_kind(shown["content_type"])),
            preview=preview,
        )

    def _tables(self, data: dict[str, Any]) -> dict[str, Any]:
        """The three tables of a report in display form: lists of labelled rows."""
        t1 = []
        for key, value in (data.get("table1") or {}).items():
            label = TABLE1_LABELS.get(key, key)
            if isinstance(value, dict):
                t1.append(
                    {"label": label, "cells": [(TABLE1_FIELD_LABELS.get(k, k), v) for k, v in value.items()]}
                )
            else:
                t1.append({"label": label, "cells": [("", value)]})
        t2 = [
            {"label": TABLE2_LABELS.get(k, k), "values": v if isinstance(v, list) else [v]}
            for k, v in (data.get("table2") or {}).items()
        ]
        t3 = []
        table3 = data.get("table3") or {}
        for group, label in zip(TABLE3_GROUPS, TABLE3_GROUP_LABELS, strict=True):
            values = table3.get(group) or {}
            t3.append({"label": label, "values": [values.get(f) for f in TABLE3_FIELDS]})
        return {
            "table1": t1,
            "table2": t2,
            "table2_columns": TABLE2_COLUMN_LABELS,
            "table3": t3 if table3 else [],
            "table3_columns": TABLE3_FIELD_LABELS,
        }

    # -- versions and diffs --------------------------------------------------------------------

    @staticmethod
    def _inline_kind(content_type: str | None) -> str | None:
        ct = (content_type or "").split(";")[0].strip().lower()
        if ct in ("text/html", "application/xhtml+xml", "text/plain"):
            return "html"
        if ct == "application/pdf":
            return "pdf"
        return None

    def raw(self, req: Request, version_id: str) -> Response:
        with self.store() as store:
            row = next(
                store.db.query(
                    "SELECT v.content_type, d.url, d.filename FROM versions v "
                    "JOIN documents d ON d.id = v.document_id WHERE v.id = ?",
                    [int(version_id)],
                ),
                None,
            )
            if row is None:
                raise HTTPError(404, "没有这个版本")
            body = store.version_body(int(version_id))
        ctype = (row["content_type"] or "").strip()
        if not SAFE_CONTENT_TYPE.match(ctype):
            ctype = "application/octet-stream"
        name = row["filename"] or Path(urlsplit(row["url"]).path).name or "document"
        if "." not in name:
            name += mimetypes.guess_extension(ctype.split(";")[0]) or ""
        kind = self._inline_kind(ctype)
        headers = [("Content-Disposition", content_disposition("inline" if kind else "attachment", name))]
        # The portal's bytes get a unique, script-less origin wherever they are opened.  Not PDF:
        # Chromium will not run its PDF viewer in a sandbox; PDF script runs in the viewer anyway.
        headers.append(("Content-Security-Policy", "sandbox" if kind != "pdf" else None))
        return Response(body, 200, ctype, headers)

    def diff(self, req: Request, document_id: str) -> Response:
        from outputs.web.text import document_text, line_diff

        a, b = req.int_arg("a"), req.int_arg("b")
        with self.store() as store:
            versions = store.versions(int(document_id))
            if not versions:
                raise HTTPError(404, "没有这个文档")
            doc = next(store.db.query("SELECT * FROM documents WHERE id = ?", [int(document_id)]))
            ids = [v["id"] for v in versions]
            a = a if a is not None else (ids[-2] if len(ids) > 1 else ids[-1])
            b = b if b is not None else ids[-1]
            if a not in ids or b not in ids:
                raise HTTPError(404, "版本不属于这个文档")
            va, vb = (next(v for v in versions if v["id"] == x) for x in (a, b))
            text_a = document_text(store.version_body(a), va["content_type"])
            text_b = document_text(store.version_body(b), vb["content_type"])
            report = next(
                store.db.query(
                    "SELECT id FROM reports WHERE document_id = ? AND error IS NULL ORDER BY id DESC LIMIT 1",
                    [int(document_id)],
                ),
                None,
            )
        return self.page(
            "diff.html",
            document=doc,
            versions=versions,
            a=va,
            b=vb,
            diff=line_diff(text_a, text_b),
            report_id=report["id"] if report else None,
        )

    # -- crawl health --------------------------------------------------------------------------

    def health(self, req: Request) -> Response:
        from monitor.status import source_health

        failing = int(self.config.section("monitor").get("failing_runs_before_alert", 3))
        with self.store() as store:
            problems = source_health(store, failing, [s["id"] for s in self.config.sources])
            runs: dict[str, list[dict]] = {}
            for run in store.db.query("SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 2000"):
                runs.setdefault(run["source_id"], []).append(run)
            documents = dict(store.db.execute("SELECT source_id, COUNT(*) FROM documents GROUP BY source_id"))
            recent_events = list(
                store.db.query(
                    "SELECT e.*, d.url, d.title, d.source_id FROM events e JOIN documents d ON d.id = e.document_id "
                    "ORDER BY e.id DESC LIMIT 30"
                )
            )
        sources = []
        configured = {s["id"] for s in self.config.sources}
        for s in self.config.sources:
            sources.append(
                {
                    "id": s["id"],
                    "name": s["name"],
                    "region": s.get("region"),
                    "enabled": s.get("enabled", True),
                    "start_url": s["start_url"],
                }
            )
        for sid in sorted(set(runs) - configured):
            sources.append(
                {"id": sid, "name": "（已不在配置中）", "region": None, "enabled": False, "start_url": None}
            )
        for s in sources:
            s["runs"] = runs.get(s["id"], [])[:10]
            s["last"] = s["runs"][0] if s["runs"] else None
            s["documents"] = documents.get(s["id"], 0)
            s["problem"] = problems.get(s["id"])
        return self.page("health.html", sources=sources, events=recent_events)

    # -- digests -------------------------------------------------------------------------------

    def digests(self, req: Request) -> Response:
        with self.store() as store:
            years = [
                r[0]
                for r in store.db.execute(
                    "SELECT DISTINCT year FROM reports WHERE year IS NOT NULL ORDER BY year DESC"
                )
            ]
        today = self.today()
        # The year whose reports are due now comes first, even before any was found.
        years = sorted(set(years) | {today.year - 1}, reverse=True)
        regions = sorted({s["region"] for s in self.config.sources if s.get("region")})
        try:
            import outputs.digest  # noqa: F401

            available = True
        except ImportError:
            available = False
        return self.page(
            "digests.html",
            years=years,
            regions=regions,
            formats=DIGEST_FORMATS,
            available=available,
            region=req.arg("region"),
        )

    def digest(self, req: Request, year: str, fmt: str) -> Response:
        try:
            from outputs.digest import build_digest, write_digest
        except ImportError:
            raise HTTPError(503, "汇总模块尚未安装") from None
        self.check_year(int(year), "年度")
        region = req.arg("region") or None
        with self.store() as store:
            digest = build_digest(store, self.config, int(year), region=region)
        with tempfile.TemporaryDirectory(prefix="nianbao-digest-") as tmp:
            path = Path(tmp) / f"digest.{fmt}"
            write_digest(digest, fmt, path)
            body = path.read_bytes()
        name = f"nianbao-{year}" + (f"-{region}" if region else "") + f".{fmt}"
        ctype = DIGEST_FORMATS[fmt][0]
        return Response(body, 200, ctype, [("Content-Disposition", content_disposition("attachment", name))])

    # -- static files --------------------------------------------------------------------------

    def static(self, req: Request, name: str) -> Response:
        path = HERE / "static" / name
        if not path.is_file():
            raise HTTPError(404, "没有这个文件")
        ctype = {"css": "text/css; charset=utf-8", "svg": "image/svg+xml", "png": "image/png"}[
            name.rsplit(".", 1)[1]
        ]
        resp = Response(path.read_bytes(), 200, ctype)
        resp.headers.append(("Cache-Control", "max-age=3600"))
        return resp
