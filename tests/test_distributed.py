"""Crawls on Celery workers: the same data as a local crawl, idempotent and bounded ingest, and
times on the coordinator's clock.  Real redis-server, real workers, real simulated portals."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from distributed_helpers import (
    PASSWORD,
    SECRET,
    Proc,
    nianbao,
    portals,
    redis_server,
    rows,
    snapshot,
    statuses,
    wait_for,
    worker,
    write_configs,
)

from config import ConfigError, parse_config
from distributed import delivery
from distributed.coordinator import _ingest_one
from storage import Fetched, Store
from storage.blobs import sha256
from storage.deliveries import export_state, outstanding, record_sent, seed_spool
from storage.locks import crawl_lock


def test_a_distributed_cycle_stores_what_a_local_cycle_stores(tmp_path):
    """20 portals crawled locally and through two workers, then changed and revalidated: the
    documents, versions, checks, events, runs and report statuses are the same."""
    sites = portals(20)
    redis = redis_server(tmp_path / "redis").start()
    workers = []
    try:
        cfg = write_configs(tmp_path, [p.start_url for p in sites], redis.url, sources_per_task=10)
        workers = [worker(cfg["w1"], "w1@test"), worker(cfg["w2"], "w2@test")]
        for args in (("crawl", "-q"), ("crawl", "-q", "--revalidate")):
            # Side by side (they share nothing but the portals), so the test takes half the time.
            local = Proc(cfg["local"], *args, log=tmp_path / "local.log")
            dist = Proc(cfg["coordinator"], *args[:1], "--distributed", *args[2:], log=tmp_path / "dist.log")
            if "--revalidate" not in args:  # the operator's view of a cycle under way
                wait_for(lambda: list(tmp_path.glob("w*/spool/*/nianbao.db")), 60, "a task crawling")
                listing = nianbao(cfg["coordinator"], "worker", "--list").stdout
                assert "w1@test  队列：nianbao" in listing and "w2@test  队列：nianbao" in listing, listing
                assert re.search(r"任务 [0-9a-f-]{36}：s\d+, s\d+", listing), listing
            assert dist.wait(300) == 0, dist.text()[-3000:]
            assert local.wait(300) == 0, local.text()[-3000:]
            if "--revalidate" not in args:  # between the cycles, two portals change
                sites[0].edit(sites[0].region.agencies[1].name, 2023)
                sites[1].remove(sites[1].region.agencies[2].name, 2023)
        here, there = (
            snapshot(cfg["local"].parent / "nianbao.db"),
            snapshot(cfg["coordinator"].parent / "nianbao.db"),
        )
        for table in here:
            assert here[table] == there[table], table
        assert len(here["documents"]) >= 20 * 19 and len(here["runs"]) == 40
        assert {e[1] for e in here["events"]} == {"modified", "removed"}
        db = cfg["coordinator"].parent / "nianbao.db"
        # Every run says which worker crawled it, and both workers took tasks.
        assert {w for (w,) in rows(db, "SELECT worker FROM crawl_runs")} == {"w1@test", "w2@test"}
        assert rows(db, "SELECT state, COUNT(*) FROM deliveries GROUP BY state") == [("ingested", 40)]
        with ThreadPoolExecutor(2) as pool:  # two child processes
            here_st, there_st = pool.map(
                lambda c: statuses(c, "2026-06-01"), (cfg["local"], cfg["coordinator"])
            )
        assert here_st == there_st and {s["status"] for s in here_st} >= {"on_time", "missing"}
    finally:
        for w in workers:
            w.stop()
        redis.stop()
        for p in sites:
            p.stop()


# libfaketime (Debian's faketime, installed by the Makefile) moves a real worker's clock.
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def test_a_worker_whose_clock_is_eight_days_fast_stores_true_times_and_walks_as_here(tmp_path):
    """Every time stored is the coordinator's, and the worker judges "a full walk is due
    (revalidate_days: 7)" by the coordinator's clock: its second crawl is incremental."""
    assert Path(LIBFAKETIME).exists(), "install Debian's faketime (make setup does)"
    sites = portals(3)
    redis = redis_server(tmp_path / "redis").start()
    fast = None
    try:
        cfg = write_configs(tmp_path, [p.start_url for p in sites], redis.url, sources_per_task=10)
        fast = worker(cfg["w1"], "w1@fast", extra_env={"LD_PRELOAD": LIBFAKETIME, "FAKETIME": "+8d"})
        before = datetime.now(UTC).replace(microsecond=0)
        db = cfg["coordinator"].parent / "nianbao.db"
        # In the first cycle s2 is being crawled here by another process: it is not sent.
        held = crawl_lock(db, "s2")
        held.acquire()
        try:
            dist = nianbao(cfg["coordinator"], "crawl", "--distributed")
        finally:
            held.release()
        assert dist.returncode == 0, dist.stdout + dist.stderr[-3000:]
        assert "s2 is being crawled here by another process: not sent" in dist.stderr
        dist = nianbao(cfg["coordinator"], "crawl", "--distributed")
        assert dist.returncode == 0, dist.stdout + dist.stderr[-3000:]
        after = datetime.now(UTC) + timedelta(seconds=1)
        stamps = rows(
            db,
            "SELECT started_at FROM crawl_runs UNION ALL SELECT finished_at FROM crawl_runs "
            "UNION ALL SELECT first_seen FROM documents UNION ALL SELECT last_seen FROM documents "
            "UNION ALL SELECT fetched_at FROM versions UNION ALL SELECT checked_at FROM checks",
        )
        assert stamps and all(before <= datetime.fromisoformat(t) <= after for (t,) in stamps)
        walks: dict[str, list[bool]] = {}
        for sid, stats in rows(db, "SELECT source_id, stats_json FROM crawl_runs ORDER BY id"):
            walks.setdefault(sid, []).append(json.loads(stats)["full_walk"])
        assert walks == {"s0": [True, False], "s1": [True, False], "s2": [True]}
        offsets = [o for (o,) in rows(db, "SELECT clock_offset FROM deliveries")]
        assert len(offsets) == 5 and all(abs(o + 8 * 86400) < 120 for o in offsets), offsets
    finally:
        if fast:
            fast.stop()
        redis.stop()
        for p in sites:
            p.stop()


# -- ingest, without a broker: the ledger, the bounds, the clock --------------------------------


def _result(source_id: str, url: str, body: bytes, started_at: str) -> dict:
    return {
        "source_id": source_id,
        "run": {"started_at": started_at, "status": "finished", "reason": None, "stats": {"documents": 1}},
        "ops": [
            {
                "op": "fetch",
                "url": url,
                "kind": "page",
                "parent_url": None,
                "title": "青山县2024年政府信息公开工作年度报告",
                "column_name": None,
                "published_at": "2025-03-20",
                "date_source": "meta",
                "list_date": None,
                "url_date": None,
                "filename": None,
                "meta": {},
                "content_key": None,
                "fingerprint": "file:" + sha256(body),
                "http_status": 200,
                "headers": {"content-type": "text/html"},
                "content_type": "text/html",
                "sha256": sha256(body),
            }
        ],
        "blobs": [sha256(body)],
    }


def _received(task_id: str, result: dict, body: bytes, broker: datetime, worker_clock: datetime):
    header = {
        "task_id": task_id,
        "source_id": result["source_id"],
        "worker": "w@skewed",
        "result": result,
        "worker_clock": worker_clock.timestamp(),
    }
    ms = int(broker.timestamp() * 1000)
    return delivery.Received(f"{ms}-0", header, {sha256(body): body}, ms / 1000)


def _sources(store: Store, *ids: str) -> None:
    for sid in ids:
        store.upsert_source(sid, sid, f"http://{sid}.example.gov.cn/", None, {})


def test_a_worker_clock_days_off_moves_no_date_and_a_second_delivery_stores_nothing(tmp_path):
    task = "00000000-0000-4000-8000-000000000001"
    body = "<html>年报</html>".encode()
    with Store(tmp_path / "c.db") as store:
        _sources(store, "a")
        record_sent(store, task, ["a"], "nianbao")
        now = datetime.now(UTC).replace(microsecond=0)
        skewed = now + timedelta(days=3)  # the worker's clock is three days fast
        result = _result(
            "a", "http://a.example.gov.cn/nb.html", body, (skewed - timedelta(minutes=2)).isoformat()
        )
        _ingest_one(store, _received(task, result, body, now, skewed))
        (run,) = store.runs("a")
        started = datetime.fromisoformat(run["started_at"])
        # Shifted by the offset the broker's clock gives: two minutes before delivery, not in 3 days.
        assert now - timedelta(minutes=3) <= started <= now + timedelta(seconds=5)
        assert run["worker"] == "w@skewed" and run["status"] == "finished"
        doc = store.document("http://a.example.gov.cn/nb.html")
        assert doc["published_at"] == "2025-03-20"  # from the page, never from a clock
        assert datetime.fromisoformat(doc["first_seen"]) <= datetime.now(UTC)
        (version,) = store.versions(doc["id"])
        assert store.version_body(version["id"]) == body
        # Delivered again (a redelivered task, a retried XADD): nothing is stored twice.
        _ingest_one(store, _received(task, result, body, now, skewed))
        assert len(store.runs("a")) == 1 and len(store.versions(doc["id"])) == 1
        assert not outstanding(store)
        (offset,) = rows(tmp_path / "c.db", "SELECT clock_offset FROM deliveries")[0]
        assert round(offset) == -3 * 86400


def test_results_may_name_only_the_sources_of_their_task(tmp_path):
    task = "00000000-0000-4000-8000-000000000002"
    body = b"<html>x</html>"
    with Store(tmp_path / "c.db") as store:
        _sources(store, "a", "b", "c")
        store.record_fetch(Fetched(source_id="c", url="http://c.example.gov.cn/nb.html", body=b"c"))
        record_sent(store, task, ["a", "b"], "nianbao")
        now = datetime.now(UTC)
        # A source the task did not name: refused, nothing stored, no run for it.
        _ingest_one(
            store,
            _received(
                task, _result("c", "http://c.example.gov.cn/x.html", body, now.isoformat()), body, now, now
            ),
        )
        assert store.runs("c") == [] and store.document("http://c.example.gov.cn/x.html") is None
        # A document of a source outside the task: refused, recorded as a failed run saying why.
        _ingest_one(
            store,
            _received(
                task, _result("a", "http://c.example.gov.cn/nb.html", body, now.isoformat()), body, now, now
            ),
        )
        (run,) = store.runs("a")
        assert run["status"] == "failed" and "belongs to source 'c'" in run["reason"]
        assert store.document("http://c.example.gov.cn/nb.html")["source_id"] == "c"
        assert len(store.versions(store.document("http://c.example.gov.cn/nb.html")["id"])) == 1


def test_a_result_without_the_secret_or_with_bytes_that_do_not_match_is_refused():
    body = b"%PDF-1.7 report"
    header = json.dumps({"task_id": "t", "source_id": "a", "result": {"blobs": [sha256(body)]}}).encode()
    good = delivery.sign(SECRET, header)
    fields = {b"header": header, b"sig": good.encode(), f"blob:{sha256(body)}".encode(): body}
    assert delivery._check("1-0", fields, SECRET, 1 << 20).problem is None
    forged = {**fields, b"sig": delivery.sign("another secret", header).encode()}
    assert delivery._check("1-0", forged, SECRET, 1 << 20).header is None
    swapped = {**fields, f"blob:{sha256(body)}".encode(): b"other bytes"}
    assert "do not hash" in delivery._check("1-0", swapped, SECRET, 1 << 20).problem
    assert "max_file_mb" in delivery._check("1-0", fields, SECRET, 4).problem


def test_the_seed_puts_run_times_on_the_worker_clock(tmp_path):
    """A full walk is due by the age of the last one: the spool sees the same age on a fast clock."""
    with Store(tmp_path / "c.db") as store:
        _sources(store, "a")
        run_id = store.start_run("a")
        store.finish_run(run_id, "finished", {"full_walk": True})
        store.record_fetch(
            Fetched(source_id="a", url="http://a.example.gov.cn/1.html", body=b"one", run_id=run_id)
        )
        state = json.loads(json.dumps(export_state(store, ["a"])))  # as it travels
        walked = store.last_full_walk("a")
    with Store(tmp_path / "spool.db") as spool:
        after = seed_spool(spool, state, shift=3 * 86400)
        assert after == run_id
        shifted = datetime.fromisoformat(spool.last_full_walk("a"))
        assert shifted - datetime.fromisoformat(walked) == timedelta(days=3)
        assert spool.known_urls("a") == {"http://a.example.gov.cn/1.html"}
        with pytest.raises(Exception, match="unknown columns"):
            seed_spool(spool, {"documents": [{"id": 9, "url; DROP TABLE documents": 1}]})


# -- configuration ------------------------------------------------------------------------------

BASE = "storage:\n  path: x.db\nsources:\n  - {id: a, name: A, start_url: 'http://a.example.gov.cn/', queue: gd}\n"


def test_without_the_section_nothing_changes_and_with_it_defaults_are_filled():
    assert parse_config(BASE, Path("config.yaml")).section("distributed") == {}
    config = parse_config(
        BASE + "distributed:\n  broker_url: redis://127.0.0.1:6379/0\n", Path("config.yaml")
    )
    d = config.section("distributed")
    assert d["password_env"] == "NIANBAO_REDIS_PASSWORD" and d["default_queue"] == "nianbao"
    assert config.sources[0]["queue"] == "gd"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("distributed:\n  broker_url: redis://:pw@127.0.0.1/0\n", "distributed.broker_url: holds a password"),
        ("distributed:\n  broker_url: amqp://127.0.0.1/\n", "not a redis:// or rediss:// URL"),
        (
            "distributed:\n  broker_url: redis://h/0\n  visibility_timeout: 5\n",
            "distributed.visibility_timeout",
        ),
        ("distributed:\n  broker_url: redis://h/0\n  default_queue: 'a b'\n", "distributed.default_queue"),
        ("distributed:\n  brokr_url: redis://h/0\n", "did you mean 'broker_url'"),
    ],
)
def test_a_bad_distributed_section_names_the_key(text, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_config(BASE + text, Path("config.yaml"))


def test_a_bad_queue_name_on_a_source_names_the_source():
    text = BASE.replace("queue: gd", "queue: 'g d'") + "distributed:\n  broker_url: redis://h/0\n"
    with pytest.raises(ConfigError, match=r"sources\[0\]\.queue"):
        parse_config(text, Path("config.yaml"))


def test_the_health_page_and_command_name_the_worker_of_each_source(tmp_path):
    import urllib.request

    from config import load_config
    from outputs.web import start_server

    (tmp_path / "config.yaml").write_text(
        "storage:\n  path: c.db\nsources:\n"
        "  - {id: a, name: 甲县, start_url: 'http://a.example.gov.cn/'}\n"
        "  - {id: b, name: 乙县, start_url: 'http://b.example.gov.cn/'}\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path / "config.yaml")
    task = "00000000-0000-4000-8000-000000000003"
    body = b"<html>a</html>"
    with Store(config.storage_path) as store:
        _sources(store, "a", "b")
        record_sent(store, task, ["a"], "gd")
        now = datetime.now(UTC)
        _ingest_one(
            store,
            _received(
                task, _result("a", "http://a.example.gov.cn/1.html", body, now.isoformat()), body, now, now
            ),
        )
        store.finish_run(store.start_run("b"), "finished", {})  # crawled here
    server = start_server(config, port=0)
    try:
        page = urllib.request.urlopen(server.url + "health", timeout=30).read().decode()
    finally:
        server.shutdown()
    assert "<th>抓取节点</th>" in page
    assert "<td>w@skewed</td>" in page and "<td>本机</td>" in page
    shown = nianbao(tmp_path / "config.yaml", "health", "--format", "json")
    assert {r["source"]: r["worker"] for r in json.loads(shown.stdout)} == {"a": "w@skewed", "b": None}


def test_a_task_the_worker_cannot_crawl_comes_back_as_failed_runs_saying_why(tmp_path, monkeypatch):
    """A seed the spool refuses (a column no table has): no crawl, and each source of the task
    gets a failed run naming the problem, instead of a task the coordinator waits for in vain."""
    from config import load_config
    from distributed.worker import run_task

    redis = redis_server(tmp_path / "redis").start()
    try:
        cfg = write_configs(tmp_path, ["http://127.0.0.1:9/"], redis.url)
        for name, value in {"NIANBAO_REDIS_PASSWORD": PASSWORD, "NIANBAO_DELIVERY_SECRET": SECRET}.items():
            monkeypatch.setenv(name, value)
        coordinator, worker_config = load_config(cfg["coordinator"]), load_config(cfg["w1"])
        task = "00000000-0000-4000-8000-000000000004"
        with Store(coordinator.storage_path) as store:
            _sources(store, "s0")
            record_sent(store, task, ["s0"], "nianbao")
        payload = {
            "sources": coordinator.sources,
            "crawl": coordinator.section("crawl"),
            "state": {"documents": [{"id": 1, "evil": "x"}]},
            "reply_to": delivery.stream(coordinator),
        }
        assert run_task(worker_config, task, payload, "w1@test") == {"task": task, "sources": 1}
        r = delivery.client(coordinator)
        (received,) = delivery.receive(coordinator, r, block_ms=2000)
        with Store(coordinator.storage_path) as store:
            _ingest_one(store, received)
            (run,) = store.runs("s0")
        assert run["status"] == "failed" and "unknown columns ['evil']" in run["reason"]
        assert run["worker"] == "w1@test"
        assert not list((tmp_path / "w1" / "spool" / task).glob("nianbao.db*"))  # the spool is emptied
    finally:
        redis.stop()


class SilentServer:
    """A host that accepts connections and never answers, until ``close()``."""

    def __init__(self) -> None:
        import socket
        import threading

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.held: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:  # closed
                return

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


def test_a_worker_delivers_each_source_as_soon_as_its_crawl_ends(tmp_path, monkeypatch):
    """A task of a quick portal and one that never answers: the quick one's result is on the
    stream, and stored by the coordinator, while the other is still being crawled."""
    from config import load_config
    from distributed.worker import run_task

    quick, silent = portals(1)[0], SilentServer()
    redis = redis_server(tmp_path / "redis").start()
    try:
        cfg = write_configs(tmp_path, [quick.start_url, silent.url], redis.url)
        for name, value in {"NIANBAO_REDIS_PASSWORD": PASSWORD, "NIANBAO_DELIVERY_SECRET": SECRET}.items():
            monkeypatch.setenv(name, value)
        coordinator, worker_config = load_config(cfg["coordinator"]), load_config(cfg["w1"])
        task = "00000000-0000-4000-8000-000000000006"
        with Store(coordinator.storage_path) as store:
            for s in coordinator.sources:
                store.upsert_source(s["id"], s["name"], s["start_url"], None, s)
            record_sent(store, task, ["s0", "s1"], "nianbao")
            state = export_state(store, ["s0", "s1"])
        payload = {
            "sources": coordinator.sources,
            "crawl": coordinator.section("crawl"),
            "state": state,
            "reply_to": delivery.stream(coordinator),
        }
        r = delivery.client(coordinator)
        with ThreadPoolExecutor(1) as pool, Store(coordinator.storage_path) as store:
            running = pool.submit(run_task, worker_config, task, payload, "w1@test")
            got: list = []

            def take() -> list:
                for received in delivery.receive(coordinator, r, block_ms=500):
                    _ingest_one(store, received)
                    delivery.done(coordinator, r, received.entry_id)
                    got.append(received.header["source_id"])
                return got

            wait_for(take, 180, "the quick portal's result")
            assert got == ["s0"] and not running.done()  # the silent host still holds its crawl
            (run,) = store.runs("s0")
            assert run["status"] == "finished" and run["documents"] >= 19, run
            assert outstanding(store)[task]["sources"] == ["s1"]
            silent.close()  # now the other source fails, and the task ends
            assert running.result(180) == {"task": task, "sources": 2}
            wait_for(lambda: "s1" in take(), 60, "the other source's result")
        s1_runs = rows(coordinator.storage_path, "SELECT status FROM crawl_runs WHERE source_id = 's1'")
        assert got == ["s0", "s1"] and s1_runs == [("failed",)]
    finally:
        silent.close()
        redis.stop()


def test_a_task_given_up_on_leaves_failed_runs_and_its_late_result_is_refused(tmp_path):
    from storage.deliveries import expire

    task = "00000000-0000-4000-8000-000000000005"
    body = b"<html>late</html>"
    with Store(tmp_path / "c.db") as store:
        _sources(store, "a", "b")
        record_sent(store, task, ["a", "b"], "nianbao")
        assert expire(store, task, "no result within distributed.task_timeout (60 s)") == 2
        assert not outstanding(store)
        for sid in ("a", "b"):
            (run,) = store.runs(sid)
            assert run["status"] == "failed" and "task_timeout" in run["reason"]
        now = datetime.now(UTC)
        _ingest_one(
            store,
            _received(
                task, _result("a", "http://a.example.gov.cn/l.html", body, now.isoformat()), body, now, now
            ),
        )
        assert len(store.runs("a")) == 1 and store.document("http://a.example.gov.cn/l.html") is None


def test_a_wrong_broker_password_is_one_clear_error_and_list_says_when_no_worker_is_up(tmp_path):
    import subprocess
    import sys

    from distributed_helpers import env

    redis = redis_server(tmp_path / "redis").start()
    try:
        cfg = write_configs(tmp_path, ["http://127.0.0.1:9/"], redis.url)
        wrong = {**env(), "NIANBAO_REDIS_PASSWORD": "not-the-password"}
        for args in (("crawl", "--distributed"), ("worker", "--list")):
            proc = subprocess.run(
                [sys.executable, "-m", "nianbao", "--config", str(cfg["coordinator"]), *args],
                capture_output=True,
                text=True,
                timeout=120,
                env=wrong,
            )
            assert proc.returncode == 2, proc.stderr
            assert f"无法使用 Redis：distributed.broker_url {redis.url}" in proc.stderr
            assert "not-the-password" not in proc.stderr and "Traceback" not in proc.stderr
        listing = nianbao(cfg["coordinator"], "worker", "--list")
        assert listing.returncode == 0 and "没有连接的抓取节点。" in listing.stdout
    finally:
        redis.stop()


def test_a_local_cluster_gives_a_coordinator_its_section_and_environment(tmp_path):
    """distributed.local, for benchmarks (bench/national.py --workers N) and trials."""
    import os
    import subprocess
    import sys

    import yaml

    from distributed.local import LocalCluster

    with LocalCluster(tmp_path / "cluster", workers=1, sources_per_task=7) as cluster:
        config = tmp_path / "config.yaml"
        config.write_text(
            yaml.safe_dump({"storage": {"path": "c.db"}, "distributed": cluster.section(), "sources": []}),
            encoding="utf-8",
        )
        listing = subprocess.run(
            [sys.executable, "-m", "nianbao", "--config", str(config), "worker", "--list"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **cluster.env},
        )
    assert listing.returncode == 0, listing.stderr
    assert "w1@local  队列：nianbao" in listing.stdout
    assert cluster.section()["sources_per_task"] == 7 and cluster.redis.proc.poll() is not None
