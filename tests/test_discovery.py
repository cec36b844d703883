"""Discovery of bodies' own report columns: from a portal's home page, through the report column's
links named by a body ("县教育局", "城关镇") or by a hub ("乡镇（街道）信息公开"), to the body's own
column — over real HTTP against the TRS simulator, bounded in depth and in requests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request

from simulator.model import generate_region
from simulator.portal import SimulatedPortal
from spiders.base import COLUMN, UNIT
from spiders.generic import GenericSpider
from spiders.units import is_body_name, is_unit_hub
from tests.crawl_helpers import nianbao

# -- which link texts name a body ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["县教育局", "青山县科学技术局", "城关镇", "新华街道", "王丕街道办事处", "县人民政府办公室",
     "青山县人民政府", "县融媒体中心", "县发展和改革委员会", "县档案馆", " 县 教育局 "],
)  # fmt: skip
def test_a_body_name_is_recognised(text):
    assert is_body_name(text)


@pytest.mark.parametrize(
    "text",
    ["新闻中心", "下载中心", "政府网站", "网上办事", "政府信息公开", "政府信息公开指南", "首页", "部门",
     "乡镇", "青山县教育局2024年政府信息公开工作年度报告", "关于做好2025年政务公开工作的通知", "更多>>",
     "局", "领导信箱"],
)  # fmt: skip
def test_navigation_is_not_a_body_name(text):
    assert not is_body_name(text)


def test_hubs_of_bodies_columns():
    for text in ("部门年报", "乡镇（街道）信息公开", "部门政府信息公开年报", "县直部门信息公开", "镇街年报"):
        assert is_unit_hub(text), text
    for text in ("政府信息公开年报", "部门", "2024年部门年报汇总表", "信息公开"):
        assert not is_unit_hub(text), text


def _html(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url, body=body.encode("utf-8"), encoding="utf-8", request=Request(url))


def test_unit_links_stay_on_the_site_and_skip_articles_files_and_home():
    spider = GenericSpider(source={"id": "t", "start_url": "http://x.gov.cn/"})
    page = (
        '<a href="/">青山县人民政府</a>'  # the home page: the site's own government
        '<a href="/bm/jyj/">县教育局</a>'
        '<a href="/bm/kjj/index.html" title="青山县科学技术局">科技局</a>'
        '<a href="/xzjd/">乡镇（街道）信息公开</a>'
        '<a href="http://other.gov.cn/bm/jyj/">市教育局</a>'  # another site
        '<a href="/zwgk/202401/t20240112_9951040.html">县统计局</a>'  # an article
        '<a href="/files/jyj.pdf">县审计局</a>'  # a file
        '<a href="javascript:void(0)">县民政局</a>'
        '<a href="/news/">新闻中心</a>'
    )
    links = spider.unit_links(_html("http://x.gov.cn/zwgk/zfxxgknb/", page))
    assert links == [
        ("http://x.gov.cn/bm/jyj/", UNIT),
        ("http://x.gov.cn/bm/kjj/index.html", UNIT),
        ("http://x.gov.cn/xzjd/", COLUMN),
    ]


# -- crawls over real HTTP -----------------------------------------------------------------------

UNIT_OPTIONS = {"dept_columns": 2, "town_columns": 1, "per_page": 4}


def _region():
    """A small county: 6 bureaus and 2 townships over 3 years."""
    return generate_region(13, departments=6, townships=2)


def _config(tmp: Path, start_url: str, crawl: str = "", source: str = "") -> Path:
    path = tmp / "config.yaml"
    path.write_text(
        "storage:\n  path: nianbao.db\n"
        f"crawl:\n  delay: 0\n  concurrency_per_host: 4\n  retries: 1\n{crawl}"
        f"sources:\n  - id: county\n    name: 县门户\n    start_url: {start_url}\n{source}",
        encoding="utf-8",
    )
    return path


def _stored(tmp: Path) -> set[str]:
    db = sqlite3.connect(tmp / "nianbao.db")
    try:
        return {u for (u,) in db.execute("SELECT url FROM documents")}
    finally:
        db.close()


def _unit_documents(portal: SimulatedPortal, unit: str) -> set[str]:
    """The report URLs (pages and files) served in the body's own column below ``unit``."""
    return {d["url"] for d in portal.documents() if d["url"].startswith(portal.base_url + unit)}


@pytest.fixture(scope="module")
def portals():
    """The county portal with two bureaus' and a township's own columns, and another site that the
    report column links by a body's name ("市教育局": off-site, never to be walked)."""
    other = SimulatedPortal(region=_region(), seed=13).start()
    portal = SimulatedPortal(
        region=_region(), related_links={"市教育局": other.base_url + "/bm/jyj/"}, **UNIT_OPTIONS
    ).start()
    try:
        yield portal, other
    finally:
        portal.stop()
        other.stop()


@pytest.fixture(scope="module")
def crawled(portals, tmp_path_factory):
    """One crawl from the home page with the default bounds."""
    portal, other = portals
    tmp = tmp_path_factory.mktemp("discovery")
    portal.reset_requests()
    other.reset_requests()
    config = _config(tmp, portal.start_url)
    nianbao(config, "crawl", "--quiet")
    return tmp, config, dict(portal.requests), dict(other.requests)


def test_bodies_columns_below_the_report_column_are_found_from_the_home_page(portals, crawled):
    portal, _ = portals
    tmp, _, requests, _ = crawled
    site = portal.site
    assert sorted(a.kind for a in site.units.values()) == ["department", "department", "township"]
    assert {"/bm/jyj/", "/xzjd/cgz/"} <= set(site.units)
    stored = _stored(tmp)
    for unit in site.units:
        own = _unit_documents(portal, unit)
        assert own, unit  # the body has reports, listed only in its own column
        assert own <= stored, (unit, sorted(own - stored)[:3])
    # every report of the portal, and nothing else
    assert {d["url"] for d in portal.documents()} == {u for u in stored if u.startswith(portal.base_url)}
    # two clicks below the report column for bureaus, three (through the hub) for townships
    base = portal.base_url
    for path in ("/bm/jyj/", "/bm/jyj/gknb/index.html", "/xzjd/", "/xzjd/cgz/", "/xzjd/cgz/gknb/index.html"):
        assert requests.get(base + path) == 1, path


def test_links_named_like_a_body_off_the_site_or_to_an_article_are_not_walked(portals, crawled):
    portal, _ = portals
    _, _, requests, other_requests = crawled
    assert other_requests == {}  # "市教育局" on another host
    notice = portal.base_url + portal.site.related()["县统计局"]
    assert notice.endswith(".html") and "/t20" in notice
    assert notice not in requests  # "县统计局" leading to a notice (an article)


def test_requests_stay_bounded(portals, crawled):
    """Each page is asked for once, and only pages that lead to reports or are reports."""
    portal, _ = portals
    _, _, requests, _ = crawled
    site = portal.site
    base = portal.base_url
    expected = {base + "/", base + "/zwgk/zfxxgk/", base + "/robots.txt", base + "/xzjd/"}
    expected |= set(site.list_urls())  # every page of every column, the bodies' own included
    expected |= {base + column for column in site.columns}  # a column's first page as linked
    expected |= {base + unit for unit in site.units}
    expected |= {d["url"] for d in portal.documents()}
    assert set(requests) <= expected, sorted(set(requests) - expected)
    assert max(requests.values()) == 1, {u: n for u, n in requests.items() if n > 1}
    # a column linked both as its directory and as its index page is asked for once
    for column in site.columns:
        assert (base + column in requests) + (base + column + "index.html" in requests) == 1, column


def test_an_incremental_crawl_checks_the_bodies_columns_without_rewalking(portals, tmp_path):
    """The next (incremental) crawl asks each body's column for its first page only, fetches no
    known report again, and finds a report newly listed in a body's own column."""
    portal, _ = portals
    site = portal.site
    jyj = site.units["/bm/jyj/"]
    latest = max(
        (r for r in portal.region.reports if r.agency.name == jyj.name and r.published_at),
        key=lambda r: r.published_at,
    )
    portal.remove(jyj.name, latest.year)  # not there at the first crawl
    try:
        config = _config(tmp_path, portal.start_url)
        nianbao(config, "crawl", "--quiet")
        known = _stored(tmp_path)
        new_url = portal.url_of(jyj.name, latest.year)
        assert new_url not in known
        portal.restore(jyj.name, latest.year)
        portal.reset_requests()
        nianbao(config, "crawl", "--quiet")  # incremental: the full walk is not due
        requests = dict(portal.requests)
        assert new_url in _stored(tmp_path)  # the body's new report, found in its own column
        assert [u for u in requests if u in known] == []  # nothing known is fetched again
        base = portal.base_url
        assert {base + f"{unit}gknb/index.html" for unit in site.units} <= set(requests)
        assert [u for u in requests if "/index_" in u] == []  # no column paged through
        assert max(requests.values()) == 1
    finally:
        portal.restore(jyj.name, latest.year)


def test_the_depth_bound_is_honoured(portals, tmp_path):
    """crawl.max_column_depth: 4 reaches the bureaus' columns (home → 政府信息公开 → 年报 → 县教育局 →
    its column) but not the township's, one click deeper behind the hub."""
    portal, other = portals
    portal.reset_requests()
    nianbao(_config(tmp_path, portal.start_url, "  max_column_depth: 4\n"), "crawl", "--quiet")
    requests = dict(portal.requests)
    base = portal.base_url
    stored = _stored(tmp_path)
    assert _unit_documents(portal, "/bm/jyj/") <= stored
    assert requests.get(base + "/xzjd/cgz/") == 1  # depth 4: fetched
    assert [u for u in requests if "/xzjd/cgz/gknb/" in u] == []  # depth 5: not
    assert not _unit_documents(portal, "/xzjd/cgz/") & stored


def test_the_number_of_bodies_explored_is_bounded(portals, tmp_path):
    portal, _ = portals
    portal.reset_requests()
    config = _config(tmp_path, portal.start_url, "  max_department_columns: 1\n")
    proc = nianbao(config, "crawl")
    requests = dict(portal.requests)
    base = portal.base_url
    depts = [p for p, a in portal.site.units.items() if a.kind == "department"]
    first, *others = [*depts, "/xzjd/"]  # in the order the report column links them
    assert base + first in requests
    assert [p for p in others if base + p in requests] == []
    assert "max_department_columns=1" in proc.stdout + proc.stderr


def test_from_the_report_column_itself_with_the_trs_spider(portals, tmp_path):
    """A source configured with the report column (family trs): its links by name are followed too."""
    portal, _ = portals
    site = portal.site
    nianbao(
        _config(tmp_path, portal.base_url + site.column_path, source="    family: trs\n"), "crawl", "--quiet"
    )
    stored = _stored(tmp_path)
    for unit in site.units:
        own = _unit_documents(portal, unit)
        assert own and own <= stored, unit


def test_discovery_bounds_in_the_config(tmp_path):
    """crawl.max_column_depth / max_department_columns: defaults, a source's own, and range errors."""
    from config import ConfigError, load_config

    path = _config(
        tmp_path, "http://127.0.0.1:9/", "  max_column_depth: 3\n", "    max_department_columns: 7\n"
    )
    source = load_config(path).sources[0]
    assert (source["max_column_depth"], source["max_department_columns"]) == (3, 7)
    assert load_config(_config(tmp_path, "http://127.0.0.1:9/")).sources[0]["max_column_depth"] == 6
    with pytest.raises(
        ConfigError,
        match=r"config.yaml:7: crawl.max_column_depth: -1 is out of range: must be at least 0 and at most 20",
    ):
        load_config(_config(tmp_path, "http://127.0.0.1:9/", "  max_column_depth: -1\n"))
    with pytest.raises(ConfigError, match=r"sources\[0\].max_department_columns: expected a whole number"):
        load_config(_config(tmp_path, "http://127.0.0.1:9/", source="    max_department_columns: many\n"))


def test_a_body_left_unexplored_is_no_removal(portals, tmp_path):
    """A full walk that stopped at max_department_columns did not see every column: the reports of
    the bodies it left out are not taken for removed (they still answer 200)."""
    portal, _ = portals
    nianbao(_config(tmp_path, portal.start_url), "crawl", "--quiet")
    config = _config(tmp_path, portal.start_url, "  max_department_columns: 1\n")
    nianbao(config, "crawl", "--quiet", "--revalidate")
    db = sqlite3.connect(tmp_path / "nianbao.db")
    try:
        events = db.execute("SELECT kind FROM events").fetchall()
        runs = db.execute("SELECT status FROM crawl_runs").fetchall()
    finally:
        db.close()
    assert runs == [("finished",), ("finished",)]
    assert events == []


def test_the_simulated_bodies_columns_are_reachable_only_by_name(portals):
    """The simulator's side: a body's reports are listed in its own column only, which the report
    column reaches through the body's name (and, for townships, the hub)."""
    import urllib.request

    portal, _ = portals
    site = portal.site

    def get(path: str) -> str:
        request = urllib.request.Request(portal.base_url + path, headers={"User-Agent": "test"})
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.read().decode("utf-8")

    column = get(site.column_path)
    home = get("/")
    for unit, agency in site.units.items():
        own = {d["article_url"] for d in portal.documents() if d["url"].startswith(portal.base_url + unit)}
        for url in own:
            name = url.rsplit("/", 1)[1]
            assert name not in column and name not in home  # not in the main column, not on the home page
        main = [e for c in site.main_columns() for e in site.entries(c)]
        assert [e for e in main if e.report and e.report.agency.name == agency.name] == []
        listed = get(f"{unit}gknb/index.html")
        assert any(url.rsplit("/", 1)[1] in listed for url in own)
        name_link = f'<a href="{unit}">{site.short_name(agency)}</a>'
        assert name_link in (column if agency.kind == "department" else get("/xzjd/")), name_link
        assert f'href="{unit}gknb/index.html"' in get(unit)
    assert site.short_name(site.units["/bm/jyj/"]) == "县教育局"
    assert '<a href="/xzjd/">乡镇（街道）信息公开</a>' in column
