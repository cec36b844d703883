"""The digest as a Word report an office can file and forward (python-docx).

Contents, in order: the title (region and year) and the date checked; 一、总体情况, a paragraph in
Chinese written from the figures (reports expected, on time, late, missing; the on-time rate
against last year; the largest year-on-year swings); 二、图表 (``outputs.charts``, as PNG);
三、缺报 and 四、迟报 tables; 五、同比 table; 六、排名 of agencies — or of regions when the digest
spans several — by on-time publication, then completeness (``monitor.yoy.completeness``).

A4 portrait, table header rows repeated on every page, page numbers in the footer.  Fonts are set
for both scripts (``w:rFonts`` ascii/hAnsi and eastAsia, theme fonts removed), so Word and WPS
show 宋体/黑体 and not a Latin fallback; the document language is zh-CN.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from monitor.status import KIND_LABELS, STATUS_LABELS
from monitor.yoy import FIGURE_LABELS
from outputs.charts import digest_charts, group_key, group_label, on_time_counts, on_time_rate, to_png
from outputs.digest import Digest, fmt_number

BODY_FONT = ("Times New Roman", "宋体")  # (Latin, East Asian)
HEAD_FONT = ("Arial", "黑体")
# Rows per table: a printed report lists the first ones and points to the XLSX digest for the rest.
MAX_ROWS = 500
# Agency trend charts in the report (the HTML digest shows all of the digest's trends).
TREND_CHARTS = 3
# Swings named in the summary paragraph.
SUMMARY_SWINGS = 3
# Ranking order of a status: published on time first, not yet judgeable last.
RANK_ORDER = {"on_time": 0, "late": 1, "missing": 2, "pending": 3, "not_checkable": 4}
CHART_WIDTH_CM = 16.0
NUMERIC = re.compile(r"^[+-]?[\d,]+(\.\d+)?%?$")


def cn_date(value: date | str | None) -> str:
    """2025-03-04 → 2025年3月4日 (empty for None)."""
    if not value:
        return ""
    d = date.fromisoformat(str(value)[:10]) if not isinstance(value, date) else value
    return f"{d.year}年{d.month}月{d.day}日"


def where(digest: Digest) -> str:
    """The digest's region, or the one region all its rows share ("" when they span several)."""
    if digest.region:
        return digest.region
    regions = {r["region"] for r in digest.status}
    return regions.pop() or "" if len(regions) == 1 else ""


def report_title(digest: Digest) -> str:
    """The title: region, year, subject."""
    return f"{where(digest)} {digest.title}" if where(digest) and not digest.region else digest.title


# -- the figures the text is written from ------------------------------------------------------


def overview(digest: Digest) -> dict[str, Any]:
    """The numbers of the summary paragraph: status counts of the digest year, rates, swings."""
    rows = [r for r in digest.status if r["year"] == digest.year]
    previous = [r for r in digest.status if r["year"] == digest.year - 1]
    counts = digest.summary()
    on_time, judged = on_time_counts(rows)
    return {
        "expected": len(rows),
        **counts,
        "judged": judged,
        "rate": on_time / judged if judged else None,
        "previous_rate": on_time_rate(previous),
        "swings": largest_swings(digest, SUMMARY_SWINGS),
    }


def largest_swings(digest: Digest, n: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(agency, figure key, figure) of the ``n`` largest flagged swings, largest relative first."""
    found = []
    for y in digest.yoy:
        for key in y["swings"]:
            f = y["figures"][key]
            floor = 0.01 if key == "disclosure_rate" else 1
            size = abs(f["change"] or 0) / max(abs(f["previous"] or 0), floor)
            found.append((size, y["agency"], key, f))
    found.sort(key=lambda t: -t[0])
    return [(agency, key, f) for _s, agency, key, f in found[:n]]


def _swing_text(agency: str, key: str, f: dict[str, Any]) -> str:
    label = FIGURE_LABELS[key]
    if key == "disclosure_rate":
        points = (f["change"] or 0) * 100
        way = "上升" if points > 0 else "下降"
        return (
            f"{agency}{label}由{fmt_number(f['previous'], True)}变为{fmt_number(f['current'], True)}"
            f"（{way}{abs(points):.1f}个百分点）"
        )
    way = "增至" if (f["change"] or 0) > 0 else "降至"
    rel = f"，{f['relative']:+.0%}" if f["relative"] is not None else ""
    return f"{agency}{label}由{fmt_number(f['previous'])}{way}{fmt_number(f['current'])}（{rel[1:] or '上年为0'}）"


def summary_text(digest: Digest) -> str:
    """The summary paragraph, in Chinese, written from ``overview``."""
    o = overview(digest)
    parts = [
        f"截至{cn_date(digest.as_of)}，{where(digest)}{digest.year}年度应发布政府信息公开工作年度报告"
        f"{o['expected']}份，其中按时发布{o['on_time']}份，逾期发布{o['late']}份，未发布{o['missing']}份"
    ]
    if o["pending"]:
        parts.append(f"，尚未到期{o['pending']}份")
    if o["not_checkable"]:
        parts.append(f"，因来源无法抓取而无法核查{o['not_checkable']}份")
    parts.append("。")
    if o["rate"] is None:
        parts.append("目前尚无已到截止日期的报告，暂不计算按时发布率。")
    else:
        parts.append(f"按时发布率（按时发布数占已到期应报数）为{o['rate']:.1%}")
        prev = o["previous_rate"]
        if prev is None:
            parts.append("，上年无可比数据。")
        else:
            points = (o["rate"] - prev) * 100
            trend = (
                "与上年持平"
                if abs(points) < 0.05
                else f"较上年（{prev:.1%}）{'上升' if points > 0 else '下降'}{abs(points):.1f}个百分点"
            )
            parts.append(f"，{trend}。")
    if o["swings"]:
        parts.append("同比变化最大的是：" + "；".join(_swing_text(*s) for s in o["swings"]) + "。")
    else:
        parts.append("与上年相比，各机关主要数字无显著变化。")
    return "".join(parts)


def ranking(digest: Digest) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) ranking agencies — or regions, when there are several — best first.

    Agencies rank by status (on time, late, missing, then the not yet judgeable), then days late,
    then completeness, then the earlier publication; regions by on-time rate, then mean
    completeness.  Equal keys share a rank.
    """
    yoy = {y["agency"]: y for y in digest.yoy}
    rows = [r for r in digest.status if r["year"] == digest.year]
    if group_key(rows) == "region":
        groups: dict[Any, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r["region"], []).append(r)
        keyed = []
        for region, members in groups.items():
            on_time, judged = on_time_counts(members)
            scores = [
                yoy[m["agency"]]["completeness"]
                for m in members
                if m["agency"] in yoy and yoy[m["agency"]].get("completeness") is not None
            ]
            mean = sum(scores) / len(scores) if scores else None
            rate = on_time / judged if judged else None
            late = sum(m["status"] == "late" for m in members)
            missing = sum(m["status"] == "missing" for m in members)
            key = (-(rate if rate is not None else -1), -(mean if mean is not None else -1))
            cells = [group_label("region", region), len(members), judged, on_time, late, missing]
            cells += [_pct(rate), _pct(mean)]
            keyed.append((key, cells))
        headers = ["名次", "地区", "应报", "已到期", "按时", "迟报", "缺报", "按时发布率", "平均完整度"]
    else:
        keyed = []
        for r in rows:
            y = yoy.get(r["agency"]) or {}
            c = y.get("completeness")
            key = (
                RANK_ORDER.get(r["status"], 9),
                r["days_late"] or 0,
                -(c if c is not None else -1),
                r["published_at"] or "",  # the earlier, the better
            )
            cells = [r["agency"], KIND_LABELS.get(r["kind"], r["kind"]), STATUS_LABELS[r["status"]]]
            cells += [r["published_at"] or "", r["days_late"] or "", _pct(c), len(y.get("quality") or [])]
            keyed.append((key, cells))
        headers = ["名次", "机关", "类别", "状态", "发布日期", "逾期天数", "完整度", "数据问题"]
    keyed.sort(key=lambda kc: kc[0])
    out, rank, last = [], 0, None
    for i, (key, cells) in enumerate(keyed, start=1):
        if key != last:
            rank, last = i, key
        out.append([rank, *cells])
    return headers, out


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v:.1%}"


def _who(r: dict[str, Any]) -> list[Any]:
    return [r["agency"], KIND_LABELS.get(r["kind"], r["kind"]), r["region"] or ""]


def missing_rows(digest: Digest) -> list[list[Any]]:
    """序号, 机关, 类别, 地区, 截止日期, 已逾期天数 (to the date checked), 说明."""
    out = []
    for r in digest.status:
        if r["year"] == digest.year and r["status"] == "missing":
            overdue = (digest.as_of - date.fromisoformat(r["deadline"])).days
            out.append([*_who(r), r["deadline"], overdue, r["evidence"]])
    return [[i, *row] for i, row in enumerate(out, start=1)]


def late_rows(digest: Digest) -> list[list[Any]]:
    """序号, 机关, 类别, 地区, 截止日期, 发布日期, 逾期天数."""
    out = []
    for r in digest.status:
        if r["year"] == digest.year and r["status"] == "late":
            out.append([*_who(r), r["deadline"], r["published_at"], r["days_late"]])
    return [[i, *row] for i, row in enumerate(out, start=1)]


YOY_HEADERS = [
    "机关",
    "新收申请\n本年",
    "上年",
    "变化",
    "公开率\n本年",
    "上年",
    "复议诉讼\n本年",
    "上年",
    "显著变化",
]


def yoy_rows(digest: Digest) -> list[list[Any]]:
    """One row per agency with a report this year or last: applications, disclosure rate, 复议+诉讼."""
    out = []
    for y in digest.yoy:
        if not (y["present"] or y["previous_present"]):
            continue
        f = y["figures"]
        appeals = [_appeals(f, "current"), _appeals(f, "previous")]
        rel = f["applications"]["relative"]
        out.append(
            [
                y["agency"],
                fmt_number(f["applications"]["current"]),
                fmt_number(f["applications"]["previous"]),
                "" if rel is None else f"{rel:+.0%}",
                fmt_number(f["disclosure_rate"]["current"], True),
                fmt_number(f["disclosure_rate"]["previous"], True),
                fmt_number(appeals[0]),
                fmt_number(appeals[1]),
                "、".join(FIGURE_LABELS[k] for k in y["swings"]),
            ]
        )
    return out


def _appeals(figures: dict[str, Any], which: str) -> int | None:
    known = [figures[k][which] for k in ("review_total", "litigation_total") if figures[k][which] is not None]
    return sum(known) if known else None


# -- the document ------------------------------------------------------------------------------


def _fonts(style_or_run: Any, fonts: tuple[str, str]) -> None:
    """Set the Latin and East Asian fonts of a style or run (theme fonts would override them)."""
    rpr = style_or_run.element.get_or_add_rPr()
    rfonts = rpr.get_or_add_rFonts()
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{attr}"), None)
    latin, east = fonts
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:cs"), latin)
    rfonts.set(qn("w:eastAsia"), east)
    rfonts.set(qn("w:hint"), "eastAsia")


def _styles(doc: Any) -> None:
    normal = doc.styles["Normal"]
    _fonts(normal, BODY_FONT)
    normal.font.size = Pt(11)
    rpr = normal.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)
    for name, size in (("Title", 20), ("Heading 1", 14), ("Caption", 9)):
        style = doc.styles[name]
        _fonts(style, HEAD_FONT if name != "Caption" else BODY_FONT)
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.italic = False
    doc.styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.styles["Caption"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _page(doc: Any) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2))
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("第 ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    footer._p.append(field)
    footer.add_run(" 页").font.size = Pt(9)


def _table(doc: Any, caption: str, headers: list[str], rows: list[list[Any]], widths: list[float]) -> None:
    """A captioned grid table; the header row repeats on every printed page."""
    doc.add_paragraph(caption, style="Caption").paragraph_format.keep_with_next = True
    if not rows:
        doc.add_paragraph("无。")
        return
    shown = rows[:MAX_ROWS]
    table = doc.add_table(rows=1 + len(shown), cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)  # the grid: what LibreOffice and WPS lay out by
    head = table.rows[0]
    trpr = head._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    trpr.append(repeat)
    for r, values in enumerate([headers, *shown]):
        cells = table.rows[r].cells
        for c, value in enumerate(values):
            cell = cells[c]
            cell.width = Cm(widths[c])
            p = cell.paragraphs[0]
            run = p.add_run("" if value is None else str(value))
            run.font.size = Pt(9)
            if r == 0:
                run.bold = True
                _fonts(run, HEAD_FONT)
            elif isinstance(value, int | float) or NUMERIC.match(str(value)):
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if len(rows) > MAX_ROWS:
        doc.add_paragraph(f"（仅列前 {MAX_ROWS} 项，共 {len(rows)} 项，完整清单见 XLSX 摘要。）")


def _png_width_cm(png: bytes, scale: float) -> float:
    """The chart's width on paper: its SVG pixel width at about 0.03 cm a pixel, at most the text width."""
    pixels = int.from_bytes(png[16:20], "big") / scale  # the IHDR width
    return min(CHART_WIDTH_CM, pixels * 0.03)


def build_docx(digest: Digest) -> Any:
    """The report as a python-docx Document."""
    doc = Document()
    _styles(doc)
    _page(doc)
    doc.core_properties.title = report_title(digest)
    doc.core_properties.language = "zh-CN"
    doc.add_paragraph(report_title(digest), style="Title")
    dated = doc.add_paragraph(f"核查日期：{cn_date(digest.as_of)}　　生成时间：{digest.generated_at}")
    dated.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_heading("一、总体情况", level=1)
    p = doc.add_paragraph(summary_text(digest))
    p.paragraph_format.first_line_indent = Pt(22)
    p.paragraph_format.line_spacing = 1.5
    doc.add_heading("二、图表", level=1)
    for n, chart in enumerate(digest_charts(digest, TREND_CHARTS), start=1):
        scale = 3
        png = to_png(chart, scale=scale)
        pic = doc.add_paragraph()
        pic.alignment = WD_ALIGN_PARAGRAPH.CENTER
        pic.paragraph_format.keep_with_next = True
        pic.add_run().add_picture(io.BytesIO(png), width=Cm(_png_width_cm(png, scale)))
        doc.add_paragraph(f"图{n}　{chart.title}", style="Caption")
    several = group_key([r for r in digest.status if r["year"] == digest.year]) == "region"
    doc.add_heading("三、未发布年度报告的机关（缺报）", level=1)
    rows = missing_rows(digest)
    headers = ["序号", "机关", "类别", "地区", "截止日期", "已逾期天数", "说明"]
    widths = [1.0, 4.2, 1.4, 2.6, 2.6, 1.6, 3.6]
    if not several:  # one region: the column would repeat it on every row
        rows, headers, widths = (
            [r[:3] + r[4:] for r in rows],
            headers[:3] + headers[4:],
            [1.0, 5.4, 1.4, 2.8, 1.8, 4.6],
        )
    _table(doc, f"表1　{digest.year}年度缺报机关", headers, rows, widths)
    doc.add_heading("四、逾期发布年度报告的机关（迟报）", level=1)
    rows = late_rows(digest)
    headers = ["序号", "机关", "类别", "地区", "截止日期", "发布日期", "逾期天数"]
    widths = [1.0, 4.6, 1.4, 2.6, 2.6, 2.6, 1.6]
    if not several:
        rows, headers, widths = (
            [r[:3] + r[4:] for r in rows],
            headers[:3] + headers[4:],
            [1.0, 6.0, 1.6, 3.0, 3.0, 2.2],
        )
    _table(doc, f"表2　{digest.year}年度迟报机关", headers, rows, widths)
    doc.add_heading(f"五、同比情况（{digest.year}年对{digest.year - 1}年）", level=1)
    _table(
        doc,
        "表3　主要数字同比",
        YOY_HEADERS,
        yoy_rows(digest),
        [3.8, 1.5, 1.5, 1.3, 1.6, 1.6, 1.5, 1.5, 2.7],
    )
    what = "地区" if several else "机关"
    doc.add_heading(f"六、{what}排名（按时发布与完整度）", level=1)
    headers, rows = ranking(digest)
    widths = (
        [1.0, 3.6, 1.4, 1.6, 1.4, 1.4, 1.4, 2.1, 2.1] if several else [1.0, 5.0, 1.4, 1.4, 2.6, 1.6, 1.6, 2.4]
    )
    _table(doc, f"表4　{what}排名", headers, rows, widths)
    doc.add_paragraph(
        "说明：按时发布率 = 按时发布数 ÷ 已到截止日期的应报数（未到期和无法核查的不计）；"
        "完整度 = 报告表二、表三中填有数字的单元格占模板单元格的比例；数据问题为解析时发现的问题条数。"
    ).runs[0].font.size = Pt(9)
    return doc


def write_docx(digest: Digest, path: Path) -> None:
    build_docx(digest).save(str(path))
