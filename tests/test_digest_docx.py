"""The DOCX report (and the charts in the HTML digest), checked against a generated region's truth.

The report is read back with python-docx and printed to PDF by LibreOffice Writer.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date

import docx
import pypdfium2
import pytest
from test_monitor_common import REGION, build_store, config_for

from monitor.status import STATUS_LABELS
from outputs.charts import on_time_by_group, on_time_by_year, to_svg
from outputs.digest import build_digest, write_digest
from simulator.model import generate_region

AS_OF = date(2026, 6, 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("docx")
    region = generate_region(seed=5, departments=10, townships=3)
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    last = region.years[-1]
    assert date(last + 1, 3, 31) < AS_OF  # every report of the last year is due
    digest = build_digest(store, config, last, as_of=AS_OF)
    path = write_digest(digest, "docx", tmp_path / "report.docx")
    html = write_digest(digest, "html", tmp_path / "digest.html").read_text(encoding="utf-8")
    return region, store, config, digest, path, html, tmp_path


def _truth(region, year: int) -> list[dict]:
    return [t for t in region.expected_status(AS_OF) if t["year"] == year]


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_title_and_summary_follow_the_truth(built):
    region, _store, _config, digest, path, _html, _ = built
    last = region.years[-1]
    doc = docx.Document(str(path))
    title = doc.paragraphs[0]
    assert title.style.name == "Title"
    assert title.text == f"{REGION} {last}年度政府信息公开工作年度报告监测摘要"
    assert doc.core_properties.title == title.text
    summary = next(p.text for p in doc.paragraphs if p.text.startswith("截至"))
    truth = _truth(region, last)
    count = {s: sum(1 for t in truth if t["status"] == s) for s in STATUS_LABELS}
    assert count["missing"] and count["late"] and count["on_time"]  # the region plants all three
    m = re.search(
        r"应发布政府信息公开工作年度报告(\d+)份，其中按时发布(\d+)份，逾期发布(\d+)份，未发布(\d+)份", summary
    )
    assert m, summary
    assert [int(g) for g in m.groups()] == [len(truth), count["on_time"], count["late"], count["missing"]]
    assert digest.summary()["missing"] == count["missing"]
    judged = count["on_time"] + count["late"] + count["missing"]
    assert f"按时发布率（按时发布数占已到期应报数）为{count['on_time'] / judged:.1%}" in summary
    before = [t for t in _truth(region, last - 1) if t["status"] in ("on_time", "late", "missing")]
    prev_rate = sum(t["status"] == "on_time" for t in before) / len(before)
    assert f"较上年（{prev_rate:.1%}）" in summary
    # The largest swing the yoy found is named, with its agency.
    swings = [(y["agency"], k) for y in digest.yoy for k in y["swings"]]
    assert swings and "同比变化最大的是：" in summary
    assert any(agency in summary for agency, _k in swings)
    assert f"截至{AS_OF.year}年{AS_OF.month}月{AS_OF.day}日，{REGION}{last}年度" in summary


def _rows(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def test_tables_list_the_missing_and_late_reports(built):
    region, _store, _config, digest, path, _html, _ = built
    last = region.years[-1]
    doc = docx.Document(str(path))
    missing, late, yoy, rank = doc.tables
    truth = _truth(region, last)
    head, *rows = _rows(missing)
    assert head[:2] == ["序号", "机关"] and "已逾期天数" in head
    want = sorted(t["agency"] for t in truth if t["status"] == "missing")
    assert sorted(r[1] for r in rows) == want
    overdue = head.index("已逾期天数")
    for r in rows:
        deadline = date.fromisoformat(next(t["deadline"] for t in truth if t["agency"] == r[1]))
        assert int(r[overdue]) == (AS_OF - deadline).days
    head, *rows = _rows(late)
    want = {t["agency"]: t["days_late"] for t in truth if t["status"] == "late"}
    assert {r[1]: int(r[head.index("逾期天数")]) for r in rows} == want
    assert [r[0] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    # The header row repeats on every printed page.
    assert missing.rows[0]._tr.trPr.find(docx.oxml.ns.qn("w:tblHeader")) is not None
    head, *rows = _rows(yoy)
    assert head[0] == "机关"
    gov = next(r for r in rows if r[0] == region.government.name)
    assert gov[1] == str(region.report(region.government.name, last).report["table2"]["new_received"][6])
    assert gov[2] == str(region.report(region.government.name, last - 1).report["table2"]["new_received"][6])
    assert {r[0] for r in rows} == {y["agency"] for y in digest.yoy if y["present"] or y["previous_present"]}
    head, *rows = _rows(rank)
    assert head[:4] == ["名次", "机关", "类别", "状态"]
    assert len(rows) == len(truth)
    ranks = [int(r[0]) for r in rows]
    assert ranks == sorted(ranks) and ranks[0] == 1
    statuses = [r[3] for r in rows]
    assert statuses[0] == "按时" and set(statuses[-count_missing(truth) :]) == {"缺报"}
    done = [r for r in rows if r[3] == "按时"]
    assert all(r[6] == "100.0%" for r in done)  # the generated reports fill every cell


def count_missing(truth: list[dict]) -> int:
    return sum(1 for t in truth if t["status"] == "missing")


def test_pictures_and_fonts(built):
    _region, _store, _config, digest, path, _html, _ = built
    doc = docx.Document(str(path))
    shapes = doc.inline_shapes
    assert len(shapes) == 2 + min(3, len(digest.trends)) and len(digest.trends) >= 1
    for shape in shapes:
        rid = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
        assert doc.part.related_parts[rid].blob[:8] == b"\x89PNG\r\n\x1a\n"
        assert shape.width <= docx.shared.Cm(16.01)
    captions = [p.text for p in doc.paragraphs if p.style.name == "Caption" and p.text.startswith("图")]
    assert captions[0] == "图1　各年度按时发布率" and len(captions) == len(shapes)
    rfonts = doc.styles["Normal"].element.rPr.rFonts
    assert rfonts.get(docx.oxml.ns.qn("w:eastAsia")) == "宋体"
    heading = doc.styles["Heading 1"].element.rPr.rFonts
    assert heading.get(docx.oxml.ns.qn("w:eastAsia")) == "黑体"
    assert heading.get(docx.oxml.ns.qn("w:asciiTheme")) is None  # a theme font would win over ours


def test_libreoffice_prints_it(built, tmp_path):
    _region, _store, _config, digest, path, _html, _ = built
    profile = tmp_path / "lo-profile"
    proc = subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    pdf_path = tmp_path / "report.pdf"
    assert proc.returncode == 0 and pdf_path.exists(), proc.stdout + proc.stderr
    pdf = pypdfium2.PdfDocument(str(pdf_path))
    try:
        # Title, summary, five charts and four tables of a 14-agency county: a few A4 pages.
        assert 3 <= len(pdf) <= 10, len(pdf)
        width, height = pdf[0].get_size()
        assert (round(width), round(height)) == (595, 842)  # A4 portrait, in points
        first = _flat(pdf[0].get_textpage().get_text_range())
        assert _flat(f"{REGION} {digest.year}年度政府信息公开工作年度报告监测摘要") in first
        assert "一、总体情况" in first
        text = _flat("".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))))
        assert "六、机关排名" in text and f"第{len(pdf)}页" in text
    finally:
        pdf.close()


def test_html_digest_embeds_the_charts(built):
    _region, _store, _config, digest, _path, html, _ = built
    for chart in (
        on_time_by_year(digest.status, digest.years),
        on_time_by_group(digest.status, digest.year, "kind"),
    ):
        assert to_svg(chart) in html
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) >= 2 + len(digest.trends)
    for svg in svgs:
        ET.fromstring(svg)
    for agency in digest.trends:
        assert f"{agency}：申请、公开与复议诉讼" in html
    assert "style=" not in html and "<script" not in html


def test_trends_are_the_reports_own_figures(built):
    region, _store, _config, digest, _path, _html, _ = built
    gov = region.government.name
    assert next(iter(digest.trends)) == gov  # the government comes first
    for year, figures in digest.trends[gov].items():
        data = region.report(gov, year).report
        assert figures["applications"] == data["table2"]["new_received"][6]
        assert figures["disclosed"] == data["table2"]["disclosed"][6]
        assert figures["review_total"] == data["table3"]["review"]["total"]
    assert sorted(digest.trends[gov]) == region.years


def test_cli_writes_docx(built):
    _region, _store, config, digest, _path, _html, tmp_path = built
    out = tmp_path / "cli.docx"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "nianbao",
            "--config",
            str(config.path),
            "digest",
            "--year",
            str(digest.year),
            "--format",
            "docx",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = docx.Document(str(out))
    assert doc.paragraphs[0].text.endswith(f"{digest.year}年度政府信息公开工作年度报告监测摘要")
    assert len(doc.tables) == 4 and len(doc.inline_shapes) >= 2


def _status_row(agency: str, region: str, status: str, year: int = 2025, days_late: int = 0) -> dict:
    return {
        "agency": agency,
        "kind": "department",
        "year": year,
        "status": status,
        "deadline": f"{year + 1}-01-31",
        "published_at": None if status == "missing" else f"{year + 1}-01-20",
        "days_late": days_late,
        "url": None,
        "date_source": None,
        "source_id": region,
        "region": region,
        "evidence": "",
    }


def test_several_regions_rank_regions(tmp_path):
    """With several regions the report ranks regions (on-time rate, then completeness) and charts them."""
    from outputs.digest import Digest
    from outputs.digest_docx import ranking

    status = [
        _status_row("甲1", "甲市", "on_time"),
        _status_row("甲2", "甲市", "missing"),
        _status_row("乙1", "乙市", "on_time"),
        _status_row("乙2", "乙市", "on_time"),
        _status_row("丙1", "丙市", "on_time"),
        _status_row("丙2", "丙市", "late", days_late=4),
        _status_row("丁1", "丁市", "on_time"),
        _status_row("丁2", "丁市", "pending"),
    ]
    completeness = {"甲1": 1.0, "乙1": 0.9, "乙2": 0.7, "丙1": 1.0, "丙2": 0.6, "丁1": 1.0}
    yoy = [
        {
            "agency": a,
            "completeness": c,
            "quality": [],
            "swings": [],
            "present": False,
            "previous_present": False,
        }
        for a, c in completeness.items()
    ]
    digest = Digest(2025, None, date(2026, 6, 1), [2025], status, yoy, [], [], [])
    headers, rows = ranking(digest)
    assert headers[:2] == ["名次", "地区"]
    # 乙 and 丁 are both 100 % on time: 丁's one report is complete, 乙's average 80 %.  甲 and 丙
    # are both 50 %: 甲's published report is complete, 丙's average 80 %.
    assert [(r[0], r[1]) for r in rows] == [(1, "丁市"), (2, "乙市"), (3, "甲市"), (4, "丙市")]
    assert rows[0][headers.index("按时发布率")] == "100.0%" and rows[2][headers.index("缺报")] == 1
    assert rows[1][headers.index("平均完整度")] == "80.0%"
    path = write_digest(digest, "docx", tmp_path / "regions.docx")
    doc = docx.Document(str(path))
    assert doc.paragraphs[0].text == "2025年度政府信息公开工作年度报告监测摘要"  # no one region to name
    missing = doc.tables[0]
    assert [c.text for c in missing.rows[0].cells][3] == "地区" and missing.rows[1].cells[3].text == "甲市"
    assert any(p.text == "图2　2025年度按时发布率（按地区）" for p in doc.paragraphs)
    assert any(p.text.startswith("六、地区排名") for p in doc.paragraphs)
