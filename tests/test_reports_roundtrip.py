"""Render -> parse round trips: every format gives back the numbers and text it was made from."""

from __future__ import annotations

import random
import shutil
from datetime import date

import pytest

import reports
from reports.model import TABLE2_TRIAL_KEYS
from simulator import render
from simulator.model import Agency, generate_report


def make(kind: str = "department", seed: int = 3, name: str = "青山县科学技术局", year: int = 2023) -> dict:
    rng = random.Random(seed)
    rep = generate_report(rng, Agency(name, kind, "x"), year, date(year + 1, 1, 20))
    rep["table1"]["fees_10k_yuan"] = 12.3456
    rep["table1"]["licensing"] = 1234
    return rep


def squash(s: str | None) -> str:
    return "".join((s or "").split())


def assert_same(got: dict, exp: dict, *, sections: bool = True) -> None:
    for k in ("agency", "year", "template", "kind"):
        assert got[k] == exp[k], k
    for t in ("table1", "table2", "table3"):
        assert got[t] == exp[t], t
    if sections:
        for key, text in exp["sections"].items():
            assert squash(got["sections"].get(key)) == squash(text), key


def issue_set(got: dict) -> set[tuple[str, str]]:
    return {(i["code"], i["where"]) for i in got["issues"]}


RENDERERS = {
    "html_fragment": lambda r, **d: render.render_html_fragment(r, **d).encode(),
    "html_page": lambda r, **d: render.render_html_page(r, **d).encode(),
    "docx": render.render_docx,
    "pdf": render.render_pdf,
    "text_tabs": lambda r, **d: render.render_text(r, "tabs", **d).encode(),
    "text_cells": lambda r, **d: render.render_text(r, "cells", **d).encode(),
}


@pytest.mark.parametrize("fmt", list(RENDERERS))
def test_roundtrip_plain(fmt):
    rep = make("government", seed=11, name="青山县人民政府")
    got = reports.parse_bytes(RENDERERS[fmt](rep, title=True))
    assert_same(got, rep)
    assert got["issues"] == []


@pytest.mark.parametrize("fmt", list(RENDERERS))
def test_roundtrip_trial_template(fmt):
    rep = render.trial_report(make(seed=5), random.Random(5))
    rep["table1"]["procurement"]["amount_yuan"] = 1605964.0
    got = reports.parse_bytes(RENDERERS[fmt](rep, title=True))
    assert got["template"] == "2019-trial"
    assert list(got["table2"]) == list(TABLE2_TRIAL_KEYS)
    assert_same(got, rep)
    assert got["issues"] == []


@pytest.mark.parametrize("fmt", ["html_fragment", "docx", "text_tabs"])
def test_roundtrip_legacy(fmt):
    rep = render.legacy_report(make(seed=8, year=2016))
    got = reports.parse_bytes(RENDERERS[fmt](rep, title=True))
    assert got["template"] == "legacy"
    assert got["table1"] == got["table2"] == got["table3"] == {}
    assert ("template_not_found", "tables") in issue_set(got)
    assert squash(got["sections"]["overview"]) == squash(rep["sections"]["overview"])
    assert "概述" in got["sections"]["text"]


DRIFTS = [
    {"typos": True},
    {"stray_chars": True},
    {"halfwidth_brackets": True},
    {"split_labels": True},
    {"split_cells": True},
    {"split_cells": True, "stray_chars": True, "halfwidth_brackets": True},
    {"no_headings": True},
    {"fullwidth_digits": True},
    {"padded_numbers": True},
    {"money_unit": "万元"},
    {"money_unit": "元"},
    {"part_digits": True},
    {"zero_as": "—"},
    {"zero_as": "/"},
    {"zero_as": "无"},
    {"zero_as": ""},
    {"drop_rows": ["table1.fees_10k_yuan", "table2.rejected_duplicate"]},
    {"blank_cells": ["table2.disclosed.natural_person", "table1.licensing", "table3.review.total"]},
    {
        "typos": True,
        "stray_chars": True,
        "halfwidth_brackets": True,
        "fullwidth_digits": True,
        "padded_numbers": True,
    },
]


def _drift_id(d: dict) -> str:
    return "+".join(f"{k}={v}" if not isinstance(v, bool) else k for k, v in d.items())


# PDF is slower to read: it gets the structural and the combined drifts only.
CASES = [(f, d) for d in DRIFTS for f in ("html_fragment", "docx", "text_tabs", "text_cells")]
CASES += [
    ("pdf", d)
    for d in DRIFTS
    if len(d) > 1 or {"split_labels", "split_cells", "drop_rows", "blank_cells"} & set(d)
]


@pytest.mark.parametrize(("fmt", "drift"), CASES, ids=[f"{f}-{_drift_id(d)}" for f, d in CASES])
def test_roundtrip_drift(fmt, drift):
    rep = make(seed=21)
    exp = render.expected(rep, **drift)
    got = reports.parse_bytes(RENDERERS[fmt](rep, title=True, **drift))
    assert_same(got, exp)
    want = set(exp["issues"])
    have = {x for x in issue_set(got) if x[0] != "sum_mismatch"}
    assert have == want


def test_sum_mismatch_is_reported_with_both_sides():
    rep = make("government", seed=2, name="青山县人民政府")
    rep["table2"]["total_handled"][0] += 1
    rep["table2"]["total_handled"][6] += 1
    got = reports.parse_bytes(render.render_html_fragment(rep, title=True).encode())
    assert got["table2"] == rep["table2"]
    mism = [i for i in got["issues"] if i["code"] == "sum_mismatch"]
    wheres = {i["where"] for i in mism}
    assert "table2.row1+row2=row24+row25.natural_person" in wheres
    assert "table2.row24=sum(rows3-23).natural_person" in wheres
    assert "table2.row1+row2=row24+row25.total" in wheres
    msg = next(i["message"] for i in mism if i["where"] == "table2.row24=sum(rows3-23).natural_person")
    assert "总计 says" in msg and "sum to" in msg


def test_blank_cells_make_rules_not_checkable():
    rep = make("government", seed=2, name="青山县人民政府")
    rep["table2"]["total_handled"][0] += 1  # would break two rules in column 自然人...
    html = render.render_html_fragment(rep, blank_cells=["table2.total_handled.natural_person"])
    got = reports.parse_bytes(html.encode())
    assert got["table2"]["total_handled"][0] is None
    # ...but the cell is blank, so those rules are not checkable: no mismatch, only the blank.
    assert not any(
        i["code"] == "sum_mismatch" and i["where"].endswith(".natural_person") for i in got["issues"]
    )
    assert ("cell_blank", "table2.total_handled.natural_person") in issue_set(got)


def test_table3_total_mismatch():
    rep = make(seed=4)
    rep["table3"]["review"]["total"] += 2
    got = reports.parse_bytes(render.render_docx(rep))
    assert ("sum_mismatch", "table3.review.total") in issue_set(got)


def test_sign_off_date_is_a_body_date_and_meta_wins():
    rep = make(seed=9)
    data = render.render_docx(rep, sign_off=True)
    got = reports.parse_bytes(data)
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-20", "body")
    assert squash(got["sections"]["other"]) == squash(rep["sections"]["other"])
    got = reports.parse_bytes(data, meta={"published_at": "2024-01-22 10:00", "date_source": "meta"})
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-22", "meta")


def test_doc_and_wps_via_libreoffice():
    assert shutil.which("soffice"), "LibreOffice (soffice) must be installed: make setup installs it"
    rep = make("township", seed=13, name="青山县城关镇")
    data = render.render_doc(rep, title=True)
    assert data[:4] == b"\xd0\xcf\x11\xe0"
    got = reports.parse_bytes(data)
    assert_same(got, rep)
    assert got["kind"] == "township"


def test_scanned_pdf_via_ocr():
    rep = make("department", seed=17)
    # A cheap office scanner: 0.8° skew, grain (sigma 18) and a slight blur.
    data = render.render_scanned_pdf(rep, title=True, skew=0.8, noise=18)
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    assert all(not pdf[i].get_textpage().get_text_range().strip() for i in range(len(pdf)))
    pdf.close()
    got = reports.parse_bytes(data)
    assert got["agency"] == rep["agency"] and got["year"] == rep["year"]
    assert got["template"] == "2021"
    assert got["table2"] == rep["table2"]
    assert got["table3"] == rep["table3"]
    assert got["table1"] == rep["table1"]


def test_pdf_exported_by_an_office_suite_and_the_pdfplumber_path():
    from reports.api import parse_doc
    from reports.read_pdf import read_pdf_text

    rep = make("government", seed=23, name="青山县人民政府")
    data = render.render_pdf_office(rep, title=True, split_labels=True)
    got = reports.parse_bytes(data)
    assert_same(got, rep)
    assert got["issues"] == []
    # The slower pdfplumber reader (the fallback) reads the same.
    assert_same(parse_doc(read_pdf_text(data)), rep)
    assert_same(parse_doc(read_pdf_text(render.render_pdf(rep))), rep)


def test_html_with_all_tables_in_one_table_element():
    import re

    rep = make("government", seed=31, name="青山县人民政府")
    html = render.render_html_fragment(rep, no_headings=True)
    # Glue the three tables into one <table>: the paragraphs between them become rows.
    one = re.sub(r"</tbody></table>\s*(<p[^>]*>.*?</p>\s*)*<table[^>]*><tbody>", "", html, flags=re.S)
    assert one.count("<table") == 1
    got = reports.parse_bytes(one.encode())
    assert (
        got["table1"] == rep["table1"] and got["table2"] == rep["table2"] and got["table3"] == rep["table3"]
    )


def test_gbk_text_file():
    rep = make(seed=32)
    got = reports.parse_bytes(render.render_text(rep, "tabs", title=True).encode("gb18030"))
    assert_same(got, rep)


def test_docx_named_wps_and_sniffed_by_content(tmp_path):
    rep = make(seed=33)
    p = tmp_path / "report.wps"
    p.write_bytes(render.render_docx(rep, title=True))
    assert_same(reports.parse_file(p), rep)
    q = tmp_path / "report.pdf"  # an HTML page saved with the wrong extension
    q.write_bytes(render.render_html_page(rep).encode())
    assert_same(reports.parse_file(q), rep)


def test_page_image_via_ocr():
    import io

    import pypdfium2 as pdfium

    rep = make("department", seed=19)
    pdf = pdfium.PdfDocument(render.render_pdf(rep, title=True))
    img = pdf[0].render(scale=150 / 72, grayscale=True).to_pil()
    pdf.close()
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    got = reports.parse_bytes(buf.getvalue())
    assert (got["agency"], got["year"], got["template"]) == (rep["agency"], rep["year"], "2021")
    assert got["table1"] == rep["table1"]
    assert got["table2"]["new_received"] == rep["table2"]["new_received"]  # the rows on page 1


def test_rtf_via_libreoffice():
    rep = make(seed=37)
    data = render.docx_to(render.render_docx(rep, title=True), "rtf")
    assert data.startswith(b"{\\rtf")
    assert_same(reports.parse_bytes(data), rep)


def test_table3_numbers_behind_a_row_label():
    rep = make(seed=41)
    rep["table3"]["review"] = {"upheld": 1, "corrected": 2, "other": 0, "pending": 1, "total": 4}
    lines = render.render_text(rep, "tabs").split("\n")
    i = max(k for k, line in enumerate(lines) if line.count("\t") == 14 and line.replace("\t", "").isdigit())
    lines[i] = "件数\t" + lines[i]
    got = reports.parse_bytes("\n".join(lines).encode())
    assert got["table3"] == rep["table3"] and got["issues"] == []


def test_unreadable_cell_is_null_and_named():
    rep = make(seed=43)
    rep["table2"]["disclosed"] = [1, 0, 0, 0, 0, 0, 1]
    lines = render.render_text(rep, "tabs").split("\n")
    i = next(k for k, line in enumerate(lines) if "（一）予以公开" in line)
    cells = lines[i].split("\t")
    assert cells[3] == "1"
    cells[3] = "1O"  # a letter O typed for a zero
    lines[i] = "\t".join(cells)
    got = reports.parse_bytes("\n".join(lines).encode())
    assert got["table2"]["disclosed"] == [None, 0, 0, 0, 0, 0, 1]
    unreadable = [x for x in got["issues"] if x["code"] == "cell_unreadable"]
    assert [(x["where"], x["message"]) for x in unreadable] == [
        ("table2.disclosed.natural_person", "not a number: '1O'")
    ]
