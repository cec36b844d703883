"""Containment and bounds of a crawl, over real HTTP (issue 11 items 1, 2, 7, 9).

Only http(s) is fetched; requests and redirects stay on the source's own host and the hosts it
declares; link-local and private targets are refused; one bad link never loses the rest of a
page; list pages per source and documents per run are capped, and a capped run says so.

Every server is loopback: the source under test on 127.0.0.1, "another host" on 127.0.0.2.
"Never fetched" is checked on the target server's request log, on the database, and by
matching the run's request count against what the source's own server saw (a request to a
file:, data:, link-local or private URL would be counted by Scrapy but logged by no server).
"""

from __future__ import annotations

import base64
import json
import resource
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from config import ConfigError, parse_config
from crawler.containment import Scope
from simulator.server import SiteServer
from simulator.site import Request, Response, Site, not_found
from spiders.gkmlpt import api_entries, file_urls
from spiders.hanweb import record_entries
from spiders.pages import safe_join
from spiders.ucap import article_url
from tests.crawl_helpers import nianbao

REPORT_BODY = "<p>本报告中所列数据统计期限自2023年1月1日起至2023年12月31日止。</p>" * 12


def article(title: str, extra: str = "") -> str:
    return (
        f'<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="{title}">'
        f'<meta name="PubDate" content="2024-01-20"><title>{title}</title></head>'
        f'<body><h1>{title}</h1><div id="zoom">{REPORT_BODY}{extra}</div></body></html>'
    )


def column(items: list[tuple[str, str]], script: str = "") -> str:
    lis = "".join(
        f'<li><a href="{href}" title="{t}">{t}</a><span>2024-01-20</span></li>' for href, t in items
    )
    return f'<html><head><meta charset="utf-8"><title>年报</title></head><body><ul>{lis}</ul>{script}</body></html>'


def title(n: int, agency: str = "青山县教育局") -> str:
    return f"{agency}{2000 + n % 30}年政府信息公开工作年度报告（{n}）"


class Pages(Site):
    """A site of fixed pages: path -> Response, or a function of the request; anything else 404."""

    def __init__(self) -> None:
        self.pages: dict[str, Response | Callable[[Request], Response]] = {}
        self.fallback: Callable[[Request], Response | None] | None = None

    def handle(self, request: Request) -> Response:
        page = self.pages.get(request.path)
        if page is None and self.fallback:
            page = self.fallback(request)
        if page is None:
            return not_found()
        return page(request) if callable(page) else page


def html(text: str) -> Response:
    return Response(200, text, "text/html")


def redirect(location: str) -> Response:
    return Response(302, "", "text/html", headers={"Location": location})


def serve(host: str = "127.0.0.1") -> tuple[Pages, SiteServer]:
    site = Pages()
    return site, SiteServer(site, host=host).start()


def paths(server: SiteServer) -> list[str]:
    return [e.path for e in server.log]


def runs(db: sqlite3.Connection) -> dict[str, dict]:
    """The last run of each source, with its stats."""
    out = {}
    for sid, status, stats in db.execute("SELECT source_id, status, stats_json FROM crawl_runs ORDER BY id"):
        out[sid] = {"status": status, **json.loads(stats or "{}")}
    return out


def documents(db: sqlite3.Connection, source_id: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT url FROM documents WHERE source_id = ?", [source_id])}


def write_config(tmp: Path, sources: list[tuple[str, str, str]], crawl: str = "") -> Path:
    """One source per (id, start_url, extra source YAML), crawling as fast as loopback allows."""
    text = "".join(
        f"  - id: {sid}\n    name: 站点{sid}\n    start_url: {url}\n{extra}" for sid, url, extra in sources
    )
    path = tmp / "config.yaml"
    path.write_text(
        "storage:\n  path: nianbao.db\ncrawl:\n  delay: 0\n  concurrency_per_host: 4\n  retries: 0\n"
        f"  timeout: 5\n{crawl}sources:\n{text}",
        encoding="utf-8",
    )
    return path


# -- configuration and scope -------------------------------------------------------------------

CONFIG = """\
storage:
  path: nianbao.db
crawl:
  max_pages_per_source: 30
sources:
  - id: qingshan
    name: 青山县人民政府
    start_url: http://www.qingshan.gov.cn/zfxxgk/ndbg/
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            CONFIG.replace("max_pages_per_source: 30", "max_pages_per_source: -1"),
            "crawl.max_pages_per_source:",
        ),
        (
            CONFIG.replace("max_pages_per_source: 30", "max_pages_per_source: 2.5"),
            "crawl.max_pages_per_source:",
        ),
        (
            CONFIG.replace("max_pages_per_source", "max_documents_per_run").replace("30", "-5"),
            "crawl.max_documents_",
        ),
        (
            CONFIG + "    allowed_hosts: [http://cdn.qingshan.gov.cn/]\n",
            "config.yaml:9: sources[0].allowed_hosts[0]:",
        ),
        (
            CONFIG.replace("crawl:\n", "crawl:\n  allowed_hosts: [a/b]\n"),
            "crawl.allowed_hosts[0]: 'a/b' is not a host",
        ),
    ],
)
def test_caps_and_hosts_are_validated(text, expected):
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("config.yaml"))
    assert expected in str(exc.value)


def test_caps_default_and_hosts_are_per_source():
    config = parse_config(
        CONFIG + "    allowed_hosts: ['*.qingshan.gov.cn', 10.0.0.5]\n", Path("config.yaml")
    )
    crawl = config.section("crawl")
    assert crawl["max_pages_per_source"] == 30 and crawl["max_documents_per_run"] == 20000
    assert config.sources[0]["allowed_hosts"] == ["*.qingshan.gov.cn", "10.0.0.5"]
    assert (
        parse_config(CONFIG.replace("30", "0"), Path("config.yaml")).section("crawl")["max_pages_per_source"]
        == 0
    )


def test_scope_is_the_start_host_its_www_twin_and_the_declared_hosts():
    scope = Scope.of("http://qingshan.gov.cn:8080/ndbg/", ["*.files.gov.cn", "10.0.0.5"])
    allowed = [
        "https://www.qingshan.gov.cn/a.html",
        "http://QINGSHAN.gov.cn./b",
        "http://x.files.gov.cn/c.pdf",
    ]
    assert [scope.refusal(u) for u in allowed] == [None, None, None]
    assert scope.refusal("http://other.gov.cn/") == "offsite"
    assert scope.refusal("http://qingshan.gov.cn.evil.cn/") == "offsite"
    assert scope.refusal("http://10.0.0.5/") == "private"  # declared, but the start is public
    for url in (
        "http://127.0.0.1/",
        "http://127.1/",
        "http://0x7f000001/",
        "http://[::1]/",
        "http://localhost/",
    ):
        assert scope.refusal(url) == "private", url
    for url in ("http://169.254.169.254/", "http://[fe80::1]/", "http://192.168.1.1/", "http://[fc00::1]/"):
        assert scope.refusal(url) == "private", url
    assert scope.refusal("file:///etc/passwd") == "scheme:file"
    assert scope.refusal("http://[broken/") == "malformed"
    loopback = Scope.of("http://127.0.0.1:8000/", ["127.0.0.2", "169.254.169.254"])
    assert loopback.refusal("http://127.0.0.2:9000/") is None  # loopback vouches for loopback only
    assert loopback.refusal("http://169.254.169.254/") == "private"


def test_only_http_download_handlers_are_installed(tmp_path):
    from scrapy.settings import Settings
    from scrapy.utils.python import without_none_values

    from crawler.settings import build_settings
    from spiders.browser import with_browser
    from spiders.generic import GenericSpider

    config = parse_config(CONFIG, tmp_path / "config.yaml")
    for spider_cls in (GenericSpider, with_browser(GenericSpider)):  # the browser sets its own handlers
        settings = Settings(build_settings(config))
        spider_cls.update_settings(settings)
        assert set(without_none_values(settings.getwithbase("DOWNLOAD_HANDLERS"))) == {"http", "https"}


# -- pure link parsing -------------------------------------------------------------------------

BAD_HREFS = [
    "JavaScript:openReport(1)",
    " javascript:void(0)",
    "MAILTO:gk@qingshan.gov.cn",
    "tel:0537-1234567",
    "vbscript:msgbox(1)",
    "http://[broken",
    "http://[broken/report.pdf",
    "https://host:99999/report.html",
    "https://",
    "file:///etc/passwd",
    "FILE:///etc/passwd?.pdf",
    "data:text/html;base64,PGgxPmhpPC9oMT4=",
    "ftp://127.0.0.1/report.pdf",
    "",
    "#top",
]


def test_safe_join_keeps_http_links_and_refuses_everything_else():
    base = "http://www.qingshan.gov.cn/zfxxgk/ndbg/index.html"
    assert (
        safe_join(base, " t20240120_1.html#x ") == "http://www.qingshan.gov.cn/zfxxgk/ndbg/t20240120_1.html"
    )
    assert safe_join(base, "//other.gov.cn/a.pdf") == "http://other.gov.cn/a.pdf"
    assert safe_join(base, "HTTPS://Www.Qingshan.gov.cn/a.html") == "HTTPS://Www.Qingshan.gov.cn/a.html"
    for href in BAD_HREFS:
        assert safe_join(base, href) is None, href
    assert safe_join("http://[broken", "a.html") is None  # a bad base is a bad link, not a crash


def test_family_list_parsers_skip_bad_links_and_keep_the_rest():
    base = "http://www.qingshan.gov.cn/col/col1/index.html"
    records = [f'<li><a href="{h}" title="{title(i)}">x</a></li>' for i, h in enumerate(BAD_HREFS)]
    records.append(f'<li><a href="/art/2024/1/20/art_1_2.html" title="{title(99)}">x</a></li>')
    assert [e.url for e in record_entries(records, base)] == [
        "http://www.qingshan.gov.cn/art/2024/1/20/art_1_2.html"
    ]
    arts = [{"url": h, "title": title(i)} for i, h in enumerate(BAD_HREFS)] + [
        {"url": "/post_2.html", "title": "t"}
    ]
    entries, _ = api_entries({"articles": arts}, base)
    assert [e.url for e in entries] == ["http://www.qingshan.gov.cn/post_2.html"]
    assert file_urls([*BAD_HREFS, "/a/b.pdf"], base) == ["http://www.qingshan.gov.cn/a/b.pdf"]
    assert article_url({"urls": json.dumps(["http://[broken", "/pc/content/content_1.html"])}, base) == (
        "http://www.qingshan.gov.cn/pc/content/content_1.html"
    )


# -- containment, over HTTP --------------------------------------------------------------------


@pytest.fixture(scope="module")
def contained(tmp_path_factory):
    """Three sources crawled once: a hostile column, a control that declares the other host, and
    a column full of malformed links (read by the TRS walk and by the generic adapters)."""
    tmp = tmp_path_factory.mktemp("contain")
    other_site, other = serve("127.0.0.2")
    hostile_site, hostile = serve()
    control_site, control = serve()
    bad_site, bad = serve()
    off = other.base_url
    port = hostile.port
    data_url = "data:text/html;base64," + base64.b64encode(article(title(1)).encode()).decode()
    hostile_site.pages.update(
        {
            "/col/index.html": html(
                column(
                    [
                        ("file:///etc/passwd", title(1)),
                        (data_url, title(2)),
                        (f"{off}/off/t20240120_3.html", title(3)),
                        ("http://169.254.169.254/latest/meta-data/t20240120_4.html", title(4)),
                        ("http://10.255.255.1/t20240120_5.html", title(5)),
                        (f"http://localhost:{port}/col/t20240120_6.html", title(6)),
                        ("http://2130706433/t20240120_7.html", title(7)),  # 127.0.0.1 written as a number
                        ("/col/t20240120_8.html", title(8)),  # redirects to the other host
                        ("/col/t20240120_9.html", title(9)),  # redirects to file:
                        ("/col/t20240120_10.html", title(10)),  # redirects to link-local
                        ("/col/t20240120_11.html", title(11)),  # a good report with hostile attachments
                        ("/col/t20240120_12.html", title(12)),  # a good report
                        ("/col/t20240120_13.html", title(13)),  # meta refresh to the other host
                    ]
                )
            ),
            "/col/t20240120_6.html": html(article(title(6))),  # reached only through "localhost"
            "/col/t20240120_8.html": redirect(f"{off}/off/redirected.html"),
            "/col/t20240120_9.html": redirect("file:///etc/passwd"),
            "/col/t20240120_10.html": redirect("http://169.254.169.254/latest/meta-data/"),
            "/col/t20240120_11.html": html(
                article(
                    title(11),
                    '<a href="file:///etc/passwd?.pdf">附件1.pdf</a>'
                    f'<a href="{off}/off/attachment.pdf">附件2.pdf</a>'
                    '<a href="http://169.254.169.254/latest/a.pdf">附件3.pdf</a>'
                    '<a href="/col/P020240120.pdf">附件4.pdf</a>',
                )
            ),
            "/col/P020240120.pdf": Response(
                200, b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF\n", "application/pdf"
            ),
            "/col/t20240120_12.html": html(article(title(12))),
            "/col/t20240120_13.html": html(
                f'<html><head><meta http-equiv="refresh" content="0;url={off}/off/meta.html"></head><body></body></html>'
            ),
        }
    )
    control_site.pages["/ctl/index.html"] = html(
        column(
            [
                (f"{off}/ctl/t20240120_1.html", title(1, "青山县财政局")),
                ("http://169.254.169.254/ctl/t20240120_2.html", title(2, "青山县财政局")),
                ("http://10.255.255.1/ctl/t20240120_3.html", title(3, "青山县财政局")),
            ]
        )
    )
    other_site.pages["/ctl/t20240120_1.html"] = html(article(title(1, "青山县财政局")))
    for name in ("off/t20240120_3.html", "off/redirected.html", "off/meta.html", "off/attachment.pdf"):
        other_site.pages["/" + name] = html(article(title(3)))
    for prefix in ("bad", "gen"):  # one copy per source: a URL is one source's document
        good = [f"/{prefix}/t20240120_{n}.html" for n in (1, 2, 3)]
        bad_items = [(h, title(20 + i, "青山县民政局")) for i, h in enumerate(BAD_HREFS)]
        listed = [bad_items[0], (good[0], title(1, "青山县民政局")), *bad_items[1:7]]
        listed += [(good[1], title(2, "青山县民政局")), *bad_items[7:], (good[2], title(3, "青山县民政局"))]
        bad_site.pages[f"/{prefix}/index.html"] = html(column(listed))
        files = (
            "".join(f'<a href="{h}">附件.pdf</a>' for h in BAD_HREFS)
            + f'<a href="/{prefix}/P1.pdf">附件.pdf</a>'
        )
        for i, path in enumerate(good, 1):
            bad_site.pages[path] = html(article(title(i, "青山县民政局"), files if i == 1 else ""))
        bad_site.pages[f"/{prefix}/P1.pdf"] = Response(200, b"%PDF-1.4\n%%EOF\n", "application/pdf")
    config = write_config(
        tmp,
        [
            ("hostile", f"{hostile.base_url}/col/index.html", "    family: trs\n"),
            (
                "control",
                f"{control.base_url}/ctl/index.html",
                "    family: trs\n    allowed_hosts: [127.0.0.2, 169.254.169.254, 10.255.255.1]\n",
            ),
            ("bad_trs", f"{bad.base_url}/bad/index.html", "    family: trs\n"),
            ("bad_generic", f"{bad.base_url}/gen/index.html", ""),
        ],
    )
    proc = nianbao(config, "crawl", "--quiet", check=False)
    db = sqlite3.connect(tmp / "nianbao.db")
    yield {"other": other, "hostile": hostile, "control": control, "bad": bad, "db": db, "proc": proc}
    db.close()
    for server in (other, hostile, control, bad):
        server.stop()


def test_nothing_off_site_is_requested_and_the_declared_host_is(contained):
    other_paths = paths(contained["other"])
    assert not [p for p in other_paths if p.startswith("/off/")], other_paths
    # the control: the other host, declared in allowed_hosts, is fetched (the check can see a fetch)
    assert "/ctl/t20240120_1.html" in other_paths
    assert "/col/t20240120_6.html" not in paths(contained["hostile"])  # "localhost" is another host


def test_only_the_sources_own_reports_are_stored(contained):
    db, base = contained["db"], contained["hostile"].base_url
    expected = {
        f"{base}/col/t20240120_11.html",
        f"{base}/col/P020240120.pdf",
        f"{base}/col/t20240120_12.html",
    }
    assert documents(db, "hostile") == expected
    assert documents(db, "control") == {f"{contained['other'].base_url}/ctl/t20240120_1.html"}
    urls = [r[0] for r in db.execute("SELECT url FROM documents")]
    assert not [
        u for u in urls if u.startswith(("file:", "data:", "ftp:")) or "169.254" in u or "10.255" in u
    ]


def test_no_request_left_the_sources_own_servers(contained):
    """Scrapy counts every request it sends: each one must have reached a server we run."""
    stats = runs(contained["db"])
    assert stats["hostile"]["requests"] == len(contained["hostile"].log), paths(contained["hostile"])
    control_on_other = [p for p in paths(contained["other"]) if not p.startswith("/off/")]
    assert stats["control"]["requests"] == len(contained["control"].log) + len(control_on_other)
    assert stats["hostile"]["errors"] == 0 and stats["control"]["errors"] == 0


def test_refusals_are_counted_by_reason(contained):
    stats = runs(contained["db"])
    hostile = stats["hostile"]["refused_reasons"]
    assert hostile.get("scheme:file", 0) >= 2 and hostile.get("scheme:data", 0) >= 1, hostile
    # the other host (a link, a redirect, an attachment, a meta refresh), localhost, 2130706433
    assert hostile.get("offsite", 0) >= 6, hostile
    assert hostile.get("private", 0) >= 4, hostile  # 169.254.169.254 ×3 (link, redirect, file), 10.x
    control = stats["control"]["refused_reasons"]
    assert control.get("private", 0) == 2, control  # declared, but link-local / private from loopback
    assert stats["hostile"]["refused"] == sum(hostile.values())


def test_bad_links_are_skipped_and_the_rest_of_the_page_is_read(contained):
    db, base = contained["db"], contained["bad"].base_url
    stats = runs(db)
    for sid, prefix in (("bad_trs", "bad"), ("bad_generic", "gen")):
        good = {f"{base}/{prefix}/t20240120_{n}.html" for n in (1, 2, 3)} | {f"{base}/{prefix}/P1.pdf"}
        assert documents(db, sid) == good, sid
        assert stats[sid]["status"] == "finished" and stats[sid]["errors"] == 0, stats[sid]
        reasons = stats[sid]["refused_reasons"]
        assert reasons.get("malformed", 0) >= 4 and reasons.get("scheme:javascript", 0) >= 2, reasons
        assert reasons.get("scheme:mailto") and reasons.get("scheme:tel") and reasons.get("scheme:vbscript")


# -- caps --------------------------------------------------------------------------------------


def huge_pager(request: Request) -> Response:
    """Every list page of a TRS column that announces 1,000,000 pages."""
    name = request.path.rsplit("/", 1)[-1]
    current = int(name[len("index_") : -len(".html")]) if "_" in name else 0
    n = current + 1
    items = [(f"/trs/t20240120_{n}.html", title(n))]
    return html(column(items, f'<script>createPageHTML(1000000, {current}, "index", "html");</script>'))


def endless_pager(request: Request) -> Response:
    """A static pager that always has a next page (and links ten pages ahead)."""
    name = request.path.rsplit("/", 1)[-1]
    n = int(name[len("list_") : -len(".html")]) if "_" in name else 1
    pager = "".join(f'<a href="list_{k}.html">{k}</a>' for k in range(n + 1, n + 11))
    return html(column([], f'<div class="page">{pager}<a href="list_{n + 1}.html">下一页</a></div>'))


def reports(request: Request) -> Response | None:
    if "/t2024" in request.path:
        return html(article(title(int(request.path.rsplit("_", 1)[-1].split(".")[0]))))
    return None


def list_pages(server: SiteServer, prefix: str) -> list[str]:
    return [p for p in paths(server) if p.startswith(prefix) and "/t2024" not in p]


def test_list_pages_are_capped_whatever_the_pager_announces(tmp_path):
    site, server = serve()
    site.fallback = lambda r: (
        huge_pager(r)
        if r.path.startswith("/trs/index")
        else endless_pager(r)
        if r.path.startswith("/st/")
        else reports(r)
    )
    config = write_config(
        tmp_path,
        [
            ("huge", f"{server.base_url}/trs/index.html", "    family: trs\n"),
            ("endless", f"{server.base_url}/st/list.html", ""),
        ],
        crawl="  max_pages_per_source: 30\n",
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    nianbao(config, "crawl", "--quiet", check=False)
    elapsed = time.monotonic() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    server.stop()
    assert 20 <= len(list_pages(server, "/trs/")) <= 30, len(list_pages(server, "/trs/"))
    assert 20 <= len(list_pages(server, "/st/")) <= 30, len(list_pages(server, "/st/"))
    assert elapsed < 120, elapsed
    assert max(peak_kb, before) < 1024 * 1024  # KiB: the crawl stayed under 1 GB
    print(f"huge pager crawl: {elapsed:.1f} s, peak RSS (largest child so far) {peak_kb / 1024:.0f} MB")
    db = sqlite3.connect(tmp_path / "nianbao.db")
    stats = runs(db)
    for sid in ("huge", "endless"):
        assert stats[sid]["capped"] == "max_pages_per_source=30", stats[sid]
    # the reports of the pages that were read are stored
    assert len(documents(db, "huge")) == len(list_pages(server, "/trs/"))
    db.close()


def test_a_page_cap_of_zero_fetches_no_list_page(tmp_path):
    site, server = serve()
    site.fallback = lambda r: huge_pager(r) if r.path.startswith("/trs/index") else reports(r)
    config = write_config(
        tmp_path,
        [("zero", f"{server.base_url}/trs/index.html", "    family: trs\n")],
        crawl="  max_pages_per_source: 0\n",
    )
    nianbao(config, "crawl", "--quiet", check=False)
    server.stop()
    assert [p for p in paths(server) if p != "/robots.txt"] == []
    db = sqlite3.connect(tmp_path / "nianbao.db")
    assert runs(db)["zero"]["capped"] == "max_pages_per_source=0"
    assert documents(db, "zero") == set()
    db.close()


def test_documents_per_run_are_capped(tmp_path):
    site, server = serve()
    many = [(f"/many/t20240120_{n}.html", title(n)) for n in range(1, 5001)]
    site.pages["/many/index.html"] = html(column(many))
    site.fallback = reports
    config = write_config(
        tmp_path,
        [("many", f"{server.base_url}/many/index.html", "    family: trs\n")],
        crawl="  max_documents_per_run: 40\n",
    )
    nianbao(config, "crawl", "--quiet", check=False)
    server.stop()
    fetched = [p for p in paths(server) if "/t2024" in p]
    assert len(fetched) == 40, len(fetched)
    db = sqlite3.connect(tmp_path / "nianbao.db")
    assert runs(db)["many"]["capped"] == "max_documents_per_run=40"
    assert len(documents(db, "many")) == len(fetched)
    db.close()
