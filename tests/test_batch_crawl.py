"""Many sources in one crawl process: 50 portals, each on its own loopback address, crawled together.

One failing, one blocked, one refused by robots.txt and one too slow for its time bound: each gets
its own correct run record, and none of them stops or holds up the others.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pytest
from crawl_helpers import nianbao

import simulator.families  # noqa: F401 - registers the families
from simulator.model import generate_region
from simulator.portal import FAMILIES, split_options
from simulator.server import SiteServer

PORTALS = 50
COUNTIES = [
    "青山县",
    "安华县",
    "平阳县",
    "东河县",
    "西城区",
    "南江县",
    "北林县",
    "长宁县",
    "永丰县",
    "庆云县",
]
FAMILY_MIX = ("trs", "trs", "hanweb", "ucap", "gkmlpt")  # TRS is the commonest (docs/portals.md)
# (index, site and server options, what its run must say)
SPECIAL = {
    7: ({}, "failed"),  # its home page and robots.txt reset the connection, always
    19: ({"challenge": True}, "blocked"),  # a challenge page only a browser passes (browser off)
    23: ({"robots_txt": "User-agent: *\nDisallow: /\n"}, "blocked"),
    31: ({"latency": 5.0}, "interrupted"),  # far slower than max_minutes_per_source allows
}


def _portal(i: int) -> SiteServer:
    county = COUNTIES[i % len(COUNTIES)]
    region = generate_region(seed=100 + i, county=county, departments=6, townships=1)
    family = "ucap" if i == 19 else FAMILY_MIX[i % len(FAMILY_MIX)]
    options, _ = SPECIAL.get(i, ({}, None))
    site_opts, behaviour = split_options(options)
    if i == 7:  # connections reset: errors logged (with its spider) while the others crawl
        behaviour.reset_paths = {"/", "/robots.txt"}
    site = FAMILIES[family](region, **site_opts)
    return SiteServer(site, behaviour, host=f"127.0.3.{i + 1}")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    servers = []
    try:
        for i in range(PORTALS):
            servers.append(_portal(i).start())
        sources = "".join(
            f"  - id: p{i:02d}\n    name: 门户{i}\n    start_url: {s.base_url}/\n"
            + ("    family: ucap\n" if i == 19 else "")
            for i, s in enumerate(servers)
        )
        config = tmp / "config.yaml"
        config.write_text(
            "storage:\n  path: nianbao.db\n"
            "crawl:\n  delay: 0\n  concurrency_per_host: 2\n  retries: 1\n"
            "  sources_at_once: 20\n  batch_size: 50\n  max_minutes_per_source: 0.5\n"
            f"sources:\n{sources}",
            encoding="utf-8",
        )
        started = time.monotonic()
        # Back-off on 5xx in 0.2/0.6/1.6 s instead of 15/45/120 s, so the failing portal fails
        # within its time bound.
        os.environ["NIANBAO_BACKOFF_BASE"] = "0.2"
        try:
            proc = nianbao(config, "crawl", "--quiet", check=False)
        finally:
            os.environ.pop("NIANBAO_BACKOFF_BASE", None)
        wall = time.monotonic() - started
        db = sqlite3.connect(tmp / "nianbao.db")
        yield servers, db, proc, wall
        db.close()
    finally:
        for s in servers:
            s.stop()


def _runs(db) -> dict[str, tuple[int, str, str | None, str, str]]:
    return {
        sid: (rid, status, reason, started, finished)
        for rid, sid, status, reason, started, finished in db.execute(
            "SELECT id, source_id, status, reason, started_at, finished_at FROM crawl_runs"
        )
    }


def test_every_source_gets_its_own_run_record_with_its_own_outcome(batch):
    servers, db, proc, _wall = batch
    runs = _runs(db)
    assert sorted(runs) == [f"p{i:02d}" for i in range(PORTALS)], proc.stderr[-3000:]
    assert len({r[0] for r in runs.values()}) == PORTALS  # one run each, none shared
    for i in range(PORTALS):
        _rid, status, reason, _s, finished = runs[f"p{i:02d}"]
        want = SPECIAL.get(i, (None, "finished"))[1]
        assert status == want, (i, status, reason)
        assert finished, i
    assert "robots" in runs["p23"][2].lower()
    assert "crawl.max_minutes_per_source" in runs["p31"][2]
    assert runs["p07"][2]  # a failed run says why
    # The command says not everything finished, and names each source.
    assert proc.returncode == 2
    for i in SPECIAL:
        assert f"p{i:02d}" in proc.stdout


def test_the_others_store_every_report_their_portal_serves(batch):
    servers, db, _proc, _wall = batch
    stored: dict[str, set[str]] = {}
    for sid, url in db.execute("SELECT source_id, url FROM documents"):
        stored.setdefault(sid, set()).add(url)
    for i, server in enumerate(servers):
        if i in SPECIAL:
            continue
        want = set(server.site.report_urls())
        got = stored.get(f"p{i:02d}", set())
        # Hanweb's downfile.jsp links redirect: those files are stored under the address they
        # redirect to, so they are counted, not compared by address.
        pages = {u for u in want if "downfile.jsp" not in u}
        assert want and pages <= got and len(got) >= len(want), i
    # Errors are counted per source: the failing portal's (and the slow one's) are not the
    # others', whose walks stay complete, so their absences stay checkable.
    stats = {sid: json.loads(js) for sid, js in db.execute("SELECT source_id, stats_json FROM crawl_runs")}
    assert stats["p07"]["errors"] or stats["p07"]["walk_incomplete"]
    for i in range(PORTALS):
        if i not in SPECIAL:
            assert stats[f"p{i:02d}"]["errors"] == 0, (i, stats[f"p{i:02d}"])
            assert stats[f"p{i:02d}"]["walk_incomplete"] is None, (i, stats[f"p{i:02d}"])
    # The failing, blocked and robots-refused sources stored nothing.
    for i in (7, 19, 23):
        assert not stored.get(f"p{i:02d}"), i


def test_sources_crawl_at_the_same_time_and_the_slow_one_holds_up_nobody(batch):
    servers, db, _proc, wall = batch
    # Time spans of the requests each portal served (robots.txt included).
    spans = []
    for i, server in enumerate(servers):
        times = [e.at for e in server.log]
        if times and i != 31:
            spans.append((min(times), max(times)))
    # Many portals were being crawled at once, not one after another.
    most = max(sum(1 for a, b in spans if a <= t <= b) for t, _ in spans)
    assert most >= 5, most
    # The slow portal (2 s per answer, 6 s allowed) ended by its time bound; the others finished
    # while it was still being crawled, and the whole batch took far less than the slow one alone
    # would have taken to the end of its column.
    slow_end = max(e.at for e in servers[31].log)
    others_end = max(b for _a, b in spans)
    assert others_end < slow_end + 5
    assert len(servers[31].log) < len(servers[32].log)
    # One process crawled them all: far less time than one portal after another would take.
    assert wall < sum(b - a for a, b in spans)
