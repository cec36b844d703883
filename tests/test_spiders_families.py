"""The non-TRS portal families: list parsing on the real shapes (docs/portals.md §3), then crawls of
simulated Hanweb, gkmlpt, Ucap and JS-only portals through the real CLI over real HTTP."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse

import simulator.families  # noqa: F401  (registers the families)
from simulator.model import generate_region
from simulator.portal import SimulatedPortal
from spiders import FAMILIES, spider_for
from spiders.adapters import pager_links
from spiders.browser import BrowserSpider
from spiders.detect import detect_family, needs_browser
from spiders.generic import GenericSpider, TrsAdapterSpider
from spiders.gkmlpt import api_entries, article_date, read_sid, report_categories
from spiders.hanweb import datastore_records, read_jpage, record_entries, total_records
from spiders.pages import looks_like_column
from spiders.trs import TrsSpider
from spiders.ucap import article_files, article_url, list_config, results
from tests.crawl_helpers import nianbao

# -- the shapes in the notes, by hand ----------------------------------------------------------

HANWEB_COLUMN = """<html><head><title>通知公告</title></head><body>
<div id="764752"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&webid=73&columnid=103585&unitid=764752"></a>]]></nextgroup>
<recordset>
<record><![CDATA[
<li><s></s><a class="ellipsis-line-clamp" href="http://kjt.shandong.gov.cn/art/2026/9/4/art_103585_10328790.html" target="_blank">山东省科学技术厅2025年政府信息公开工作年度报告</a><span class="pull-right">2026-09-04</span></li>]]></record>
<record><![CDATA[
<li><a href="/art/2026/1/20/art_103585_10328001.html" title="山东省科学技术厅2024年政府信息公开工作年度报告">山东省科学技术厅2024年政府信息…</a><b>2025-01-20</b></li>]]></record>
</recordset></datastore></script></div>
<script>$('#764752').jpage({perPage:15,totalRecord:1928,proxyUrl:'/module/web/jpage/dataproxy.jsp',
ajaxParam:{col:1,appid:1,webid:73,path:'/',columnid:103585,sourceContentType:1,unitid:764752,webname:'山东省科学技术厅',permissiontype:0}});</script>
<!-- Produced By 大汉网络 大汉版通发布系统 --></body></html>"""

HANWEB_ANSWER = """<datastore><totalrecord>1928</totalrecord><totalpage>20</totalpage><recordset>
<record><![CDATA[<li class="cf"><a target="_blank" href="/art/2026/9/16/art_77278_11830771.html" title="江苏省人力资源和社会保障厅2025年政府信息公开工作年度报告">江苏省人力资源…</a><i>2026-01-16</i></li>]]></record>
</recordset></datastore>"""

GKMLPT_INDEX = """<html><head><script>
window._CONFIG = {SID: '175', TREE: [{"id": 2600, "name": "机构职能", "children": []},
 {"id": 2629, "name": "政府信息公开年报", "children": [], "post_count": 12},
 {"id": 2700, "name": "外链", "jump_url": "http://x/", "children": []}], SERVICE_AREA_ID: 1};
</script></head><body><div id="app"></div></body></html>"""

UCAP_LIST = """<html><body><ul id="list"></ul><script>
var webSiteCode = 'jxszfhcxjst'; var channelCode = 'gqcyc'; var pageSize = 15;
fetch('/queryList', {method: 'POST', body: new URLSearchParams({current: 1, pageSize: pageSize,
 webSiteCode: webSiteCode, channelCode: channelCode})});
</script></body></html>"""


def _html(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url, body=body.encode("utf-8"), encoding="utf-8", request=Request(url))


def test_hanweb_records_live_only_in_the_datastore():
    url = "http://kjt.shandong.gov.cn/col/col103585/index.html"
    records = datastore_records(HANWEB_COLUMN)
    entries = record_entries(records, url)
    assert [e.url for e in entries] == [
        "http://kjt.shandong.gov.cn/art/2026/9/4/art_103585_10328790.html",
        "http://kjt.shandong.gov.cn/art/2026/1/20/art_103585_10328001.html",
    ]
    # title= wins over the truncated anchor text; the date sits in <span> or <b>
    assert entries[1].title == "山东省科学技术厅2024年政府信息公开工作年度报告"
    assert [e.list_date for e in entries] == [date(2026, 9, 4), date(2025, 1, 20)]
    # a plain link reader sees nothing: the records are CDATA inside a script
    assert _html(url, HANWEB_COLUMN).css("li a") == []


def test_hanweb_paging_comes_from_nextgroup_and_the_jpage_call():
    url = "http://kjt.shandong.gov.cn/col/col103585/index.html"
    jpage = read_jpage(HANWEB_COLUMN, url)
    assert jpage is not None
    assert jpage.proxy == "http://kjt.shandong.gov.cn/module/web/jpage/dataproxy.jsp"
    assert jpage.form["webid"] == "73" and jpage.form["columnid"] == "103585"
    assert jpage.form["unitid"] == "764752" and jpage.form["webname"] == "山东省科学技术厅"
    assert jpage.form["path"] == "/" and jpage.form["permissiontype"] == "0"
    assert jpage.perpage == 15 and jpage.total == 1928
    group_url, _ = jpage.group_request_args(46)  # the second group of 3 pages
    assert group_url.endswith("dataproxy.jsp?startrecord=46&endrecord=90&perpage=15&page=4")
    # an encrypted nextgroup (nhsa/nrta) names no column: only the embedded records are read
    encrypted = HANWEB_COLUMN.replace("webid=73&columnid=103585&unitid=764752", "a=Zk3x9Q&b=pP0w").replace(
        "columnid:103585,", ""
    )
    assert read_jpage(encrypted, url) is None


def test_hanweb_dataproxy_answer():
    entries = record_entries(
        datastore_records(HANWEB_ANSWER), "http://rst.jiangsu.gov.cn/col/col77278/index.html"
    )
    assert entries[0].url == "http://rst.jiangsu.gov.cn/art/2026/9/16/art_77278_11830771.html"
    assert entries[0].title.startswith("江苏省人力资源和社会保障厅2025年") and entries[0].list_date == date(
        2026, 1, 16
    )
    assert total_records(HANWEB_ANSWER) == 1928


def test_gkmlpt_config_category_and_api_answer():
    url = "http://www.gd.gov.cn/gkmlpt/index"
    assert read_sid(GKMLPT_INDEX) == "175"
    assert report_categories(GKMLPT_INDEX, url) == ["2629"]  # the catalogue node named 年报
    assert report_categories(GKMLPT_INDEX, "http://www.gd.gov.cn/gkmlpt/annualreport#2631") == ["2631"]
    data = {
        "total": 2,
        "articles": [
            {
                "id": 4804801,
                "title": "广东省人民政府2024年政府信息公开工作年度报告",
                "url": "http://www.gd.gov.cn/gkmlpt/content/4/4804/post_4804801.html",
                "display_publish_time": 1743379200,  # 2025-03-31 08:00 in China
                "attachment": [{"name": "报告.pdf", "url": "/attachment/0/599/599288/4804801.pdf"}],
            },
            {
                "id": 2,
                "title": "x",
                "url": "/gkmlpt/content/0/0/post_2.html",
                "display_publish_time": "2025-01-20",
            },
        ],
    }
    entries, files = api_entries(data, "http://www.gd.gov.cn/gkmlpt/api/all/2629?page=1&sid=175")
    assert entries[0].list_date == date(2025, 3, 31) and entries[1].list_date == date(2025, 1, 20)
    assert entries[1].url == "http://www.gd.gov.cn/gkmlpt/content/0/0/post_2.html"
    assert files[entries[0].url] == ["http://www.gd.gov.cn/attachment/0/599/599288/4804801.pdf"]
    assert article_date({"create_time": 1706582400000}) == date(2024, 1, 30)  # epoch milliseconds


def test_ucap_config_and_query_list_answer():
    url = "http://zjt.jiangxi.gov.cn/jxszfhcxjst/gqcyc/pc/list.html"
    config = list_config(UCAP_LIST, url)
    assert config == {
        "endpoint": "http://zjt.jiangxi.gov.cn/queryList",
        "codes": {"webSiteCode": "jxszfhcxjst", "channelCode": "gqcyc"},
        "page_size": 15,
        "referer": url,
    }
    answer = {
        "code": 200,
        "data": {
            "total": 31,
            "results": [
                {
                    "source": {
                        "id": "2062796646723690496",
                        "title": "江西省住房和城乡建设厅2024年政府信息公开工作年度报告",
                        "pubDate": "2025-01-21 10:30:00",
                        "urls": json.dumps(
                            {"pc": "/jxszfhcxjst/gqcyc/pc/content/content_2062796646723690496.html"}
                        ),
                        "articleFiles": [
                            {"fileName": "报告.pdf", "filePath": "/doc/ucap/1/document/20250121/ab12cd34.pdf"}
                        ],
                    }
                }
            ],
        },
    }
    external = '<html><body><ul id="list"></ul><script src="/ucap/js/list.js"></script></body></html>'
    assert list_config(external, url)["codes"] == {"webSiteCode": "jxszfhcxjst", "channelCode": "gqcyc"}
    assert list_config(external, "http://x.gov.cn/nb/index.html") is None
    sources, total = results(answer)
    assert total == 31
    page = article_url(sources[0], url)
    assert page == "http://zjt.jiangxi.gov.cn/jxszfhcxjst/gqcyc/pc/content/content_2062796646723690496.html"
    assert article_files(sources[0], page) == [
        "http://zjt.jiangxi.gov.cn/doc/ucap/1/document/20250121/ab12cd34.pdf"
    ]
    assert article_url(
        {"urls": {"pc": "/a/pc/content/content_1.html", "wap": "/a/wap/1.html"}}, url
    ).endswith("/a/pc/content/content_1.html")


def test_detection_by_fingerprints():
    assert detect_family("http://kjt.shandong.gov.cn/col/col103585/index.html", HANWEB_COLUMN) == "hanweb"
    assert detect_family("http://www.gd.gov.cn/gkmlpt/index", GKMLPT_INDEX) == "gkmlpt"
    assert detect_family("http://zjt.jiangxi.gov.cn/jxszfhcxjst/gqcyc/pc/list.html", UCAP_LIST) == "ucap"
    trs = '<a href="./202401/t20240126_123.html">x</a><script>createPageHTML(3, 0, "index", "html");</script>'
    assert detect_family("http://x.gov.cn/zfxxgknb/index.html", trs) == "trs"
    shell = '<ul class="list" id="list"></ul><script>fetch("/api/list.json").then(r => r.json())</script>'
    assert needs_browser(shell) and detect_family("http://x.gov.cn/nb/", shell) == "jsonly"
    assert detect_family("http://x.gov.cn/", "<html><body><a href='/a.html'>a</a></body></html>") is None


def test_pager_links_stay_on_the_column():
    url = "http://x.gov.cn/zwgk/nb/index.html"
    body = (
        '<a href="index.html?page=2">2</a><a href="index.html?page=3">下一页</a>'
        '<a href="/other/index.html?page=2">2</a><a href="javascript:next(2)">2</a><a href="/zwgk/nb/a.html">报告</a>'
    )
    assert pager_links(_html(url, body)) == [
        "http://x.gov.cn/zwgk/nb/index.html?page=2",
        "http://x.gov.cn/zwgk/nb/index.html?page=3",
    ]


def test_spider_for_every_family():
    assert FAMILIES["trs"] is TrsSpider
    assert spider_for({"family": None}) is GenericSpider
    assert spider_for({"family": "jsonly"}) is BrowserSpider
    for family in ("hanweb", "gkmlpt", "ucap"):
        assert spider_for({"family": family}).family == family
    browsing = spider_for({"family": "trs", "browser": True})
    assert issubclass(browsing, TrsAdapterSpider)
    assert browsing.family_settings["DOWNLOAD_HANDLERS"]["https"].endswith("ScrapyPlaywrightDownloadHandler")
    json_answer = TextResponse("http://x/queryList", body=b'{"data": {"results": []}}', encoding="utf-8")
    assert json_answer.selector.type == "json"  # why API answers skip the link reader


# -- crawls over real HTTP ----------------------------------------------------------------------


def small_region(seed: int = 11):
    """A small county (8 agencies × 3 years) so the crawls stay fast."""
    return generate_region(seed, departments=6, townships=1)


def write_sources(tmp: Path, sources: list[tuple[str, str]], extra: str = "") -> Path:
    """A config with one source per (start URL, extra YAML lines for that source)."""
    body = "".join(
        f"  - id: s{i}\n    name: 站点{i}\n    start_url: {url}\n{more}"
        for i, (url, more) in enumerate(sources)
    )
    path = tmp / "config.yaml"
    path.write_text(
        f"storage:\n  path: nianbao.db\ncrawl:\n  delay: 0\n  concurrency_per_host: 4\n  retries: 1\n{extra}"
        f"sources:\n{body}",
        encoding="utf-8",
    )
    return path


def hits(portal: SimulatedPortal, fragment: str) -> int:
    """Requests the portal answered whose URL contains ``fragment``."""
    return sum(n for url, n in portal.requests.items() if fragment in url)


def stored_documents(db: sqlite3.Connection) -> dict[str, dict]:
    db.row_factory = sqlite3.Row
    return {r["url"]: dict(r) for r in db.execute("SELECT * FROM documents")}


def check_complete(portal: SimulatedPortal, docs: dict[str, dict]) -> None:
    """Every planted report page and file is stored (files at their final URL), nothing else is."""
    truth = [d for d in portal.documents() if d["kind"] != "wap"]  # mobile copies: the same reports
    missing = [d["url"] for d in truth if d["url"] not in docs and d["final_url"] not in docs]
    assert missing == [], f"{portal.main.site.family}: {len(missing)} of {len(truth)} missing: {missing[:3]}"
    mine = {u for u in docs if u.startswith(portal.base_url)}
    allowed = {d["url"] for d in portal.documents()} | {d["final_url"] for d in portal.documents()}
    assert sorted(mine - allowed) == []  # no list page, notice, error or challenge page stored


# (family, site options, source YAML): family unset means generic discovery from the home page.
FAMILY_SITES = [
    (
        "hanweb",
        {"per_page": 3, "wap_copies": True, "dual_agency": True, "soft_404": True},
        "    family: hanweb\n",
    ),
    (
        "hanweb",
        {"per_page": 4, "ignore_startrecord": True, "absolute_links": True, "special_formats": ("doc",)},
        "",
    ),
    ("gkmlpt", {"per_page": 5, "dual_agency": True}, ""),
    (
        "ucap",
        {"per_page": 4, "urls_as_object": True, "special_formats": ("wps",)},
        "    family: ucap\n",
    ),
    ("ucap", {"per_page": 6}, ""),
]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("families")
    region = small_region()
    portals = [SimulatedPortal(region=region, family=f, **opts) for f, opts, _ in FAMILY_SITES]
    for p in portals:
        p.start()
    try:
        config = write_sources(
            tmp, [(p.start_url, more) for p, (_, _, more) in zip(portals, FAMILY_SITES, strict=True)]
        )
        proc = nianbao(config, "crawl", "--quiet")
        db = sqlite3.connect(tmp / "nianbao.db")
        yield portals, config, db, proc
        db.close()
    finally:
        for p in portals:
            p.stop()


def test_every_family_crawls_completely(crawled):
    portals, _, db, proc = crawled
    docs = stored_documents(db)
    for portal in portals:
        check_complete(portal, docs)
    runs = db.execute("SELECT source_id, status, errors, blocked FROM crawl_runs").fetchall()
    assert [r[1:] for r in runs] == [("finished", 0, 0)] * len(portals), runs


def test_a_report_at_several_urls_is_one_report(crawled):
    """A report listed in two columns (and, here, the same region on five portals) is stored
    at each URL but linked to the first one, and read once."""
    portals, config, db, _ = crawled
    docs = stored_documents(db)
    by_id = {r["id"]: r for r in docs.values()}

    def original(row: dict) -> dict:
        return by_id[row["same_as"]] if row["same_as"] else row

    pairs = [
        (d["url"], d["duplicate_of"])
        for p in portals
        for d in p.documents()
        if d["duplicate_of"] and d["kind"] == "article" and d["url"] != d["duplicate_of"]
    ]
    assert pairs  # the dual Hanweb site lists a department's reports in two columns
    for copy_url, original_url in pairs:
        assert original(docs[copy_url])["id"] == original(docs[original_url])["id"], copy_url
    # Pages whose text is the report are also matched across portals; a "详见附件" page only
    # by its files, whose URLs differ from portal to portal.
    pages = [r for r in docs.values() if r["kind"] == "page"]
    copies = [r for r in pages if r["same_as"]]
    assert len(copies) > len(pairs)
    assert all(by_id[r["same_as"]]["same_as"] is None for r in copies)  # never a copy of a copy
    runs = [json.loads(r[0]) for r in db.execute("SELECT stats_json FROM crawl_runs")]
    assert sum(r["copies"] for r in runs) == len(copies)
    assert sum(r["reports"] for r in runs) == len(pages) - len(copies)
    originals = [r for r in pages if r["same_as"] is None]

    nianbao(config, "parse", "--stored")
    read = {doc_id for (doc_id,) in db.execute("SELECT DISTINCT document_id FROM reports")}
    assert {r["id"] for r in originals} <= read
    assert not {r["id"] for r in docs.values() if r["same_as"]} & read


def test_hanweb_pages_through_dataproxy_groups(crawled):
    portals, _, _, _ = crawled
    for portal in portals[:2]:
        site = portal.main.site
        # more records than the column page embeds, so the crawl had to POST dataproxy.jsp
        assert max(len(site.entries(c)) for c in site.columns()) > site.per_page * 3
        assert hits(portal, "/dataproxy.jsp") >= 1


def test_attachments_of_every_type_hang_on_their_article(crawled):
    portals, _, db, _ = crawled
    docs = stored_documents(db)
    by_id = {r["id"]: r for r in docs.values()}
    kinds = set()
    for portal in portals:
        for truth in portal.documents():
            if truth["kind"] != "attachment":
                continue
            row = docs.get(truth["final_url"]) or docs[truth["url"]]
            kinds.add(truth["fmt"])
            assert row["kind"] == "attachment"
            parent = by_id[row["parent_id"]]
            assert parent["kind"] == "page" and row["published_at"] == parent["published_at"]
            if truth["fmt"] in ("zip", "wps"):  # served as downloads with Content-Disposition
                # the offered name (the report's title) is recorded; the stored URL is ours
                assert row["filename"] == f"{truth['title']}.{truth['fmt']}"
                assert row["url"] in (truth["url"], truth["final_url"])
    assert {"pdf", "docx", "zip", "doc", "wps"} <= kinds


def test_publication_dates_come_from_the_pages(crawled):
    portals, _, db, _ = crawled
    docs = stored_documents(db)
    for portal in portals:
        for truth in portal.documents():
            if truth["kind"] == "article":
                row = docs[truth["url"]]
                assert row["published_at"] == truth["published_at"].isoformat(), truth["url"]


def test_incremental_crawl_stops_at_the_first_known_group(crawled):
    portals, config, db, _ = crawled
    for p in portals:
        p.reset_requests()
    before = db.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
    nianbao(config, "crawl", "--quiet")
    assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == before
    for portal in portals:
        site = portal.main.site
        articles = {d["url"] for d in portal.documents() if d["kind"] == "article"}
        fetched = [u for u in articles if portal.requests[u]]
        assert fetched == [], f"{site.family}: known articles fetched again"
    # the Hanweb walk asked for no further group: the column page's records were all known
    assert hits(portals[0], "/dataproxy.jsp") == 0


def test_js_only_column_is_read_with_chromium(tmp_path):
    portal = SimulatedPortal(region=small_region(), family="jsonly", per_page=4)
    with portal:
        config = write_sources(tmp_path, [(portal.start_url, "    family: jsonly\n")])
        nianbao(config, "crawl", "--quiet")
        db = sqlite3.connect(tmp_path / "nianbao.db")
        check_complete(portal, stored_documents(db))
        # every list page was rendered (the JSON is only asked for by the page's script) ...
        assert all(portal.requests[u] >= 1 for u in portal.main.site.list_urls())
        # ... and articles were fetched once each (plainly; the browser only renders lists)
        articles = [d["url"] for d in portal.documents() if d["kind"] == "article"]
        assert {portal.requests[u] for u in articles} == {1}
        db.close()


def test_wap_copy_and_https_twin_are_one_entry():
    spider = GenericSpider(source={"id": "t", "start_url": "http://x.gov.cn/"})
    body = (
        '<li><a href="/nb/202401/t20240126_1.html">青山县2023年政府信息公开工作年度报告</a></li>'
        '<li><a href="/nb/202401/t20240126_1_wap.html">青山县2023年政府信息公开工作年度报告</a></li>'
        '<li><a href="https://x.gov.cn/nb/202401/t20240126_1.html">青山县2023年政府信息公开工作年度报告</a></li>'
        '<li><a href="/nb/">青山县发展和改革局政府信息公开年报</a></li>'
    )
    entries = list(spider.list_entries(_html("http://x.gov.cn/nb/index.html", body)))
    # the department column's link is walked as a column (PortalSpider.parse_column), not stored
    assert [e.url for e in entries if not looks_like_column(e.url)] == [
        "http://x.gov.cn/nb/202401/t20240126_1.html"
    ]
    assert [e.url for e in entries if looks_like_column(e.url)] == ["http://x.gov.cn/nb/"]


def test_discovery_by_link_text_and_by_column_slug():
    spider = GenericSpider(source={"id": "t", "start_url": "http://x.gov.cn/"})
    home = (
        '<a href="/zwgk/">政务公开</a><a href="/zwgk/zfxxgknb_73584/"><img src="nb.png"></a>'
        '<a href="/bm/jyj/nb/">青山县教育局政府信息公开工作年度报告</a>'
        '<a href="/zfxxgknb/202401/t20240126_1.html"><img src="a.png"></a>'
        '<a href="http://other.gov.cn/zfxxgknb/">政府信息公开年报</a>'
    )
    columns, sections = spider.column_links(_html("http://x.gov.cn/", home))
    assert columns == ["http://x.gov.cn/zwgk/zfxxgknb_73584/", "http://x.gov.cn/bm/jyj/nb/"]
    assert sections == ["http://x.gov.cn/zwgk/"]
