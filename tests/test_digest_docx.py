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

from monitor.charts import on_time_by_group, on_time_by_year, to_svg
from monitor.digest import build_digest, write_digest
from monitor.status import STATUS_LABELS
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
            "crawler.cli",
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
