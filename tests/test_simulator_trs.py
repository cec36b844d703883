"""The TRS portal simulator over real HTTP: pagination, article anatomy, attachments, encodings,
conditional GET, robots, soft 404, mutations between crawls, and injected failures."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest

from simulator.model import generate_region
from simulator.portal import SimulatedPortal, big_region
from simulator.site import cached_render
from simulator.trs import TrsSite

ROOT = Path(__file__).resolve().parents[1]
UA = {"User-Agent": "nianbao-test/1.0"}


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={**UA, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_text(url: str) -> str:
    status, headers, body = fetch(url)
    assert status == 200, url
    m = re.search(r"charset=([\w-]+)", headers.get("Content-Type", ""))
    return body.decode(m.group(1) if m else "utf-8")


def metas(page: str) -> dict[str, str]:
    doc = lxml.html.fromstring(page)
    return {m.get("name"): m.get("content") for m in doc.xpath("//meta[@name]")}


def parse_pubdate(s: str) -> date:
    m = re.match(r"(\d{4})[-年](\d{2})[-月](\d{2})", s)
    assert m, s
    return date(*map(int, m.groups()))


def pager_pages(page: str) -> tuple[str, int, int]:
    """(variant, page count, total records) from the pager script, as a static spider reads it."""
    if m := re.search(r"var countPage\s*=\s*(\d+)", page):
        total = int(re.search(r"var countnum\s*=\s*(\d+)", page).group(1))
        return "classic", int(m.group(1)), total
    m = re.search(r"createPageHTML\('page_div',\s*(\d+),\s*\d+,\s*'index',\s*'\w+',\s*(\d+)\)", page)
    assert m, "no pager"
    return "new", int(m.group(1)), int(m.group(2))


def crawl_column(column_url: str, ext: str) -> tuple[list[str], list[str]]:
    """Walk every list page via the pager convention; return (list page URLs, item URLs in order)."""
    first = get_text(column_url + f"index.{ext}")
    variant, pages, _total = pager_pages(first)
    page_urls = [column_url + f"index.{ext}"]
    for i in range(1, pages):
        n = i if variant == "classic" else i + 1
        page_urls.append(column_url + f"index_{n}.{ext}")
    items: list[str] = []
    for u in page_urls:
        doc = lxml.html.fromstring(get_text(u))
        items += [urljoin(u, a.get("href")) for a in doc.xpath("//ul[@class='list']/li/a")]
    return page_urls, items


def article_urls(portal: SimulatedPortal) -> dict[str, object]:
    """Report article pages only (no attachments, no _wap copies)."""
    return {u: r for u, r in portal.report_urls().items() if re.search(r"/t\d{8}_\d+\.s?html$", u)}


@pytest.fixture(scope="module")
def portal():
    with SimulatedPortal(seed=7, per_page=10, wap_copies=True) as p:
        yield p


# -- pagination -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("variant", "ext"), [("classic", "html"), ("new", "shtml")])
def test_pagination_lists_every_report_exactly_once(variant, ext):
    with SimulatedPortal(seed=3, variant=variant, ext=ext, per_page=12) as p:
        col = p.base_url + "/zwgk/zfxxgk/zfxxgknb/"
        page_urls, items = crawl_column(col, ext)
        site = p.site
        assert len(page_urls) == site.page_count() > 5
        # Page 2 is index_1 on classic TRS, index_2 with createPageHTML; the other one is absent.
        absent = col + (f"index_{len(page_urls)}.{ext}" if variant == "classic" else f"index_1.{ext}")
        assert fetch(absent)[0] == 404
        counts = Counter(items)
        assert max(counts.values()) == 1
        reports = set(article_urls(p))
        published = [r for r in p.region.reports if r.published_at]
        assert len(reports) == len(published)
        assert reports <= set(items)
        others = set(items) - reports
        assert others == set(site.non_report_urls()) and others  # non-report items mixed in
        assert any("政府网站工作年度报表" in get_text(u) for u in others)
        # Newest first: the list dates never increase.
        dates = []
        for u in page_urls:
            dates += re.findall(r"</a><span>(\d{4}-\d{2}-\d{2})</span>", get_text(u))
        assert dates == sorted(dates, reverse=True) and len(dates) == len(items)
        # The navigation leads from the home page to the column.
        home = get_text(p.start_url)
        assert 'href="/zwgk/zfxxgk/"' in home
        assert 'href="/zwgk/zfxxgk/zfxxgknb/"' in get_text(p.base_url + "/zwgk/zfxxgk/")


# -- articles -------------------------------------------------------------------------------------


def test_articles_carry_metas_and_publication_date_equal_to_ground_truth(portal):
    arts = article_urls(portal)
    chinese = 0
    for url, r in arts.items():
        page = get_text(url)
        m = metas(page)
        for name in ("SiteName", "SiteDomain", "SiteIDCode", "ColumnName", "ArticleTitle", "PubDate"):
            assert m.get(name), (url, name)
        assert m["ArticleTitle"] == r.title
        assert m["ContentSource"] in (r.agency.name, r.title_agency)
        assert parse_pubdate(m["PubDate"]) == r.published_at
        chinese += "年" in m["PubDate"]
        visible = re.search(r"<strong>发布日期</strong>：([^<]+)<", page).group(1)
        assert parse_pubdate(visible) == r.published_at
        assert "<strong>索引号</strong>" in page and 'class="TRS_Editor"' in page
        url_day = re.search(r"/t(\d{8})_", url).group(1)
        assert url_day == f"{r.url_date:%Y%m%d}"
        if "url_date_after_pubdate" in r.planted:
            assert r.url_date != r.published_at
    assert chinese >= 1
    assert any("url_date_after_pubdate" in r.planted for r in arts.values())
    # Late and missing reports are as planted: missing ones are simply absent.
    missing = [r for r in portal.region.reports if r.published_at is None]
    assert missing and not any(r in arts.values() for r in missing)


def test_html_reports_have_tables_and_attachments_have_type_and_magic(portal):
    seen = Counter()
    # Every kind of document, a few of each (rendering DOCX is slow).
    urls = portal.report_urls()
    sample = []
    for kind in (".pdf", ".docx", "_wap.html", ".html"):
        sample += [u for u in urls if u.endswith(kind) and u not in sample][:2]
    for url in sample:
        r = urls[url]
        status, headers, body = fetch(url)
        assert status == 200
        if url.endswith(".pdf"):
            assert headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF")
            assert re.search(r"/P0\d{20}\.pdf$", url)
        elif url.endswith(".docx"):
            assert headers["Content-Type"].startswith("application/vnd.openxmlformats")
            assert body.startswith(b"PK\x03\x04")
        elif r.fmt == "html" and "_wap" not in url:
            assert "<table" in body.decode("utf-8")
        seen[url.rsplit(".", 1)[1] if "_wap" not in url else "wap"] += 1
    assert seen["pdf"] and seen["docx"] and seen["html"] and seen["wap"]
    # The article links its attachment relatively, as TRS does (./P0….pdf).
    r = next(r for r in portal.region.published() if r.fmt == "pdf")
    page = get_text(portal.url_of(r.agency.name, r.year))
    name = re.search(r'href="\./(P0\d{20}\.pdf)"', page).group(1)
    assert urljoin(portal.url_of(r.agency.name, r.year), name) in portal.report_urls()


def test_wap_copy_is_the_same_report(portal):
    wap = {u: r for u, r in portal.report_urls().items() if "_wap." in u}
    url, r = next(iter(wap.items()))
    assert metas(get_text(url))["ArticleTitle"] == r.title
    assert url.replace("_wap", "") in portal.report_urls()


# -- encodings, HTTP semantics --------------------------------------------------------------------


def test_gbk_department_site_is_really_gbk():
    with SimulatedPortal.demo(seed=5) as p:
        gbk = next(s for s in p.sites if s.name == "gbk-department")
        dept = next(iter(gbk.site.agencies))
        urls = [u for u in gbk.site.report_urls() if u.endswith(".shtml")]
        assert urls
        status, headers, raw = fetch(urls[0])
        assert status == 200 and "charset=GBK" in headers["Content-Type"]
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        text = raw.decode("gbk")
        assert "charset=gb2312" in text and dept in text and dept.encode("gbk") in raw
        # The main site does not list the department's reports; the union covers everything.
        assert not any(r.agency.name == dept for r in p.main.site.report_urls().values())
        served = {id(r) for r in p.report_urls().values()}
        assert all(id(r) in served for r in p.region.published())
        # The department column (new pager, 2 per page) reaches every page.
        _pages, items = crawl_column(gbk.base_url + "/xxgk/xxgknb/", "shtml")
        assert set(urls) <= set(items)


def test_conditional_get_answers_304():
    # Byte-stable pages (no per-request chrome): an ETag can only match the same bytes.
    with SimulatedPortal(seed=7, per_page=10, noise=False) as portal:
        _conditional_get_answers_304(portal)


def _conditional_get_answers_304(portal: SimulatedPortal) -> None:
    url = next(iter(article_urls(portal)))
    status, headers, body = fetch(url)
    etag, lm = headers["ETag"], headers["Last-Modified"]
    assert fetch(url, {"If-None-Match": etag})[0] == 304
    assert fetch(url, {"If-Modified-Since": lm})[0] == 304
    assert fetch(url, {"If-None-Match": '"other"'})[0] == 200
    assert fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200
    # List pages are conditional too (the re-crawl should cost little).
    col = portal.base_url + "/zwgk/zfxxgk/zfxxgknb/index.html"
    assert fetch(col, {"If-None-Match": fetch(col)[1]["ETag"]})[0] == 304


def test_robots_txt_is_configurable():
    with SimulatedPortal(seed=1, robots_txt="User-agent: *\nDisallow: /\n") as p:
        status, _h, body = fetch(p.base_url + "/robots.txt")
        assert status == 200 and b"Disallow: /\n" in body
    with SimulatedPortal(seed=1, robots_txt=None) as p:
        assert fetch(p.base_url + "/robots.txt")[0] == 404
    with SimulatedPortal(seed=1, robots_status=403) as p:
        assert fetch(p.base_url + "/robots.txt")[0] == 403


def test_soft_404_answers_200_with_page_not_found():
    with SimulatedPortal(seed=1, soft_404=True) as p:
        status, _h, body = fetch(p.base_url + "/zwgk/zfxxgk/zfxxgknb/202401/t20240101_1.html")
        assert status == 200 and "页面不存在" in body.decode("utf-8")
    with SimulatedPortal(seed=1) as p:
        assert fetch(p.base_url + "/nothing.html")[0] == 404


# -- time and mutations ---------------------------------------------------------------------------


def test_moving_today_changes_what_is_listed():
    with SimulatedPortal(seed=2, today=date(2025, 1, 10)) as p:
        shown = list(article_urls(p).values())
        assert shown and all(r.published_at <= date(2025, 1, 10) for r in shown)
        assert not any(r.year == 2025 for r in shown)
        pending = [t for t in p.truth() if t["status"] == "pending"]
        assert {t["year"] for t in pending} == {2024, 2025}
        future = next(r for r in p.region.published() if r.published_at > date(2025, 1, 10))
        assert fetch(p.url_of(future.agency.name, future.year))[0] == 404
        p.today = date(2026, 6, 1)
        assert fetch(p.url_of(future.agency.name, future.year))[0] == 200
        assert len(article_urls(p)) == len(p.region.published())


def test_edit_remove_restore_between_two_crawls():
    region = generate_region(11)
    with SimulatedPortal(region, noise=False) as p:  # compares served bytes
        r = next(x for x in region.published() if x.fmt == "html" and not x.planted)
        name, year = r.agency.name, r.year
        url = p.url_of(name, year)
        before = fetch(url)
        licensing = r.report["table1"]["licensing"]

        p.edit(name, year)
        after = fetch(url)
        assert after[0] == 200 and after[2] != before[2] and after[1]["ETag"] != before[1]["ETag"]
        assert r.report["table1"]["licensing"] == licensing + 7
        assert str(licensing + 7) in after[2].decode("utf-8")
        t2 = r.report["table2"]
        assert [a + b for a, b in zip(t2["new_received"], t2["carried_over"], strict=True)] == [
            a + b for a, b in zip(t2["total_handled"], t2["carried_forward"], strict=True)
        ]

        p.remove(name, year)
        assert fetch(url)[0] == 404
        _pages, items = crawl_column(p.base_url + "/zwgk/zfxxgk/zfxxgknb/", "html")
        assert url not in items and url not in p.report_urls()

        p.restore(name, year)
        restored = fetch(url)
        assert restored[0] == 200 and restored[2] == before[2]
        assert r.report["table1"]["licensing"] == licensing
        _pages, items = crawl_column(p.base_url + "/zwgk/zfxxgk/zfxxgknb/", "html")
        assert url in items


def test_a_file_is_rendered_once_however_many_requests_ask_for_it_at_once():
    """Renderers stamp the time into PDF files: two renderings of one unedited report are two
    byte strings, which a crawler would take for an edit.  Concurrent first requests wait for
    the one rendering."""
    renders: list[int] = []

    def slow_render(report: dict, **drift: object) -> bytes:
        renders.append(1)
        time.sleep(0.2)  # long enough for every other request to arrive meanwhile
        return f"%PDF-{time.time()}".encode()

    report = {"title": "rendered once", "nonce": time.time()}  # not in the process's cache yet
    start = threading.Barrier(8)

    def first_request(_: int) -> bytes:
        start.wait(timeout=30)
        return cached_render(slow_render, "pdf", report, {})

    with ThreadPoolExecutor(8) as pool:
        bodies = set(pool.map(first_request, range(8)))
    assert len(renders) == 1 and len(bodies) == 1


def test_edited_attachment_changes_bytes():
    region = generate_region(12)
    with SimulatedPortal(region) as p:
        r = next(x for x in region.published() if x.fmt == "pdf")
        att = p.site.attachment_url_of(r)
        before = fetch(att)[2]
        p.edit(r.agency.name, r.year)
        after = fetch(att)
        assert after[0] == 200 and after[2].startswith(b"%PDF") and after[2] != before


# -- failures -------------------------------------------------------------------------------------


def test_failures_happen_where_configured():
    region = generate_region(4)
    col = "/zwgk/zfxxgk/zfxxgknb/"
    opts = {
        "fail_paths": {col + "index_1.html": 2},
        "reset_paths": [col + "index_2.html"],
        "blocked_user_agents": ["python-urllib"],
    }
    with SimulatedPortal(region, **opts) as p:
        u1 = p.base_url + col + "index_1.html"
        assert [fetch(u1)[0] for _ in range(3)] == [500, 500, 200]
        conn = http.client.HTTPConnection("127.0.0.1", p.main.server.port, timeout=5)
        conn.request("GET", col + "index_2.html")
        with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
            conn.getresponse()
        assert p.requests[p.base_url + col + "index_2.html"] == 1
        req = urllib.request.Request(p.start_url)  # urllib's default UA is blocked
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=5)
        assert e.value.code == 403
    with SimulatedPortal(region, fail_every=3, latency=0.05) as p:
        t = time.monotonic()
        statuses = [fetch(p.start_url)[0] for _ in range(6)]
        assert statuses == [200, 200, 500, 200, 200, 500]
        assert time.monotonic() - t >= 0.3
        assert p.request_count() == 6


# -- scale and entry points -----------------------------------------------------------------------


def test_big_region_serves_two_thousand_reports():
    region = big_region()
    ids = [r.article_id for r in region.reports]
    assert len(ids) == len(set(ids)) and len(region.published()) >= 2000
    with SimulatedPortal(region, per_page=20) as p:
        assert len(article_urls(p)) == len(region.published())
        last = p.site.page_count() - 1
        assert last > 100
        page = get_text(p.base_url + f"/zwgk/zfxxgk/zfxxgknb/index_{last}.html")
        assert f"var countPage={last + 1}" in page
        counties = {r.agency.name[:3] for r in region.reports}
        assert len(counties) == 26


def test_single_agency_site_and_options_validation():
    region = generate_region(9)
    dept = region.agencies[2].name
    site = TrsSite(region, agencies=[dept])
    assert site.site_name == dept
    assert {r.agency.name for r in site.visible_reports()} == {dept}
    with pytest.raises(ValueError):
        TrsSite(region, variant="other")
    with pytest.raises(ValueError):
        SimulatedPortal(region, subsites=[{"agencies": ["不存在的局"]}])


def test_python_m_simulator_serves_until_stopped():
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--family", "trs", "--seed", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", line).group(1)
        assert "青山县人民政府" in get_text(url)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pubdate_is_iso_minutes_by_default(portal):
    texts = [metas(get_text(u))["PubDate"] for u in list(article_urls(portal))[:20]]
    iso = [t for t in texts if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", t)]
    assert len(iso) >= len(texts) - 1
    for t in iso:
        datetime.strptime(t, "%Y-%m-%d %H:%M")


def test_per_year_columns_and_a_misfiled_report():
    with SimulatedPortal(seed=8, layout="per_year", per_page=10) as p:
        root = p.base_url + "/zwgk/zfxxgk/zfxxgknb/"
        doc = lxml.html.fromstring(get_text(root))
        years = [urljoin(root, a.get("href")) for a in doc.xpath("//ul[@class='columns']/li/a")]
        assert len(years) == 3 and all(re.search(r"/(\d{4})n_\d+/$", u) for u in years)
        items: list[str] = []
        for col in years:
            items += crawl_column(col, "html")[1]
        arts = article_urls(p)
        assert set(arts) <= set(items) and len(items) == len(set(items))
        for url, r in arts.items():
            column_year = int(re.search(r"/(\d{4})n_\d+/", url).group(1))
            expected = r.year - 1 if r.article_id in p.site.misfiled_ids else r.year
            assert column_year == expected
        assert len(p.site.misfiled_ids) == 1


def test_documents_ground_truth_and_head(portal):
    docs = portal.documents()
    assert {d["url"] for d in docs} == set(portal.report_urls())
    assert {d["kind"] for d in docs} == {"article", "wap", "attachment"}
    att = next(d for d in docs if d["kind"] == "attachment")
    req = urllib.request.Request(att["url"], method="HEAD", headers=UA)
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.headers["Content-Type"] == att["content_type"] and resp.read() == b""
        assert int(resp.headers["Content-Length"]) == len(fetch(att["url"])[2]) > 0


def test_burst_limit_answers_empty_bodies():
    with SimulatedPortal(seed=1, burst_limit=3, burst_window=5.0) as p:
        sizes = [len(fetch(p.start_url)[2]) for _ in range(5)]
        assert all(sizes[:3]) and sizes[3:] == [0, 0]


def test_per_report_render_drift_and_appendix_links():
    def drift(r):
        return {"zero_as": "—"} if r.year == 2024 else {}

    with SimulatedPortal(seed=6, drift=drift) as p:
        docs = {d["url"]: d for d in p.documents()}
        r24 = next(r for r in p.region.published() if r.year == 2024 and r.fmt == "html")
        r23 = next(r for r in p.region.published() if r.year == 2023 and r.fmt == "html")
        u24, u23 = p.url_of(r24.agency.name, 2024), p.url_of(r23.agency.name, 2023)
        assert docs[u24]["drift"] == {"zero_as": "—"} and docs[u23]["drift"] == {}
        body = lambda u: get_text(u).split('class="TRS_Editor"', 1)[1]  # noqa: E731
        assert "—" in body(u24) and "—" not in body(u23)
        # DOCX reports link their file from an #appendix block after the body.
        d = next(r for r in p.region.published() if r.fmt == "docx")
        page = lxml.html.fromstring(get_text(p.url_of(d.agency.name, d.year)))
        href = page.xpath("//div[@id='appendix']//a/@href")[0]
        assert re.fullmatch(r"\./P0\d{20}\.docx", href)


def test_prerender_fills_the_render_cache():
    region = generate_region(13, departments=6)
    one = next(r.agency.name for r in region.published() if r.fmt == "pdf")
    with SimulatedPortal(region, agencies=[one]) as p:
        n = p.prerender()
        assert n == sum(r.fmt in ("pdf", "docx") for r in region.published() if r.agency.name == one)
        att = next(d for d in p.documents() if d["kind"] == "attachment")
        t = time.monotonic()
        status, _h, body = fetch(att["url"])
        assert status == 200 and len(body) > 1000 and time.monotonic() - t < 0.5
