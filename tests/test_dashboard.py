"""The dashboard on a database built from a generated region: over HTTP, and in headless Chromium."""

from __future__ import annotations

import io
import json
import os
import re
import urllib.error
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from config import load_config
from outputs.web import ServeError, start_server
from outputs.web.app import safe_url
from outputs.web.text import line_diff
from simulator.model import generate_region
from storage.store import Fetched, Store

AS_OF = date(2026, 5, 1)  # every report of 2023..2025 is due by then
EVIL = "<script>alert(1)</script>"
EVIL_AGENCY = f"青山县测试局{EVIL}"
CHROMIUM = "/usr/bin/chromium"


def article_html(title: str, report: dict, extra: str = "") -> bytes:
    sections = report.get("sections") or {}
    paras = "".join(f"<p>{sections.get(k, '')}</p>" for k in ("overview", "problems", "other"))
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="PubDate" content="{report.get("published_at")}"></head>'
        f"<body><h1>{title}</h1>{paras}{extra}<script>document.title='x'</script></body></html>"
    ).encode()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A config and database: a region's published reports, two versions of one, a hostile one."""
    root = tmp_path_factory.mktemp("dash")
    region = generate_region(seed=7, departments=8, townships=3)
    agencies = (
        "".join(f"      - {{name: {a.name}, kind: {a.kind}}}\n" for a in region.agencies)
        + f"      - {{name: '{EVIL_AGENCY}', kind: department}}\n"
    )
    (root / "config.yaml").write_text(
        "storage:\n  path: nianbao.db\n"
        "sources:\n"
        "  - id: qingshan\n    name: 青山县人民政府\n    start_url: http://qingshan.example/\n"
        f"    region: 测试省青山县\n    agencies:\n{agencies}"
        "  - id: other\n    name: 别处\n    start_url: http://other.example/\n    region: 测试省别处\n",
        encoding="utf-8",
    )
    config = load_config(root / "config.yaml")
    store = Store(config.storage_path)
    for s in config.sources:
        store.upsert_source(s["id"], s["name"], s["start_url"], s.get("family"), {})
    run = store.start_run("qingshan")
    changed = None
    for r in region.published():
        url = f"http://qingshan.example/art/{r.published_at:%Y/%m/%d}/art_{r.article_id}.html"
        rec = store.record_fetch(
            Fetched(
                "qingshan",
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
        if changed is None and r.agency.kind == "government":
            changed = (r, url)
    # The government's first report is edited after publication: a second version.
    r, url = changed
    edited = article_html(r.title, r.report, extra="<p>本报告于发布后更正了第三部分的数据。</p>")
    edited = edited.replace(b"<p>", "<p>（修订）".encode(), 1)
    rec = store.record_fetch(
        Fetched("qingshan", url, edited, content_type="text/html; charset=utf-8", title=r.title, run_id=run)
    )
    store.save_report(rec.version_id, "test-1", r.report)
    # A hostile page: markup in the title, the agency and the text.
    evil_report = dict(r.report, agency=EVIL_AGENCY, year=2025, published_at="2026-01-20")
    evil_report["sections"] = {"overview": f"正文{EVIL}<img src=x onerror=alert(2)>"}
    evil_report["issues"] = [{"code": "cell_blank", "message": f"空{EVIL}", "where": "表二"}]
    evil_url = "http://qingshan.example/art/evil.html"
    rec = store.record_fetch(
        Fetched(
            "qingshan",
            evil_url,
            article_html(f"标题{EVIL}", evil_report),
            content_type="text/html; charset=utf-8",
            title=f"标题{EVIL}",
            published_at="2026-01-20",
            date_source="meta",
            run_id=run,
        )
    )
    store.save_report(rec.version_id, "test-1", evil_report)
    # A DOCX report: no browser shows it, so the report page shows its text (escaped).
    import docx

    document = docx.Document()
    document.add_paragraph(f"青山县测试局2024年政府信息公开工作年度报告{EVIL}")
    buf = io.BytesIO()
    document.save(buf)
    rec = store.record_fetch(
        Fetched(
            "qingshan",
            "http://qingshan.example/files/evil-2024.docx",
            buf.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            kind="attachment",
            run_id=run,
        )
    )
    docx_report = store.save_report(rec.version_id, "test-1", dict(evil_report, year=2024))
    store.finish_run(run, "finished", {"pages": 40, "documents": 80, "new_versions": 80})
    failed = store.start_run("other")
    store.finish_run(failed, "failed", {"errors": 3}, reason="DNS lookup failed")
    ids = {
        "changed_document": store.document(url)["id"],
        "changed_report": store.db.execute(
            "SELECT MAX(id) FROM reports WHERE document_id = ?", [store.document(url)["id"]]
        ).fetchone()[0],
        "evil_report": store.db.execute(
            "SELECT id FROM reports WHERE document_id = ?", [store.document(evil_url)["id"]]
        ).fetchone()[0],
        "government": r.agency.name,
        "docx_report": docx_report,
    }
    store.close()
    server = start_server(config, today=lambda: AS_OF)
    yield {"config": config, "url": server.url, "region": region, **ids}
    server.shutdown()


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# -- over HTTP ---------------------------------------------------------------------------------


def test_matrix_shows_every_expected_pair_with_the_monitors_counts(demo):
    from monitor.status import compute_status

    with Store(demo["config"].storage_path) as store:
        rows = compute_status(store, demo["config"], AS_OF)
    status, headers, body = get(demo["url"])
    html = body.decode()
    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    counts = Counter(r["status"] for r in rows)
    assert counts["missing"] >= 2 and counts["late"] >= 3
    for s, n in counts.items():
        assert f'data-status="{s}"><b>{n}</b>' in html
    for a in demo["region"].agencies:
        assert f'data-agency="{a.name}"' in html
    assert html.count('class="cell s-') == len(rows)

    _, _, body = get(demo["url"] + "?kind=township")
    html = body.decode()
    assert html.count("<tr data-agency=") == sum(1 for a in demo["region"].agencies if a.kind == "township")


def test_a_long_matrix_comes_a_page_at_a_time_problems_first(demo, monkeypatch):
    from outputs.web import views

    monkeypatch.setattr(views, "MATRIX_PAGE", 5)  # a province's thousands, in small
    rows: list[tuple[str, bool]] = []
    page, total = 1, None
    while True:
        status, _, body = get(demo["url"] + f"?page={page}")
        html = body.decode()
        assert status == 200 and 'id="matrix-pager"' in html, page
        total = int(re.search(r"共 (\d+) 个机关", html).group(1))
        found = re.findall(r'<tr data-agency="([^"]+)" data-kind="[^"]*"( data-problem)?', html)
        assert 0 < len(found) <= 5
        rows += [(name, bool(problem)) for name, problem in found]
        if 'rel="next"' not in html:
            break
        page += 1
    # Every agency exactly once over the pages, and the ones with a problem before the rest.
    names = [n for n, _ in rows]
    assert len(names) == len(set(names)) == total > 5
    flags = [p for _, p in rows]
    assert flags == sorted(flags, reverse=True) and flags[0]
    assert get(demo["url"] + f"?page={page + 1}")[0] == 404


def test_hostile_text_is_escaped_everywhere(demo):
    for path in ("", f"report/{demo['evil_report']}", "agency?name=" + urllib.request.quote(EVIL_AGENCY)):
        status, _, body = get(demo["url"] + path)
        html = body.decode()
        assert status == 200, path
        assert "<script>alert" not in html and "<img src=x" not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_original_document_is_served_sandboxed_and_versions_diff(demo):
    status, _, body = get(demo["url"] + f"report/{demo['changed_report']}")
    html = body.decode()
    assert status == 200 and '<iframe class="doc" sandbox' in html
    vid = int(html.split("/version/")[1].split("/raw")[0])
    status, headers, raw = get(demo["url"] + f"version/{vid}/raw")
    assert status == 200 and headers["Content-Security-Policy"] == "sandbox"
    assert headers["Content-Type"] == "text/html; charset=utf-8" and b"<script>" in raw  # bytes as fetched

    status, _, body = get(demo["url"] + f"document/{demo['changed_document']}/diff")
    html = body.decode()
    assert status == 200
    assert "本报告于发布后更正了第三部分的数据。" in html.split('class="line add"')[-1]
    assert '<div class="line del">' in html and "+2 行" in html
    assert get(demo["url"] + f"document/{demo['changed_document']}/diff?a=999999")[0] == 404


def test_a_docx_report_shows_its_text_escaped(demo):
    status, _, body = get(demo["url"] + f"report/{demo['docx_report']}")
    html = body.decode()
    assert status == 200 and '<div class="preview">' in html
    assert "青山县测试局2024年政府信息公开工作年度报告&lt;script&gt;" in html and "<script>" not in html
    vid = int(html.split("/version/")[1].split("/raw")[0])
    status, headers, raw = get(demo["url"] + f"version/{vid}/raw")
    assert status == 200 and raw.startswith(b"PK")
    assert headers["Content-Disposition"].startswith('attachment; filename="evil-2024.docx"')


def test_health_page_names_failing_sources(demo):
    status, _, body = get(demo["url"] + "health")
    html = body.decode()
    assert status == 200
    assert 'data-source="qingshan"' in html and "DNS lookup failed" in html


def test_digest_downloads_in_every_format(demo):
    import openpyxl

    status, _, body = get(demo["url"] + "digests")
    assert status == 200 and "/digest/2025.xlsx" in body.decode()
    status, headers, body = get(demo["url"] + "digest/2025.xlsx")
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(body))
    cells = {str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value}
    assert demo["government"] in cells
    status, _, body = get(demo["url"] + "digest/2025.json")
    assert status == 200 and demo["government"] in json.dumps(json.loads(body), ensure_ascii=False)
    for fmt in ("csv", "html", "md"):
        assert get(demo["url"] + f"digest/2025.{fmt}")[0] == 200


def test_unknown_pages_and_bad_parameters_are_plain_errors(demo):
    assert get(demo["url"] + "nope")[0] == 404
    assert get(demo["url"] + "report/99999")[0] == 404
    assert get(demo["url"] + "?as_of=yesterday")[0] == 400
    assert get(demo["url"] + "agency?name=" + urllib.request.quote("不存在的局"))[0] == 404


def test_a_public_address_needs_a_token_and_the_token_is_checked(demo, monkeypatch):
    monkeypatch.delenv("NIANBAO_TOKEN", raising=False)
    with pytest.raises(ServeError, match="needs a token"):
        start_server(demo["config"], host="0.0.0.0", port=0)
    server = start_server(demo["config"], host="0.0.0.0", port=0, token="s3cret")
    try:
        base = server.url.replace("0.0.0.0", "127.0.0.1")
        assert get(base)[0] == 401
        assert get(base + "?token=wrong")[0] == 401
        status, headers, _ = get(base + "health?token=s3cret")
        assert status == 303 and headers["Location"] == "/health"
        cookie = headers["Set-Cookie"].split(";")[0]
        assert "HttpOnly" in headers["Set-Cookie"]
        assert get(base + "health", {"Cookie": cookie})[0] == 200
        assert get(base, {"Authorization": "Bearer s3cret"})[0] == 200
    finally:
        server.shutdown()
    # The token may come from the environment variable named in serve.token_env.
    monkeypatch.setenv("NIANBAO_TOKEN", "from-env")
    server = start_server(demo["config"], host="0.0.0.0", port=0)
    try:
        base = server.url.replace("0.0.0.0", "127.0.0.1")
        assert get(base)[0] == 401 and get(base, {"Authorization": "Bearer from-env"})[0] == 200
    finally:
        server.shutdown()


def test_only_http_links_and_a_readable_line_diff():
    assert safe_url("https://www.gov.cn/a.html") == "https://www.gov.cn/a.html"
    assert safe_url("javascript:alert(1)") is None and safe_url(" JaVaScRiPt:x") is None
    assert safe_url("data:text/html,x") is None and safe_url(None) is None
    d = line_diff("第一句。第二句。\n表格", "第一句。第二句改了。\n表格")
    assert d["added"] == 1 and d["removed"] == 1
    assert [r["text"] for r in d["rows"] if r["kind"] == "add"] == ["第二句改了。"]


# -- in Chromium -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.mark.browser
def test_browser_filters_opens_a_report_and_its_diff_and_downloads(demo, browser, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(demo["url"])
    expect(page.locator("h1")).to_have_text("年度报告发布状态")
    all_rows = page.locator("#matrix tbody tr").count()
    assert all_rows == len(demo["region"].agencies) + 1  # and the hostile one

    page.select_option("select[name=status]", "missing")
    page.click("button[type=submit]")
    rows = page.locator("#matrix tbody tr")
    assert 0 < rows.count() < all_rows
    for i in range(rows.count()):
        assert rows.nth(i).locator("td[data-status=missing]").count() >= 1
    assert "status=missing" in page.url

    page.goto(demo["url"] + "?kind=government")
    gov = page.locator("#matrix tbody tr")
    expect(gov).to_have_count(1)
    gov.locator("td.cell a").first.click()
    expect(page.locator("h1.doc-title")).to_contain_text(demo["government"])
    expect(page.locator("table.t2").first).to_contain_text("本年新收政府信息公开申请数量")
    expect(page.frame_locator("iframe.doc").locator("h1")).to_contain_text("年度报告")

    page.goto(demo["url"] + f"report/{demo['changed_report']}")
    page.click("form.diff-form button")
    expect(page.locator("#diff .line.add").last).to_contain_text("本报告于发布后更正了第三部分的数据")
    expect(page.locator(".diff-stats")).to_contain_text("+2 行")

    page.goto(demo["url"] + "digests")
    with page.expect_download() as info:
        page.click("a[href='/digest/2025.xlsx']")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.suffix == ".xlsx"
    import openpyxl

    book = openpyxl.load_workbook(target)
    assert any(demo["government"] == c.value for ws in book.worksheets for row in ws.iter_rows() for c in row)
    assert errors == []
    page.close()


@pytest.mark.browser
def test_browser_shows_a_script_title_as_text(demo, browser):
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(demo["url"] + f"report/{demo['evil_report']}")
    assert EVIL in page.locator("h1.doc-title").inner_text()
    assert page.locator("h1.doc-title script").count() == 0
    page.locator("details").first.evaluate("d => d.open = true")
    assert "<img src=x onerror=alert(2)>" in page.locator(".section-text").first.inner_text()
    assert page.locator("main img").count() == 0
    assert EVIL in page.locator("ul.issues").inner_text()
    page.goto(demo["url"] + "?region=" + urllib.request.quote("测试省青山县"))
    assert EVIL_AGENCY in page.locator("#matrix").inner_text()
    page.goto(demo["url"] + "agency?name=" + urllib.request.quote(EVIL_AGENCY))
    assert page.locator("h1").inner_text() == EVIL_AGENCY
    page.wait_for_timeout(300)
    assert dialogs == []
    page.close()


@pytest.mark.browser
def test_phone_screenshot_of_the_matrix(demo, browser, tmp_path):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page.goto(demo["url"])
    # Nothing wider than the screen but the matrix itself, which scrolls inside its box.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    assert page.locator("#matrix th.agency").first.evaluate("e => getComputedStyle(e).position") == "sticky"
    out = Path(os.environ.get("NIANBAO_SCREENSHOTS") or tmp_path)  # set it to look at them
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "matrix-phone.png"))
    page.goto(demo["url"] + f"report/{demo['changed_report']}")
    page.screenshot(path=str(out / "report-phone.png"), full_page=False)
    page.goto(demo["url"] + f"document/{demo['changed_document']}/diff")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(out / "diff-phone.png"), full_page=False)
    page.close()
    assert (out / "matrix-phone.png").stat().st_size > 10_000


# -- hardening, over real HTTP -----------------------------------------------------------------


def raw_get(url: str, target: str) -> tuple[int, list[str], bytes]:
    """Send ``target`` byte for byte on a raw socket (no client library normalises it)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(f"GET {target} HTTP/1.0\r\nHost: {parts.netloc}\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return int(lines[0].split()[1]), lines[1:], body


@pytest.fixture
def token_server(demo):
    server = start_server(demo["config"], port=0, token="s3cret", today=lambda: AS_OF)
    yield server.url
    server.shutdown()


@pytest.mark.parametrize(
    "target",
    [
        "/%0d%0aX-Injected:%20yes?token=s3cret",
        "/health%0d%0aSet-Cookie:%20nianbao_token=stolen?token=s3cret",
        "/%0aX-Injected:%20yes?token=s3cret",
        "/%0dX-Injected:%20yes",
    ],
)
def test_cr_or_lf_in_the_path_is_refused_and_never_reaches_a_header(token_server, target):
    status, headers, body = raw_get(token_server, target)
    assert status == 400, headers
    names = [h.split(":", 1)[0].lower() for h in headers]
    assert "x-injected" not in names and "location" not in names
    assert not any("stolen" in h for h in headers)
    assert "控制字符".encode() in body


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/%5Cevil.example/?token=s3cret", "/evil.example/"),
        ("/%5C%5Cevil.example?token=s3cret", "/evil.example"),
        ("/%2F%2Fevil.example?token=s3cret&as_of=2026-01-01", "/evil.example?as_of=2026-01-01"),
        ("/agency?token=s3cret&name=%E9%9D%92%E5%B1%B1", "/agency?name=%E9%9D%92%E5%B1%B1"),
        ("/%E9%9D%92%20x?token=s3cret", "/%E9%9D%92%20x"),
    ],
)
def test_the_token_redirect_stays_on_the_site(token_server, target, location):
    status, headers, _ = raw_get(token_server, target)
    assert status == 303
    assert [h for h in headers if h.lower().startswith("location:")] == [f"Location: {location}"]


def test_dates_are_bounded_to_plausible_years(demo):
    far = get(demo["url"] + "?as_of=9999-12-31")
    assert far[0] == 400 and len(far[2]) < 10_000 and "2008 至 2027".encode() in far[2]
    assert get(demo["url"] + "?as_of=2007-12-31")[0] == 400
    assert (
        get(demo["url"] + "agency?as_of=9999-01-01&name=" + urllib.request.quote(demo["government"]))[0]
        == 400
    )
    assert get(demo["url"] + "digest/9999.json")[0] == 400
    assert get(demo["url"] + "digest/1999.csv")[0] == 400
    assert get(demo["url"] + "?as_of=2027-12-31")[0] == 200  # next year: still a plausible date
    assert get(demo["url"] + "?as_of=2008-01-01")[0] == 200


def test_error_pages_show_no_filesystem_path(tmp_path):
    db_dir = tmp_path / "private-data-dir"
    (tmp_path / "config.yaml").write_text(
        f"storage:\n  path: {db_dir / 'nianbao.db'}\n"
        "sources:\n  - id: a\n    name: 某县\n    start_url: http://a.example/\n",
        encoding="utf-8",
    )
    server = start_server(load_config(tmp_path / "config.yaml"), port=0)
    try:
        for page in ("", "health", "digests", "report/1"):
            status, _, body = get(server.url + page)
            text = body.decode("utf-8")
            assert status == 503 and "请先运行 nianbao crawl" in text
            assert "private-data-dir" not in text and "nianbao.db" not in text and str(tmp_path) not in text
    finally:
        server.shutdown()
