"""Access barriers: challenge pages recognised (never stored), passed in Chromium where the source
allows the browser, reported as blocked otherwise; soft 404s; back-off on 0-byte bodies."""

from __future__ import annotations

import os
import sqlite3

import pytest

import simulator.families  # noqa: F401  (registers the families)
from crawler.barriers import challenge_reason, is_soft_404
from simulator.portal import SimulatedPortal
from storage import Store
from tests.crawl_helpers import nianbao
from tests.test_spiders_families import check_complete, small_region, stored_documents, write_sources

# -- what barriers look like on the wire (docs/portals.md §7) --------------------------------------

RIVERS = (
    '<html><head><meta id="9DhefwqGPrzGxEp9hPaoag" content="_Bx0kZ1Jd3wq" r="m">'
    '<script type="text/javascript" r="m">var $_ts=window[\'$_ts\'];if(!$_ts)$_ts={};$_ts.nsd=84112;</script>'
    '<script type="text/javascript" charset="utf-8" src="/4QbVtADbnLVIc/c.FxJzG50F.dfe1675.js" r="m"></script>'
    "</head><body></body></html>"
)
C3VK = (
    '<html><script>var x=\'a3f9c1\';document.cookie="C3VK="+x+"; path=/; max-age=300";'
    "window.location.reload();</script></html>"
)
REPORT = (
    "<html><head><title>青山县教育局2024年政府信息公开工作年度报告</title></head><body><div id='zoom'>"
    + "<p>本报告中所列数据统计期限自2024年1月1日起至2024年12月31日止。</p>" * 20
    + "<table><tr><td>行政复议</td><td>404</td></tr></table></div></body></html>"
)
SOFT_404 = (
    '<html><head><meta charset="utf-8"><title>页面不存在</title></head><body><div class="error">'
    "<h2>抱歉，您访问的页面不存在或已被删除！</h2><p><a href='/'>返回首页</a></p></div></body></html>"
)


def test_challenges_and_refusals_are_recognised():
    assert "瑞数" in challenge_reason(412, RIVERS)
    assert "瑞数" in challenge_reason(200, RIVERS)  # the markers, whatever the status
    assert "C3VK" in challenge_reason(200, C3VK)
    assert "403" in challenge_reason(403, "<html><body><h1>403 Forbidden</h1></body></html>")
    assert challenge_reason(412, "") is not None
    assert challenge_reason(200, "<html><body><p>访问异常，请稍后再试</p></body></html>") is not None
    assert challenge_reason(200, REPORT) is None
    assert challenge_reason(404, SOFT_404) is None  # a real 404 is a removal, not a barrier


def test_soft_404_is_a_200_that_says_not_found_and_holds_no_report():
    assert is_soft_404(200, SOFT_404)
    assert not is_soft_404(200, REPORT)  # a report may well contain "404" in its tables
    assert not is_soft_404(404, SOFT_404)
    assert not is_soft_404(200, "")


# -- crawls -------------------------------------------------------------------------------------

# (family, site options, source YAML, expected run status)
BARRIER_SITES = [
    ("hanweb", {"challenge": True, "per_page": 4}, "    browser: true\n", "finished"),  # generic + browser
    ("gkmlpt", {"browser_only": True, "per_page": 5}, "    family: gkmlpt\n    browser: true\n", "finished"),
    ("ucap", {"challenge": True}, "    family: ucap\n", "blocked"),
    ("gkmlpt", {"browser_only": True}, "", "blocked"),
    ("hanweb", {"burst_limit": 4, "burst_window": 1.0, "per_page": 4}, "    family: hanweb\n", "finished"),
    ("hanweb", {"soft_404": True, "per_page": 4}, "    family: hanweb\n", "finished"),
    ("ucap", {"fail_every": 6, "per_page": 4}, "", "finished"),  # every 6th answer a 500
]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("barriers")
    region = small_region(5)
    portals = [SimulatedPortal(region=region, family=f, **opts) for f, opts, _, _ in BARRIER_SITES]
    for p in portals:
        p.start()
    old = os.environ.get("NIANBAO_BACKOFF_BASE")
    os.environ["NIANBAO_BACKOFF_BASE"] = "0.2"  # 0.2/0.6/1.6 s instead of 15/45/120 s
    try:
        sources = [(p.start_url, more) for p, (_, _, more, _) in zip(portals, BARRIER_SITES, strict=True)]
        config = write_sources(tmp, sources)
        proc = nianbao(config, "crawl", "--quiet", check=False)
        db = sqlite3.connect(tmp / "nianbao.db")
        yield portals, config, db, proc
        db.close()
    finally:
        if old is None:
            os.environ.pop("NIANBAO_BACKOFF_BASE", None)
        else:
            os.environ["NIANBAO_BACKOFF_BASE"] = old
        for p in portals:
            p.stop()


def _runs(db) -> dict[str, tuple[str, str | None]]:
    return {
        sid: (status, reason)
        for sid, status, reason in db.execute("SELECT source_id, status, reason FROM crawl_runs")
    }


def test_run_status_per_barrier(crawled):
    _, _, db, _ = crawled
    runs = _runs(db)
    assert [runs[f"s{i}"][0] for i in range(len(BARRIER_SITES))] == [s[3] for s in BARRIER_SITES], runs
    assert "瑞数" in runs["s2"][1]
    assert "403" in runs["s3"][1]


def test_challenge_passed_in_chromium_and_its_cookies_reused(crawled):
    portals, _, db, _ = crawled
    docs = stored_documents(db)
    check_complete(portals[0], docs)
    # one pass in the browser; the plain requests after it carried the cookies it earned
    assert 1 <= portals[0].main.site.challenges <= 3
    check_complete(portals[1], docs)  # 403 to non-browsers: passed as the browser


def test_blocked_sources_store_nothing(crawled):
    portals, _, db, _ = crawled
    docs = stored_documents(db)
    for portal in portals[2:4]:
        assert not [u for u in docs if u.startswith(portal.base_url)]


def test_no_challenge_error_or_empty_page_is_ever_stored(crawled):
    _, config, db, _ = crawled
    with Store(config.parent / "nianbao.db") as store:
        for (version_id,) in db.execute("SELECT id FROM versions"):
            body = store.version_body(version_id)
            assert body, f"version {version_id} is empty"
            assert b"9DhefwqGPrzGxEp9hPaoag" not in body and b"$_ts" not in body
            assert "页面不存在".encode() not in body and b"403 Forbidden" not in body


def test_zero_byte_bursts_are_backed_off_and_retried(crawled):
    portals, _, db, _ = crawled
    portal = portals[4]
    check_complete(portal, stored_documents(db))
    # a crawl asks for each URL once; the 0-byte burst answers were asked for again after a pause
    retried = [url for url, n in portal.requests.items() if n > 1 and not url.endswith("/robots.txt")]
    assert retried


def test_server_errors_are_backed_off_and_retried(crawled):
    portals, _, db, _ = crawled
    portal = portals[6]
    check_complete(portal, stored_documents(db))
    retried = [url for url, n in portal.requests.items() if n > 1 and not url.endswith("/robots.txt")]
    assert retried


def test_soft_404_of_a_removed_report_is_a_removal(crawled):
    portals, config, db, _ = crawled
    portal = portals[5]
    check_complete(portal, stored_documents(db))
    report = next(p for p in portal.region.published() if p.fmt == "html" and portal.main.site.owns(p))
    url = portal.url_of(report.agency.name, report.year)
    versions = db.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
    portal.remove(report.agency.name, report.year)
    nianbao(config, "crawl", "--quiet", "--revalidate", "--source", "s5")
    row = db.execute("SELECT gone_since, last_status FROM documents WHERE url = ?", [url]).fetchone()
    assert row[0] is not None and row[1] == 404
    assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == versions  # nothing new stored
