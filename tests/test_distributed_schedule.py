"""``nianbao schedule`` with a ``distributed:`` section: the batches that come due are crawled by
the workers, and the coordinator parses, monitors and alerts as it does locally.  Real processes:
redis-server on loopback, a Celery worker, the scheduler and simulated portals."""

from __future__ import annotations

import pytest
from distributed_helpers import Proc, portals, redis_server, rows, wait_for, worker, write_configs

pytestmark = pytest.mark.slow


def test_the_scheduler_sends_its_batches_to_the_workers(tmp_path):
    sites = portals(4)
    redis = redis_server(tmp_path / "redis").start()
    w1 = None
    scheduler = None
    try:
        cfg = write_configs(tmp_path, [p.start_url for p in sites], redis.url, sources_per_task=2)
        w1 = worker(cfg["w1"], "w1@test")
        log = tmp_path / "schedule.log"
        scheduler = Proc(cfg["coordinator"], "schedule", "--every", "3600", log=log)
        wait_for(lambda: "cycle finished" in log.read_text(errors="replace"), 300, "the cycle to finish")
        text = log.read_text(errors="replace")
        scheduler.stop()
        assert "batch finished: s0, s1, s2, s3 -> crawl exit 0" in text, text[-3000:]
        assert "start: monitor --alert" in text
        db = cfg["coordinator"].parent / "nianbao.db"
        # Every source crawled once, by the worker, and its reports parsed on the coordinator.
        assert sorted(rows(db, "SELECT source_id, status, worker FROM crawl_runs")) == [
            (f"s{i}", "finished", "w1@test") for i in range(4)
        ]
        assert rows(db, "SELECT state, COUNT(*) FROM deliveries GROUP BY state") == [
            ("ingested", 4)
        ]  # one per source
        urls = {u for (u,) in rows(db, "SELECT url FROM documents")}
        # (Hanweb's downfile.jsp files are stored under the address they redirect to.)
        pages = {u for p in sites for u in p.report_urls() if "downfile.jsp" not in u}
        assert pages <= urls
        assert rows(db, "SELECT COUNT(*) FROM reports")[0][0] >= 4 * 18
    finally:
        if scheduler:
            scheduler.stop()
        if w1:
            w1.stop()
        redis.stop()
        for p in sites:
            p.stop()
