"""The Hanweb, gkmlpt, Ucap and JS-only simulators and the access barriers, over real HTTP.

Each family's list mechanics are walked the way the research notes describe them (datastore +
dataproxy.jsp groups, the gkmlpt JSON API, Ucap's POST /queryList, the JS-only JSON endpoint) and
must yield exactly the published reports of the ground truth; one test drives real Chromium
through the JS-only list and the Rivers-like challenge.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import shutil
import time
import zipfile
from datetime import date
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import lxml.html
import pytest

import simulator.families  # noqa: F401  (registers the families)
from simulator.barriers import COOKIE_S, COOKIE_T, META_ID, PRESETS, checksum
from simulator.model import generate_region
from simulator.portal import SimulatedPortal

UA = "nianbao-test/1.0"
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
TODAY = date(2026, 6, 30)
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def region():
    return generate_region(7)


def fetch(
    url: str,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    method: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request, no redirects followed (the 302 of downfile.jsp is part of what is tested)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    path = parts.path + ("?" + parts.query if parts.query else "")
    hdrs = {"User-Agent": UA, **(headers or {})}
    if data is not None:
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
    conn.request(method or ("POST" if data is not None else "GET"), path, body=data, headers=hdrs)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), body


def text_of(url: str, **kw) -> str:
    status, headers, body = fetch(url, **kw)
    assert status == 200, (url, status)
    m = re.search(r"charset=([\w-]+)", headers.get("Content-Type", ""))
    return body.decode(m.group(1) if m else "utf-8")


def article_truth(p: SimulatedPortal, column_url_part: str | None = None) -> set[str]:
    return {
        d["url"]
        for d in p.documents()
        if d["kind"] == "article" and (column_url_part is None or column_url_part in d["url"])
    }


def report_article_urls(found: list[str], p: SimulatedPortal) -> set[str]:
    truth = p.report_urls()
    return {u for u in found if u in truth}


# -- Hanweb ----------------------------------------------------------------------------------------

RECORD = re.compile(r"<record><!\[CDATA\[(.*?)\]\]></record>", re.S)


def hanweb_walk(column_url: str, ignore_startrecord: bool = False) -> tuple[list[str], int]:
    """Read the embedded datastore, then page dataproxy.jsp in 3-page groups (or by page=)."""
    page = text_of(column_url)
    doc = lxml.html.fromstring(page)
    assert not doc.xpath("//ul/li/a[contains(@href,'/art/')]"), "the list must exist only in the datastore"
    m = re.search(r'<div id="(\d+)"><script type="text/xml"><datastore>', page)
    assert m, "no datastore"
    unitid = m.group(1)
    nextgroup = re.search(r"<nextgroup><!\[CDATA\[<a href=\"([^\"]+)\"></a>\]\]></nextgroup>", page).group(1)
    q = dict(p.split("=", 1) for p in urlsplit(nextgroup).query.split("&"))
    assert q["unitid"] == unitid and q["page"] == "1"
    hrefs = [re.search(r'href="([^"]+)"', r).group(1) for r in RECORD.findall(page)]
    assert len(hrefs) <= 45
    perpage = 5
    form = urlencode(
        {
            "col": 1,
            "appid": 1,
            "webid": q["webid"],
            "path": "/",
            "columnid": q["columnid"],
            "sourceContentType": 1,
            "unitid": unitid,
            "webname": "某县人民政府",
            "permissiontype": 0,
        }
    ).encode()
    proxy = urljoin(column_url, "/module/web/jpage/dataproxy.jsp")
    # The page itself embedded 45 records (3 x 15); ask again from the start in groups of 3 x 5.
    hrefs, total, n = [], None, 0
    while True:
        n += 1
        if ignore_startrecord:
            url = f"{proxy}?page={n}&perpage={perpage}"
        else:
            start = (n - 1) * perpage * 3 + 1
            url = f"{proxy}?startrecord={start}&endrecord={start + perpage * 3 - 1}&perpage={perpage}"
        xml = text_of(url, data=form, headers={"Referer": column_url})
        total = int(re.search(r"<totalrecord>(\d+)</totalrecord>", xml).group(1))
        pages = int(re.search(r"<totalpage>(\d+)</totalpage>", xml).group(1))
        assert pages == -(-total // perpage)
        got = [re.search(r'href="([^"]+)"', r).group(1) for r in RECORD.findall(xml)]
        if not got:
            break
        hrefs += got
        assert n < 100
    return [urljoin(column_url, h) for h in hrefs], total


def test_hanweb_datastore_and_dataproxy_groups_give_exactly_the_reports(region):
    with SimulatedPortal(region, family="hanweb", today=TODAY, noise=False, per_page=15) as p:
        site = p.site
        home = text_of(p.start_url)
        xxgk = urljoin(
            p.start_url, re.search(r'href="(/col/col\d+/index\.html)">政府信息公开<', home).group(1)
        )
        column = urljoin(
            xxgk, re.search(r'href="(/col/col\d+/index\.html)">政府信息公开年报<', text_of(xxgk)).group(1)
        )
        # The embedded batch: the first 45 records, newest first.
        page = text_of(column)
        embedded = [urljoin(column, re.search(r'href="([^"]+)"', r).group(1)) for r in RECORD.findall(page)]
        assert embedded == [p.base_url + site.article_path(it) for it in site.entries()[:45]]
        found, total = hanweb_walk(column)
        assert total == len(site.entries()) == len(found) == len(set(found))
        assert report_article_urls(found, p) == article_truth(p)
        assert set(site.non_report_urls()) <= set(found)
        assert not set(site.non_report_urls()) & set(p.report_urls())
        # A group is 3 pages: startrecord=46&endrecord=90&perpage=15 gives records 46..90.
        xml = text_of(column.replace(urlsplit(column).path, "/module/web/jpage/dataproxy.jsp"), data=b"")
        assert "<totalrecord>0</totalrecord>" in xml  # no columnid: nothing
        q = f"columnid={site.col_ids['main']}&unitid={site.unit_ids['main']}"
        xml = text_of(
            f"{p.base_url}/module/web/jpage/dataproxy.jsp?startrecord=46&endrecord=90&perpage=15",
            data=q.encode(),
        )
        assert len(RECORD.findall(xml)) == min(45, total - 45)


def test_hanweb_ignore_startrecord_pages_by_page(region):
    with SimulatedPortal(region, family="hanweb", today=TODAY, noise=False, ignore_startrecord=True) as p:
        column = p.base_url + p.site.column_url()
        q = f"columnid={p.site.col_ids['main']}&unitid={p.site.unit_ids['main']}".encode()
        proxy = f"{p.base_url}/module/web/jpage/dataproxy.jsp"
        first = RECORD.findall(text_of(f"{proxy}?startrecord=1&endrecord=15&perpage=5", data=q))
        again = RECORD.findall(text_of(f"{proxy}?startrecord=16&endrecord=30&perpage=5", data=q))
        assert first == again and len(first) == 5  # startrecord is ignored: a naive pager loops
        found, total = hanweb_walk(column, ignore_startrecord=True)
        assert len(found) == total == len(set(found))
        assert report_article_urls(found, p) == article_truth(p)


def test_hanweb_article_anatomy_downfile_referer_zip_and_doc(region):
    with SimulatedPortal(region, family="hanweb", today=TODAY, noise=False) as p:
        docs = p.documents()
        html_doc = next(d for d in docs if d["kind"] == "article" and d["report_fmt"] == "html")
        page = text_of(html_doc["url"])
        assert "Produced By 大汉网络 大汉版通发布系统" in page
        assert re.search(
            r'<!--ZJEG_RSS.content.begin--><meta name="ContentStart">.*<meta name="ContentEnd"><!--ZJEG_RSS.content.end-->',
            page,
            re.S,
        )
        metas = {m.get("name"): m.get("content") for m in lxml.html.fromstring(page).xpath("//meta[@name]")}
        assert metas["ArticleTitle"] == html_doc["title"] and metas["PubDate"] == html_doc["pubdate_text"]
        m = re.search(r"/art/(\d+)/(\d+)/(\d+)/art_(\d+)_(\d+)\.html$", html_doc["url"])
        assert metas["i_columnid"] == m.group(4) and metas["i_articleid"] == m.group(5)
        assert date(*map(int, m.group(1, 2, 3))) == html_doc["url_date"]
        assert "Maketime" in metas and metas["ContentSource"]
        zoom = lxml.html.fromstring(page).get_element_by_id("zoom")
        assert zoom.xpath(".//table") and "总体情况" in zoom.text_content()
        by_fmt = {d["fmt"]: d for d in docs if d["kind"] == "attachment"}
        assert {"pdf", "zip", "doc"} <= set(by_fmt)
        # The PDF link sits in #zoom of its article; downfile.jsp needs a Referer from the site.
        pdf = by_fmt["pdf"]
        art = text_of(pdf["article_url"])
        link = lxml.html.fromstring(art).get_element_by_id("zoom").xpath(".//a/@href")[0]
        assert re.fullmatch(r"/module/download/downfile\.jsp\?classid=0&filename=[0-9a-f]{32}\.pdf", link)
        assert p.base_url + link == pdf["url"]
        assert fetch(pdf["url"])[0] == 403
        assert fetch(pdf["url"], headers={"Referer": "http://elsewhere.example/"})[0] == 403
        status, headers, _ = fetch(pdf["url"], headers={"Referer": pdf["article_url"]})
        assert status == 302 and headers["Location"] == pdf["final_url"]
        assert re.search(r"/attach/0/[0-9a-f]{32}\.pdf$", pdf["final_url"])
        status, headers, body = fetch(pdf["final_url"])
        assert status == 200 and headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF")
        # A packed ZIP holds the DOCX; a legacy DOC is an OLE file.
        status, headers, body = fetch(by_fmt["zip"]["final_url"])
        assert status == 200 and headers["Content-Type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
        assert names == [by_fmt["zip"]["title"] + ".docx"]
        if shutil.which("soffice"):
            status, headers, body = fetch(by_fmt["doc"]["final_url"])
            assert status == 200 and headers["Content-Type"] == "application/msword"
            assert body[:8] == bytes.fromhex("d0cf11e0a1b11ae1")


def test_hanweb_department_column_wap_copies_and_gbk(region):
    with SimulatedPortal(
        region, family="hanweb", today=TODAY, noise=False, dual_agency=True, wap_copies=True, charset="gbk"
    ) as p:
        site = p.site
        dups = [d for d in p.documents() if d["duplicate_of"]]
        assert dups and all(d["agency"] == site.dual_agency for d in dups)
        dept = p.base_url + site.column_url("dept")
        xxgk = text_of(p.base_url + site.xxgk_url())
        assert site.column_url("dept") in xxgk
        found, _ = hanweb_walk(dept)
        assert set(found) == {d["url"] for d in dups if d["kind"] == "article"}
        status, headers, body = fetch(dups[0]["url"])
        assert headers["Content-Type"].endswith("charset=GBK") and b"charset=gb2312" in body
        page = body.decode("gbk")
        assert dups[0]["title"] in page
        twin = text_of(dups[0]["duplicate_of"])
        zoom = lxml.html.fromstring(page).get_element_by_id("zoom").text_content()
        assert zoom == lxml.html.fromstring(twin).get_element_by_id("zoom").text_content()
        wap = next(d for d in p.documents() if d["kind"] == "wap")
        assert wap["url"].endswith("_wap.html") and fetch(wap["url"])[0] == 200


# -- gkmlpt ----------------------------------------------------------------------------------------


def test_gkmlpt_config_and_api_pages_give_exactly_the_reports(region):
    with SimulatedPortal(region, family="gkmlpt", today=TODAY, per_page=7) as p:
        home = text_of(p.start_url)
        index = urljoin(p.start_url, re.search(r'href="(/gkmlpt/index)"', home).group(1))
        shell = text_of(index)
        assert not lxml.html.fromstring(shell).xpath("//a[contains(@href,'post_')]")
        sid = re.search(r"window\._CONFIG = \{SID: '(\d+)'", shell).group(1)
        tree = json.loads(re.search(r"TREE: (\[.*?\]), ANNUAL", shell).group(1))
        cat = next(n for n in tree if n.get("link", "").startswith("/gkmlpt/annualreport#"))
        assert cat["link"] == f"/gkmlpt/annualreport#{cat['id']}"
        found, n, total = [], 0, None
        while True:
            n += 1
            status, headers, body = fetch(f"{p.base_url}/gkmlpt/api/all/{cat['id']}?page={n}&sid={sid}")
            assert status == 200 and headers["Content-Type"].startswith("application/json")
            data = json.loads(body)
            total = data["total"]
            if not data["articles"]:
                break
            assert len(data["articles"]) <= 7
            for a in data["articles"]:
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", a["display_publish_time"])
                assert (
                    time.strftime("%Y-%m-%d", time.gmtime(a["create_time"] + 8 * 3600))
                    == a["display_publish_time"]
                )
                assert {"id", "title", "url", "publisher"} <= set(a)
                assert re.search(rf"/gkmlpt/content/\d+/\d+/post_{a['id']}\.html$", a["url"])
            found += [a["url"] for a in data["articles"]]
        assert n - 1 == -(-total // 7) and len(found) == total == len(set(found))
        assert report_article_urls(found, p) == article_truth(p)
        assert (
            json.loads(fetch(f"{p.base_url}/gkmlpt/api/all/{cat['id']}?page=1&sid=999999")[2])["total"] == 0
        )
        pdf = next(d for d in p.documents() if d["kind"] == "attachment" and d["fmt"] == "pdf")
        art = text_of(pdf["article_url"])
        assert "索引号:" in art and "发布日期: " in art and pdf["title"] in art
        assert urlsplit(pdf["url"]).path in art
        assert re.search(r"/attachment/0/\d+/\d+/\d+\.pdf$", pdf["url"])
        status, headers, body = fetch(pdf["url"])
        assert status == 200 and headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF")


# -- Ucap ------------------------------------------------------------------------------------------


def test_ucap_querylist_pages_give_exactly_the_reports(region):
    with SimulatedPortal(region, family="ucap", today=TODAY, dual_agency=True) as p:
        site = p.site
        xxgk = urljoin(p.start_url, re.search(r'href="([^"]+)">政府信息公开<', text_of(p.start_url)).group(1))
        lst = urljoin(
            xxgk, re.search(r'href="([^"]+/pc/list\.html)">政府信息公开年报<', text_of(xxgk)).group(1)
        )
        shell = text_of(lst)
        assert not lxml.html.fromstring(shell).xpath("//ul[@id='list']/li")
        code = re.search(r"var webSiteCode = '(\w+)'", shell).group(1)
        channel = re.search(r"var channelCode = '(\w+)'", shell).group(1)
        assert urlsplit(lst).path == f"/{code}/{channel}/pc/list.html"
        found, files, current = [], [], 0
        while True:
            current += 1
            form = urlencode({"current": current, "pageSize": 6, "webSiteCode": code, "channelCode": channel})
            data = json.loads(fetch(p.base_url + "/queryList", data=form.encode())[2])["data"]
            if not data["results"]:
                break
            for r in data["results"]:
                s = r["source"]
                assert re.fullmatch(r"\d{19}", s["id"]) and re.fullmatch(
                    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", s["pubDate"]
                )
                pc = json.loads(s["urls"])["pc"]
                assert pc.endswith(f"/pc/content/content_{s['id']}.html")
                found.append(urljoin(p.base_url, pc))
                files += [f["filePath"] for f in s["articleFiles"]]
        assert len(found) == data["total"] == len(site.entries()) == len(set(found))
        assert report_article_urls(found, p) == article_truth(p, f"/{channel}/")
        truth_files = {urlsplit(d["url"]).path for d in p.documents() if d["kind"] == "attachment"}
        assert set(files) == truth_files
        pdf = next(d for d in p.documents() if d["kind"] == "attachment" and d["fmt"] == "pdf")
        assert re.search(r"/doc/ucap/\d{19}/document/\d{8}/[a-z0-9]{8}\.pdf$", pdf["url"])
        status, headers, body = fetch(pdf["url"])
        assert status == 200 and headers["Content-Type"] == "application/pdf" and body.startswith(b"%PDF")
        art = lxml.html.fromstring(text_of(pdf["article_url"]))
        assert art.get_element_by_id("UCAP-CONTENT").xpath(".//a/@href") == [urlsplit(pdf["url"]).path]
        assert any(d["fmt"] == "wps" for d in p.documents())
        # A GET is refused; the department channel lists the same documents under other URLs.
        assert json.loads(fetch(p.base_url + "/queryList")[2])["code"] == 405
        dept = {"current": 1, "pageSize": 50, "webSiteCode": code, "channelCode": site.channels["dept"]}
        res = json.loads(fetch(p.base_url + "/queryList", data=urlencode(dept).encode())[2])["data"][
            "results"
        ]
        dup_urls = {d["url"] for d in p.documents() if d["duplicate_of"] and d["kind"] == "article"}
        assert {urljoin(p.base_url, json.loads(r["source"]["urls"])["pc"]) for r in res} == dup_urls


# -- JS-only ---------------------------------------------------------------------------------------


def test_jsonly_html_list_is_empty_and_the_api_pages_give_the_reports(region):
    with SimulatedPortal(region, family="jsonly", today=TODAY, per_page=9) as p:
        col = p.base_url + "/zwgk/nb/index.html"
        page = text_of(col)
        assert not lxml.html.fromstring(page).xpath("//ul[@id='list']/li") and "/api/list.json?page=" in page
        found, n = [], 0
        while True:
            n += 1
            data = json.loads(fetch(f"{p.base_url}/api/list.json?page={n}")[2])
            if not data["list"]:
                break
            found += [urljoin(col, x["url"]) for x in data["list"]]
        assert n - 1 == data["pages"] and len(found) == data["total"] == len(set(found))
        assert report_article_urls(found, p) == article_truth(p)


# -- barriers --------------------------------------------------------------------------------------


def test_challenge_412_without_cookie_and_200_with_it(region):
    with SimulatedPortal(region, family="hanweb", today=TODAY, **PRESETS["rivers"]) as p:
        url = p.base_url + p.site.column_url()
        status, headers, body = fetch(url, headers={"User-Agent": BROWSER_UA})
        page = body.decode()
        assert status == 412 and "$_ts" in page and f'<meta id="{META_ID}"' in page
        assert "document.cookie" in page and "datastore" not in page
        s = re.match(rf"{COOKIE_S}=(\w+)", headers["Set-Cookie"]).group(1)
        # A client that keeps cookies but runs no script is challenged again, forever.
        assert fetch(url, headers={"Cookie": f"{COOKIE_S}={s}"})[0] == 412
        assert fetch(url, headers={"Cookie": f"{COOKIE_S}={s}; {COOKIE_T}=00000000"})[0] == 412
        # What the script computes: the hash of the meta token and $_ts.nsd.
        token = re.search(rf'<meta id="{META_ID}" content="(\w+)"', page).group(1)
        nsd = re.search(r"\$_ts\.nsd=(\d+)", page).group(1)
        cookie = f"{COOKIE_S}={s}; {COOKIE_T}={checksum(token + nsd)}"
        status, _, body = fetch(url, headers={"Cookie": cookie})
        assert status == 200 and b"<datastore>" in body
        assert all(u.startswith(p.base_url + "/") and "412" not in u for u in p.report_urls())
        # The wrapper forwards the clock and the ground truth to the wrapped site.
        p.today = date(2024, 2, 1)
        assert p.site.inner.today == date(2024, 2, 1) and len(p.report_urls()) < 100


def test_browser_only_robots_burst_and_soft_404(region):
    opts = {**PRESETS["browser_only"], **PRESETS["robots_disallow"], "burst_limit": 4, "burst_window": 5.0}
    with SimulatedPortal(region, family="gkmlpt", today=TODAY, **opts) as p:
        assert fetch(p.base_url + "/robots.txt")[2].decode() == "User-agent: *\nDisallow: /\n"
        assert fetch(p.start_url)[0] == 403  # no Mozilla / Chrome in the UA
        status, _, body = fetch(p.start_url, headers={"User-Agent": BROWSER_UA})
        assert status == 200 and body
        bodies = [fetch(p.start_url, headers={"User-Agent": BROWSER_UA}) for _ in range(5)]
        assert any(s == 200 and b == b"" for s, _, b in bodies)  # throttled: 0-byte 200s
    for family in ("hanweb", "gkmlpt", "ucap", "jsonly"):
        with SimulatedPortal(region, family=family, today=TODAY, **PRESETS["soft_404"]) as p:
            status, _, body = fetch(p.base_url + "/no/such/page.html")
            assert status == 200 and "页面不存在" in body.decode()
            assert p.base_url + "/no/such/page.html" not in p.report_urls()
        with SimulatedPortal(region, family=family, today=TODAY) as p:
            assert fetch(p.base_url + "/no/such/page.html")[0] == 404


def test_every_report_article_is_served_and_removal_hides_it(region):
    for family in ("hanweb", "gkmlpt", "ucap", "jsonly"):
        with SimulatedPortal(region, family=family, today=TODAY, wap_copies=True) as p:
            pages = [d for d in p.documents() if d["kind"] != "attachment"]
            assert len(pages) == 2 * len(
                [r for r in region.reports if r.published_at and r.published_at <= TODAY]
            )
            for d in pages[:: max(1, len(pages) // 25)]:
                page = text_of(d["url"])
                assert d["title"] in page and "页面不存在" not in page
            d = pages[0]
            p.remove(d["agency"], d["year"])
            assert d["url"] not in p.report_urls() and fetch(d["url"])[0] == 404
            p.restore(d["agency"], d["year"])
            assert fetch(d["url"])[0] == 200


# -- a real browser --------------------------------------------------------------------------------


@pytest.mark.browser
def test_chromium_renders_the_js_list_and_passes_the_challenge(region):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with SimulatedPortal(region, family="jsonly", today=TODAY, per_page=8, **PRESETS["rivers"]) as p:
        col = p.base_url + "/zwgk/nb/index.html"
        assert fetch(col, headers={"User-Agent": BROWSER_UA})[0] == 412
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            try:
                ctx = browser.new_context()
                page = ctx.new_page()
                page.goto(col)
                page.wait_for_selector("ul#list li.item a", timeout=15_000)
                hrefs = page.eval_on_selector_all("ul#list li.item a", "els => els.map(e => e.href)")
                assert hrefs == [p.base_url + p.site.article_path(it) for it in p.site.entries()[:8]]
                assert {c["name"] for c in ctx.cookies()} >= {COOKIE_S, COOKIE_T}
                # Page 2 through the pager the script built; files through the browser's cookies.
                page.click("#pager a:nth-child(2)")
                page.wait_for_selector("#pager a.current:text('2')", timeout=10_000)
                page.wait_for_selector("ul#list li.item a", timeout=10_000)
                second = page.eval_on_selector_all("ul#list li.item a", "els => els.map(e => e.href)")
                assert second == [p.base_url + p.site.article_path(it) for it in p.site.entries()[8:16]]
                pdf = next(d for d in p.documents() if d["kind"] == "attachment" and d["fmt"] == "pdf")
                resp = ctx.request.get(pdf["url"])
                assert resp.status == 200 and resp.body().startswith(b"%PDF")
            finally:
                browser.close()
        assert p.site.challenges >= 2  # the plain fetch and the browser's first visit


def test_hanweb_max_records_and_zhejiang_pagenum(region):
    with SimulatedPortal(region, family="hanweb", today=TODAY, noise=False, max_records=20) as p:
        site = p.site
        q = f"columnid={site.col_ids['main']}&unitid={site.unit_ids['main']}".encode()
        xml = text_of(
            f"{p.base_url}/module/web/jpage/dataproxy.jsp?startrecord=1&endrecord=900&perpage=300", data=q
        )
        assert len(RECORD.findall(xml)) == 20  # a big request is cut short: go on from record 21
        col = p.base_url + site.column_url()
        page2 = text_of(f"{col}?uid={site.unit_ids['main']}&pageNum=2")
        hrefs = [urljoin(col, re.search(r'href="([^"]+)"', r).group(1)) for r in RECORD.findall(page2)]
        assert hrefs == [p.base_url + site.article_path(it) for it in site.entries()[15:30]]


def test_mixed_families_in_one_portal_and_trs_behind_a_challenge(region):
    depts = [a.name for a in region.agencies if a.kind == "department"]
    subs = [
        {"name": "hanweb-dept", "family": "hanweb", "agencies": depts[:2], "charset": "gbk"},
        {"name": "ucap-dept", "family": "ucap", "agencies": depts[2:4], "per_page": 4},
        {"name": "trs-guarded", "family": "trs", "agencies": depts[4:6], "challenge": True},
    ]
    with SimulatedPortal(region, family="gkmlpt", today=TODAY, subsites=subs) as p:
        assert [type(s.site).__name__ for s in p.sites] == [
            "GkmlptSite",
            "HanwebSite",
            "UcapSite",
            "GuardedSite",
        ]
        urls = p.report_urls()
        assert len({(r.agency.name, r.year) for r in urls.values()}) == len(
            [r for r in region.reports if r.published_at and r.published_at <= TODAY]
        )
        for s in p.sites:
            assert all(u.startswith(s.base_url) for u in s.site.report_urls())
        guarded = p.sites[3]
        assert fetch(guarded.start_url)[0] == 412 and type(guarded.site.inner).__name__ == "TrsSite"
        assert p.url_of(depts[4], 2024).startswith(guarded.base_url)


@pytest.mark.browser
def test_chromium_shows_hanweb_jpage_groups_and_the_ucap_list(region):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    items = "div.default_pgContainer li a"
    with (
        SimulatedPortal(region, family="hanweb", today=TODAY, noise=False, per_page=5) as hw,
        SimulatedPortal(region, family="ucap", today=TODAY, per_page=6) as uc,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(hw.base_url + hw.site.column_url())
            page.wait_for_selector(items, timeout=10_000)
            want = [hw.base_url + hw.site.article_path(it) for it in hw.site.entries()]
            assert page.eval_on_selector_all(items, "els => els.map(e => e.href)") == want[:5]
            # Page 4 lies beyond the embedded group: jpage posts to dataproxy.jsp for records 16-30.
            page.click("div.default_pgPanel a:text-is('4')")
            page.wait_for_selector("div.default_pgPanel a.default_pgCurrentPage:text-is('4')", timeout=10_000)
            assert page.eval_on_selector_all(items, "els => els.map(e => e.href)") == want[15:20]
            assert any("startrecord=16" in u for u in hw.requests)
            page.goto(uc.base_url + uc.site.list_path())
            page.wait_for_selector("ul#list li a", timeout=10_000)
            got = page.eval_on_selector_all("ul#list li a", "els => els.map(e => e.href)")
            assert got == [uc.base_url + uc.site.article_path(it) for it in uc.site.entries()[:6]]
        finally:
            browser.close()
