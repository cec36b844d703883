"""Layouts of real reports (issue 10): each is a simulator drift option, rendered, parsed back,
and compared with what ``render.expected`` says a correct parser must read."""

from __future__ import annotations

import random
from datetime import date

import pytest

import reports
from reports.model import TABLE2_KEYS
from simulator import render
from simulator.model import Agency, generate_report

RENDERERS = {
    "html": lambda r, **d: render.render_html_fragment(r, **d).encode(),
    "docx": render.render_docx,
    "pdf": render.render_pdf,
    "tabs": lambda r, **d: render.render_text(r, "tabs", **d).encode(),
    "cells": lambda r, **d: render.render_text(r, "cells", **d).encode(),
    "markdown": lambda r, **d: render.render_text(r, "markdown", **d).encode(),
}


def make(seed: int = 21) -> dict:
    rng = random.Random(seed)
    rep = generate_report(rng, Agency("青山县科学技术局", "department", "x"), 2023, date(2024, 1, 20))
    rep["table1"]["fees_10k_yuan"] = 12.3456
    rep["table1"]["licensing"] = 1234
    return rep


def issue_set(got: dict) -> set[tuple[str, str]]:
    return {(i["code"], i["where"]) for i in got["issues"] if i["code"] != "sum_mismatch"}


def roundtrip(fmt: str, rep: dict, **drift) -> dict:
    exp = render.expected(rep, **drift)
    got = reports.parse_bytes(RENDERERS[fmt](rep, title=True, **drift))
    for k in ("agency", "year", "template"):
        assert got[k] == exp[k], k
    for t in ("table1", "table2", "table3"):
        assert got[t] == exp[t], t
    assert issue_set(got) == set(exp["issues"])
    return got


def test_spaced_digits_reaching_over_ruling_lines_stay_in_their_cell():
    rep = make()
    # Two-digit counts in Table 2, so that spreading their digits matters.
    rep["table2"]["new_received"][5] = 16
    data = render.render_pdf(rep, title=True, spaced_digits=True)
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    pdf.close()
    # The text layer alone cannot tell the cells apart: digits of neighbouring cells run together.
    line = next(x for x in text.splitlines() if x.startswith("一、本年新收"))
    assert line.split()[1:] != [str(v) for v in rep["table2"]["new_received"]]
    got = roundtrip("pdf", rep, spaced_digits=True)
    assert got["table2"]["new_received"][5] == 16


def test_spaced_digits_in_the_pdfplumber_reader():
    from reports.api import parse_doc
    from reports.read_pdf import read_pdf_text

    rep = make(seed=22)
    got = parse_doc(read_pdf_text(render.render_pdf(rep, spaced_digits=True)))
    assert (got["table1"], got["table2"], got["table3"]) == (rep["table1"], rep["table2"], rep["table3"])


@pytest.mark.parametrize("layout", ["split", "stacked"])
@pytest.mark.parametrize("fmt", list(RENDERERS))
def test_table3_split_or_stacked(fmt, layout):
    rep = make(seed=23)
    rep["table3"]["litigation_after_review"]["pending"] = 7  # tell the groups apart
    roundtrip(fmt, rep, table3_layout=layout)


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("fmt", list(RENDERERS))
def test_table1_items_as_text_lines(fmt, where):
    got = roundtrip(fmt, make(seed=24), table1_items_as_text=where)
    assert got["table1"]["licensing"] == 1234 and got["table1"]["fees_10k_yuan"] == 12.3456


@pytest.mark.parametrize("fmt", ["html", "tabs", "docx"])
def test_table1_items_as_text_with_blanks_and_dropped_rows(fmt):
    drift = {
        "table1_items_as_text": "after",
        "blank_cells": ["table1.penalty"],
        "zero_as": "—",
        "drop_rows": ["table1.fees_10k_yuan"],
    }
    rep = make(seed=25)
    rep["table1"]["coercion"] = 0
    got = roundtrip(fmt, rep, **drift)
    # "行政处罚" with nothing after it is no item line (it may be a flattened table cell).
    assert ("row_missing", "table1.penalty") in issue_set(got)
    assert ("cell_blank", "table1.coercion") in issue_set(got)  # "行政强制 —"
    assert ("row_missing", "table1.fees_10k_yuan") in issue_set(got)


def test_item_words_in_prose_are_not_table_rows():
    rep = make(seed=26)
    rep["sections"]["overview"] = "行政许可\n全年办理行政许可事项97件，行政处罚12件。\n行政处罚 3"
    got = roundtrip("tabs", rep)
    assert got["table1"]["penalty"] == rep["table1"]["penalty"]


@pytest.mark.parametrize("drift", [{}, {"halfwidth_brackets": True, "zero_as": ""}, {"stray_chars": True}])
def test_wrapped_row_labels_with_numbers_on_the_next_line(drift):
    text = render.render_text(make(seed=27), "tabs", wrapped_rows=True, **drift)
    lines = text.split("\n")
    i = next(
        k for k, line in enumerate(lines) if line.endswith("不计其他情形）") or line.endswith("不计其他情形)")
    )
    assert "\t" not in lines[i - 1] + lines[i] and lines[i + 1].count("\t") == 6  # numbers alone
    roundtrip("tabs", make(seed=27), wrapped_rows=True, **drift)


@pytest.mark.parametrize(
    "drift", [{}, {"split_labels": True}, {"split_cells": True, "blank_cells": ["table2.disclosed.total"]}]
)
def test_markdown_tables_from_pdf_converters(drift):
    md = render.render_text(make(seed=28), "markdown", **drift)
    assert "|---|" in md and "| 申请 | 人情况 |" in md  # a merged heading cut in two
    roundtrip("markdown", make(seed=28), **drift)


def test_markdown_trial_template():
    rep = render.trial_report(make(seed=29), random.Random(29))
    got = reports.parse_bytes(render.render_text(rep, "markdown", title=True).encode())
    assert got["template"] == "2019-trial"
    assert (got["table1"], got["table2"], got["table3"]) == (rep["table1"], rep["table2"], rep["table3"])


@pytest.mark.parametrize("fmt", ["html", "docx", "tabs", "cells", "markdown", "pdf"])
def test_ocr_misread_labels(fmt):
    text = render.render_text(make(seed=30), "tabs", ocr_misreads=True)
    assert "申请数最" in text and "结果维特" in text and "行政浒可" in text  # really misread
    roundtrip(fmt, make(seed=30), ocr_misreads=True)


def test_a_label_too_far_off_is_not_matched_and_says_so():
    rep = make(seed=31)
    lines = render.render_text(rep, "tabs").split("\n")
    i = next(k for k, line in enumerate(lines) if "2.重复申请" in line)
    lines[i] = lines[i].replace("2.重复申请", "2.某某事项")  # nothing like the template's label
    got = reports.parse_bytes("\n".join(lines).encode())
    assert got["table2"]["rejected_duplicate"] == [None] * 7
    for key in TABLE2_KEYS:  # and its numbers went to no other row
        if key != "rejected_duplicate":
            assert got["table2"][key] == rep["table2"][key], key
    miss = [x for x in got["issues"] if x["where"] == "table2.rejected_duplicate"]
    assert [x["code"] for x in miss] == ["row_missing"]
    assert "某某事项" in miss[0]["message"]


@pytest.mark.parametrize("fmt", list(RENDERERS))
def test_a_single_trial_other_row_in_a_2021_table(fmt):
    rep = make(seed=32)
    got = roundtrip(fmt, rep, trial_other_row=True)
    assert got["template"] == "2021"
    for key in ("other_no_correction", "other_unpaid_fee", "other_other"):
        assert got["table2"][key] == [None] * 7
        msg = next(x["message"] for x in got["issues"] if x["where"] == f"table2.{key}")
        assert "（六）其他处理" in msg
    assert got["table2"]["total_handled"] == rep["table2"]["total_handled"]


def test_layouts_combined():
    drift = {
        "table3_layout": "split",
        "table1_items_as_text": "before",
        "wrapped_rows": True,
        "ocr_misreads": True,
        "spaced_digits": True,
    }
    for fmt in ("tabs", "html"):
        roundtrip(fmt, make(seed=33), **drift)
