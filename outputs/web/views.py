"""The dashboard's pages, as one Flask blueprint.

The overview (``/``: one year in focus, problems first, counts, charts), an agency
(``/agency?name=``), a report (``/report/<id>``), the diff of two versions of a document
(``/document/<id>/diff?a=&b=``), the original bytes of a version (``/version/<id>/raw``), the
changes after publication (``/changes``), crawl health (``/health``) and digests (``/digests``,
``/digest/<year>.<fmt>``).  Every read of the database goes through ``storage.reads``, the
``Store`` or the monitor (``/changes`` through ``monitor.changes``, which keeps the explanations
it computes); dates and years are bounded to ``FIRST_YEAR`` … next year.
"""

from __future__ import annotations

import mimetypes
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, g, render_template, request
from markupsafe import Markup

from monitor.catalogue import Catalogue, load_catalogue
from monitor.changes import list_changes, number_changes
from monitor.glossary import DIGEST_FORMATS, FIGURE_LABELS, STATUS_LABELS
from monitor.refresh import stored_catalogue
from monitor.status import compute_status, source_health, status_from, status_regions
from monitor.yoy import compare_from, figure_history
from outputs import charts as charts_svg
from outputs.digest import build_digest, write_digest
from outputs.web import overview
from outputs.web.app import site
from outputs.web.display import content_disposition, inline_kind
from outputs.web.text import document_text, line_diff
from storage import reads
from storage.store import Store

PREVIEW_CHARS = 30_000
SAFE_CONTENT_TYPE = re.compile(r"^[a-z]+/[a-z0-9.+-]+(\s*;\s*charset=[A-Za-z0-9_-]+)?$", re.I)
# The Regulations took effect in 2008: no report, deadline or date of interest is earlier.
FIRST_YEAR = 2008
ID = "int(max=999999999999)"  # ids SQLite can hold; a longer number is no page (404)

pages = Blueprint("pages", __name__)


# -- parameters and the database ---------------------------------------------------------------


def arg(name: str) -> str:
    """Query parameter ``name``, stripped ("" when absent)."""
    return request.args.get(name, "").strip()


def int_arg(name: str) -> int | None:
    """Query parameter ``name`` as a number; None when absent, 400 when not a number."""
    value = arg(name)
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        abort(400, f"参数 {name} 应为数字")
    return int(value)


def check_year(year: int, name: str) -> None:
    """400 unless ``year`` is from FIRST_YEAR to next year (a far year builds a huge page)."""
    last = site().today().year + 1
    if not FIRST_YEAR <= year <= last:
        abort(400, f"{name} 的年份应在 {FIRST_YEAR} 至 {last} 之间")


def as_of() -> date:
    """The ``as_of`` parameter as a date (default today), within the plausible years."""
    value = arg("as_of")
    if not value:
        return site().today()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        abort(400, "as_of 应写作 YYYY-MM-DD")
    check_year(day.year, "as_of")
    return day


def open_store() -> Store:
    """The database, or 503 while there is none (its path stays out of the page: the operator's
    business, not the visitor's)."""
    if not site().config.storage_path.exists():
        abort(503, "数据库尚不存在（请先运行 nianbao crawl）")
    return Store(site().config.storage_path)


# -- the status matrix and an agency -----------------------------------------------------------


WHOLE_TABLE_ABOVE = 20_000  # URLs: past this, reading whole tables beats lookups by index
MATRIX_PAGE = 300  # agencies per page of the matrix


@pages.get("/")
def matrix() -> str:
    """The overview: one report year in focus (by default the latest whose deadline has passed),
    its problems first, counts per year and per region, and the on-time charts."""
    config, day = site().config, as_of()
    region, kind, status = arg("region"), arg("kind"), arg("status")
    only_problems = arg("problems") == "1"
    year_arg = int_arg("year")
    if year_arg is not None:
        check_year(year_arg, "year")
    if status and status not in STATUS_LABELS:
        abort(400, "参数 status 不是已知的状态")
    with open_store() as store:
        # One region's matrix reads only its rows (filtered in SQL on the stored statuses).
        rows = compute_status(store, config, day, region=region or None)
        regions = status_regions(store, config, day) if region else None
        regions = regions if regions is not None else sorted({r["region"] for r in rows if r["region"]})
        years = sorted({r["year"] for r in rows}, reverse=True)  # the newest first: it is looked at
        year = year_arg if year_arg is not None else overview.focus_year(rows, day)
        chosen = [
            r for r in rows if (not region or r["region"] == region) and (not kind or r["kind"] == kind)
        ]
        # Ranking needs the changes of the year in focus (by index; the whole table only for most
        # of the country); the page shown, its cells' reports and changes of every year.
        focus = {r["url"] for r in chosen if r["year"] == year and r["url"]}
        events = _events(store, focus)
        agencies = overview.agencies_by_problem(chosen, year, events)
        problems = sum(1 for a in agencies if a["problem"])
        if status:
            agencies = [a for a in agencies if (a["cells"].get(year) or {}).get("status") == status]
        if only_problems:
            agencies = [a for a in agencies if a["problem"]]
        # A province holds thousands of agencies: a page of them at a time, problems first.
        pages_total = max(1, -(-len(agencies) // MATRIX_PAGE))
        page = int_arg("page") or 1
        if page > pages_total:
            abort(404, f"没有第 {page} 页（共 {pages_total} 页）")
        agency_total = len(agencies)
        shown = agencies[(page - 1) * MATRIX_PAGE : page * MATRIX_PAGE]
        urls = overview.cell_urls(shown)
        events.update(_events(store, urls - focus))
        agencies = overview.with_details(shown, reads.report_ids_for_urls(store, urls), events)
    in_year = [r for r in chosen if r["year"] == year]
    several_regions = len({r["region"] for r in chosen}) > 1
    charts = [charts_svg.on_time_by_year(chosen, sorted({r["year"] for r in chosen}))]
    if in_year:
        key = "region" if several_regions else "kind"
        charts.append(charts_svg.on_time_by_group(chosen, year, key))
    return render_template(
        "matrix.html",
        as_of=day,
        today=site().today(),
        regions=regions,
        years=years,
        year=year,
        agencies=agencies,
        agency_total=agency_total,
        page=page,
        pages_total=pages_total,
        problems=problems,
        counts=overview.status_counts(in_year),
        by_year=overview.counts_by(chosen, "year"),
        all_years=overview.status_counts(chosen),
        by_region=overview.counts_by(in_year, "region") if several_regions else {},
        charts=[Markup(charts_svg.to_svg(c)) for c in charts],
        total=len(in_year),
        region=region,
        kind=kind,
        status=status,
        only_problems=only_problems,
        year_arg=year_arg,
        as_of_arg=arg("as_of"),
    )


def _events(store: Store, urls: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The change events of ``urls``: by index, or from the whole table for most of a country."""
    if len(urls) > WHOLE_TABLE_ABOVE:
        return {u: e for u, e in reads.events_by_url(store).items() if u in urls}
    return reads.events_for_urls(store, urls)


@pages.get("/agency")
def agency() -> str:
    """One agency: its status and report of every year, year on year, changes, its trend.

    Reads only this agency's reports, events and data (by index), however big the store.
    """
    name = arg("name")
    if not name:
        abort(400, "缺少参数 name")
    config, day = site().config, as_of()
    with open_store() as store:
        # Only this agency's stored statuses (refreshed once, here) and documents; the whole
        # catalogue only for a look into the past, which the stored rows cannot answer.
        rows = compute_status(store, config, day, agency=name)
        catalogue = stored_catalogue(store, config, day, [name])
        if catalogue is None:
            catalogue = load_catalogue(store, config)
            rows = [r for r in status_from(catalogue, config, store, day) if r["agency"] == name]
        report_ids = reads.report_ids_for_urls(store, [r["url"] for r in rows if r["url"]])
        by_year: dict[int, dict[str, Any]] = {}
        for r in rows:
            rid = report_ids.get(r["url"]) if r["url"] else None
            by_year[r["year"]] = {"status": r, "report": reads.report(store, rid) if rid else None}
        for rid in reads.agency_report_ids(store, name):
            full = reads.report(store, rid)
            entry = by_year.setdefault(full["year"], {"status": None, "report": None})
            if entry["report"] is None:
                entry["report"] = full
        if not by_year:
            abort(404, "没有这个机关的记录")
        yoy = _yoy(catalogue, store, name, rows, sorted(by_year), day)
        urls = {
            year: entry["status"]["url"] if entry["status"] else (entry["report"] or {}).get("url")
            for year, entry in by_year.items()
        }
        events = reads.events_for_urls(store, [u for u in urls.values() if u])
        for year, entry in by_year.items():
            entry["change"] = overview.after_publication(events.get(urls[year], [])) if urls[year] else None
        history = figure_history(catalogue, store, [name], sorted(by_year), day)
    years = sorted(by_year, reverse=True)
    trend = None
    if history.get(name):
        chart = charts_svg.trend_chart(name, history[name], sorted(by_year))
        trend = Markup(charts_svg.to_svg(chart))
    return render_template(
        "agency.html", name=name, as_of=day, years=years, by_year=by_year, yoy=yoy, trend=trend
    )


def _yoy(
    catalogue: Catalogue, store: Store, name: str, rows: list[dict[str, Any]], years: list[int], day: date
) -> dict[int, dict[str, Any]]:
    """Year → ``name``'s figures against the year before, for each year that has one; only this
    agency's reports are compared (``rows``: its status rows)."""
    config = site().config
    out = {}
    for year in years:
        if year - 1 not in years:
            continue
        status = [r for r in rows if r["year"] == year]
        if not status:  # a year the statuses do not cover (a report published ahead of it)
            status = [r for r in status_from(catalogue, config, store, day, [year]) if r["agency"] == name]
        for row in compare_from(catalogue, config, store, year, day, status=status):
            if row["agency"] == name and (row["present"] or row["previous_present"]):
                out[year] = dict(row, labels=FIGURE_LABELS)
    return out


# -- a report, its versions and their diff -----------------------------------------------------


@pages.get(f"/report/<{ID}:report_id>")
def report(report_id: int) -> str:
    with open_store() as store:
        rep = reads.report(store, report_id)
        if rep is None:
            abort(404, "没有这份报告")
        document = reads.document_by_id(store, rep["document_id"])
        parent = reads.document_by_id(store, document["parent_id"]) if document.get("parent_id") else None
        versions = store.versions(rep["document_id"])
        events = reads.document_events(store, [rep["document_id"]] + ([parent["id"]] if parent else []))
        shown = next(
            (v for v in versions if v["id"] == rep["version_id"]), versions[-1] if versions else None
        )
        preview = None
        if shown and not inline_kind(shown["content_type"]):
            # DOCX and the like: no browser shows them, so show their text.
            body = store.version_body(shown["id"])
            preview = document_text(body, shown["content_type"])[:PREVIEW_CHARS]
    older = [v for v in versions if v["id"] < rep["version_id"]]
    change = overview.after_publication(events)
    return render_template(
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
        inline=bool(shown and inline_kind(shown["content_type"])),
        preview=preview,
        change=change,
    )


@pages.get(f"/version/<{ID}:version_id>/raw")
def raw(version_id: int) -> Response:
    with open_store() as store:
        row = reads.version_download(store, version_id)
        if row is None:
            abort(404, "没有这个版本")
        body = store.version_body(version_id)
    ctype = (row["content_type"] or "").strip()
    if not SAFE_CONTENT_TYPE.match(ctype):
        ctype = "application/octet-stream"
    name = row["filename"] or Path(urlsplit(row["url"]).path).name or "document"
    if "." not in name:
        name += mimetypes.guess_extension(ctype.split(";")[0]) or ""
    kind = inline_kind(ctype)
    # The portal's bytes get a unique, script-less origin wherever they are opened.  Not PDF:
    # Chromium will not run its PDF viewer in a sandbox; PDF script runs in the viewer anyway.
    g.csp = "sandbox" if kind != "pdf" else None
    disposition = content_disposition("inline" if kind else "attachment", name)
    return Response(body, content_type=ctype, headers={"Content-Disposition": disposition})


@pages.get(f"/document/<{ID}:document_id>/diff")
def diff(document_id: int) -> str:
    a, b = int_arg("a"), int_arg("b")
    with open_store() as store:
        versions = store.versions(document_id)
        if not versions:
            abort(404, "没有这个文档")
        doc = reads.document_by_id(store, document_id)
        ids = [v["id"] for v in versions]
        a = a if a is not None else (ids[-2] if len(ids) > 1 else ids[-1])
        b = b if b is not None else ids[-1]
        if a not in ids or b not in ids:
            abort(404, "版本不属于这个文档")
        va, vb = (next(v for v in versions if v["id"] == x) for x in (a, b))
        text_a = document_text(store.version_body(a), va["content_type"])
        text_b = document_text(store.version_body(b), vb["content_type"])
        numbers = number_changes(store, a, b) if a != b else []
        report_id = reads.latest_report_id(store, document_id)
    return render_template(
        "diff.html",
        document=doc,
        versions=versions,
        a=va,
        b=vb,
        diff=line_diff(text_a, text_b),
        numbers=numbers,
        report_id=report_id,
    )


# -- changes after publication -----------------------------------------------------------------

CHANGES_PER_PAGE = 50


@pages.get("/changes")
def changes() -> str:
    """Every change event on a stored report, newest first, a modified one with its diff: the
    changed numbers in the template's terms and the changed lines of text."""
    page = int_arg("page") or 1
    with open_store() as store:
        total = reads.event_count(store)
        pages_total = max(1, -(-total // CHANGES_PER_PAGE))
        page = min(page, pages_total)
        # Only the page shown is read (and explained): a national store holds tens of thousands.
        shown = list_changes(
            store, newest_first=True, limit=CHANGES_PER_PAGE, offset=(page - 1) * CHANGES_PER_PAGE
        )
        doc_ids = reads.document_ids(store, [e["url"] for e in shown])
        reports = {url: reads.latest_report_id(store, did) for url, did in doc_ids.items()}
    for e in shown:
        e["document_id"] = doc_ids.get(e["url"])
        e["report_id"] = reports.get(e["url"])
        e["numbers"] = e["detail"].get("numbers") or []
        e["text"] = text_diff_rows(e["detail"].get("text_diff") or [])
    return render_template("changes.html", events=shown, total=total, page=page, pages_total=pages_total)


def text_diff_rows(lines: list[str]) -> list[dict[str, str]]:
    """A stored unified diff (``monitor.changes``) as rows {kind: hunk|add|del|same, text}."""
    rows = []
    for i, line in enumerate(lines):
        if i < 2 and line.startswith(("--- ", "+++ ")):
            continue  # the header, not a removed or added line that starts with -- or ++
        if line.startswith("@@"):
            rows.append({"kind": "hunk", "text": ""})
        elif line[:1] in ("+", "-"):
            rows.append({"kind": "add" if line[0] == "+" else "del", "text": line[1:]})
        else:
            rows.append({"kind": "same", "text": line[1:]})
    return rows


# -- crawl health ------------------------------------------------------------------------------


@pages.get("/health")
def health() -> str:
    config = site().config
    failing = int(config.section("monitor").get("failing_runs_before_alert", 3))
    with open_store() as store:
        problems = source_health(store, failing, [s["id"] for s in config.sources])
        runs = store.latest_runs(per_source=10)
        documents = reads.document_counts(store)
        events = reads.recent_events(store, limit=30)
    sources = [
        {
            "id": s["id"],
            "name": s["name"],
            "region": s.get("region"),
            "enabled": s.get("enabled", True),
            "start_url": s["start_url"],
        }
        for s in config.sources
    ]
    configured = {s["id"] for s in config.sources}
    for sid in sorted(set(runs) - configured):
        sources.append(
            {
                "id": sid,
                "name": f"已不在配置中的来源（{sid}）",
                "region": None,
                "enabled": False,
                "start_url": None,
            }
        )
    for s in sources:
        s["runs"] = runs.get(s["id"], [])[:10]
        s["last"] = s["runs"][0] if s["runs"] else None
        s["documents"] = documents.get(s["id"], 0)
        s["problem"] = problems.get(s["id"])
    # Which worker crawled each source's last run, once any run was crawled on a worker.
    workers = any(s["last"] and s["last"].get("worker") for s in sources)
    return render_template("health.html", sources=sources, events=events, workers=workers)


# -- digests -----------------------------------------------------------------------------------


@pages.get("/digests")
def digests() -> str:
    with open_store() as store:
        years = reads.report_years(store)
    # The year whose reports are due now comes first, even before any was found.
    years = sorted(set(years) | {site().today().year - 1}, reverse=True)
    regions = sorted({s["region"] for s in site().config.sources if s.get("region")})
    return render_template(
        "digests.html", years=years, regions=regions, formats=DIGEST_FORMATS, region=arg("region")
    )


@pages.get("/digest/<int(fixed_digits=4):year>.<any(xlsx, csv, html, md, json, docx):fmt>")
def digest(year: int, fmt: str) -> Response:
    check_year(year, "年度")
    region = arg("region") or None
    with open_store() as store:
        built = build_digest(store, site().config, year, region=region)
    with tempfile.TemporaryDirectory(prefix="nianbao-digest-") as tmp:
        path = Path(tmp) / f"digest.{fmt}"
        write_digest(built, fmt, path)
        body = path.read_bytes()
    name = f"nianbao-{year}" + (f"-{region}" if region else "") + f".{fmt}"
    disposition = content_disposition("attachment", name)
    return Response(body, content_type=DIGEST_FORMATS[fmt][0], headers={"Content-Disposition": disposition})


@pages.get("/favicon.ico")
def favicon() -> Response:
    return Response(b"", 204, content_type="image/x-icon")
