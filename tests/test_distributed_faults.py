"""Faults in a distributed cycle, over real processes: a worker SIGKILLed mid-task, the
coordinator killed while results come in, Redis restarted mid-cycle.  Each time the cycle
completes with every report stored once: 20 simulated portals, two workers, redis-server."""

from __future__ import annotations

from pathlib import Path

import pytest
from distributed_helpers import (
    Proc,
    count,
    nianbao,
    portals,
    redis_server,
    rows,
    wait_for,
    worker,
    write_configs,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path):
    """20 portals answering a little slowly (so a crawl can be caught mid-way), Redis, configs
    (two tasks of ten sources, a 15 s visibility timeout) and two workers."""
    sites = portals(20, latency=0.03)
    redis = redis_server(tmp_path / "redis").start()
    cfg = write_configs(tmp_path, [p.start_url for p in sites], redis.url, sources_per_task=10, visibility=15)
    workers = {name: worker(cfg[name], f"{name}@test") for name in ("w1", "w2")}
    try:
        yield sites, redis, cfg, workers
    finally:
        for w in workers.values():
            w.stop()
        redis.stop()
        for p in sites:
            p.stop()


def crawling(config: Path) -> list[Path]:
    """The worker's task spools whose crawl has stored something and not finished."""
    spool = config.parent / "spool"
    return [
        t
        for t in (spool.glob("*") if spool.exists() else [])
        if not (t / "crawled").exists() and count(t / "nianbao.db", "SELECT COUNT(*) FROM versions") > 0
    ]


def spool_sources(task: Path) -> set[str]:
    import yaml

    return {s["id"] for s in yaml.safe_load((task / "config.yaml").read_text(encoding="utf-8"))["sources"]}


def assert_complete(db: Path, sites, again: frozenset[str] = frozenset()) -> None:
    """Each source crawled once and finished (those in ``again`` twice: a second cycle that
    found nothing new), every served report stored, nothing twice."""
    runs = rows(db, "SELECT source_id, status, COUNT(*) FROM crawl_runs GROUP BY source_id, status")
    expected = [(f"s{i}", "finished", 2 if f"s{i}" in again else 1) for i in range(len(sites))]
    assert sorted(runs) == sorted(expected), runs
    assert rows(db, "SELECT state, COUNT(*) FROM deliveries GROUP BY state") == [
        ("ingested", len(sites) + len(again))
    ]
    # A file stored at the end of a redirect (downfile.jsp → /attach/…) names its link.
    stored = {u for r in rows(db, "SELECT url, json_extract(meta_json, '$.link') FROM documents") for u in r}
    served = {u for p in sites for u in p.report_urls()}
    assert served <= stored, sorted(served - stored)[:5]
    # One version per document and one fetch check each: the portals did not change.
    assert count(db, "SELECT COUNT(*) FROM versions") == count(db, "SELECT COUNT(*) FROM documents")
    assert count(db, "SELECT COUNT(*) FROM checks") == count(db, "SELECT COUNT(*) FROM documents")


def test_a_worker_killed_mid_task_has_its_task_completed_by_the_other(cluster, tmp_path):
    sites, _redis, cfg, workers = cluster
    coordinator = Proc(cfg["coordinator"], "crawl", "--distributed", log=tmp_path / "coordinator.log")
    (task,) = wait_for(lambda: crawling(cfg["w1"]), 120, "worker w1 to be mid-crawl", every=0.05)
    workers["w1"].kill()
    assert not (task / "crawled").exists(), "the kill must come before the crawl's end"
    assert coordinator.wait(240) == 0, coordinator.text()[-3000:]
    db = cfg["coordinator"].parent / "nianbao.db"
    assert_complete(db, sites)
    # The killed worker's sources were crawled again, by the other worker, and stored once.
    lost = spool_sources(task)
    assert {w for s, w in rows(db, "SELECT source_id, worker FROM crawl_runs") if s in lost} == {"w2@test"}


def test_the_coordinator_killed_while_results_arrive_completes_after_restart(cluster, tmp_path):
    sites, _redis, cfg, workers = cluster
    db = cfg["coordinator"].parent / "nianbao.db"
    first = Proc(cfg["coordinator"], "crawl", "--distributed", log=tmp_path / "coordinator.log")
    ingested = "SELECT COUNT(*) FROM deliveries WHERE state = 'ingested'"
    wait_for(lambda: count(db, ingested) >= 1, 120, "a first result stored", every=0.02)
    first.kill()
    done = {sid for (sid,) in rows(db, "SELECT source_id FROM deliveries WHERE state = 'ingested'")}
    assert len(done) < len(sites), "the coordinator must be killed before the last result"
    # While it is down, the workers finish and leave their results with the broker.
    for name in ("w1", "w2"):
        wait_for(
            lambda n=name: list((cfg[n].parent / "spool").glob("*/delivered")), 120, f"{name} to deliver"
        )
    again = nianbao(cfg["coordinator"], "crawl", "--distributed")
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    # The tasks still out were waited for, not sent again; the sources stored before the kill
    # were crawled again as a new cycle (incremental: nothing new).
    assert_complete(db, sites, again=frozenset(done))
    for sid in done:
        assert rows(db, f"SELECT new_versions FROM crawl_runs WHERE source_id = '{sid}' ORDER BY id")[1] == (
            0,
        )


def test_redis_restarted_mid_cycle_the_cycle_completes(cluster, tmp_path):
    sites, redis, cfg, _workers = cluster
    coordinator = Proc(cfg["coordinator"], "crawl", "--distributed", log=tmp_path / "coordinator.log")
    wait_for(lambda: crawling(cfg["w1"]) or crawling(cfg["w2"]), 120, "a worker mid-crawl", every=0.05)
    redis.restart()
    assert coordinator.wait(240) == 0, coordinator.text()[-3000:]
    assert_complete(cfg["coordinator"].parent / "nianbao.db", sites)
