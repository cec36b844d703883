"""The status of every expected report as of a date: on_time, late, missing, pending, not_checkable.

A report counts only if it was published on or before ``as_of``.  Found and dated on or before the
deadline: on_time; after it: late.  Not found: pending until the deadline, missing after it — or
not_checkable when the agency's source was not seen whole (its latest run was blocked, refused by
robots.txt, interrupted or saw an empty list, or its last N runs failed; see ``source_health``),
because then absence proves nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Any

from config import Config
from monitor.catalogue import Catalogue, Found, bulk, load_catalogue
from monitor.expectations import KIND_ORDER, Expected, Expecting, report_years
from monitor.glossary import KIND_LABELS, STATUS_LABELS, date_source_label
from storage.store import Store

STATUSES = ("on_time", "late", "missing", "pending", "not_checkable")
FIELDS = (
    "agency",
    "kind",
    "year",
    "status",
    "deadline",
    "published_at",
    "days_late",
    "url",
    "date_source",
    "source_id",
    "region",
    "evidence",
)


def source_health(store: Store, failing_runs: int = 3, configured: Iterable[str] = ()) -> dict[str, str]:
    """source id → why it cannot be checked, for every source that cannot be checked now.

    Absence proves something only after a walk that saw the whole column.  So a source is not
    checkable when its evidence run — the latest run that is not 'failed' (a failed run stored
    nothing) — was blocked (robots.txt, a barrier, a list only a browser can see), interrupted
    (a signal, a cap, a document that could not be stored, or a crawl process that died),
    finished while a list page or document failed for good (``walk_incomplete``), or listed no
    report at all; or when its last N runs failed; or when a ``configured`` source was
    never crawled (no finished run, nothing stored).  A crawl running now does not count yet:
    the run before it is the evidence until it ends.
    """
    # Enough runs to see a streak of N failures and the run before it, plus one running now (the
    # default 20 a source is 66,000 runs read and parsed at national scale, on every page).
    history = store.run_history(per_source=failing_runs + 2)
    out: dict[str, str] = {}
    for sid, all_runs in history.items():
        recent = [r for r in all_runs if r["status"] != "running"]
        streak = next((i for i, r in enumerate(recent) if r["status"] != "failed"), len(recent))
        if streak >= failing_runs:
            out[sid] = f"连续 {streak} 次抓取失败（{recent[0]['reason'] or '未记录原因'}）"
            continue
        if streak == len(recent):
            continue  # no evidence run: judged below by whether anything was ever stored
        why = _not_checkable_because(recent[streak])
        if why:
            out[sid] = why
    crawled = store.crawled_sources()
    for sid in configured:
        finished = any(r["status"] == "finished" for r in history.get(sid, []))
        if sid not in out and not finished and sid not in crawled:
            out[sid] = "该来源尚未完成过一次抓取"
    return out


def _not_checkable_because(run: dict[str, Any]) -> str | None:
    """Why a source's evidence run cannot show a report is absent, or None when it can."""
    status, reason, stats = run["status"], run["reason"], run["stats"]
    if stats.get("needs_browser"):
        return f"报告列表由脚本生成，需启用浏览器抓取（{stats['needs_browser'][0]}），未找到的报告无法核查"
    if status == "blocked":
        return f"最近一次抓取被拦截（{reason or '未记录原因'}）"
    if reason and "robots" in reason.lower():
        return f"robots.txt 不允许抓取（{reason}）"
    if status == "interrupted":
        return f"最近一次抓取未完成（{reason or '未记录原因'}），未找到的报告无法核查"
    if status == "finished" and stats.get("walk_incomplete"):
        return f"最近一次抓取有页面未能读取（{stats['walk_incomplete']}），未找到的报告无法核查"
    if status == "finished" and stats.get("listed") == 0:
        return "最近一次抓取未在栏目中列出任何报告，未找到的报告无法核查"
    return None


def _row(e: Expected, found: Found | None, as_of: date, unreachable: dict[str, str]) -> dict[str, Any]:
    """The row of one expected pair, with what re-deriving it later needs (``ROW_EXTRAS``)."""
    doc = found.earliest(as_of) if found else None
    dated = [d.published_at for d in found.docs if d.published_at] if found else []
    row: dict[str, Any] = {
        "agency": e.agency,
        "kind": e.kind,
        "year": e.year,
        "status": "",
        "deadline": e.deadline.isoformat(),
        "published_at": None,
        "days_late": 0,
        "url": None,
        "date_source": None,
        "source_id": e.source_id,
        "region": e.region,
        "evidence": "",
        "exp_source_id": e.source_id,
        "undated": int(found is not None and any(d.published_at is None for d in found.docs)),
        "latest_pub": max(dated).isoformat() if dated else None,
    }
    if doc is not None:
        late = (doc.published_at - e.deadline).days
        copies = len(found.docs)
        row.update(
            status="late" if late > 0 else "on_time",
            published_at=doc.published_at.isoformat(),
            days_late=max(late, 0),
            url=doc.url,
            date_source=doc.date_source,
            source_id=e.source_id or doc.source_id,
        )
        named = f"，报告署名“{doc.name}”" if doc.name != e.agency else ""
        more = f"，共 {copies} 份文档" if copies > 1 else ""
        row["evidence"] = (
            f"发布日期 {doc.published_at}（依据：{date_source_label(doc.date_source)}）{named}{more}"
        )
    else:
        rederive(row, as_of, unreachable)
    return row


ROW_EXTRAS = ("exp_source_id", "undated", "latest_pub")


def rederive(row: dict[str, Any], as_of: date, unreachable: dict[str, str]) -> dict[str, Any]:
    """Set the status and evidence of a row no document dated on or before ``as_of`` was found
    for, from the row alone (its deadline, source, ``undated`` and ``latest_pub``)."""
    deadline = date.fromisoformat(row["deadline"])
    if row["exp_source_id"] in unreachable:
        row.update(status="not_checkable", evidence=unreachable[row["exp_source_id"]])
    elif as_of <= deadline:
        row.update(status="pending", evidence=f"截止日期 {deadline}，尚余 {(deadline - as_of).days} 天")
    else:
        later = row["latest_pub"] is not None and row["latest_pub"] > as_of.isoformat()
        why = "已找到但无发布日期" if row["undated"] else ("发布日期晚于核查日" if later else "未找到报告")
        row.update(status="missing", evidence=f"{why}，已逾期 {(as_of - deadline).days} 天")
    return row


class Frame:
    """What every agency's rows are derived against: the config, as_of, the expected years and
    the sources that cannot be checked."""

    def __init__(self, config: Config, as_of: date, wanted: list[int], unreachable: dict[str, str]):
        self.expecting = Expecting(config)
        self.as_of = as_of
        self.wanted = wanted
        self.unreachable = unreachable

    def agency_rows(
        self, name: str, found: dict[int, Found], seen_kind: str | None, seen_source: str | None
    ) -> list[dict[str, Any]]:
        """Every row of one canonical agency, from its documents per year (``found``) and the
        kind and source its reports show most often; rows carry ``ROW_EXTRAS``."""
        expected = self.expecting.for_agency(name, set(found), seen_kind, seen_source, self.wanted)
        have = {e.year for e in expected}
        wanted = set(self.wanted)
        # Reports found for a pair nobody expected (e.g. after a configured abolition) still count.
        for year, f in found.items():
            if year in have or year not in wanted or not f.earliest(self.as_of):
                continue
            expected.append(self.expecting.unexpected(name, year, seen_kind, seen_source))
        return [_row(e, found.get(e.year), self.as_of, self.unreachable) for e in expected]


def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in the order ``compute_status`` gives them, with only ``FIELDS``."""
    out = [{k: r[k] for k in FIELDS} for r in rows]
    out.sort(key=lambda r: (r["region"] or "", KIND_ORDER.get(r["kind"], 9), r["agency"], r["year"]))
    return out


def status_from(
    catalogue: Catalogue, config: Config, store: Store, as_of: date, years: list[int] | None = None
) -> list[dict[str, Any]]:
    """``compute_status`` on an already loaded catalogue (computed in full, nothing stored)."""
    with bulk():
        failing = int(config.section("monitor").get("failing_runs_before_alert", 3))
        unreachable = source_health(store, failing, [s["id"] for s in config.sources])
        frame = Frame(config, as_of, report_years(catalogue, as_of, years), unreachable)
        by_agency: dict[str, dict[int, Found]] = {}
        for (agency, year), f in catalogue.found.items():
            by_agency.setdefault(agency, {})[year] = f
        rows: list[dict[str, Any]] = []
        for name in frame.expecting.names(catalogue.years):
            rows += frame.agency_rows(
                name, by_agency.get(name, {}), catalogue.kinds.get(name), catalogue.sources.get(name)
            )
        return sort_rows(rows)


def compute_status(
    store: Store,
    config: Config,
    as_of: date,
    years: list[int] | None = None,
    region: str | None = None,
    agency: str | None = None,
) -> list[dict[str, Any]]:
    """One row per expected (agency, year) with the fields in ``FIELDS``, as of ``as_of``
    (only those of ``region`` — exactly that region — or of ``agency`` when given).

    From the materialised rows (``monitor.refresh``), brought up to date first, when ``as_of`` is
    not before the date they were computed for and ``years`` lie within the expected years; else
    computed in full from the reports without storing anything (a look into the past).
    """
    from monitor.refresh import stored_rows  # here: refresh builds on this module

    rows = stored_rows(store, config, as_of, years, region, agency=agency)
    if rows is None:
        rows = status_from(load_catalogue(store, config), config, store, as_of, years)
        if region is not None:
            rows = [r for r in rows if r["region"] == region]
        if agency is not None:
            rows = [r for r in rows if r["agency"] == agency]
    return rows


def status_regions(store: Store, config: Config, as_of: date) -> list[str]:
    """Every region some status row as of ``as_of`` belongs to, sorted."""
    from monitor.refresh import stored_regions  # here: refresh builds on this module

    regions = stored_regions(store, config, as_of)
    if regions is None:
        regions = sorted({r["region"] for r in compute_status(store, config, as_of) if r["region"]})
    return regions


# -- the table ---------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Terminal columns: wide and full-width characters (Chinese) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


TABLE_COLUMNS = (
    ("agency", "机关"),
    ("kind", "类别"),
    ("year", "年度"),
    ("status", "状态"),
    ("deadline", "截止日期"),
    ("published_at", "发布日期"),
    ("days_late", "逾期天数"),
    ("evidence", "依据"),
    ("url", "链接"),
)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Aligned columns for a terminal, Chinese characters counted double-width."""

    def cell(row: dict, key: str) -> str:
        v = row.get(key)
        if key == "status":
            return STATUS_LABELS.get(v, str(v))
        if key == "kind":
            return KIND_LABELS.get(v, str(v or ""))
        if key == "days_late":
            return str(v) if v else ""
        return "" if v is None else str(v)

    table = [[label for _k, label in TABLE_COLUMNS]] + [[cell(r, k) for k, _l in TABLE_COLUMNS] for r in rows]
    widths = [max(display_width(line[i]) for line in table) for i in range(len(TABLE_COLUMNS))]
    lines = []
    for n, line in enumerate(table):
        lines.append("  ".join(_pad(c, w) for c, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    lines.append("")
    lines.append("，".join(f"{STATUS_LABELS[s]} {n}" for s, n in counts.items()))
    return "\n".join(lines)
