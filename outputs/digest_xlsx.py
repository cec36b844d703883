"""The digest as an Excel workbook for Excel and WPS (openpyxl, write-only so 100,000 rows stay fast).

Sheets: 汇总 (counts by status, on-time rate by region and kind, the largest year-on-year swings),
状态 (agencies × years, coloured by conditional formatting), 同比, 数据质量, 变更, 名称匹配.

Every cell carries its number format (integers #,##0, rates 0.0%, dates yyyy-mm-dd), URLs are
hyperlinks, text from portals is never read as a formula.  Each table sheet has an autofilter, a
frozen header row of explicit height (wrapped headers stay visible) and a print setup: A4
landscape, fit to one page wide, the header row repeated on every page, the sheet name and page
number in the page header and footer.
"""

from __future__ import annotations

import math
import unicodedata
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties

from monitor.catalogue import bulk
from monitor.glossary import FIGURE_LABELS, KIND_LABELS, MATCH_METHOD_LABELS, STATUS_LABELS
from monitor.status import STATUSES
from outputs.digest import SHOWN_FIGURES, Digest, yoy_cells, yoy_headers

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
TOP_SWINGS = 10
# Points per line of 11-point CJK text (Noto/SimSun lines are taller than Calibri's 15), and the
# padding of a header row.
LINE_PT, PAD_PT = 17.0, 4.0
# Excel refuses hyperlinks longer than this.
MAX_LINK = 2079

# Column kinds: how a value is written and shown.
FORMATS = {
    "int": "#,##0",
    "days": "0",
    "pct": "0.0%",
    "change": "+0.0%;-0.0%;0.0%",  # a relative change
    "points": '+0.0" 个百分点";-0.0" 个百分点";0.0',  # a rate's change, in percentage points
    "pp": "+0.0;-0.0;0.0",  # the same under a header that says 百分点
    "date": "yyyy-mm-dd",
    "time": "yyyy-mm-dd hh:mm",
}
LINK_FONT = Font(color="0563C1", underline="single")


@dataclass(frozen=True)
class Col:
    head: str
    width: float
    kind: str = "text"  # text | wrap | link | a FORMATS key


def _text_width(text: str) -> int:
    """Display width in Excel character units: CJK and full-width characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _lines(text: Any, width: float) -> int:
    """How many lines ``text`` wraps to in a column ``width`` characters wide (an estimate that
    errs on the tall side: a character's margin is left free)."""
    usable = max(width - 1, 1)
    return sum(max(1, math.ceil((_text_width(part) + 1) / usable)) for part in str(text).split("\n"))


def header_height(cols: list[Col]) -> float:
    """The height (points) at which every wrapped header of ``cols`` shows all its lines."""
    return max(_lines(c.head, c.width) for c in cols) * LINE_PT + PAD_PT


def row_height(values: list[Any], cols: list[Col]) -> float | None:
    """The height a row needs for its wrapped cells to show whole; None for one line.  Set
    explicitly because neither LibreOffice nor Excel grows a row of an openpyxl file on opening."""
    lines = max(
        (_lines(v, c.width) for v, c in zip(values, cols, strict=True) if c.kind == "wrap" and v),
        default=1,
    )
    return lines * LINE_PT + 2 if lines > 1 else None


class _Cells:
    """Styled write-only cells for one sheet: one prototype per style, copied onto each cell
    (cheap, unlike setting fonts and formats cell by cell)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.protos: dict[str, WriteOnlyCell] = {}

    def _proto(self, kind: str) -> WriteOnlyCell:
        proto = self.protos.get(kind)
        if proto is None:
            proto = WriteOnlyCell(self.ws)
            if kind in FORMATS:
                proto.number_format = FORMATS[kind]
            elif kind == "link":
                proto.font = LINK_FONT
            elif kind == "wrap":
                proto.alignment = Alignment(wrap_text=True)
            elif kind == "head":
                proto.font, proto.fill = HEAD_FONT, HEAD_FILL
                proto.alignment = Alignment(wrap_text=True, vertical="center")
            elif kind == "title":
                proto.font = Font(bold=True, size=14)
            elif kind == "section":
                proto.font = Font(bold=True, size=12)
            self.protos[kind] = proto
        return proto

    def cell(self, value: Any, kind: str = "text") -> Any:
        """``value`` as ``kind``; a plain value when it needs no style and is no formula."""
        if value is None or value == "":
            return None
        if kind == "date" and isinstance(value, str):
            value = date.fromisoformat(value[:10])
        if kind == "link" and not _linkable(value):
            kind = "text"
        if kind == "text" and not (isinstance(value, str) and value.startswith("=")):
            return value
        c = WriteOnlyCell(self.ws, value=value)
        if c.data_type == "f":
            c.data_type = "s"  # a portal's "=…" is text, never a formula
        c._style = copy(self._proto(kind)._style)
        if kind == "link":
            c.hyperlink = value
        return c

    def row(self, values: list[Any], kinds: list[str]) -> list[Any]:
        return [self.cell(v, k) for v, k in zip(values, kinds, strict=True)]


def _linkable(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) <= MAX_LINK


def _print_setup(ws: Any, title: str, table: bool = True) -> None:
    """A4 landscape, one page wide; a table sheet prints its grid and repeats its header row."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.75, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.gridLines = table
    ws.print_options.horizontalCentered = True
    ws.oddHeader.left.text = title.replace("&", "&&")
    ws.oddHeader.right.text = "&A"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    if table:
        ws.print_title_rows = "1:1"


def _table(
    wb: Workbook, digest: Digest, title: str, cols: list[Col], rows: list[list[Any]], freeze: str = "B2"
) -> tuple[Any, int]:
    """A table sheet: header row, typed rows, autofilter, frozen header, print setup.
    Returns the sheet (open: conditional formats may still be added) and its last row."""
    ws = wb.create_sheet(title)
    ws.freeze_panes = freeze
    for i, c in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(i)].width = c.width
    ws.row_dimensions[1].height = header_height(cols)
    _print_setup(ws, digest.title)  # before the first row: sheet properties go out with it
    cells = _Cells(ws)
    ws.append([cells.cell(c.head, "head") for c in cols])
    kinds = [c.kind for c in cols]
    wraps = any(c.kind == "wrap" for c in cols)
    for n, r in enumerate(rows, start=2):
        height = row_height(r, cols) if wraps else None
        if height:
            ws.row_dimensions[n].height = height  # read when the row is written, so set it first
        ws.append(cells.row(r, kinds))
    last = len(rows) + 1
    ref = f"A1:{get_column_letter(len(cols))}{last}"
    ws.auto_filter.ref = ref
    ws.print_area = ref  # a long URL's overflow would otherwise add empty columns to the print
    return ws, last


def _status_sheet(wb: Workbook, digest: Digest) -> None:
    years = digest.years
    cols = [Col("机关", 26), Col("类别", 7), Col("地区", 14), Col("来源", 9)]
    cols += [Col(f"{y}年", 7) for y in years]
    cols += [
        Col("截止日期", 11, "date"),
        Col("发布日期", 11, "date"),
        Col("逾期天数", 7, "days"),
        Col("链接", 24, "link"),
        Col("依据", 48, "wrap"),  # the date's source in plain words ("依据：网页标注的发布时间")
    ]
    rows = []
    for row, cells in digest.matrix():
        marks = [STATUS_LABELS.get(cells[y]["status"]) if y in cells else None for y in years]
        rows.append(
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
    ws, last = _table(wb, digest, "状态", cols, rows)
    # Colour by rule, not per cell: one rule per status instead of a style on every cell.
    span = f"E2:{get_column_letter(4 + len(years))}{max(last, 2)}"
    for status, colour in STATUS_FILLS.items():
        rule = CellIsRule(
            operator="equal",
            formula=[f'"{STATUS_LABELS[status]}"'],
            fill=PatternFill("solid", fgColor=colour, bgColor=colour),
        )
        ws.conditional_formatting.add(span, rule)


def _yoy_cols() -> list[Col]:
    heads = yoy_headers(fractions=True)
    cols = [Col("机关", 24)]
    for key in SHOWN_FIGURES:
        kinds = ("pct", "pct", "pp") if key == "disclosure_rate" else ("int", "int", "change")
        cols += [Col(heads[len(cols) - 1 + i], 9, k) for i, k in enumerate(kinds)]
    cols += [
        Col(heads[-5], 8, "days"),
        Col(heads[-4], 9, "pct"),
        Col(heads[-3], 6),
        Col(heads[-2], 6, "int"),
        Col(heads[-1], 44, "wrap"),
    ]
    return cols


def _yoy_sheet(wb: Workbook, digest: Digest) -> None:
    cols = _yoy_cols()  # kind, status and dates are on 状态, one sheet over
    heads = [c.head for c in cols]
    rows = [[y["agency"], *yoy_cells(y, fractions=True)] for y in digest.yoy]
    ws, last = _table(wb, digest, "同比", cols, rows)
    # Swings are highlighted by rule: a figure's cells are coloured when the 显著变化 column (the
    # swings monitor.yoy found) names it.  Per-cell styles would triple the time of a big sheet.
    swings = get_column_letter(len(cols))
    for i, key in enumerate(SHOWN_FIGURES):
        first, end = get_column_letter(2 + 3 * i), get_column_letter(4 + 3 * i)
        rule = FormulaRule(formula=[f'ISNUMBER(SEARCH("{FIGURE_LABELS[key]}",${swings}2))'], fill=SWING_FILL)
        ws.conditional_formatting.add(f"{first}2:{end}{max(last, 2)}", rule)
    copied = get_column_letter(heads.index("文字雷同") + 1)
    similar = get_column_letter(heads.index("五部分相似度") + 1)
    rule = FormulaRule(formula=[f'${copied}2="是"'], fill=SWING_FILL)
    ws.conditional_formatting.add(f"{similar}2:{copied}{max(last, 2)}", rule)


def _local_time(at: str | None, zone: ZoneInfo) -> datetime | None:
    """A stored UTC timestamp as a naive local datetime (spreadsheets have no time zones)."""
    if not at:
        return None
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone).replace(tzinfo=None)
    return moment


def _summary_sheet(wb: Workbook, digest: Digest) -> None:
    """汇总: a few small tables, one under the other; the figures come from the Digest's methods."""
    ws = wb.create_sheet("汇总")
    for i, w in enumerate([26, 14, 14, 17, 10, 14, 10, 10, 10], start=1):
        ws.column_dimensions[get_column_letter(i)].width = w
    _print_setup(ws, digest.title, table=False)  # before the first row, as in _table
    cells = _Cells(ws)
    ws.append([cells.cell(digest.title, "title")])
    generated = _local_time(digest.generated_at, ZoneInfo(digest.timezone))
    ws.append(["核查日期", cells.cell(digest.as_of, "date"), "生成时间", cells.cell(generated, "time")])
    ws.append([])

    counts = digest.summary()
    total = sum(counts.values())
    ws.append([cells.cell(f"{digest.year}年度各状态机关数", "section")])
    ws.append([cells.cell(h, "head") for h in ("状态", "机关数", "占比")])
    for s in STATUSES:
        ws.append(
            [
                STATUS_LABELS[s],
                cells.cell(counts[s], "int"),
                cells.cell(counts[s] / total if total else None, "pct"),
            ]
        )
    ws.append([cells.cell("合计", "head"), cells.cell(total, "int"), None])
    ws.append([])

    ws.append([cells.cell("按时率（按地区和类别；按时率 = 按时 ÷（按时 + 迟报 + 缺报））", "section")])
    heads = ("地区", "类别", "机关数", *[STATUS_LABELS[s] for s in STATUSES], "按时率")
    ws.append([cells.cell(h, "head") for h in heads])
    for r in digest.on_time_rates():
        region = "合计" if r["region"] is None else (r["region"] or "（未注明）")
        kind = "全部" if r["kind"] is None else KIND_LABELS.get(r["kind"], r["kind"])
        values = [r["agencies"], *[r[s] for s in STATUSES]]
        ws.append([region, kind, *[cells.cell(v, "int") for v in values], cells.cell(r["rate"], "pct")])
    ws.append([])

    swings = digest.top_swings(TOP_SWINGS)
    ws.append(
        [
            cells.cell(
                f"同比变化最大的指标（前 {TOP_SWINGS} 项，{digest.year} 对 {digest.year - 1}）", "section"
            )
        ]
    )
    ws.append([cells.cell(h, "head") for h in ("机关", "类别", "指标", "上年", "本年", "变化", "变化率")])
    for s in swings:
        value = "pct" if s["rate"] else "int"
        change = cells.cell(s["change"] * 100, "points") if s["rate"] else cells.cell(s["change"], "int")
        ws.append(
            [
                cells.cell(s["agency"]),
                KIND_LABELS.get(s["kind"], s["kind"]),
                s["label"],
                cells.cell(s["previous"], value),
                cells.cell(s["current"], value),
                change,
                cells.cell(s["relative"], "change"),
            ]
        )
    if not swings:
        ws.append(["（无显著变化）"])


def write_xlsx(digest: Digest, path: Path) -> None:
    with bulk():
        _write(digest, path)


def _write(digest: Digest, path: Path) -> None:
    wb = Workbook(write_only=True)
    _summary_sheet(wb, digest)
    _status_sheet(wb, digest)
    _yoy_sheet(wb, digest)
    _table(
        wb,
        digest,
        "数据质量",
        [Col("机关", 24), Col("年度", 6), Col("问题", 14), Col("说明", 60, "wrap"), Col("链接", 24, "link")],
        [[q["agency"], q["year"], q["label"], q["text"], q["url"]] for q in digest.quality],
    )
    zone = ZoneInfo(digest.timezone)
    _table(
        wb,
        digest,
        "变更",
        [
            Col("机关", 24),
            Col("年度", 6),
            Col("变更", 8),
            Col("时间", 17, "time"),
            Col("链接", 50, "link"),
            Col("内容", 50, "wrap"),
        ],
        [
            [c["agency"], c["year"], c["label"], _local_time(c["at"], zone), c["url"], c["detail"]]
            for c in digest.changes
        ],
    )
    _table(
        wb,
        digest,
        "名称匹配",
        [Col("报告署名", 30), Col("匹配为", 30), Col("方式", 12), Col("相似度", 8, "pct")],
        [
            [m["name"], m["canonical"], MATCH_METHOD_LABELS.get(m["method"], m["method"]), m["score"]]
            for m in digest.matches
        ],
    )
    wb.save(path)
