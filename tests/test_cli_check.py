"""`nianbao check`: every config error at once, then one fetch per source over real HTTP."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import simulator.families  # noqa: F401  (registers the families)
from simulator.barriers import PRESETS
from simulator.portal import SimulatedPortal
from tests.crawl_helpers import nianbao
from tests.test_spiders_families import small_region, write_sources

# (family, simulator options, extra source YAML, expected: ok, family detected, robots, barrier?)
PORTALS = [
    ("trs", {}, "", (True, "trs", "allowed", False)),
    ("hanweb", {}, "", (True, "hanweb", "allowed", False)),
    ("gkmlpt", {}, "", (True, "gkmlpt", "allowed", False)),
    ("ucap", {}, "", (True, "ucap", "allowed", False)),
    ("hanweb", PRESETS["robots_disallow"], "", (False, None, "forbidden", False)),
    ("ucap", PRESETS["rivers"], "", (False, None, "allowed", True)),
    ("trs", PRESETS["robots_403"], "", (True, "trs", "absent", False)),  # 403 robots.txt: allowed
    ("hanweb", PRESETS["robots_disallow"], "    obey_robots: false\n", (True, "hanweb", "forbidden", False)),
]


@pytest.fixture(scope="module")
def portals():
    region = small_region(5)
    started = [SimulatedPortal(region=region, family=f, **opts).start() for f, opts, _, _ in PORTALS]
    yield started
    for p in started:
        p.stop()


def test_check_fetches_each_start_url_once_and_says_what_it_found(tmp_path, portals):
    config = write_sources(
        tmp_path, [(p.start_url, more) for p, (_, _, more, _) in zip(portals, PORTALS, strict=True)]
    )
    for p in portals:
        p.reset_requests()
    proc = nianbao(config, "check", "--format", "json", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    findings = json.loads(proc.stdout)
    assert [f["source"] for f in findings] == [f"s{i}" for i in range(len(PORTALS))]
    for f, (family, _, _, (ok, detected, robots, barrier)) in zip(findings, PORTALS, strict=True):
        assert (f["ok"], f["family"], f["robots"], bool(f["barrier"])) == (ok, detected, robots, barrier), (
            family,
            f,
        )
    assert "瑞数" in findings[5]["barrier"] and findings[5]["status"] == 412
    assert any("robots.txt 禁止" in p for p in findings[4]["problems"])
    assert any("obey_robots: false" in n for n in findings[7]["notes"])
    for i, p in enumerate(portals):
        starts = p.requests[p.start_url]
        # robots.txt forbids s4's start page: it is not requested, here either
        assert starts == (0 if i == 4 else 1), (i, dict(p.requests))
        assert sum(p.requests.values()) == starts + 1  # and robots.txt, nothing else
    assert "s4、s5" in proc.stderr


def test_check_table_in_chinese_and_exit_0_when_all_fine(tmp_path, portals):
    config = write_sources(tmp_path, [(p.start_url, "") for p in portals[:4]])
    proc = nianbao(config, "check", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("TRS（拓尔思）", "Hanweb（大汉）", "gkmlpt", "UCAP（开普云）"):
        assert f"识别为 {name}" in proc.stdout
    assert proc.stdout.count("robots.txt 允许") == 4 and "全部 4 个来源正常" in proc.stdout


def test_check_one_source_and_a_challenge_a_browser_may_pass(tmp_path, portals):
    challenged = portals[5]
    config = write_sources(
        tmp_path, [(portals[0].start_url, ""), (challenged.start_url, "    browser: true\n")]
    )
    proc = nianbao(config, "check", "--source", "s1", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the crawl will try Chromium: a note
    assert "s0" not in proc.stdout and "瑞数" in proc.stdout and "Chromium" in proc.stdout


class _Redirects(BaseHTTPRequestHandler):
    """``/`` → another loopback host (outside the source's scope); ``/file`` → a file: URL."""

    def do_GET(self):
        target = {"/": f"http://127.0.0.2:{self.server.server_port}/", "/file": "file:///etc/passwd"}
        self.send_response(302)
        self.send_header("Location", target.get(self.path, "/"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_check_follows_no_redirect_out_of_scope_and_reports_unreachable(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirects)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    closed = ThreadingHTTPServer(("127.0.0.1", 0), _Redirects)
    dead = f"http://127.0.0.1:{closed.server_port}/"
    closed.server_close()  # nothing listens there any more
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        config = write_sources(tmp_path, [(base + "/", ""), (base + "/file", ""), (dead, "")])
        proc = nianbao(config, "check", "--format", "json", check=False)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 1
    offsite, scheme, unreachable = json.loads(proc.stdout)
    assert "抓取范围以外（offsite）" in offsite["error"] and offsite["status"] is None
    assert not scheme["ok"] and "file:///etc/passwd" in scheme["problems"][0]
    assert unreachable["error"].startswith("无法访问") and unreachable["robots"] == "unreachable"


def test_check_reports_every_config_error_at_once_with_suggestions(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "storage:\n  path: nianbao.db\n"
        "crawl:\n  delya: 1\n  timeout: 0\n"
        "shedule:\n  crawl: '0 2 * * *'\n"
        "sources:\n"
        "  - id: a\n    name: 甲\n    start_ulr: http://a.gov.cn/\n"
        "  - id: b\n    name: 乙\n    start_url: ftp://b.gov.cn/\n    family: trss\n"
        "  - id: b\n    name: 丙\n    start_url: http://c.gov.cn/\n",
        encoding="utf-8",
    )
    proc = nianbao(path, "check", check=False)
    assert proc.returncode == 2
    err = proc.stderr
    assert "配置文件有 8 处错误" in err, err
    for expected in (
        "config.yaml:4: crawl.delya: unknown key (did you mean 'delay'?",
        "config.yaml:5: crawl.timeout: 0 is out of range",
        "config.yaml:6: shedule: unknown key (did you mean 'schedule'?",
        "config.yaml:11: sources[0].start_ulr: unknown key (did you mean 'start_url'?",
        "config.yaml:9: sources[0].start_url: is required",
        "config.yaml:14: sources[1].start_url: 'ftp://b.gov.cn/' is not an http(s) URL",
        "config.yaml:15: sources[1].family: 'trss' is not one of",
        "config.yaml:16: sources[2].id: 'b' is used by another source too",
    ):
        assert expected in err, (expected, err)
    assert "did you mean" not in err.split("family")[-1]  # an enum value gets its choices instead


def test_check_no_fetch_lists_the_sources(tmp_path):
    config = write_sources(tmp_path, [("http://a.gov.cn/", ""), ("http://b.gov.cn/", "    enabled: false\n")])
    proc = nianbao(config, "check", "--no-fetch", check=False)
    assert proc.returncode == 0, proc.stderr
    assert "有效，共 2 个来源" in proc.stdout
    assert "s0  站点0  http://a.gov.cn/" in proc.stdout and "http://b.gov.cn/（已停用）" in proc.stdout
