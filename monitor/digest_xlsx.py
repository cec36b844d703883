"""The digest as an Excel workbook (openpyxl, write-only so 100,000 rows stay fast and small).

Sheets: 状态 (agencies × years, coloured by conditional formatting), 同比, 数据质量, 变更, 名称匹配.
Header rows are frozen, widths are set, numbers are written as numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from monitor.catalogue import bulk
from monitor.digest import SHOWN_FIGURES, Digest, yoy_cells, yoy_headers
from monitor.status import KIND_LABELS, STATUS_LABELS
from monitor.yoy import FIGURE_LABELS

STATUS_FILLS = {
    "on_time": "C6EFCE",
    "late": "FFEB9C",
    "missing": "FFC7CE",
    "pending": "DDEBF7",
    "not_checkable": "D9D9D9",
}
SWING_FILL = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
HEAD_FONT = Font(bold=True)
HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")


def _sheet(wb: Workbook, title: str, headers: list[str], widths: list[float]):
    ws = wb.create_sheet(title)
    ws.freeze_panes = "B2"
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    cells = []
    for h in headers:
        c = WriteOnlyCell(ws, value=h)
        c.font, c.fill = HEAD_FONT, HEAD_FILL
        c.alignment = Alignment(wrap_text=True, vertical="center")
        cells.append(c)
    ws.append(cells)
    return ws


def _status_sheet(wb: Workbook, digest: Digest) -> None:
    years = digest.years
    headers = ["机关", "类别", "地区", "来源", *[f"{y}年" for y in years]]
    headers += ["截止日期", "发布日期", "逾期天数", "链接", "依据"]  # the date's source is in 依据
    widths = [30, 8, 16, 12, *[8] * len(years), 11, 11, 8, 50, 40]
    ws = _sheet(wb, "状态", headers, widths)
    n = 1
    for row, cells in digest.matrix():
        marks = [STATUS_LABELS.get(cells[y]["status"]) if y in cells else None for y in years]
        ws.append(
            [
                row["agency"],
                KIND_LABELS.get(row["kind"], row["kind"]),
                row["region"],
                row["source_id"],
                *marks,
                row["deadline"],
                row["published_at"],
                row["days_late"] or None,
                row["url"],
                row["evidence"],
            ]
        )
        n += 1
    # Colour by rule, not per cell: one rule per status instead of a style on every cell.
    span = f"E2:{get_column_letter(4 + len(years))}{max(n, 2)}"
    for status, colour in STATUS_FILLS.items():
        rule = CellIsRule(
            operator="equal",
            formula=[f'"{STATUS_LABELS[status]}"'],
            fill=PatternFill("solid", fgColor=colour, bgColor=colour),
        )
        ws.conditional_formatting.add(span, rule)


def _yoy_sheet(wb: Workbook, digest: Digest) -> None:
    heads = yoy_headers()
    headers = ["机关", *heads]  # kind, status and dates are on 状态, one sheet over
    ws = _sheet(wb, "同比", headers, [30, *[10] * len(heads)])
    n = 1
    for y in digest.yoy:
        ws.append([y["agency"], *yoy_cells(y)])
        n += 1
    # Swings are highlighted by rule: a figure's cells are coloured when the 显著变化 column (the
    # swings monitor.yoy found) names it.  Per-cell styles would triple the time of a big sheet.
    swings = get_column_letter(len(headers))
    for i, key in enumerate(SHOWN_FIGURES):
        first, last = get_column_letter(2 + 3 * i), get_column_letter(4 + 3 * i)
        rule = FormulaRule(formula=[f'ISNUMBER(SEARCH("{FIGURE_LABELS[key]}",${swings}2))'], fill=SWING_FILL)
        ws.conditional_formatting.add(f"{first}2:{last}{max(n, 2)}", rule)
    copied = get_column_letter(headers.index("文字雷同") + 1)
    similar = get_column_letter(headers.index("五部分相似度（%）") + 1)
    rule = FormulaRule(formula=[f'${copied}2="是"'], fill=SWING_FILL)
    ws.conditional_formatting.add(f"{similar}2:{copied}{max(n, 2)}", rule)


def _list_sheet(
    wb: Workbook, title: str, headers: list[str], widths: list[float], rows: list[list[Any]]
) -> None:
    ws = _sheet(wb, title, headers, widths)
    for r in rows:
        ws.append(r)


def write_xlsx(digest: Digest, path: Path) -> None:
    with bulk():
        _write(digest, path)


def _write(digest: Digest, path: Path) -> None:
    wb = Workbook(write_only=True)
    _status_sheet(wb, digest)
    _yoy_sheet(wb, digest)
    _list_sheet(
        wb,
        "数据质量",
        ["机关", "年度", "问题", "代码", "位置", "说明", "链接"],
        [30, 8, 16, 14, 30, 40, 50],
        [
            [q["agency"], q["year"], q["label"], q["code"], q["where"], q["message"], q["url"]]
            for q in digest.quality
        ],
    )
    _list_sheet(
        wb,
        "变更",
        ["机关", "年度", "变更", "时间", "链接"],
        [30, 8, 8, 22, 60],
        [[c["agency"], c["year"], c["label"], c["at"], c["url"]] for c in digest.changes],
    )
    _list_sheet(
        wb,
        "名称匹配",
        ["报告署名", "匹配为", "方式", "相似度"],
        [30, 30, 12, 8],
        [[m["name"], m["canonical"], m["method"], m["score"]] for m in digest.matches],
    )
    wb.save(path)
