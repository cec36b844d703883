"""The renderers make the documents real portals publish: real merged cells, text layers, scans."""

from __future__ import annotations

import io
import random
import re
import zipfile
from datetime import date

import lxml.html
import pdfplumber
import pypdfium2 as pdfium
import pytest

from simulator import render
from simulator.model import Agency, generate_report


@pytest.fixture(scope="module")
def rep():
    return generate_report(
        random.Random(4), Agency("青山县民政局", "department", "mzj"), 2024, date(2025, 1, 15)
    )


def test_html_fragment_has_word_style_merged_tables(rep):
    html = render.render_html_fragment(rep)
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    tables = root.xpath("//table")
    assert len(tables) == 3
    t2 = tables[1]
    assert t2.xpath(".//td[@rowspan='22']/p/span")[0].text == "三、本年度办理结果"
    assert t2.xpath(".//td[@colspan='7']//text()") == ["申请人情况"]
    assert len(t2.xpath("./tbody/tr")) == 28
    assert "本报告中所列数据统计期限自2024年1月1日起至2024年12月31日止" in html
    assert render.title_of(rep) not in html  # title only on request
    assert render.title_of(rep) in render.render_html_fragment(rep, title=True)


def test_docx_has_real_grid_span_and_vmerge(rep):
    data = render.render_docx(rep)
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert 'w:gridSpan w:val="7"' in xml
    assert "<w:vMerge/>" in xml or '<w:vMerge w:val="continue"/>' in xml
    assert 'w:vMerge w:val="restart"' in xml


def test_pdf_has_text_layer_and_ruled_tables_split_over_pages(rep):
    data = render.render_pdf(rep, title=True)
    pdf = pdfium.PdfDocument(data)
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert len(pdf) >= 2
    pdf.close()
    assert "青山县民政局2024年政府信息公开工作年度报告" in re.sub(r"\s", "", text)
    with pdfplumber.open(io.BytesIO(data)) as p:
        per_page = [len(page.find_tables()) for page in p.pages]
    assert sum(per_page) >= 4  # three tables, Table 2 split across a page break


def test_scanned_pdf_has_images_and_no_text(rep):
    data = render.render_scanned_pdf(rep, dpi=72)
    pdf = pdfium.PdfDocument(data)
    assert len(pdf) >= 2
    for i in range(len(pdf)):
        assert pdf[i].get_textpage().get_text_range().strip() == ""
        assert any(obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE for obj in pdf[i].get_objects())
    pdf.close()


def test_text_layouts_match_the_seed_corpora(rep):
    tabs = render.render_text(rep, "tabs")
    assert "\t\t\t" in tabs and "三、本年度办理结果\t（一）予以公开\t\t" in tabs
    cells = render.render_text(rep, "cells", stray_chars=True)
    assert "\n\t（七）总计\n" in cells or "\n\t0（七）总计\n" in cells or "[bookmark:" in cells
    assert re.search(r"\n\t\d+\n\t\d+\n", cells)
    with pytest.raises(ValueError):
        render.render_text(rep, "columns")


def test_drift_options_change_the_output(rep):
    base = render.render_text(rep, "tabs")
    assert "本年度止件数" in render.render_text(rep, "tabs", typos=True)
    assert "(一)予以公开" in render.render_text(rep, "tabs", halfwidth_brackets=True)
    assert "表1" in base and "表1" not in render.render_text(rep, "tabs", no_headings=True)
    assert "5、存在的主要问题" in render.render_text(rep, "tabs", part_digits=True)
    assert "０" in render.render_text(rep, "tabs", fullwidth_digits=True)
    assert "—" in render.render_text(rep, "tabs", zero_as="—")
    assert "行政事业性收费" not in render.render_text(rep, "tabs", drop_rows=["table1.fees_10k_yuan"])
    assert "万元\n" in render.render_text(rep, "tabs", money_unit="万元") or "万元\t" in render.render_text(
        rep, "tabs", money_unit="万元"
    )
    with pytest.raises(TypeError, match="unknown drift"):
        render.render_text(rep, "tabs", typo=True)


def test_layout_drift_options(rep):
    def tables(html: str) -> int:
        return len(lxml.html.fragment_fromstring(html, create_parent="div").xpath("//table"))

    assert tables(render.render_html_fragment(rep, table3_layout="split")) == 5
    stacked = render.render_html_fragment(rep, table3_layout="stacked")
    assert tables(stacked) == 3 and "（三）行政诉讼（复议后起诉）" in stacked
    lines = render.render_text(rep, "tabs", table1_items_as_text="after").split("\n")
    assert f"行政许可 {rep['table1']['licensing']}" in lines
    assert not any(line.startswith("行政许可\t") for line in lines)
    md = render.render_text(rep, "markdown")
    assert "\n| 行政 | 复议 |" in md and "|---|---|" in md and "## 一、总体情况" in md
    assert "（六）其他处理\t\t" in render.render_text(rep, "tabs", trial_other_row=True)
    assert "其他处埋" in render.render_text(rep, "tabs", ocr_misreads=True)
    with pytest.raises(ValueError, match="table3_layout"):
        render.render_text(rep, "tabs", table3_layout="columns")
    with pytest.raises(ValueError, match="table1_items_as_text"):
        render.render_text(rep, "tabs", table1_items_as_text="middle")


def test_expected_nulls_what_drift_blanks(rep):
    exp = render.expected(
        rep, zero_as="/", drop_rows=["table2.rejected_duplicate"], blank_cells=["table1.penalty"]
    )
    assert exp["table1"]["penalty"] is None
    assert exp["table2"]["rejected_duplicate"] == [None] * 7
    assert ("row_missing", "table2.rejected_duplicate") in exp["issues"]
    assert all(v is None for vals in exp["table2"].values() for v in vals if v == 0)
    zeros = sum(v == 0 for vals in rep["table2"].values() for v in vals)
    assert sum(code == "cell_blank" and w.startswith("table2") for code, w in exp["issues"]) >= zeros - 7


def test_doc_render_is_ole(rep):
    data = render.render_doc(rep)
    assert data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    assert render.render_wps(rep)[:4] == b"\xd0\xcf\x11\xe0"
