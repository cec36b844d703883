"""Real report excerpts (shared/samples/excerpts, copied to tests/fixtures/excerpts): the
beginnings of real pages, tables flattened by the excerpt tool.  Values read off by hand."""

from __future__ import annotations

from pathlib import Path

import reports

DIR = Path(__file__).parent / "fixtures" / "excerpts"


def parse(name: str) -> dict:
    return reports.parse_file(DIR / name)


def test_ankang_2019_trial_table1():
    r = parse("08_ankang-unknown-bureau-2019.txt")
    assert r["template"] == "2019-trial" and r["year"] == 2019
    assert r["agency"] is None  # the excerpt never names the agency ('我局')
    t1 = r["table1"]
    assert t1["rules"] == {"made": 0, "published": 0, "total": 0}
    assert t1["normative_docs"] == {"made": 30, "published": 30, "total": 30}
    assert t1["licensing"] == {"prev_items": 0, "change": 0, "decisions": 0}
    assert t1["fees"] == {"prev_items": 0, "change": 0}
    assert t1["procurement"] == {"projects": 8, "amount_yuan": 1605964.0}  # "160.5964万元"
    # The excerpt stops inside Table 2: its rows are reported missing, never zero.
    assert all(v is None for vals in r["table2"].values() for v in vals)
    assert {i["code"] for i in r["issues"]} == {"row_missing"}


def test_jiaxian_empty_number_cells_are_blank_not_zero():
    r = parse("12_jiaxian-xizhen-2022.txt")
    assert (r["agency"], r["year"], r["kind"]) == ("螅镇", 2022, "township")
    assert (r["published_at"], r["published_at_source"]) == ("2023-01-31", "page")
    assert r["template"] == "2019-trial"
    assert r["table1"]["rules"] == {"made": None, "published": None, "total": None}
    blanks = {i["where"] for i in r["issues"] if i["code"] == "cell_blank"}
    assert "table1.rules.made" in blanks and "table1.licensing.decisions" in blanks
    assert 0 not in [v for x in r["table1"].values() for v in x.values()]


def test_guangdong_title_after_portal_header():
    r = parse("28_guangdong-sheng-2024.txt")
    assert (r["agency"], r["year"], r["kind"]) == ("广东省人民政府", 2024, "government")
    assert (r["published_at"], r["published_at_source"]) == ("2025-03-31", "page")
    assert r["sections"]["overview"].startswith("2024年,全省各级行政机关")


def test_fuzhou_legacy():
    r = parse("30_fuzhou-jinan-qu-2016-legacy.txt")
    assert (r["agency"], r["year"], r["template"], r["kind"]) == (
        "福州市晋安区人民政府",  # the title names the place; "由福州市晋安区人民政府信息公开办编制"
        2016,
        "legacy",
        "government",
    )
    assert (r["published_at"], r["published_at_source"]) == ("2017-01-12", "page")
    assert [i["code"] for i in r["issues"]] == ["template_not_found"]
    assert r["sections"]["overview"].startswith("2016年,我区政府认真贯彻落实")
    assert "福州市晋安区2016年政府信息公开工作年度报告" in r["sections"]["text"]
