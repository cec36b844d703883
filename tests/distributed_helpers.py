"""Real processes for the distributed tests: redis-server on loopback with a password, simulated
portals, Celery workers (`nianbao worker`) and the coordinator (`nianbao crawl --distributed`)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import simulator.families  # noqa: F401  (registers the non-TRS families)
from distributed.local import LoggedProcess, RedisServer, WorkerProcess, worker_config
from simulator.model import generate_region
from simulator.portal import SimulatedPortal

PASSWORD = "test-broker-password"
SECRET = "test-delivery-secret"
FAMILIES = ("trs", "hanweb", "gkmlpt", "ucap")


def wait_for(condition: Callable[[], object], timeout: float, what: str, every: float = 0.1) -> object:
    """Poll ``condition`` until it is truthy; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def redis_server(folder: Path) -> RedisServer:
    """redis-server on loopback with the tests' password (``start()`` it)."""
    return RedisServer(folder, PASSWORD)


def portals(n: int, latency: float = 0.0) -> list[SimulatedPortal]:
    """``n`` small county portals of mixed families, mostly HTML reports (some PDF and DOCX)."""
    out = []
    for i in range(n):
        region = generate_region(seed=100 + i, county=f"测试{i}县", departments=6, townships=0)
        for j, r in enumerate(region.reports):
            if j % 7:
                r.fmt = "html"
        p = SimulatedPortal(region, family=FAMILIES[i % len(FAMILIES)], latency=latency)
        p.prerender()
        out.append(p.start())
    return out


CRAWL = "crawl:\n  delay: 0\n  concurrency_per_host: 4\n  retries: 1\n  autothrottle: false\n"


def write_configs(
    tmp: Path, urls: list[str], broker: str, *, sources_per_task: int = 5, visibility: int = 600
) -> dict[str, Path]:
    """Config files: ``local`` (no distributed section), ``coordinator`` and ``w1``/``w2``."""
    sources = "".join(f"  - id: s{i}\n    name: 站点{i}\n    start_url: {u}\n" for i, u in enumerate(urls))
    section = (
        f"distributed:\n  broker_url: {broker}\n  visibility_timeout: {visibility}\n"
        f"  task_timeout: 600\n  sources_per_task: {sources_per_task}\n"
    )
    out = {}
    for name, text in {
        "local": f"storage:\n  path: nianbao.db\n{CRAWL}sources:\n{sources}",
        "coordinator": f"storage:\n  path: nianbao.db\n{CRAWL}{section}sources:\n{sources}",
    }.items():
        folder = tmp / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.yaml").write_text(text, encoding="utf-8")
        out[name] = folder / "config.yaml"
    options = {"broker_url": broker, "visibility_timeout": visibility, "task_timeout": 600}
    for name in ("w1", "w2"):
        out[name] = worker_config(tmp / name, {**options, "sources_per_task": sources_per_task})
    return out


def env() -> dict[str, str]:
    return {**os.environ, "NIANBAO_REDIS_PASSWORD": PASSWORD, "NIANBAO_DELIVERY_SECRET": SECRET}


def nianbao(config: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nianbao", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
    )


class Proc(LoggedProcess):
    """A `nianbao` child process with its output in a file."""

    def __init__(self, config: Path, *args: str, log: Path, extra_env: dict[str, str] | None = None):
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nianbao", "--config", str(config), *args],
            stdout=open(log, "ab"),  # noqa: SIM115 - owned by the process
            stderr=subprocess.STDOUT,
            env={**env(), **(extra_env or {})},
        )

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout)


def worker(config: Path, name: str, extra_env: dict[str, str] | None = None) -> WorkerProcess:
    return WorkerProcess(config, name, {**env(), **(extra_env or {})})


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db, timeout=30) as conn:
        return [tuple(r) for r in conn.execute(sql)]


def count(db: Path, sql: str) -> int:
    try:
        return rows(db, sql)[0][0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """What a crawl stored, minus what differs on every request (simulator noise in the bytes,
    ETags and Date headers) and what is stamped by the clock (times, ids)."""
    q = lambda sql: sorted(rows(db, sql), key=repr)  # noqa: E731
    return {
        "documents": q(
            "SELECT d.source_id, d.url, d.kind, d.title, d.published_at, d.date_source, d.list_date, "
            "d.url_date, d.filename, p.url, s.url, d.gone_since IS NULL, d.last_status, d.content_key, "
            "d.meta_json FROM documents d LEFT JOIN documents p ON p.id = d.parent_id "
            "LEFT JOIN documents s ON s.id = d.same_as"
        ),
        "versions": q(
            "SELECT d.url, v.fingerprint, v.http_status, v.content_type FROM versions v "
            "JOIN documents d ON d.id = v.document_id"
        ),
        "checks": q(
            "SELECT d.url, c.outcome, c.http_status, COUNT(*) FROM checks c "
            "JOIN documents d ON d.id = c.document_id GROUP BY 1, 2, 3"
        ),
        "events": q(
            "SELECT d.url, e.kind, e.detail_json, pv.fingerprint, nv.fingerprint FROM events e "
            "JOIN documents d ON d.id = e.document_id LEFT JOIN versions pv ON pv.id = e.previous_version_id "
            "LEFT JOIN versions nv ON nv.id = e.version_id"
        ),
        "runs": q(
            "SELECT source_id, status, pages, documents, new_versions, unchanged, reports, errors, blocked, "
            "requests, reason FROM crawl_runs"
        ),
    }


def statuses(config: Path, as_of: str) -> list[dict]:
    proc = nianbao(config, "monitor", "--format", "json", "--as-of", as_of)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)
