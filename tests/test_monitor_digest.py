"""The digest in every format, checked against a generated region's ground truth."""

from __future__ import annotations

import copy
import csv
import json
from datetime import date

import openpyxl
import pytest
from test_monitor_common import build_store, config_for, store_report

from monitor.status import STATUS_LABELS
from outputs.digest import FORMATS, build_digest, write_digest
from simulator.model import generate_region

EVIL = '青山县<script>alert("x")</script>局'


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("digest")
    region = generate_region(seed=5, departments=10, townships=3)
    store = build_store(tmp_path, region)
    # A portal-supplied name with markup in it: must come out escaped.
    evil = copy.deepcopy(next(r for r in region.published() if r.year == region.years[-1]))
    evil.title_agency, evil.article_id, evil.planted = EVIL, 99999, []
    store_report(store, evil, suffix="_evil")
    config = config_for(tmp_path, region)
    last = region.years[-1]
    digest = build_digest(store, config, last, as_of=date(last + 1, 6, 1))
    paths = {fmt: write_digest(digest, fmt, tmp_path / f"digest.{fmt}") for fmt in FORMATS}
    return region, digest, paths


def test_digest_content(built):
    region, digest, _ = built
    last = region.years[-1]
    truth = {(t["agency"], t["year"]): t["status"] for t in region.expected_status(date(last + 1, 6, 1))}
    got = {(r["agency"], r["year"]): r["status"] for r in digest.status if r["agency"] != EVIL}
    assert got == truth
    assert digest.years == region.years
    assert digest.summary()["missing"] == sum(
        1 for (_a, y), s in truth.items() if y == last and s == "missing"
    )
    codes = {(q["agency"], q["code"]) for q in digest.quality}
    for r in region.reports:
        if r.year == last and "copied_text" in r.planted:
            assert (r.agency.name, "copied_text") in codes
        if r.year == last and "sum_mismatch" in r.planted:
            assert (r.agency.name, "sum_mismatch") in codes


def test_xlsx_cells(built):
    region, digest, paths = built
    last = region.years[-1]
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames[:5] == ["汇总", "状态", "同比", "数据质量", "变更"]
    ws = wb["状态"]
    assert ws.freeze_panes == "B2"
    head = [c.value for c in ws[1]]
    assert head[:4] == ["机关", "类别", "地区", "来源"]
    assert [f"{y}年" for y in region.years] == head[4 : 4 + len(region.years)]
    assert ws.column_dimensions["A"].width >= 20
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    for r in region.reports:
        want = STATUS_LABELS[
            next(
                t
                for t in region.expected_status(date(last + 1, 6, 1))
                if t["agency"] == r.agency.name and t["year"] == r.year
            )["status"]
        ]
        assert rows[r.agency.name][4 + region.years.index(r.year)] == want
    late = next(r for r in region.reports if r.year == last and any(p.startswith("late:") for p in r.planted))
    days_col = head.index("逾期天数")
    assert rows[late.agency.name][days_col] == int(next(p for p in late.planted if p.startswith("late:"))[5:])
    assert ws.conditional_formatting  # statuses are coloured
    yoy = wb["同比"]
    yhead = [c.value for c in yoy[1]]
    col = yhead.index("本年新收申请数（本年）")
    yrows = {r[0]: r for r in yoy.iter_rows(min_row=2, values_only=True)}
    gov = region.report(region.government.name, last)
    assert yrows[gov.agency.name][col] == gov.report["table2"]["new_received"][6]
    assert isinstance(yrows[gov.agency.name][col], int)
    assert (
        yrows[gov.agency.name][col + 1]
        == region.report(gov.agency.name, last - 1).report["table2"]["new_received"][6]
    )
    copied = next(r for r in region.reports if r.year == last and "copied_text" in r.planted)
    assert yrows[copied.agency.name][yhead.index("文字雷同")] == "是"
    assert yrows[copied.agency.name][yhead.index("五部分相似度")] == 1.0  # shown as 100.0%
    quality = [r for r in wb["数据质量"].iter_rows(min_row=2, values_only=True)]
    assert any(r[0] == gov.agency.name and r[2] == "勾稽关系不符" and r[3].startswith("表") for r in quality)


def test_csv_md_json_html(built):
    region, digest, paths = built
    last = region.years[-1]
    with paths["csv"].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == sum(1 for r in digest.status if r["year"] == last)
    gov = next(r for r in rows if r["机关"] == region.government.name)
    assert gov["本年新收申请数（本年）"] == str(
        region.report(region.government.name, last).report["table2"]["new_received"][6]
    )
    md = paths["md"].read_text(encoding="utf-8")
    assert digest.title in md and "## 同比" in md and region.government.name in md
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["summary"] == digest.summary() and len(data["status"]) == len(digest.status)
    assert {y["agency"] for y in data["yoy"]} == {y["agency"] for y in digest.yoy}
    html = paths["html"].read_text(encoding="utf-8")
    assert "<svg" in html and 'class="s-missing"' in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert html.count("<table") >= 4


def test_unknown_format(built, tmp_path):
    _, digest, _ = built
    with pytest.raises(ValueError):
        write_digest(digest, "pdf", tmp_path / "x.pdf")


def test_xlsx_swings_are_highlighted_by_rule(built):
    region, digest, paths = built
    wb = openpyxl.load_workbook(paths["xlsx"])
    yoy = wb["同比"]
    head = [c.value for c in yoy[1]]
    rules = {str(rng.sqref): [r.formula[0] for r in rng.rules] for rng in yoy.conditional_formatting}
    assert any("本年新收申请数" in f for fs in rules.values() for f in fs)
    # The 显著变化 column the rules read names exactly the swings monitor.yoy found.
    col = head.index("显著变化")
    written = {r[0]: r[col] or "" for r in yoy.iter_rows(min_row=2, values_only=True)}
    for y in digest.yoy:
        for key in y["swings"]:
            from monitor.yoy import FIGURE_LABELS

            assert FIGURE_LABELS[key] in written[y["agency"]]
