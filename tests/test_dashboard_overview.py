"""The dashboard's overview, 变更 page, badges, charts and local times, over a real server in
headless Chromium at desktop and phone widths, on a database of two generated regions."""

from __future__ import annotations

import copy
import os
import urllib.request
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config import load_config
from monitor.status import STATUS_LABELS, compute_status
from outputs.web import start_server
from outputs.web.app import PAGE_CSP
from simulator.model import generate_region
from storage.store import Fetched, Store

AS_OF = date(2026, 5, 1)  # every report of 2023..2025 is due by then: 2025 is the year in focus
CHROMIUM = "/usr/bin/chromium"
WIDTHS = (1366, 390)
PROBLEMS = ("missing", "not_checkable", "late")
# Source id → (county, region, seed, host): ids that appear in no URL, to see they are never shown.
REGIONS = {
    "src-qs1": ("青山县", "测试省青山县", 7, "qingshan.example"),
    "src-bs2": ("白水县", "测试省白水县", 11, "baishui.example"),
}


def article_html(title: str, report: dict, extra: str = "") -> bytes:
    sections = report.get("sections") or {}
    paras = "".join(f"<p>{sections.get(k, '')}</p>" for k in ("overview", "problems", "other"))
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1>{paras}{extra}</body></html>"
    ).encode()


def get(url: str) -> tuple[int, dict, str]:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return resp.status, dict(resp.headers), resp.read().decode()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two regions' reports; in 2025 one report edited after publication (a number and a line of
    text changed) and one removed; the second region's latest crawl interrupted."""
    root = tmp_path_factory.mktemp("overview")
    regions = {
        sid: generate_region(seed=seed, county=county, departments=8, townships=3)
        for sid, (county, _, seed, _host) in REGIONS.items()
    }
    sources = "".join(
        f"  - id: {sid}\n    name: {REGIONS[sid][0]}人民政府门户网站\n    start_url: http://{REGIONS[sid][3]}/\n"
        f"    region: {REGIONS[sid][1]}\n    agencies:\n"
        + "".join(f"      - {{name: {a.name}, kind: {a.kind}}}\n" for a in region.agencies)
        for sid, region in regions.items()
    )
    (root / "config.yaml").write_text(
        f"storage:\n  path: {root / 'nianbao.db'}\nsources:\n{sources}", "utf-8"
    )
    config = load_config(root / "config.yaml")
    store = Store(config.storage_path)
    edited = removed = None
    for sid, region in regions.items():
        s = next(x for x in config.sources if x["id"] == sid)
        store.upsert_source(sid, s["name"], s["start_url"], None, {})
        run = store.start_run(sid)
        for r in region.published():
            url = f"http://{REGIONS[sid][3]}/art/{r.published_at:%Y/%m/%d}/art_{r.article_id}.html"
            rec = store.record_fetch(
                Fetched(
                    sid,
                    url,
                    article_html(r.title, r.report),
                    content_type="text/html; charset=utf-8",
                    title=r.title,
                    published_at=r.published_at.isoformat(),
                    date_source="meta",
                    run_id=run,
                )
            )
            store.save_report(rec.version_id, "test-1", r.report)
            on_time = r.published_at <= date(2026, 1, 31) and r.agency.kind == "department"
            if sid == "src-qs1" and r.year == 2025 and on_time and not r.planted:
                if edited is None:
                    edited = (r, url)
                elif removed is None:
                    removed = (r, url)
        store.finish_run(run, "finished", {"pages": 40, "documents": 40, "listed": 40})
    # An edit after publication: one more line of text and Table 2's first figure changed.
    r, url = edited
    report = copy.deepcopy(r.report)
    report["table2"]["new_received"][0] += 5
    report["issues"] = [
        {
            "code": "sum_mismatch",
            "where": "table2.withheld_state_secret",
            "message": "table2.withheld_state_secret: columns sum to 12, 总计 says 13",
        }
    ]
    rec = store.record_fetch(
        Fetched(
            "src-qs1",
            url,
            article_html(r.title, report, "<p>（更正）本报告第三部分数据有误，现予更正。</p>"),
            content_type="text/html; charset=utf-8",
            title=r.title,
            run_id=None,
        )
    )
    store.save_report(rec.version_id, "test-1", report)
    assert store.record_gone(removed[1], None, 404, "HTTP 404")
    # The second region's latest crawl did not finish: its absent reports cannot be checked.
    run = store.start_run("src-bs2")
    store.finish_run(run, "interrupted", {"pages": 3}, reason="操作员中止")
    events = list(store.db.query("SELECT id, kind, at FROM events ORDER BY id"))
    store.close()
    server = start_server(config, today=lambda: AS_OF)
    yield {
        "config": config,
        "root": root,
        "url": server.url,
        "edited": edited[0],
        "removed": removed[0],
        "edited_before": r.report["table2"]["new_received"][0],
        "events": events,
    }
    server.shutdown()


@pytest.fixture(scope="module")
def rows(site):
    with Store(site["config"].storage_path) as store:
        return compute_status(store, site["config"], AS_OF)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def open_page(browser, url: str, width: int):
    page = browser.new_page(viewport={"width": width, "height": 900}, is_mobile=width < 500)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # CSP reports
    page.goto(url)
    return page, errors


def no_overflow(page, screen: int) -> None:
    """Nothing wider than the screen.  On a phone Chromium widens the layout viewport to fit
    content that overflows (the page is zoomed out), so innerWidth must still be the screen's."""
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert inner == screen, f"{page.url}: laid out {inner} px wide on a {screen} px screen"
    assert width <= inner, f"{page.url}: page {width} px wide in a {inner} px window"


def shots() -> Path | None:
    value = os.environ.get("NIANBAO_SCREENSHOTS")
    return Path(value) if value else None


# -- over HTTP: what the monitor says, the page says --------------------------------------------


@pytest.mark.browser
def test_opens_on_the_latest_year_due_with_its_counts_and_those_of_every_year(site, rows, browser):
    status, headers, _ = get(site["url"])
    assert status == 200 and headers["Content-Security-Policy"] == PAGE_CSP
    page, errors = open_page(browser, site["url"], 1366)
    assert page.locator("#counts").get_attribute("data-year") == "2025"
    assert page.locator("nav.years a.on").inner_text() == "2025 年度"
    for year in (2023, 2024, 2025):
        want = Counter(r["status"] for r in rows if r["year"] == year)
        row = page.locator(f"#by-year tr[data-year='{year}']")
        for s in STATUS_LABELS:
            assert row.locator(f"a[data-status={s}]").inner_text() == str(want.get(s, 0)), (year, s)
        if year == 2025:
            for s in STATUS_LABELS:
                assert page.locator(f"#counts a[data-status={s}] b").inner_text() == str(want.get(s, 0)), s
    regions = {r["region"] for r in rows}
    assert len(regions) == 2
    for region in regions:
        want = Counter(r["status"] for r in rows if r["year"] == 2025 and r["region"] == region)
        cells = page.locator(f"#by-region tr[data-region='{region}'] td").all_inner_texts()
        assert cells[: len(STATUS_LABELS)] == [str(want.get(s, 0)) for s in STATUS_LABELS], region
    assert errors == []
    page.close()
    # The counts at the top are one year's, not all years' added up.
    all_missing = sum(1 for r in rows if r["status"] == "missing")
    assert all_missing != sum(1 for r in rows if r["status"] == "missing" and r["year"] == 2025)


def test_before_any_2025_deadline_it_opens_on_2024(site):
    _, _, html = get(site["url"] + "?as_of=2026-01-15")
    assert 'id="counts" data-year="2024"' in html and 'class="on" data-year="2024"' in html
    _, _, html = get(site["url"] + "?as_of=2026-02-15")  # departments' 2025 reports are due
    assert 'id="counts" data-year="2025"' in html


# -- in Chromium ----------------------------------------------------------------------------------


@pytest.mark.browser
def test_problems_come_first_and_the_toggle_shows_only_them(site, rows, browser):
    page, errors = open_page(browser, site["url"], 1366)
    trs = page.locator("#matrix tbody tr")
    flags = [trs.nth(i).get_attribute("data-problem") for i in range(trs.count())]
    first_clean = next(i for i, f in enumerate(flags) if f is None)
    assert all(flags[:first_clean]) and not any(flags[first_clean:]), flags
    # Worst first: missing, not checkable, late, removed, modified.
    order = [*PROBLEMS, "removed", "modified"]
    assert [order.index(f) for f in flags[:first_clean]] == sorted(
        order.index(f) for f in flags[:first_clean]
    )
    problem_agencies = {r["agency"] for r in rows if r["year"] == 2025 and r["status"] in PROBLEMS}
    problem_agencies |= {site["edited"].agency.name, site["removed"].agency.name}
    shown = {trs.nth(i).get_attribute("data-agency") for i in range(first_clean)}
    assert shown == problem_agencies
    assert {"missing", "not_checkable", "late", "modified", "removed"} <= set(flags)
    assert page.locator(".problem-count").inner_text() == str(len(problem_agencies))

    page.click("#problems-toggle")  # a plain link: no script on the page
    assert "problems=1" in page.url
    trs = page.locator("#matrix tbody tr")
    assert trs.count() == len(problem_agencies)
    assert all(trs.nth(i).get_attribute("data-problem") for i in range(trs.count()))
    assert page.locator("#problems-toggle").inner_text() == "显示全部机关"
    page.click("#problems-toggle")
    assert page.locator("#matrix tbody tr").count() == len({r["agency"] for r in rows})
    assert errors == []
    page.close()


@pytest.mark.browser
def test_badges_mark_reports_changed_after_publication(site, browser):
    page, _ = open_page(browser, site["url"], 1366)
    edited = page.locator(f"#matrix tr[data-agency='{site['edited'].agency.name}'] td[data-year='2025']")
    assert edited.get_attribute("data-change") == "modified"
    assert edited.locator(".mark.m-modified").inner_text() == "已修改"
    assert edited.get_attribute("data-status") == "on_time"  # still on time, yet listed as a problem
    gone = page.locator(f"#matrix tr[data-agency='{site['removed'].agency.name}'] td[data-year='2025']")
    assert gone.locator(".mark.m-removed").inner_text() == "已删除"
    assert page.locator("#matrix .mark").count() == 2
    edited.locator("a").click()
    assert page.locator(".changed-note .m-modified").count() == 1
    page.close()


@pytest.mark.browser
def test_the_changes_page_lists_events_newest_first_with_their_diffs_in_local_time(site, browser):
    page, errors = open_page(browser, site["url"] + "changes", 1366)
    items = page.locator("#changes li.change")
    ids = [int(items.nth(i).get_attribute("data-event")) for i in range(items.count())]
    assert ids == sorted((e["id"] for e in site["events"]), reverse=True)
    assert [items.nth(i).get_attribute("data-kind") for i in range(items.count())] == [
        e["kind"] for e in reversed(site["events"])
    ]
    modified = page.locator("#changes li[data-kind=modified]")
    numbers = modified.locator("table.numbers tbody tr")
    assert numbers.count() == 1
    before, after = numbers.first.locator("td").all_inner_texts()
    assert (int(before), int(after)) == (site["edited_before"], site["edited_before"] + 5)
    assert "（更正）本报告第三部分数据有误" in modified.locator(".diff .line.add").first.inner_text()
    assert "青山县人民政府门户网站" in modified.locator(".change-head").inner_text()  # the source's name
    assert "src-qs1" not in page.locator("main").inner_text()
    # Every time is in Asia/Shanghai: the stored UTC instant, eight hours on.
    tz = ZoneInfo("Asia/Shanghai")
    for i, e in enumerate(reversed(site["events"])):
        moment = datetime.fromisoformat(e["at"])
        assert items.nth(i).locator("time").inner_text() == moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    assert "北京时间" in page.locator("footer").inner_text()
    assert (
        page.locator("#changes li[data-kind=removed]").inner_text().endswith("原因：网页已打不开（HTTP 404）")
    )
    label = numbers.first.locator("th").inner_text()
    assert label.startswith("表") and "·" in label, label  # the template's terms, not a key
    modified.locator("a", has_text="逐行比较").click()
    assert page.locator("#diff .line.add").count() >= 1
    # The version diff shows the same changed number, in the same words.
    (row,) = page.locator("table.numbers tbody tr").all()
    assert row.locator("th").inner_text() == label
    assert [int(v) for v in row.locator("td").all_inner_texts()] == [int(before), int(after)]
    assert errors == []
    page.close()


def test_the_time_zone_is_configurable(site):
    """schedule.timezone is the readers' zone on the dashboard too."""
    path = site["root"] / "berlin.yaml"
    text = (site["root"] / "config.yaml").read_text("utf-8")
    path.write_text(text + "schedule:\n  timezone: Europe/Berlin\n", "utf-8")
    server = start_server(load_config(path), today=lambda: AS_OF)
    try:
        _, _, html = get(server.url + "changes")
    finally:
        server.shutdown()
    moment = datetime.fromisoformat(site["events"][0]["at"])
    assert f"<time>{moment.astimezone(ZoneInfo('Europe/Berlin')):%Y-%m-%d %H:%M}</time>" in html
    assert f"<time>{moment.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M}</time>" not in html
    assert "时间均为Europe/Berlin" in html


@pytest.mark.browser
def test_charts_are_inline_svg_without_style_or_script(site, browser):
    page, errors = open_page(browser, site["url"], 1366)
    charts = page.locator("#charts svg.chart")
    assert charts.count() == 2
    titles = [charts.nth(i).locator("title").first.text_content() for i in range(2)]
    assert titles == ["各年度按时发布率", "2025年度按时发布率（按地区）"]
    assert charts.nth(0).locator("rect.bar").count() == 3  # 2023, 2024, 2025
    assert charts.nth(1).locator("rect.bar").count() == 2  # the two regions
    assert page.locator("svg [style], svg[style], svg script").count() == 0
    page.goto(site["url"] + "agency?name=" + urllib.request.quote(site["edited"].agency.name))
    trend = page.locator("#trend svg.chart")
    assert trend.count() == 1 and trend.locator("polyline.line").count() >= 2
    assert trend.locator("circle.point").count() >= 6  # three years, at least two lines
    assert errors == []
    page.close()


@pytest.mark.browser
def test_report_page_has_table_twos_headings_and_plain_chinese(site, browser):
    page, _ = open_page(browser, site["url"], 1366)
    page.locator(f"#matrix tr[data-agency='{site['edited'].agency.name}'] td[data-year='2025'] a").click()
    groups = page.locator("table.t2 tr.group").all_inner_texts()
    assert groups[:5] == [
        "三、本年度办理结果",
        "（三）不予公开",
        "（四）无法提供",
        "（五）不予处理",
        "（六）其他处理",
    ]
    after = page.locator("table.t2 tr.group:has-text('（三）不予公开') + tr th").inner_text()
    assert after == "1.属于国家秘密"
    # A parser finding in the template's words, not the parser's English.
    issue = page.locator("ul.issues li").inner_text()
    assert "表二 三、（三）不予公开 1.属于国家秘密：六类申请人之和 12 ≠ 总计 13" in issue
    assert "columns sum" not in issue
    text = page.locator("main").inner_text()
    assert "网页标注的发布时间" in text and "青山县人民政府门户网站" in text
    for raw in ("text/html", "meta", "src-qs1", "application/"):
        assert raw not in text, raw
    page.goto(site["url"] + "health")
    health = page.locator("main").inner_text()
    assert "未完成（中断）" in health and "interrupted" not in health and "src-bs2" not in health
    page.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_is_wider_than_the_screen(site, browser, width):
    name = urllib.request.quote(site["edited"].agency.name)
    pages = [
        "",
        "?problems=1",
        "?year=2024&status=missing",
        "changes",
        f"agency?name={name}",
        "health",
        "digests",
    ]
    page, errors = open_page(browser, site["url"], width)
    pages.append(
        page.locator(f"#matrix tr[data-agency='{site['edited'].agency.name}'] td[data-year='2025'] a")
        .get_attribute("href")
        .lstrip("/")
    )
    page.goto(site["url"] + "changes")
    diff = page.locator("a", has_text="逐行比较").get_attribute("href").lstrip("/")
    pages.insert(-1, diff)  # the report stays last: it is screenshot below
    for path in pages:
        page.goto(site["url"] + path)
        no_overflow(page, width)
        for svg in page.locator("svg.chart").all():
            assert svg.bounding_box()["width"] <= width
    out = shots()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        named = (
            ("", "overview"),
            ("changes", "changes"),
            (f"agency?name={name}", "agency"),
            (pages[-1], "report"),
        )
        for path, label in named:
            page.goto(site["url"] + path)
            page.screenshot(path=str(out / f"{label}-{width}.png"), full_page=True)
    assert errors == []
    page.close()


# -- the arithmetic and the read behind it ------------------------------------------------------


def test_after_publication_follows_removals_and_restorations():
    from outputs.web.overview import after_publication, focus_year

    def ev(*kinds):
        return [{"kind": k, "at": f"2026-03-0{i + 1}T00:00:00+00:00"} for i, k in enumerate(kinds)]

    assert after_publication([]) is None
    assert after_publication(ev("removed", "restored")) is None  # back as it was: no problem
    assert after_publication(ev("modified", "modified")) == {
        "removed": False,
        "modified": 2,
        "at": "2026-03-02T00:00:00+00:00",
    }
    assert after_publication(ev("modified", "removed"))["removed"] is True
    rows = [{"year": 2025, "deadline": "2026-03-31"}, {"year": 2024, "deadline": "2025-01-31"}]
    assert focus_year(rows, date(2026, 3, 31)) == 2024  # due on the day: not passed yet
    assert focus_year(rows, date(2026, 4, 1)) == 2025
    assert focus_year(rows[:1], date(2026, 1, 1)) == 2025  # nothing due yet: the latest year
    assert focus_year([], date(2026, 1, 1)) is None


def test_an_attachments_events_count_for_its_page(tmp_path):
    from storage import reads

    with Store(tmp_path / "n.db") as store:
        store.upsert_source("a", "某县", "http://a.example/", None, {})
        page = "http://a.example/art/1.html"
        pdf = "http://a.example/files/1.pdf"
        store.record_fetch(Fetched("a", page, b"<html><p>page</p></html>", content_type="text/html"))
        store.record_fetch(
            Fetched(
                "a", pdf, b"%PDF-1.4 one", content_type="application/pdf", kind="attachment", parent_url=page
            )
        )
        store.record_fetch(
            Fetched(
                "a", pdf, b"%PDF-1.4 two", content_type="application/pdf", kind="attachment", parent_url=page
            )
        )
        events = reads.events_by_url(store)
        ids = reads.document_ids(store, [page, pdf, "http://a.example/none"])
    assert [e["kind"] for e in events[pdf]] == ["modified"] and events[page] == events[pdf]
    assert set(ids) == {page, pdf}
