"""The digest: one year's status, year-on-year figures, data quality and changes, in one object.

``build_digest`` gathers it from the store (bulk queries only); ``write_digest`` renders it as
xlsx, csv, html, md or json — the same content in each — or as docx, a printable report.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from config import Config
from monitor.catalogue import bulk, load_catalogue
from monitor.expectations import KIND_ORDER, report_years
from monitor.glossary import (
    DIGEST_FORMATS,
    EVENT_LABELS,
    FIGURE_LABELS,
    ISSUE_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    describe,
    place,
)
from monitor.localtime import reader_zone
from monitor.numbers import change_summary
from monitor.refresh import stored_rows
from monitor.status import STATUSES, status_from
from monitor.yoy import FIGURES, compare_from, figure_history
from storage.store import Store

FORMATS = tuple(DIGEST_FORMATS)  # every digest format (``monitor.glossary``)
# Agencies whose multi-year trend the digest charts: the governments first, then the busiest.
TREND_AGENCIES = 6
# The headline figures the tabular digests show (all of them are in the json).
SHOWN_FIGURES = ("applications", "disclosure_rate", "refusals", "review_total", "litigation_total")


@dataclass
class Digest:
    year: int
    region: str | None
    as_of: date
    years: list[int]
    # compute_status rows for every year up to ``year``; a missing report's days_late counts the
    # days from its deadline to ``as_of``
    status: list[dict[str, Any]]
    yoy: list[dict[str, Any]]  # monitor.yoy rows for ``year``
    quality: list[dict[str, Any]]  # one row per data-quality flag
    changes: list[dict[str, Any]]  # storage events on this year's reports
    matches: list[dict[str, Any]]  # agency names mapped to another name
    timezone: str = "Asia/Shanghai"  # local time of the readers (schedule.timezone)
    # agency → {year: monitor.yoy.derived figures}, for the few agencies the charts follow
    trends: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0).isoformat())

    @property
    def title(self) -> str:
        where = f"{self.region} " if self.region else ""
        return f"{where}{self.year}年度政府信息公开工作年度报告监测摘要"

    def summary(self) -> dict[str, int]:
        """Status counts for the digest year."""
        counts = Counter(r["status"] for r in self.status if r["year"] == self.year)
        return {s: counts.get(s, 0) for s in STATUSES}

    def on_time_rates(self) -> list[dict[str, Any]]:
        """Status counts and the on-time rate of the digest year per region and kind, each region's
        subtotal (when it has several kinds) and a grand total (region None, kind None).

        rate = on_time / (on_time + late + missing): reports not yet due and agencies that could not
        be checked are counted but left out of the rate; None when nothing was due."""
        groups: dict[tuple[str, str], Counter] = {}
        for r in self.status:
            if r["year"] == self.year:
                groups.setdefault((r["region"] or "", r["kind"]), Counter())[r["status"]] += 1
        out = []

        def row(region: str | None, kind: str | None, counts: Counter) -> dict[str, Any]:
            due = counts["on_time"] + counts["late"] + counts["missing"]
            return {
                "region": region,
                "kind": kind,
                "agencies": sum(counts.values()),
                **{s: counts[s] for s in STATUSES},
                "due": due,
                "rate": counts["on_time"] / due if due else None,
            }

        regions = sorted({reg for reg, _k in groups})
        for reg in regions:
            kinds = sorted((k for r2, k in groups if r2 == reg), key=lambda k: (KIND_ORDER.get(k, 9), k))
            for k in kinds:
                out.append(row(reg, k, groups[(reg, k)]))
            if len(kinds) > 1:
                out.append(row(reg, None, sum((groups[(reg, k)] for k in kinds), Counter())))
        out.append(row(None, None, sum(groups.values(), Counter())))
        return out

    def top_swings(self, n: int = 10) -> list[dict[str, Any]]:
        """The ``n`` largest year-on-year swings (figures monitor.yoy flagged), largest first.

        Size: a count's relative change (a count new this year counts as +100%); a rate's change in
        percentage points over 100 (a rate going 0.40 → 0.70 weighs like +30%)."""
        out = []
        for y in self.yoy:
            for key in y["swings"]:
                if key not in FIGURE_LABELS:
                    continue
                f = y["figures"][key]
                rate = any(d.key == key and d.rate for d in FIGURES)
                if rate:
                    size = abs(f["change"] or 0)
                else:
                    size = abs(f["relative"]) if f["relative"] is not None else 1.0
                out.append(
                    {
                        "agency": y["agency"],
                        "kind": y["kind"],
                        "figure": key,
                        "label": FIGURE_LABELS[key],
                        "rate": rate,
                        "previous": f["previous"],
                        "current": f["current"],
                        "change": f["change"],
                        "relative": f["relative"],
                        "size": size,
                    }
                )
        out.sort(key=lambda s: (-s["size"], s["agency"], s["figure"]))
        return out[:n]

    def matrix(self) -> list[tuple[dict[str, Any], dict[int, dict[str, Any]]]]:
        """(the agency's row for the digest year or its latest, {year: status row}) per agency."""
        by_agency: dict[str, dict[int, dict[str, Any]]] = {}
        for r in self.status:
            by_agency.setdefault(r["agency"], {})[r["year"]] = r
        out = []
        for cells in by_agency.values():
            out.append((cells.get(self.year) or cells[max(cells)], cells))
        return out


def _in_region(row: dict[str, Any], region: str | None) -> bool:
    if not region:
        return True
    return row.get("source_id") == region or (row.get("region") or "").startswith(region)


def build_digest(
    store: Store, config: Config, year: int, region: str | None = None, as_of: date | None = None
) -> Digest:
    """Everything the digest shows for ``year`` (optionally one region or source id), as of a date."""
    with bulk():
        as_of = as_of or date.today()
        catalogue = load_catalogue(store, config)
        years = [y for y in report_years(catalogue, date(year + 1, 1, 1), None) if y <= year] or [year]
        status = stored_rows(store, config, as_of, years)  # the materialised statuses, when they can answer
        if status is None:
            status = status_from(catalogue, config, store, as_of, years)
        status = [r for r in status if _in_region(r, region)]
        for r in status:
            if r["status"] == "missing":  # overdue since the deadline, as of the digest's date
                r["days_late"] = (as_of - date.fromisoformat(r["deadline"])).days
        yoy = compare_from(catalogue, config, store, year, as_of, status, details=False)
        quality = []
        changes = []
        urls = {(r["agency"], r["year"]): r["url"] for r in status if r["year"] == year}
        for y in yoy:
            url = urls.get((y["agency"], year))
            found = [dict(i) for i in y["quality"]]
            found += [
                {
                    "code": "copied_text",
                    "where": f"sections.{section}",
                    "message": f"与{year - 1}年报告相似度 {y['similarity'][section]:.0%}",
                }
                for section in y["copied_sections"]
            ]
            for i in found:
                code, where = i.get("code", ""), i.get("where", "")
                quality.append(
                    {
                        "agency": y["agency"],
                        "year": year,
                        "code": code,
                        "label": ISSUE_LABELS.get(code, code),
                        "where": where,  # the machine location (table2.disclosed.total)
                        "message": i.get("message", ""),  # as the parser wrote it
                        "place": place(where),  # the location in the template's words
                        "text": describe(i),  # the whole finding in plain Chinese
                        "url": url,
                    }
                )
            for e in y["events"]:
                changes.append(
                    {
                        "agency": y["agency"],
                        "year": year,
                        **e,
                        "label": EVENT_LABELS.get(e["kind"], ""),
                        "detail": change_summary(e.get("numbers") or []),  # in the template's terms
                    }
                )
        agencies = {r["agency"] for r in status}
        matches = [m.as_dict() for m in catalogue.matches if m.canonical in agencies]
        trends = figure_history(catalogue, store, trend_agencies(yoy), years, as_of)
        return Digest(
            year,
            region,
            as_of,
            years,
            status,
            yoy,
            quality,
            changes,
            matches,
            reader_zone(config).key,
            trends,
        )


def trend_agencies(yoy: list[dict[str, Any]], n: int = TREND_AGENCIES) -> list[str]:
    """The ``n`` agencies whose trend the digest charts: governments, then by applications."""
    ranked = sorted(
        (y for y in yoy if y["present"]),
        key=lambda y: (y["kind"] != "government", -(y["figures"]["applications"]["current"] or 0)),
    )
    return [y["agency"] for y in ranked[:n]]


# -- plain renderings --------------------------------------------------------------------------


def fmt_number(v: Any, rate: bool = False) -> str:
    if v is None:
        return ""
    if rate:
        return f"{v:.1%}"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def fmt_change(rel: float | None) -> str:
    return "" if rel is None else f"{rel:+.0%}"


STATUS_HEADERS = (
    "机关",
    "类别",
    "地区",
    "年度",
    "状态",
    "截止日期",
    "发布日期",
    "逾期天数",
    "日期来源",
    "链接",
    "依据",
)


def status_cells(r: dict[str, Any]) -> list[Any]:
    return [
        r["agency"],
        KIND_LABELS.get(r["kind"], r["kind"]),
        r["region"] or "",
        r["year"],
        STATUS_LABELS.get(r["status"], r["status"]),
        r["deadline"],
        r["published_at"] or "",
        r["days_late"] or 0,
        r["date_source"] or "",
        r["url"] or "",
        r["evidence"],
    ]


def _pct(v: float | None) -> float | None:
    """A ratio as a percentage number (0.4567 → 45.7), so spreadsheets need no number format."""
    return None if v is None else round(v * 100, 1)


def yoy_headers(fractions: bool = False) -> list[str]:
    """The yoy column headers; ``fractions``: the spreadsheet's, whose rates are fractions shown
    with a percent format (the csv's rates are percentage numbers, so its headers say %)."""
    heads = []
    for key in SHOWN_FIGURES:
        label = FIGURE_LABELS[key]
        if key == "disclosure_rate" and fractions:
            heads += [f"{label}（本年）", f"{label}（上年）", f"{label}（变化，百分点）"]
        elif key == "disclosure_rate":
            heads += [f"{label}（本年，%）", f"{label}（上年，%）", f"{label}（变化，百分点）"]
        else:
            change = "变化率" if fractions else "变化，%"
            heads += [f"{label}（本年）", f"{label}（上年）", f"{label}（{change}）"]
    similar = "五部分相似度" if fractions else "五部分相似度（%）"
    return heads + ["距截止日天数", similar, "文字雷同", "数据问题", "显著变化"]


def yoy_cells(y: dict[str, Any] | None, fractions: bool = False) -> list[Any]:
    """The yoy columns of one agency (numbers stay numbers; blanks None).  Rates and relative
    changes are percentages (45.7), or with ``fractions`` the ratios themselves (0.457) for a
    percent number format; a rate's change is in percentage points either way."""
    if y is None:
        return [None] * len(yoy_headers())
    ratio = (lambda v: v) if fractions else _pct
    cells: list[Any] = []
    for key in SHOWN_FIGURES:
        f = y["figures"][key]
        if key == "disclosure_rate":
            cells += [ratio(f["current"]), ratio(f["previous"]), _pct(f["change"])]
        else:
            cells += [f["current"], f["previous"], ratio(f["relative"])]
    cells += [
        y["days_before_deadline"],
        ratio(y["similarity"].get("problems")),
        "是" if y["copied_text"] else "",
        len(y["quality"]),
        "、".join(FIGURE_LABELS[k] for k in y["swings"]),
    ]
    return cells


def write_csv(digest: Digest, path: Path) -> None:
    """The status rows of the digest year joined with their yoy figures; utf-8-sig for Excel."""
    yoy = {y["agency"]: y for y in digest.yoy}
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*STATUS_HEADERS, *yoy_headers()])
        for r in digest.status:
            if r["year"] == digest.year:
                w.writerow(
                    ["" if v is None else v for v in status_cells(r) + yoy_cells(yoy.get(r["agency"]))]
                )


def to_json(digest: Digest) -> dict[str, Any]:
    return {
        "title": digest.title,
        "year": digest.year,
        "region": digest.region,
        "as_of": digest.as_of.isoformat(),
        "generated_at": digest.generated_at,
        "years": digest.years,
        "summary": digest.summary(),
        "on_time_rates": digest.on_time_rates(),
        "top_swings": digest.top_swings(),
        "figures": [{"key": f.key, "label": f.label} for f in FIGURES],
        "status": digest.status,
        "yoy": [{k: v for k, v in y.items() if k != "changes"} for y in digest.yoy],
        "quality": digest.quality,
        "changes": digest.changes,
        "matches": digest.matches,
    }


def write_json(digest: Digest, path: Path) -> None:
    path.write_text(json.dumps(to_json(digest), ensure_ascii=False, indent=1), encoding="utf-8")


def _md_cell(v: Any) -> str:
    return str("" if v is None else v).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    out.write("| " + " | ".join(headers) + " |\n")
    out.write("|" + "---|" * len(headers) + "\n")
    for row in rows:
        out.write("| " + " | ".join(_md_cell(v) for v in row) + " |\n")
    return out.getvalue()


def to_markdown(digest: Digest) -> str:
    parts = [f"# {digest.title}\n", f"核查日期：{digest.as_of}　生成时间：{digest.generated_at}\n"]
    parts.append("；".join(f"{STATUS_LABELS[s]} {n}" for s, n in digest.summary().items()) + "\n")
    parts.append("## 状态\n")
    rows = []
    for row, cells in digest.matrix():
        marks = [STATUS_LABELS.get(cells[y]["status"], "") if y in cells else "—" for y in digest.years]
        rows.append(
            [row["agency"], KIND_LABELS.get(row["kind"], ""), *marks, row["published_at"], row["evidence"]]
        )
    parts.append(_md_table(["机关", "类别", *[f"{y}年" for y in digest.years], "发布日期", "依据"], rows))
    parts.append(f"\n## 同比（{digest.year} 对 {digest.year - 1}）\n")
    yrows = []
    for y in digest.yoy:
        cells = []
        for key in SHOWN_FIGURES:
            f = y["figures"][key]
            rate = key == "disclosure_rate"
            cells.append(f"{fmt_number(f['current'], rate)} / {fmt_number(f['previous'], rate)}")
        yrows.append(
            [
                y["agency"],
                *cells,
                "是" if y["copied_text"] else "",
                "、".join(FIGURE_LABELS[k] for k in y["swings"]),
            ]
        )
    parts.append(
        _md_table(
            ["机关", *[f"{FIGURE_LABELS[k]}（本年/上年）" for k in SHOWN_FIGURES], "文字雷同", "显著变化"],
            yrows,
        )
    )
    parts.append("\n## 数据质量\n")
    parts.append(
        _md_table(
            ["机关", "问题", "说明"],
            [[q["agency"], q["label"], q["text"]] for q in digest.quality],
        )
    )
    parts.append("\n## 变更\n")
    parts.append(
        _md_table(
            ["机关", "变更", "时间", "链接", "内容"],
            [[c["agency"], c["label"], c["at"], c["url"], c["detail"]] for c in digest.changes],
        )
    )
    if digest.matches:
        parts.append("\n## 机关名称匹配\n")
        parts.append(
            _md_table(
                ["报告署名", "匹配为", "方式", "相似度"],
                [[m["name"], m["canonical"], m["method"], m["score"]] for m in digest.matches],
            )
        )
    return "\n".join(parts)


def write_digest(digest: Digest, fmt: str, path: str | Path) -> Path:
    """Write ``digest`` as ``fmt`` (one of ``FORMATS``) to ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        from outputs.digest_xlsx import write_xlsx

        write_xlsx(digest, path)
    elif fmt == "csv":
        write_csv(digest, path)
    elif fmt == "html":
        from outputs.digest_html import to_html

        path.write_text(to_html(digest), encoding="utf-8")
    elif fmt == "md":
        path.write_text(to_markdown(digest), encoding="utf-8")
    elif fmt == "json":
        write_json(digest, path)
    elif fmt == "docx":
        from outputs.digest_docx import write_docx

        write_docx(digest, path)
    else:
        raise ValueError(f"unknown digest format {fmt!r} (expected one of: {', '.join(FORMATS)})")
    return path
