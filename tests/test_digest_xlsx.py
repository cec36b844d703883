"""The XLSX digest as Excel, WPS and a printer see it: read back with openpyxl, and printed to PDF
by LibreOffice Calc (the page count, and the header row on every page)."""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pypdfium2
import pytest
from test_monitor_common import SOURCE_ID, build_store, config_for, store_report

from monitor.glossary import describe, place
from monitor.status import KIND_LABELS, STATUS_LABELS, STATUSES
from outputs.digest import build_digest, write_digest
from outputs.digest_xlsx import TOP_SWINGS
from reports.checks import check
from reports.model import TABLE2_KEYS, empty_report
from reports.template import Reader
from simulator.model import generate_region
from storage.store import Fetched

FORMULA = "=SUM(1,2)青山县某局"  # a portal-supplied name that looks like a formula
TABLE_SHEETS = ("状态", "同比", "数据质量", "变更", "名称匹配")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("xlsx")
    region = generate_region(seed=5, departments=10, townships=3)
    store = build_store(tmp_path, region)
    odd = copy.deepcopy(next(r for r in region.published() if r.year == region.years[-1]))
    odd.title_agency, odd.article_id, odd.planted = FORMULA, 99998, []
    store_report(store, odd, suffix="_formula")
    # One report modified after publication, then removed: two rows on 变更.
    target = next(r for r in region.published() if r.year == region.years[-1] and not r.planted)
    url = store.db.execute(
        "SELECT d.url FROM reports r JOIN documents d ON d.id = r.document_id WHERE r.agency = ? AND r.year = ?",
        [target.agency.name, target.year],
    ).fetchone()[0]
    store.record_fetch(Fetched(SOURCE_ID, url, json.dumps({"edited": True}).encode()))
    store.record_gone(url, None, 404, "404")
    config = config_for(tmp_path, region)
    as_of = date(region.years[-1] + 1, 6, 1)
    digest = build_digest(store, config, region.years[-1], as_of=as_of)
    paths = {fmt: write_digest(digest, fmt, tmp_path / f"digest.{fmt}") for fmt in ("xlsx", "csv", "json")}
    return region, digest, paths


def _rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def _col(ws, head: str) -> int:
    return [c.value for c in ws[1]].index(head)


# -- the glossary ---------------------------------------------------------------------------------


def test_check_findings_read_as_plain_chinese():
    """The wording is tied to the messages reports/checks.py and reports/template.py really write."""
    report = empty_report()
    t2 = {k: [0] * 7 for k in TABLE2_KEYS}
    t2["withheld_state_secret"] = [12, 0, 0, 0, 0, 0, 13]
    report["table2"] = t2
    found = {i["where"]: describe(i) for i in check(report)}
    assert found["table2.withheld_state_secret.total"] == (
        "表二 三、（三）不予公开 1.属于国家秘密 · 总计：六类申请人之和 12 ≠ 总计 13"
    )
    assert found["table2.row24=sum(rows3-23).natural_person"] == (
        "表二 三、（七）总计 · 自然人：（一）至（六）各项之和 12 ≠ 总计 0"
    )
    report = empty_report()
    report["table3"] = {"review": {"upheld": 1, "corrected": 2, "other": 0, "pending": 0, "total": 4}}
    assert [describe(i) for i in check(report)] == [
        "表三 行政复议 · 总计：维持、纠正、其他、尚未审结之和 3 ≠ 总计 4"
    ]
    rd = Reader()
    rd.value("", "table2.disclosed.research")
    rd.value("-", "table2.disclosed.commercial")
    rd.value("十二", "table3.litigation_direct.upheld")
    rd.missing("table1.penalty", "行政处罚")
    assert [describe(i) for i in rd.issues] == [
        "表二 三、（一）予以公开 · 科研机构：单元格空白",
        "表二 三、（一）予以公开 · 商业企业：未填数字（写作“-”）",
        "表三 行政诉讼（未经复议直接起诉） · 结果维持：不是数字：“十二”",
        "表一 行政处罚：未找到这一行",
    ]
    assert place("sections.problems") == "五、存在的主要问题及改进情况"
    # An unknown shape still says where and what, never drops the message.
    assert describe({"code": "sum_mismatch", "where": "table2.disclosed.total", "message": "odd"}) == (
        "表二 三、（一）予以公开 · 总计：勾稽关系不符（odd）"
    )


# -- read back with openpyxl ------------------------------------------------------------------------


def test_cells_have_number_formats_dates_and_links(built):
    region, digest, paths = built
    wb = openpyxl.load_workbook(paths["xlsx"])
    ws = wb["状态"]
    rows = {r[0]: r for r in _rows(ws)[1:]}
    deadline, published, days, link = (_col(ws, h) for h in ("截止日期", "发布日期", "逾期天数", "链接"))
    by_agency = {r["agency"]: r for r in digest.status if r["year"] == digest.year}
    missing = [r for r in by_agency.values() if r["status"] == "missing"]
    late = [r for r in by_agency.values() if r["status"] == "late"]
    assert missing and late
    for r in missing:
        # Overdue from the deadline to the digest's date, not blank.
        want = (digest.as_of - date.fromisoformat(r["deadline"])).days
        assert want > 0 and rows[r["agency"]][days] == want
    for r in late:
        assert rows[r["agency"]][days] == r["days_late"] > 0
    for row in ws.iter_rows(min_row=2):
        assert isinstance(row[deadline].value, datetime) and row[deadline].number_format == "yyyy-mm-dd"
        if row[published].value is not None:
            assert isinstance(row[published].value, datetime)
            assert row[published].number_format == "yyyy-mm-dd"
        url = row[link].value
        if url is not None:
            assert url.startswith("http://") and row[link].hyperlink.target == url
    linked = [r for r in ws.iter_rows(min_row=2) if r[link].hyperlink]
    assert len(linked) == sum(1 for r in by_agency.values() if r["url"])
    assert ws.cell(row=2, column=days + 1).number_format in ("0", "General")

    # A name that looks like a formula is text.
    assert FORMULA in rows and ws.cell(row=list(rows).index(FORMULA) + 2, column=1).data_type == "s"

    yoy = wb["同比"]
    head = [c.value for c in yoy[1]]
    cells = {r[0].value: r for r in yoy.iter_rows(min_row=2)}
    gov = next(y for y in digest.yoy if y["agency"] == region.government.name)
    f = gov["figures"]
    rate = cells[gov["agency"]][head.index("公开率（本年）")]
    assert rate.number_format == "0.0%" and rate.value == pytest.approx(f["disclosure_rate"]["current"])
    rel = cells[gov["agency"]][head.index("本年新收申请数（变化率）")]
    assert rel.number_format.startswith("+0.0%") and rel.value == pytest.approx(f["applications"]["relative"])
    assert -10 < rel.value < 10  # a ratio, not a percentage number such as -48.5
    count = cells[gov["agency"]][head.index("本年新收申请数（本年）")]
    assert count.number_format == "#,##0" and count.value == f["applications"]["current"]
    points = cells[gov["agency"]][head.index("公开率（变化，百分点）")]
    assert points.value == pytest.approx(round(f["disclosure_rate"]["change"] * 100, 1))

    quality = wb["数据质量"]
    assert [c.value for c in quality[1]] == ["机关", "年度", "问题", "说明", "链接"]
    texts = [r[3] for r in _rows(quality)[1:]]
    assert texts and all(re.search("[\u4e00-\u9fff]", t) for t in texts)
    # No machine words: codes, dotted locations or the parser's English.
    assert not any(re.search(r"sum_mismatch|table\d|\bfails\b|\bsays\b|rows? \d", t) for t in texts)
    assert any(t.startswith("表二") and "≠" in t for t in texts)
    for row in quality.iter_rows(min_row=2):
        if row[4].value:
            assert row[4].hyperlink.target == row[4].value


def test_changes_sheet_has_local_times_and_links(built):
    _, digest, paths = built
    ws = openpyxl.load_workbook(paths["xlsx"])["变更"]
    rows = list(ws.iter_rows(min_row=2))
    assert [r[2].value for r in rows] == ["修改", "删除"]
    for row, change in zip(rows, digest.changes, strict=True):
        utc = datetime.fromisoformat(change["at"])
        local = utc.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
        assert row[3].value == local and row[3].number_format == "yyyy-mm-dd hh:mm"
        assert row[4].hyperlink.target == row[4].value == change["url"]


def test_sheets_filter_freeze_and_print_setup(built):
    _, digest, paths = built
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["汇总", *TABLE_SHEETS]
    for name in TABLE_SHEETS:
        ws = wb[name]
        width = openpyxl.utils.get_column_letter(ws.max_column)
        assert ws.auto_filter.ref == f"A1:{width}{ws.max_row}", name
        assert ws.freeze_panes == "B2", name
        assert ws.print_title_rows == "$1:$1", name
        # The header row is tall enough for its longest wrapped header.
        assert ws.row_dimensions[1].height >= 17 * max(
            -(
                -sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(c.value))
                // int(ws.column_dimensions[c.column_letter].width)
            )
            for c in ws[1]
        ), name
        assert all(c.alignment.wrap_text for c in ws[1]), name
    for name in wb.sheetnames:
        ws = wb[name]
        setup = ws.page_setup
        assert (setup.orientation, setup.paperSize) == ("landscape", 9), name
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        assert 0.2 <= ws.page_margins.left <= 1 and 0.2 <= ws.page_margins.top <= 1.2, name


def test_summary_sheet_matches_the_digest(built):
    region, digest, _ = built
    wb = openpyxl.load_workbook(built[2]["xlsx"])
    rows = _rows(wb["汇总"])
    assert rows[0][0] == digest.title
    at = {r[0]: i for i, r in enumerate(rows) if r and r[0]}

    # Counts by status, against the status rows of the digest year counted here.
    counts = Counter(r["status"] for r in digest.status if r["year"] == digest.year)
    start = at["状态"] + 1
    got = {rows[i][0]: rows[i][1] for i in range(start, start + len(STATUSES))}
    assert got == {STATUS_LABELS[s]: counts.get(s, 0) for s in STATUSES}
    assert counts["missing"] and counts["late"]

    # On-time rate per region and kind.
    start = at["地区"] + 1
    table = []
    for r in rows[start:]:
        if not r[0]:
            break
        table.append(r)
    groups: dict[tuple, Counter] = {}
    for r in digest.status:
        if r["year"] == digest.year:
            groups.setdefault((r["region"], KIND_LABELS[r["kind"]]), Counter())[r["status"]] += 1
    for (reg, kind), c in groups.items():
        line = next(r for r in table if r[0] == reg and r[1] == kind)
        due = c["on_time"] + c["late"] + c["missing"]
        assert line[2] == sum(c.values())
        assert list(line[3:8]) == [c[s] for s in STATUSES]
        assert line[8] == pytest.approx(c["on_time"] / due)
    total = table[-1]
    assert total[:2] == ("合计", "全部") and total[2] == sum(counts.values())
    assert total[8] == pytest.approx(
        counts["on_time"] / (counts["on_time"] + counts["late"] + counts["missing"])
    )
    cell = wb["汇总"].cell(row=start + 1, column=9)
    assert cell.number_format == "0.0%"

    # The largest swings: flagged by monitor.yoy, largest first, at most TOP_SWINGS.
    start = at["机关"] + 1
    swings = [r[:7] for r in rows[start:] if r and r[0]]
    flagged = {(y["agency"], key): y["figures"][key] for y in digest.yoy for key in y["swings"]}
    assert swings and len(swings) == min(TOP_SWINGS, len(flagged))
    from monitor.yoy import FIGURE_LABELS

    by_label = {v: k for k, v in FIGURE_LABELS.items()}
    sizes = []
    for agency, _kind, label, prev, cur, _change, rel in swings:
        f = flagged[(agency, by_label[label])]
        assert (prev, cur) == (f["previous"], f["current"])
        assert rel == (None if f["relative"] is None else pytest.approx(f["relative"]))
        sizes.append(abs(rel) if rel is not None else 1.0)
    counted = [
        abs(f["relative"]) for (_a, k), f in flagged.items() if k != "disclosure_rate" and f["relative"]
    ]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] == pytest.approx(max(counted))


def test_csv_and_json_count_overdue_days_of_missing_reports(built):
    _, digest, paths = built
    missing = {
        r["agency"]: (digest.as_of - date.fromisoformat(r["deadline"])).days
        for r in digest.status
        if r["year"] == digest.year and r["status"] == "missing"
    }
    with paths["csv"].open(encoding="utf-8-sig", newline="") as fh:
        rows = {r["机关"]: r for r in csv.DictReader(fh)}
    assert missing and all(rows[a]["逾期天数"] == str(d) for a, d in missing.items())
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    got = {r["agency"]: r["days_late"] for r in data["status"] if r["year"] == digest.year}
    assert all(got[a] == d for a, d in missing.items())
    assert all("text" in q and "place" in q for q in data["quality"])


# -- printed by LibreOffice Calc --------------------------------------------------------------------


def _print(xlsx: Path, tmp: Path) -> list[tuple[str, str]]:
    """(sheet name, page text) per page of the PDF LibreOffice Calc prints ``xlsx`` to."""
    assert shutil.which("soffice"), "LibreOffice Calc must be installed: make setup installs it"
    out = tmp / "pdf"
    profile = tmp / "lo-profile"  # one per test: parallel runs must not share a profile
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pdf = pypdfium2.PdfDocument(out / f"{xlsx.stem}.pdf")
    try:
        pages = []
        for page in pdf:
            width, height = page.get_size()
            assert width > height  # landscape
            text = page.get_textpage().get_text_range()
            pages.append((text.split("\n", 1)[0].split()[-1], re.sub(r"\s+", "", text)))
        return pages
    finally:
        pdf.close()


def _check_pages(xlsx: Path, pages: list[tuple[str, str]]) -> Counter:
    """Every page of a table sheet shows its whole header row (repeated, and one page wide)."""
    wb = openpyxl.load_workbook(xlsx)
    heads = {name: [re.sub(r"\s+", "", str(c.value)) for c in wb[name][1]] for name in TABLE_SHEETS}
    for sheet, text in pages:
        assert sheet in wb.sheetnames, sheet
        for head in heads.get(sheet, []):
            assert head in text, (sheet, head)
    return Counter(sheet for sheet, _ in pages)


def test_printed_digest_fits_a_page_per_sheet(built, tmp_path):
    _, digest, paths = built
    pages = _print(paths["xlsx"], tmp_path)
    per_sheet = _check_pages(paths["xlsx"], pages)
    # A county of 14 agencies: each sheet fits on one A4 page (before: 18 pages, headers cut off).
    assert per_sheet == Counter({name: 1 for name in ("汇总", *TABLE_SHEETS)})
    summary = next(text for sheet, text in pages if sheet == "汇总")
    assert "按时率" in summary and f"{digest.year}年度各状态机关数" in summary


def test_printed_long_digest_repeats_the_header_on_every_page(built, tmp_path):
    """Eight counties' worth of rows: 状态 and 同比 run over several pages, each with the header."""
    _, digest, _ = built
    copies = 8
    status = [dict(r, agency=f"{r['agency']}{i}") for i in range(copies) for r in digest.status]
    yoy = [dict(y, agency=f"{y['agency']}{i}") for i in range(copies) for y in digest.yoy]
    big = replace(digest, status=status, yoy=yoy)
    path = write_digest(big, "xlsx", tmp_path / "long.xlsx")
    per_sheet = _check_pages(path, _print(path, tmp_path))
    rows = len(big.matrix())
    assert per_sheet["状态"] >= 2 and per_sheet["同比"] >= 2
    # One page wide: the pages hold rows, never a strip of columns (about 25+ rows a page).
    assert per_sheet["状态"] <= rows // 25 + 1
