"""Render a data-model report dict into the documents real portals publish.

One layout (``build_layout()``: title, paragraphs, headings and the three tables as merged-cell grids
like a Word-exported 2021 / 2019-trial / legacy report) feeds every output format: an HTML
fragment (Word-style ``<td><p><span>``), DOCX (real gridSpan/vMerge), a text PDF (reportlab,
ruled tables, built-in STSong-Light CID font), a scanned PDF (page images only), DOC/WPS
(LibreOffice) and the two flattened text layouts seen in real corpora.

Drift options (keyword arguments, all off by default) imitate what hand-filled reports do;
``expected()`` tells what a correct parser must read back from a drifted rendering.
"""

from __future__ import annotations

import html
import io
import re
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.model import (
    PART_HEADINGS,
    TABLE1_2021_DOC_FIELDS,
    TABLE1_2021_DOC_LABELS,
    TABLE1_TRIAL_DOC_FIELDS,
    TABLE1_TRIAL_ITEM_FIELDS,
    TABLE2_COLUMNS,
    TABLE2_KEYS,
    TABLE2_ROWS,
    TABLE2_TRIAL_KEYS,
    TABLE3_FIELD_LABELS,
    TABLE3_FIELDS,
    TABLE3_GROUPS,
)

DRIFT_OPTIONS = (
    "typos",  # label typos: 本年度止件数 for 本年废止件数, ...
    "stray_chars",  # a stray digit glued to labels ("0二、上年结转…"), [bookmark: _GoBack] markers
    "halfwidth_brackets",  # (一) for （一）
    "split_labels",  # long labels broken over two lines inside their cell
    "split_cells",  # Table 2 labels that span columns written across those cells instead
    "no_headings",  # no "表1 …" table headings
    "drop_rows",  # iterable of "table1.<key>" / "table2.<key>": rows left out
    "blank_cells",  # iterable of where-strings ("table2.disclosed.natural_person"): empty cells
    "zero_as",  # write every 0 as this ("—", "/", "无" or "")
    "fullwidth_digits",  # ０１２ for 012
    "padded_numbers",  # " 12 " (spaces / no-break spaces around numbers)
    "money_unit",  # "万元" or "元": money written with a unit ("160.5964万元", "251000元")
    "part_digits",  # "5、" for "五、" in part headings
    "sign_off",  # end the report with the agency and the publication date (a body date)
    "split_containers",  # HTML only: the report in sibling containers (prose, tables, prose)
    # Layouts of real reports (issue 10):
    "spaced_digits",  # digits of a count spaced apart ("1 2"); in PDF each digit its own glyph run
    "table3_layout",  # "split": three tables, one per group; "stacked": group headings on rows of their own
    "table1_items_as_text",  # "before" / "after": 行政许可 … 行政事业性收费 as text lines ("行政许可 97")
    "wrapped_rows",  # text: long row labels wrapped over two lines, the numbers alone on the next line
    "ocr_misreads",  # one character of every label of 4+ characters misread as a look-alike
    "trial_other_row",  # a 2021 Table 2 with one 2019-style （六）其他处理 row for its three other_* rows
)

TYPOS = {
    "本年废止件数": "本年度止件数",
    "本年新收政府信息公开申请数量": "本年新收政府信息公开申请数",
    "保护第三方合法权益": "保护第三方合法权利",
    "属于四类过程性信息": "属于四类过程信息",
    "要求提供公开出版物": "要求提供公开出版",
}
PLACEHOLDERS = ("—", "/", "无", "－", "-", "")

# Look-alike characters OCR engines confuse (the second read for the first).
OCR_MISREADS = dict(
    zip(
        "本申请处理密禁复诉议许罚强收费第方权类事项查掌制确举投重版量新获补期缴结转年数分予维持纠审",
        "木甲清外埋蜜蔡夏析仪浒罸弹牧赀笫万杈娄亊顼杳堂刺碓拳没垂叛最亲荻朴朋徼给传午敉兮子雉特纣宙",
        strict=True,
    )
)


@dataclass
class Cell:
    row: int
    col: int
    text: str
    rowspan: int = 1
    colspan: int = 1
    head: bool = False  # a label or heading cell (bold in some renderers)


@dataclass
class Table:
    nrows: int
    ncols: int
    cells: list[Cell] = field(default_factory=list)
    widths: list[float] = field(default_factory=list)  # relative column widths

    def add(self, row: int, col: int, text: str, rowspan: int = 1, colspan: int = 1, head: bool = False):
        self.cells.append(Cell(row, col, text, rowspan, colspan, head))

    def grid(self) -> list[list[str | None]]:
        """Every grid slot: origin cells hold their text, merged continuations hold None."""
        g: list[list[str | None]] = [[None] * self.ncols for _ in range(self.nrows)]
        for c in self.cells:
            g[c.row][c.col] = c.text
        return g

    def starts(self) -> dict[tuple[int, int], Cell]:
        return {(c.row, c.col): c for c in self.cells}


# A block of the document: ("title" | "p" | "h" | "caption", text) or ("table", Table).
Block = tuple[str, Any]


# -- values and labels with drift ------------------------------------------------------------


class _Drift:
    def __init__(self, opts: dict[str, Any]):
        unknown = set(opts) - set(DRIFT_OPTIONS) - {"title"}
        if unknown:
            raise TypeError(f"unknown drift option(s): {sorted(unknown)}")
        self.o = opts
        self.blank = set(opts.get("blank_cells") or ())
        self.drop = set(opts.get("drop_rows") or ())
        self._n = 0

    def label(self, text: str) -> str:
        if self.o.get("typos"):
            for a, b in TYPOS.items():
                text = text.replace(a, b)
        if self.o.get("ocr_misreads"):
            text = _misread(text)
        if self.o.get("halfwidth_brackets"):
            text = text.replace("（", "(").replace("）", ")")
        if self.o.get("split_labels") and len(text) > 14:
            cut = len(text) // 2
            text = text[:cut] + "\n" + text[cut:]
        return text

    def row_label(self, text: str) -> str:
        """A row label, where a stray digit or Word bookmark may be glued on."""
        text = self.label(text)
        if self.o.get("stray_chars"):
            self._n += 1
            if self._n % 3 == 0:
                text = "0" + text
            elif self._n % 3 == 1:
                text = f"[bookmark: _Hlk6697{self._n:04d}]" + text
        return text

    def number(self, value: Any, where: str, money: bool = False, yuan: bool = False) -> str:
        if where in self.blank or value is None:
            return ""
        if value == 0 and self.o.get("zero_as") is not None:
            return self.o["zero_as"]
        if money:
            unit = self.o.get("money_unit")
            if yuan:  # the value is in yuan (trial procurement)
                s = _fmt_money(value) if unit != "万元" else _fmt_money(value / 10000)
                s += "万元" if unit == "万元" else ("元" if unit == "元" else "")
            elif unit == "元":
                s = _fmt_money(round(value * 10000, 2)) + "元"
            else:
                s = _fmt_money(value) + ("万元" if unit == "万元" else "")
        else:
            s = str(int(value))
            if self.o.get("spaced_digits") and len(s) > 1:
                s = " ".join(s)
        if self.o.get("fullwidth_digits"):
            s = s.translate(_FULLWIDTH)
        if self.o.get("padded_numbers"):
            s = " " + s + "\u00a0"
        return s

    def part(self, heading: str) -> str:
        if self.o.get("part_digits") and heading.startswith("五、"):
            return "5、" + heading[2:]
        return heading


def _misread(text: str) -> str:
    """The label with its last look-alike character misread, when it has 4+ CJK characters."""
    if sum("\u4e00" <= ch <= "\u9fff" for ch in text) < 4:
        return text
    for i in range(len(text) - 1, -1, -1):
        if text[i] in OCR_MISREADS:
            return text[:i] + OCR_MISREADS[text[i]] + text[i + 1 :]
    return text


_FULLWIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")


def _fmt_money(v: float) -> str:
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    return s or "0"


# -- the three tables --------------------------------------------------------------------------


def _table1_2021(t1: dict[str, Any], d: _Drift) -> Table:
    t = Table(0, 4, widths=[2.2, 1.3, 1.3, 1.3])
    r = 0

    def head(text: str) -> None:
        nonlocal r
        t.add(r, 0, d.label(text), colspan=4, head=True)
        r += 1

    def cols(labels: list[str]) -> None:
        nonlocal r
        t.add(r, 0, "信息内容", head=True)
        if len(labels) == 3:
            for i, lab in enumerate(labels):
                t.add(r, 1 + i, d.label(lab), head=True)
        else:
            t.add(r, 1, d.label(labels[0]), colspan=3, head=True)
        r += 1

    def item(key: str, label: str, values: list[str]) -> None:
        nonlocal r
        if f"table1.{key}" in d.drop:
            return
        t.add(r, 0, d.row_label(label), head=True)
        if len(values) == 3:
            for i, v in enumerate(values):
                t.add(r, 1 + i, v)
        else:
            t.add(r, 1, values[0], colspan=3)
        r += 1

    head("第二十条第（一）项")
    cols(list(TABLE1_2021_DOC_LABELS))
    for key, label in (("rules", "规章"), ("normative_docs", "行政规范性文件")):
        vals = [d.number(t1[key][f], f"table1.{key}.{f}") for f in TABLE1_2021_DOC_FIELDS]
        item(key, label, vals)
    if d.o.get("table1_items_as_text"):  # the other items are text lines beside the table
        t.nrows = r
        return t
    head("第二十条第（五）项")
    cols(["本年处理决定数量"])
    item("licensing", "行政许可", [d.number(t1["licensing"], "table1.licensing")])
    head("第二十条第（六）项")
    cols(["本年处理决定数量"])
    item("penalty", "行政处罚", [d.number(t1["penalty"], "table1.penalty")])
    item("coercion", "行政强制", [d.number(t1["coercion"], "table1.coercion")])
    head("第二十条第（八）项")
    cols(["本年收费金额（单位：万元）"])
    fee = d.number(t1["fees_10k_yuan"], "table1.fees_10k_yuan", money=True)
    item("fees_10k_yuan", "行政事业性收费", [fee])
    t.nrows = r
    return t


TABLE1_TEXT_ITEMS = (
    ("licensing", "行政许可"),
    ("penalty", "行政处罚"),
    ("coercion", "行政强制"),
    ("fees_10k_yuan", "行政事业性收费（万元）"),
)


def _table1_item_lines(t1: dict[str, Any], d: _Drift) -> list[str]:
    """``table1_items_as_text``: "行政许可 97"-style lines for the items after 规章/规范性文件."""
    lines = []
    for key, label in TABLE1_TEXT_ITEMS:
        if f"table1.{key}" in d.drop:
            continue
        value = d.number(t1[key], f"table1.{key}", money=key == "fees_10k_yuan")
        lines.append(f"{d.row_label(label)} {value}".rstrip())
    return lines


def _table1_trial(t1: dict[str, Any], d: _Drift) -> Table:
    t = Table(0, 4, widths=[2.2, 1.3, 1.3, 1.3])
    r = 0

    def head(text: str, labels: list[str]) -> None:
        nonlocal r
        t.add(r, 0, d.label(text), colspan=4, head=True)
        t.add(r + 1, 0, "信息内容", head=True)
        for i, lab in enumerate(labels):
            span = 2 if (len(labels) == 2 and i == 1) else 1
            t.add(r + 1, 1 + i, d.label(lab), colspan=span, head=True)
        r += 2

    def item(key: str, label: str, fields: tuple[str, ...], money_last: bool = False) -> None:
        nonlocal r
        if f"table1.{key}" in d.drop:
            return
        t.add(r, 0, d.row_label(label), head=True)
        for i, f in enumerate(fields):
            money = money_last and i == len(fields) - 1
            v = d.number(t1[key][f], f"table1.{key}.{f}", money=money, yuan=money)
            span = 2 if (len(fields) == 2 and i == 1) else 1
            t.add(r, 1 + i, v, colspan=span)
        r += 1

    head("第二十条第（一）项", ["本年新制作数量", "本年新公开数量", "对外公开总数量"])
    item("rules", "规章", TABLE1_TRIAL_DOC_FIELDS)
    item("normative_docs", "规范性文件", TABLE1_TRIAL_DOC_FIELDS)
    head("第二十条第（五）项", ["上一年项目数量", "本年增/减", "处理决定数量"])
    item("licensing", "行政许可", TABLE1_TRIAL_ITEM_FIELDS)
    item("other_services", "其他对外管理服务事项", TABLE1_TRIAL_ITEM_FIELDS)
    head("第二十条第（六）项", ["上一年项目数量", "本年增/减", "处理决定数量"])
    item("penalty", "行政处罚", TABLE1_TRIAL_ITEM_FIELDS)
    item("coercion", "行政强制", TABLE1_TRIAL_ITEM_FIELDS)
    head("第二十条第（八）项", ["上一年项目数量", "本年增/减"])
    item("fees", "行政事业性收费", ("prev_items", "change"))
    head("第二十条第（九）项", ["采购项目数量", "采购总金额"])
    item("procurement", "政府集中采购", ("projects", "amount_yuan"), money_last=True)
    t.nrows = r
    return t


TRIAL_OTHER_LABEL = "（六）其他处理"


def _table2(t2: dict[str, Any], d: _Drift, trial: bool) -> Table:
    keys = TABLE2_TRIAL_KEYS if trial else TABLE2_KEYS
    if d.o.get("trial_other_row") and not trial:  # the 2019 form's one （六） row in a 2021 table
        keys = TABLE2_TRIAL_KEYS
        others = ("other_no_correction", "other_unpaid_fee", "other_other")
        t2 = {**t2, "other_processing": [sum(t2[k][c] for k in others) for c in range(7)]}
    labels = dict(TABLE2_ROWS)
    labels["other_processing"] = TRIAL_OTHER_LABEL
    present = [k for k in keys if f"table2.{k}" not in d.drop]
    t = Table(3 + len(present), 10, widths=[1.3, 1.3, 2.8] + [0.75] * 7)
    t.add(0, 0, d.label("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"), 3, 3, True)
    t.add(0, 3, "申请人情况", 1, 7, True)
    t.add(1, 3, "自然人", 2, 1, True)
    t.add(1, 4, "法人或其他组织", 1, 5, True)
    t.add(1, 9, "总计", 2, 1, True)
    for i, lab in enumerate(("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")):
        t.add(2, 4 + i, lab, head=True)
    groups = {
        "withheld": "（三）不予公开",
        "unable": "（四）无法提供",
        "rejected": "（五）不予处理",
        "other": "（六）其他处理",
    }
    handled = [k for k in present if k not in ("new_received", "carried_over", "carried_forward")]
    r = 3

    def spanning(row: int, col: int, text: str, span: int) -> None:
        if d.o.get("split_cells"):  # the label cut into pieces, one per grid cell
            cut = [len(text) * i // span for i in range(span + 1)]
            for i in range(span):
                t.add(row, col + i, text[cut[i] : cut[i + 1]], head=True)
        else:
            t.add(row, col, text, 1, span, True)

    for k in present:
        if k in ("new_received", "carried_over", "carried_forward"):
            spanning(r, 0, d.row_label(labels[k]), 3)
        else:
            if k == handled[0]:
                t.add(r, 0, d.label("三、本年度办理结果"), len(handled), 1, True)
            prefix = k.split("_")[0]
            if prefix in groups and k != "other_processing":
                members = [m for m in handled if m.split("_")[0] == prefix]
                if k == members[0]:
                    t.add(r, 1, d.label(groups[prefix]), len(members), 1, True)
                t.add(r, 2, d.row_label(labels[k]), head=True)
            else:
                spanning(r, 1, d.row_label(labels[k]), 2)
        for c, col in enumerate(TABLE2_COLUMNS):
            t.add(r, 3 + c, d.number(t2[k][c], f"table2.{k}.{col}"))
        r += 1
    return t


TABLE3_SPLIT_HEADINGS = (
    "（一）行政复议",
    "（二）行政诉讼（未经复议直接起诉）",
    "（三）行政诉讼（复议后起诉）",
)


def _table3_blocks(t3: dict[str, Any], d: _Drift) -> list[Block]:
    """Table 3 as one table, or per ``table3_layout``: "split", three small tables each under
    its group heading line; "stacked", one five-column table with a heading row per group."""
    layout = d.o.get("table3_layout")
    if not layout:
        return [("table", _table3(t3, d))]
    if layout not in ("split", "stacked"):
        raise ValueError(f"table3_layout must be 'split' or 'stacked', not {layout!r}")
    parts = []
    for heading, group in zip(TABLE3_SPLIT_HEADINGS, TABLE3_GROUPS, strict=True):
        t = Table(2, 5, widths=[1.0] * 5)
        for i, lab in enumerate(TABLE3_FIELD_LABELS):
            t.add(0, i, d.label(lab), head=True)
        for i, f in enumerate(TABLE3_FIELDS):
            t.add(1, i, d.number(t3[group][f], f"table3.{group}.{f}"))
        parts.append((d.label(heading), t))
    if layout == "split":
        return [b for heading, t in parts for b in (("p", heading), ("table", t))]
    stacked = Table(9, 5, widths=[1.0] * 5)
    for g, (heading, t) in enumerate(parts):
        stacked.add(3 * g, 0, heading, colspan=5, head=True)
        stacked.cells += [Cell(3 * g + 1 + c.row, c.col, c.text, head=c.head) for c in t.cells]
    return [("table", stacked)]


def _table3(t3: dict[str, Any], d: _Drift) -> Table:
    t = Table(4, 15, widths=[1.0] * 15)
    t.add(0, 0, "行政复议", 1, 5, True)
    t.add(0, 5, "行政诉讼", 1, 10, True)
    for i, lab in enumerate(TABLE3_FIELD_LABELS):
        t.add(1, i, d.label(lab), 2, 1, True)
    t.add(1, 5, "未经复议直接起诉", 1, 5, True)
    t.add(1, 10, "复议后起诉", 1, 5, True)
    for g in range(2):
        for i, lab in enumerate(TABLE3_FIELD_LABELS):
            t.add(2, 5 + 5 * g + i, d.label(lab), head=True)
    for g, group in enumerate(TABLE3_GROUPS):
        for i, f in enumerate(TABLE3_FIELDS):
            t.add(3, 5 * g + i, d.number(t3[group][f], f"table3.{group}.{f}"))
    return t


# -- the document ------------------------------------------------------------------------------


def title_of(report: dict[str, Any]) -> str:
    return f"{report['agency']}{report['year']}年政府信息公开工作年度报告"


def _paras(text: str | None) -> list[str]:
    return [p for p in (text or "").split("\n") if p.strip()]


def build_layout(report: dict[str, Any], **drift: Any) -> list[Block]:
    """The report as an ordered list of blocks, drift applied."""
    title = drift.pop("title", False)
    d = _Drift(drift)
    agency, year = report["agency"], report["year"]
    template = report.get("template") or "2021"
    secs = report.get("sections") or {}
    blocks: list[Block] = []
    if title:
        blocks.append(("title", title_of(report)))
    if template == "legacy":
        blocks.append(
            (
                "p",
                f"本报告由{agency}依据《中华人民共和国政府信息公开条例》要求编制。本报告中所列数据统计期限自{year}年1月1日起至{year}年12月31日止。",
            )
        )
        blocks.append(("h", "一、概述"))
        blocks += [("p", p) for p in _paras(secs.get("overview"))]
        blocks.append(("h", "二、存在的主要问题和改进措施"))
        blocks += [("p", p) for p in _paras(secs.get("problems"))]
        blocks.append(("h", "三、其他需要报告的事项"))
        blocks += [("p", p) for p in _paras(secs.get("other"))]
        _sign_off(blocks, report, d)
        return blocks
    trial = template == "2019-trial"
    fmt_no = "国办公开办函〔2019〕60号" if trial else "国办公开办函〔2021〕30号"
    blocks.append(
        (
            "p",
            f"本报告由{agency}根据《中华人民共和国政府信息公开条例》和《中华人民共和国政府信息公开工作年度报告格式》"
            f"（{fmt_no}）要求编制。全文包括总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况、"
            "政府信息公开行政复议和行政诉讼情况、存在的主要问题及改进情况、其他需要报告的事项。"
            f"本报告中所列数据统计期限自{year}年1月1日起至{year}年12月31日止。",
        )
    )
    blocks.append(("h", d.part(PART_HEADINGS["overview"])))
    blocks += [("p", p) for p in _paras(secs.get("overview"))]
    blocks.append(("h", d.part(PART_HEADINGS["table1"])))
    if not d.o.get("no_headings"):
        blocks.append(("caption", "表1 主动公开政府信息情况"))
    t1 = report.get("table1") or {}
    items_as_text = d.o.get("table1_items_as_text")
    if items_as_text not in (None, False, "before", "after"):
        raise ValueError(f"table1_items_as_text must be 'before' or 'after', not {items_as_text!r}")
    item_lines = [("p", line) for line in _table1_item_lines(t1, d)] if items_as_text and not trial else []
    if items_as_text == "before":
        blocks += item_lines
    blocks.append(("table", _table1_trial(t1, d) if trial else _table1_2021(t1, d)))
    if items_as_text == "after":
        blocks += item_lines
    blocks.append(("h", d.part(PART_HEADINGS["table2"])))
    if not d.o.get("no_headings"):
        blocks.append(("caption", "表2 收到和处理政府信息公开申请情况"))
    blocks.append(("table", _table2(report["table2"], d, trial)))
    blocks.append(("h", d.part(PART_HEADINGS["table3"])))
    if not d.o.get("no_headings"):
        blocks.append(("caption", "表3 政府信息公开行政复议、行政诉讼情况"))
    blocks += _table3_blocks(report["table3"], d)
    blocks.append(("h", d.part(PART_HEADINGS["problems"])))
    blocks += [("p", p) for p in _paras(secs.get("problems"))]
    blocks.append(("h", d.part(PART_HEADINGS["other"])))
    blocks += [("p", p) for p in _paras(secs.get("other"))]
    _sign_off(blocks, report, d)
    return blocks


def _sign_off(blocks: list[Block], report: dict[str, Any], d: _Drift) -> None:
    pub = report.get("published_at")
    if d.o.get("sign_off") and pub:
        y, m, dd = (int(x) for x in pub[:10].split("-"))
        blocks.append(("sign", report["agency"]))
        blocks.append(("sign", f"{y}年{m}月{dd}日"))


# -- what a parser must read back ---------------------------------------------------------------


def expected(report: dict[str, Any], **drift: Any) -> dict[str, Any]:
    """The data model a correct parser reads from ``render_*(report, **drift)``.

    Blank cells, placeholder zeros and dropped rows become None; ``issues`` lists the
    (code, where) pairs that must be reported for them (sum checks are not predicted here).
    """
    import copy

    drift.pop("title", None)
    d = _Drift(drift)
    out = copy.deepcopy(report)
    out["issues"] = []
    if (report.get("template") or "2021") == "legacy":
        out["table1"], out["table2"], out["table3"] = {}, {}, {}
        out["issues"].append(("template_not_found", "tables"))
        return out
    zero_null = d.o.get("zero_as") is not None

    def null(v: Any, where: str) -> Any:
        if where in d.blank or v is None or (zero_null and v == 0):
            out["issues"].append(("cell_blank", where))
            return None
        return v

    t1 = out["table1"]
    trial = report.get("template") == "2019-trial"
    as_text = {k for k, _ in TABLE1_TEXT_ITEMS} if d.o.get("table1_items_as_text") and not trial else set()
    for key, val in list(t1.items()):
        if key in as_text and f"table1.{key}" not in d.drop and not d.number(val, f"table1.{key}"):
            # "行政许可" with no number after it is no item line: the row is missing, not blank.
            t1[key] = None
            out["issues"].append(("row_missing", f"table1.{key}"))
        elif f"table1.{key}" in d.drop:
            t1[key] = {f: None for f in val} if isinstance(val, dict) else None
            out["issues"].append(("row_missing", f"table1.{key}"))
        elif isinstance(val, dict):
            t1[key] = {f: null(v, f"table1.{key}.{f}") for f, v in val.items()}
        else:
            t1[key] = null(val, f"table1.{key}")
    for key, vals in out["table2"].items():
        if d.o.get("trial_other_row") and key.startswith("other_") and key in TABLE2_KEYS:
            out["table2"][key] = [None] * 7  # one （六） row cannot be split into its three
            out["issues"].append(("row_missing", f"table2.{key}"))
        elif f"table2.{key}" in d.drop:
            out["table2"][key] = [None] * 7
            out["issues"].append(("row_missing", f"table2.{key}"))
        else:
            out["table2"][key] = [
                null(v, f"table2.{key}.{c}") for v, c in zip(vals, TABLE2_COLUMNS, strict=True)
            ]
    for g, vals in out["table3"].items():
        out["table3"][g] = {f: null(v, f"table3.{g}.{f}") for f, v in vals.items()}
    return out


# -- HTML --------------------------------------------------------------------------------------

_SPAN = '<span style="font-family:仿宋_GB2312;font-size:16px">'
_TD_SPAN = '<span style="font-family:宋体;font-size:12px">'


def _esc_lines(text: str, span: str = _TD_SPAN) -> str:
    return "".join(
        f'<p class="MsoNormal" align="center">{span}{html.escape(line)}</span></p>'
        for line in text.split("\n")
    )


def _html_table(t: Table) -> str:
    out = ['<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" width="600"><tbody>']
    starts = t.starts()
    for r in range(t.nrows):
        out.append("<tr>")
        for c in range(t.ncols):
            cell = starts.get((r, c))
            if cell is None:
                continue
            attrs = ""
            if cell.rowspan > 1:
                attrs += f' rowspan="{cell.rowspan}"'
            if cell.colspan > 1:
                attrs += f' colspan="{cell.colspan}"'
            out.append(f'<td valign="center"{attrs}>{_esc_lines(cell.text)}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _html_block(kind: str, val: Any) -> str:
    if kind == "table":
        return _html_table(val)
    if kind == "title":
        return f'<p class="MsoNormal" align="center"><b><span style="font-size:22px">{html.escape(val)}</span></b></p>'
    if kind == "h":
        return f'<p class="MsoNormal" style="text-indent:2em"><b>{_SPAN}{html.escape(val)}</span></b></p>'
    if kind == "caption":
        return f'<p class="MsoNormal" align="center">{_SPAN}{html.escape(val)}</span></p>'
    if kind == "sign":
        return f'<p class="MsoNormal" align="right">{_SPAN}{html.escape(val)}</span></p>'
    return f'<p class="MsoNormal" style="text-indent:2em">{_SPAN}{html.escape(val)}</span></p>'


def _split_points(blocks: list[Block]) -> tuple[int, int]:
    """Where ``split_containers`` cuts the blocks: around the tables, or (no tables: a legacy
    report) before the second-to-last part heading, with an empty middle."""
    tables = [i for i, (kind, _) in enumerate(blocks) if kind == "table"]
    if tables:
        return tables[0], tables[-1] + 1
    heads = [i for i, (kind, _) in enumerate(blocks) if kind == "h"]
    cut = heads[-2] if len(heads) >= 2 else len(blocks)
    return cut, cut


def render_html_fragment(report: dict[str, Any], **drift: Any) -> str:
    """The report body as Word-exported HTML (paragraphs and real tables with rowspan/colspan).

    ``split_containers``: the report as sibling containers, as some portals publish it: the
    prose before the tables, the tables (with the headings between them), the prose after.
    """
    split = drift.pop("split_containers", False)
    blocks = build_layout(report, **drift)
    if not split:
        return "\n".join(_html_block(kind, val) for kind, val in blocks)
    a, b = _split_points(blocks)
    parts = [blocks[:a], blocks[a:b], blocks[b:]]
    return "\n".join(
        f'<div class="{cls}">' + "\n".join(_html_block(kind, val) for kind, val in part) + "</div>"
        for cls, part in zip(("TRS_Editor", "tables", "wz"), parts, strict=True)
        if part
    )


def render_html_page(report: dict[str, Any], **drift: Any) -> str:
    """A standalone HTML page (head metadata, title, body): an HTML report served as a file."""
    title = title_of(report)
    pub = report.get("published_at") or ""
    body = render_html_fragment(report, **drift)
    if not drift.get("split_containers"):
        body = f'<div class="TRS_Editor" id="zoom">{body}</div>'
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<meta name="ArticleTitle" content="{html.escape(title)}">'
        + (f'<meta name="PubDate" content="{pub} 09:00">' if pub else "")
        + f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>"
    )


# -- flattened text ----------------------------------------------------------------------------


def render_text(report: dict[str, Any], layout: str = "tabs", **drift: Any) -> str:
    """Plain text as real corpora flatten it.

    ``tabs``: a table row per line, every grid slot separated by a TAB (jinxiang-kjj-2023.txt);
    ``cells``: one cell per line prefixed by a TAB, a blank line after each row, vertical
    continuations as empty cells, Word bookmarks kept (qingzhou-kjj-2024.txt);
    ``markdown``: what PDF-to-Markdown converters write: ``#`` headings and ``| a | b |`` table
    rows under a ``|---|`` line, merged slots as empty cells, a label spanning columns split
    across two of them, ``<br>`` for a line break inside a cell.

    ``wrapped_rows`` (``tabs`` only): a row label of 8+ characters on two lines of its own,
    its numbers alone on the next line, as PDF text dumps wrap a table.
    """
    mode = layout
    if mode not in ("tabs", "cells", "markdown"):
        raise ValueError(f"layout must be 'tabs', 'cells' or 'markdown', not {mode!r}")
    wrapped = drift.get("wrapped_rows")
    lines: list[str] = []
    for kind, val in build_layout(report, **drift):
        if kind != "table":
            if mode == "markdown":
                val = {"title": "# ", "h": "## "}.get(kind, "") + val
            lines += [val, ""] if mode in ("tabs", "markdown") else [val]
            continue
        t: Table = val
        if mode == "markdown":
            lines += _markdown_table(t) + [""]
            continue
        grid = t.grid()
        if mode == "tabs":
            starts = t.starts()
            for r, row in enumerate(grid):
                labels = [x for c, x in enumerate(row) if x is not None and starts[(r, c)].head]
                values = [x for c, x in enumerate(row) if x is not None and not starts[(r, c)].head]
                label = "".join(labels).replace("\n", "")
                if wrapped and len(label) >= 8 and len(values) >= 2:
                    lines += [label[: len(label) // 2], label[len(label) // 2 :], "\t".join(values)]
                    continue
                lines.append("\t".join((x or "").replace("\n", "") for x in row))
            lines.append("")
            continue
        starts = t.starts()
        covered = {(c.row + dr, c.col) for c in t.cells for dr in range(1, c.rowspan)}
        for r in range(t.nrows):
            for c in range(t.ncols):
                if (r, c) in starts:
                    lines.append("\t" + starts[(r, c)].text)
                elif (r, c) in covered:
                    lines.append("\t")
            lines.append("")
        lines.append("")
    return "\n".join(lines) + "\n"


def _markdown_table(t: Table) -> list[str]:
    """A table as ``| … |`` rows: a heading cell spanning columns split over two of them (as
    converters cut merged cells), other merged slots empty."""
    grid: list[list[str]] = [[""] * t.ncols for _ in range(t.nrows)]
    for c in t.cells:
        text = c.text.replace("\n", "<br>")
        if c.head and c.colspan > 1 and len(text) >= 4 and "<br>" not in text:
            half = len(text) // 2
            grid[c.row][c.col], grid[c.row][c.col + 1] = text[:half], text[half:]
        else:
            grid[c.row][c.col] = text
    rows = ["| " + " | ".join(row) + " |" for row in grid]
    return rows[:1] + ["|" + "---|" * t.ncols] + rows[1:]


# -- DOCX --------------------------------------------------------------------------------------


def render_docx(report: dict[str, Any], **drift: Any) -> bytes:
    """A DOCX with real merged cells (gridSpan / vMerge) and an eastAsia 宋体 font."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "宋体"
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    for kind, val in build_layout(report, **drift):
        if kind == "table":
            # Built as WordprocessingML directly: python-docx's cell.merge() is far too slow
            # for a 300-report corpus.  gridSpan for merges across, vMerge restart/continue down.
            doc.element.body.insert(len(doc.element.body) - 1, parse_xml(_docx_table_xml(val)))
            doc.add_paragraph()
            continue
        p = doc.add_paragraph(val)
        if kind == "title":
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            for run in p.runs:
                run.font.size = Pt(18)
                run.bold = True
        elif kind in ("h",):
            for run in p.runs:
                run.bold = True
        elif kind == "caption":
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif kind == "sign":
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.core_properties.title = title_of(report)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


_W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _docx_table_xml(t: Table) -> str:
    total = sum(t.widths)
    widths = [int(9000 * w / total) for w in t.widths]
    starts = t.starts()
    cont = {}  # (row, col) -> the cell whose vertical merge continues there
    for c in t.cells:
        for dr in range(1, c.rowspan):
            cont[(c.row + dr, c.col)] = c
    border = "".join(
        f'<w:{b} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for b in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    out = [
        f'<w:tbl {_W_NS}><w:tblPr><w:tblW w:w="0" w:type="auto"/><w:jc w:val="center"/>'
        f"<w:tblBorders>{border}</w:tblBorders></w:tblPr><w:tblGrid>"
        + "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
        + "</w:tblGrid>"
    ]

    def tc(text: str, span: int, vmerge: str | None, width: int) -> str:
        pr = f'<w:tcW w:w="{width}" w:type="dxa"/>'
        if span > 1:
            pr += f'<w:gridSpan w:val="{span}"/>'
        if vmerge:
            pr += f'<w:vMerge w:val="{vmerge}"/>' if vmerge == "restart" else "<w:vMerge/>"
        paras = "".join(
            '<w:p><w:pPr><w:spacing w:after="0"/><w:jc w:val="center"/></w:pPr>'
            + (
                f'<w:r><w:rPr><w:sz w:val="16"/></w:rPr><w:t xml:space="preserve">{html.escape(line)}</w:t></w:r>'
                if line
                else ""
            )
            + "</w:p>"
            for line in (text.split("\n") if text else [""])
        )
        return f"<w:tc><w:tcPr>{pr}</w:tcPr>{paras}</w:tc>"

    for r in range(t.nrows):
        out.append("<w:tr>")
        c = 0
        while c < t.ncols:
            cell = starts.get((r, c)) or cont.get((r, c))
            if cell is None:  # an uncovered slot: an empty cell keeps the grid whole
                out.append(tc("", 1, None, widths[c]))
                c += 1
                continue
            width = sum(widths[c : c + cell.colspan])
            if (r, c) in starts:
                out.append(tc(cell.text, cell.colspan, "restart" if cell.rowspan > 1 else None, width))
            else:
                out.append(tc("", cell.colspan, "continue", width))
            c += cell.colspan
        out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


# -- PDF ---------------------------------------------------------------------------------------

_FONT = "STSong-Light"


def _pdf_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    return _FONT


def render_pdf(report: dict[str, Any], **drift: Any) -> bytes:
    """A text PDF (reportlab, STSong-Light CID font, not embedded) with ruled, merged tables.

    Table 2 is long enough to split across pages, as in real reports.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as RLTable

    font = _pdf_font()
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, firstLineIndent=22, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=12)
    title_st = ParagraphStyle("title", parent=body, fontSize=16, leading=24, alignment=1, firstLineIndent=0)
    cap = ParagraphStyle("cap", parent=body, alignment=1, firstLineIndent=0)
    sign = ParagraphStyle("sign", parent=body, alignment=2, firstLineIndent=0)
    cell_st = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9, wordWrap="CJK", alignment=1)
    width = A4[0] - 2 * 50
    story: list[Any] = []
    spaced = drift.get("spaced_digits")
    for kind, val in build_layout(report, **drift):
        if kind == "table":
            t: Table = val
            grid = [
                [
                    _spread(x, font, cell_st.fontSize, 1.5)
                    if spaced and x and _SPACED.match(x)
                    else Paragraph(html.escape(x or "").replace("\n", "<br/>"), cell_st)
                    for x in row
                ]
                for row in t.grid()
            ]
            total = sum(t.widths)
            widths = [width * w / total for w in t.widths]
            style = [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 1.5),
                ("RIGHTPADDING", (0, 0), (-1, -1), 1.5),
            ]
            for c in t.cells:
                if c.rowspan > 1 or c.colspan > 1:
                    style.append(("SPAN", (c.col, c.row), (c.col + c.colspan - 1, c.row + c.rowspan - 1)))
            story.append(RLTable(grid, colWidths=widths, style=TableStyle(style), splitByRow=1))
            story.append(Spacer(1, 8))
            continue
        st = {"title": title_st, "h": head, "caption": cap, "sign": sign}.get(kind, body)
        story.append(Paragraph(html.escape(val), st))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=50, rightMargin=50, topMargin=50, bottomMargin=50, title=title_of(report)
    )
    doc.build(story)
    return buf.getvalue()


_SPACED = re.compile(r"^\s*\d( \d)+\s*$")


def _spread(text: str, font: str, size: float, pad: float) -> Any:
    """A cell's digits spread over its width (分散对齐), each drawn as its own glyph run, the
    outer ones reaching just over the cell's ruling lines as in a narrow Word cell."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Flowable

    digits = text.split()
    over = pad + 0.6  # from the text box edge to just past the ruling line

    class Spread(Flowable):
        def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
            self.width = avail_width
            return avail_width, size + 2

        def draw(self) -> None:
            glyph = stringWidth("0", font, size)
            step = (self.width + 2 * over - glyph) / max(1, len(digits) - 1)
            self.canv.setFont(font, size)
            for i, ch in enumerate(digits):
                self.canv.drawString(i * step - over, 2, ch)

    return Spread()


def render_scanned_pdf(
    report: dict[str, Any], dpi: int = 150, *, skew: float = 0.0, noise: float = 0.0, **drift: Any
) -> bytes:
    """A scan: each page of ``render_pdf`` as a grey image, no text layer.

    ``skew`` rotates pages by that many degrees; ``noise`` adds Gaussian noise of that sigma and
    a slight blur, like a cheap office scanner.
    """
    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    pdf = pdfium.PdfDocument(render_pdf(report, **drift))
    try:
        images = [page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for page in pdf]
    finally:
        pdf.close()
    if skew:
        images = [im.rotate(skew, resample=Image.BICUBIC, expand=False, fillcolor=255) for im in images]
    if noise:
        import numpy as np

        rng = np.random.default_rng(0)
        noisy = []
        for im in images:
            arr = np.asarray(im.filter(ImageFilter.GaussianBlur(0.6)), dtype=np.float32)
            arr += rng.normal(0.0, noise, arr.shape).astype(np.float32)
            noisy.append(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L"))
        images = noisy
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()


# -- the tables as a spreadsheet --------------------------------------------------------------


def render_tables_xlsx(report: dict[str, Any], **drift: Any) -> bytes:
    """The report's tables, one sheet each, as the "统计表" spreadsheet some portals attach
    beside the report (merged cells as rendered)."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    tables = [block[1] for block in build_layout(report, **drift) if block[0] == "table"]
    for i, table in enumerate(tables, 1):
        sheet = book.create_sheet(f"表{i}")
        for c in table.cells:
            sheet.cell(row=c.row + 1, column=c.col + 1, value=c.text)
            if c.rowspan > 1 or c.colspan > 1:
                sheet.merge_cells(
                    start_row=c.row + 1,
                    start_column=c.col + 1,
                    end_row=c.row + c.rowspan,
                    end_column=c.col + c.colspan,
                )
    buf = io.BytesIO()
    book.save(buf)
    return _fixed_zip_times(buf.getvalue())


def _fixed_zip_times(data: bytes) -> bytes:
    """The same ZIP with fixed member times, so the same tables give the same bytes (ETag)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info))
    return out.getvalue()


# -- DOC / WPS via LibreOffice -----------------------------------------------------------------


def docx_to(data: bytes, fmt: str = "doc", timeout: int = 180) -> bytes:
    """Convert DOCX bytes with LibreOffice headless (own profile, so parallel runs work)."""
    with tempfile.TemporaryDirectory(prefix="nianbao-lo-") as tmp:
        src = Path(tmp, "report.docx")
        src.write_bytes(data)
        out_dir = Path(tmp, "out")
        prof = Path(tmp, "profile").as_uri()
        cmd = ["soffice", f"-env:UserInstallation={prof}", "--headless", "--convert-to", fmt]
        subprocess.run(
            [*cmd, "--outdir", str(out_dir), str(src)], check=True, capture_output=True, timeout=timeout
        )
        outs = list(out_dir.glob("report.*"))
        if not outs:
            raise RuntimeError(f"LibreOffice produced no {fmt} file")
        return outs[0].read_bytes()


def render_doc(report: dict[str, Any], **drift: Any) -> bytes:
    """A legacy Word 97 .doc (OLE), made by LibreOffice from ``render_docx``."""
    return docx_to(render_docx(report, **drift), "doc")


def render_pdf_office(report: dict[str, Any], **drift: Any) -> bytes:
    """A PDF as an office suite exports it (LibreOffice from ``render_docx``, embedded fonts)."""
    return docx_to(render_docx(report, **drift), "pdf")


def render_wps(report: dict[str, Any], **drift: Any) -> bytes:
    """A .wps as most portals serve it: the same OLE Word binary as a .doc."""
    return render_doc(report, **drift)


# -- reports in the other templates (simulator/model.py makes 2021 ones) -----------------------


def trial_report(report: dict[str, Any], rng: Any) -> dict[str, Any]:
    """The same report in the 2019 trial template: trial Table 1, one （六）其他处理 row."""
    import copy

    out = copy.deepcopy(report)
    out["template"] = "2019-trial"

    def items() -> dict[str, int]:
        prev = rng.randint(0, 60)
        return {"prev_items": prev, "change": rng.randint(-min(prev, 5), 5), "decisions": rng.randint(0, 500)}

    docs = {"made": rng.randint(0, 9), "published": 0, "total": 0}
    docs["published"] = rng.randint(0, docs["made"])
    docs["total"] = docs["published"] + rng.randint(0, 40)
    out["table1"] = {
        "rules": {"made": 0, "published": 0, "total": 0},
        "normative_docs": docs,
        "licensing": items(),
        "other_services": items(),
        "penalty": items(),
        "coercion": items(),
        "fees": {"prev_items": rng.randint(0, 5), "change": 0},
        "procurement": {
            "projects": rng.randint(0, 12),
            "amount_yuan": float(rng.choice([0, rng.randint(1000, 3_000_000)])),
        },
    }
    t2 = out["table2"]
    other = [
        sum(t2[k][c] for k in ("other_no_correction", "other_unpaid_fee", "other_other")) for c in range(7)
    ]
    out["table2"] = {k: (other if k == "other_processing" else t2[k]) for k in TABLE2_TRIAL_KEYS}
    return out


def legacy_report(report: dict[str, Any]) -> dict[str, Any]:
    """The same report in a pre-2019 free layout: prose only, no national tables."""
    import copy

    out = copy.deepcopy(report)
    out["template"] = "legacy"
    out["table1"], out["table2"], out["table3"] = {}, {}, {}
    return out
