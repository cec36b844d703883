"""No write is ever dropped: two crawls' writers and the dashboard on one database, under load.

Real processes on one real SQLite file: two writers storing documents the way the crawl pipeline
does (each ``record_fetch`` reads before it writes, the case a deferred transaction cannot wait
for), the real dashboard serving pages from the same file, and two CPU-bound processes beside
them so the machine is as busy as a scheduler host in the season.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import threading
import urllib.request

import pytest
from crawl_helpers import nianbao
from test_schedule import Proc  # the scheduler-process helper

from config import load_config
from outputs.web import start_server
from simulator.model import generate_region
from simulator.portal import COUNTY_NAMES, SimulatedPortal
from storage import Fetched, Store

DOCUMENTS = 400  # per writer


def _burn(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _write(path: str, source_id: str, start, errors) -> None:
    start.wait()
    try:
        with Store(path) as store:
            run_id = store.start_run(source_id)
            for i in range(DOCUMENTS):
                url = f"http://127.0.0.1/{source_id}/t2024_{i}.html"
                store.record_fetch(
                    Fetched(source_id, url, f"{source_id} report {i} ".encode() * 50, run_id=run_id)
                )
                if i % 50 == 0:  # a page seen twice: the check path reads, then writes
                    store.record_fetch(Fetched(source_id, url, f"{source_id} report {i} ".encode() * 50))
            store.finish_run(run_id, "finished", {"documents": DOCUMENTS})
    except Exception as exc:  # reported to the test, which asserts there were none
        errors.put(f"{source_id}: {exc!r}")


def test_two_writers_and_the_dashboard_under_load_lose_nothing(tmp_path):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        "storage:\n  path: nianbao.db\nsources:\n"
        "  - id: a\n    name: 甲县\n    start_url: http://127.0.0.1:9/\n"
        "  - id: b\n    name: 乙县\n    start_url: http://127.0.0.1:9/\n",
        encoding="utf-8",
    )
    config = load_config(config_path)
    db = str(tmp_path / "nianbao.db")
    with Store(db) as store:
        for sid in ("a", "b"):
            store.upsert_source(sid, sid, "http://127.0.0.1:9/", None, {})

    ctx = multiprocessing.get_context("fork")
    stop, start, errors = ctx.Event(), ctx.Barrier(2), ctx.Queue()
    burners = [ctx.Process(target=_burn, args=(stop,)) for _ in range(2)]
    writers = [ctx.Process(target=_write, args=(db, sid, start, errors)) for sid in ("a", "b")]
    server = start_server(config, host="127.0.0.1", port=0)
    pages: list[int] = []
    failures: list[str] = []
    done = threading.Event()

    def read() -> None:  # the dashboard, asked again and again while the writers work
        while not done.is_set():
            for path in ("/", "/health"):
                try:
                    with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=60) as r:
                        pages.append(r.status)
                except Exception as exc:  # noqa: BLE001 - any failure is reported
                    failures.append(f"{path}: {exc!r}")

    reader = threading.Thread(target=read)
    try:
        for p in burners + writers:
            p.start()
        reader.start()
        for p in writers:
            p.join(300)
    finally:
        done.set()
        stop.set()
        reader.join(60)
        for p in burners:
            p.join(30)
        server.stop()
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert not found, found
    assert all(p.exitcode == 0 for p in writers)
    assert pages and not failures, failures[:3]
    with Store(db) as store:
        counts = {sid: len(store.known_urls(sid)) for sid in ("a", "b")}
        assert counts == {"a": DOCUMENTS, "b": DOCUMENTS}
        assert [r["status"] for r in store.runs()] == ["finished", "finished"]


def test_a_write_that_cannot_get_the_lock_raises_instead_of_vanishing(tmp_path):
    """Past its patience a write fails loudly with a StorageError naming the file."""
    import sqlite3

    from storage.connection import StorageError, begin_immediate

    db = tmp_path / "nianbao.db"
    Store(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    try:
        waiter = sqlite3.connect(db, isolation_level=None, timeout=0.05)
        try:
            begin_immediate(waiter, db, patience=0.5)
        except StorageError as exc:
            assert str(db) in str(exc) and "locked" in str(exc)
        else:
            raise AssertionError("the write transaction started although the lock was held")
        finally:
            waiter.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.slow
def test_the_schedulers_parallel_batches_store_every_report(tmp_path):
    """The issue's case, small: two crawl batches of two counties each, in parallel processes,
    the dashboard reading and two CPU-bound processes beside them; every report stored, every
    status right."""
    portals = [SimulatedPortal(generate_region(40 + i, COUNTY_NAMES[i], 6, 3)).start() for i in range(4)]
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    burners = [ctx.Process(target=_burn, args=(stop,)) for _ in range(2)]
    try:
        sources = "".join(
            f"  - id: c{i}\n    name: {p.region.government.name}\n    start_url: {p.start_url}\n"
            f"    region: 测试省{p.region.county}\n    agencies:\n"
            + "".join(f"      - {{name: {a.name}, kind: {a.kind}}}\n" for a in p.region.agencies)
            for i, p in enumerate(portals)
        )
        config_path = tmp_path / "config.yaml"
        config_path.write_text(
            "storage:\n  path: nianbao.db\n"
            "crawl:\n  delay: 0\n  concurrency_per_host: 4\n  retries: 1\n  autothrottle: false\n"
            "  batch_size: 2\n"  # two batches, crawled by two processes at once
            f"sources:\n{sources}",
            encoding="utf-8",
        )
        Store(tmp_path / "nianbao.db").close()
        server = start_server(load_config(config_path), host="127.0.0.1", port=0)
        pages: list[int] = []
        failures: list[str] = []
        done = threading.Event()

        def read() -> None:
            while not done.is_set():
                try:
                    with urllib.request.urlopen(server.url.rstrip("/") + "/health", timeout=60) as r:
                        pages.append(r.status)
                except Exception as exc:  # noqa: BLE001 - any failure is reported
                    failures.append(repr(exc))

        reader = threading.Thread(target=read, daemon=True)
        for p in burners:
            p.start()
        scheduler = Proc(config_path, "--every", "3600")
        reader.start()
        try:
            text = scheduler.wait_for("cycle finished", timeout=600)
        finally:
            done.set()
            assert scheduler.stop() == 0
            server.stop()
        assert len(re.findall(r"batch finished: c\d, c\d -> crawl exit 0", text)) == 2, text[-3000:]
        assert re.search(r"cycle finished \{.*'monitor': 0\}", text), text[-3000:]
        assert "database is locked" not in text and "could not store" not in text, text[-3000:]
        assert pages and not failures, failures[:3]
        db = tmp_path / "nianbao.db"
        with Store(db) as store:
            assert [r["status"] for r in store.runs()] == ["finished"] * len(portals)
            stored = {u for i in range(len(portals)) for u in store.known_urls(f"c{i}")}
        assert set().union(*(p.report_urls() for p in portals)) <= stored
        rows = json.loads(nianbao(config_path, "monitor", "--format", "json").stdout)
        truth = {(t["agency"], t["year"]): t["status"] for p in portals for t in p.truth()}
        assert {(r["agency"], r["year"]): r["status"] for r in rows} == truth
    finally:
        stop.set()
        for p in burners:
            p.join(30)
        for p in portals:
            p.stop()
