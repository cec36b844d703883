"""A crawl that did not complete says so, and the monitor never calls a report missing on its word.

Real `nianbao crawl` child processes against a simulated portal on 127.0.0.1, stopped by SIGTERM,
SIGINT or SIGKILL once a random number of documents is stored; then `parse --stored` and
`monitor`, compared with the simulator's ground truth.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crawl_helpers import nianbao

from simulator.model import generate_region
from simulator.portal import SimulatedPortal

pytestmark = pytest.mark.slow


def write_config(tmp: Path, portal: SimulatedPortal, source_extra: str = "") -> Path:
    """One source for the portal, every agency of its region configured (each one expected)."""
    agencies = "".join(f"      - {{name: {a.name}, kind: {a.kind}}}\n" for a in portal.region.agencies)
    path = tmp / "config.yaml"
    path.write_text(
        "storage:\n  path: nianbao.db\n"
        "crawl:\n  delay: 0\n  concurrency_per_host: 2\n  retries: 1\n  autothrottle: false\n"
        f"sources:\n  - id: s0\n    name: 青山县人民政府\n    start_url: {portal.start_url}\n"
        f"    region: 测试省青山县\n{source_extra}    agencies:\n{agencies}",
        encoding="utf-8",
    )
    return path


def start_crawl(config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nianbao", "--config", str(config), "crawl", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def scalar(db: Path, sql: str, default: int = 0) -> int:
    """One number from the database, or ``default`` while the crawl has not created it yet."""
    if not db.exists():
        return default
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return default


def wait_for(condition, what: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(
                f"the crawl ended (exit {proc.returncode}) before {what}: {proc.stderr.read()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def runs(db: Path) -> list[tuple[int, str, str | None]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT id, status, reason FROM crawl_runs ORDER BY id").fetchall()


def statuses(config: Path) -> dict[tuple[str, int], dict]:
    nianbao(config, "parse", "--stored")
    rows = json.loads(nianbao(config, "monitor", "--format", "json").stdout)
    return {(r["agency"], r["year"]): r for r in rows}


def truth(portal: SimulatedPortal) -> dict[tuple[str, int], str]:
    return {(t["agency"], t["year"]): t["status"] for t in portal.truth()}


def false_missing(rows: dict, portal: SimulatedPortal) -> list:
    expected = truth(portal)
    return [k for k, r in rows.items() if r["status"] == "missing" and expected.get(k) != "missing"]


@pytest.fixture
def portal():
    region = generate_region(seed=11, departments=6, townships=3)
    # Slow answers, so a signal lands while the crawl is still walking.
    p = SimulatedPortal(region, latency=0.15)
    p.prerender()
    p.start()
    yield p
    p.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_a_crawl_stopped_by_a_signal_is_interrupted_and_never_makes_a_false_missing(tmp_path, portal, sig):
    config = write_config(tmp_path, portal)
    db = tmp_path / "nianbao.db"
    total = len(portal.report_urls())
    rng = random.Random()
    seed = rng.randrange(10**6)
    rng.seed(seed)
    at = rng.randint(2, total // 2)  # a random moment: after this many stored documents
    proc = start_crawl(config)
    wait_for(lambda: scalar(db, "SELECT COUNT(*) FROM documents") >= at, f"{at} documents", proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    stored = scalar(db, "SELECT COUNT(*) FROM documents")
    assert stored < total, f"seed {seed}: the crawl must be stopped mid-way ({stored} of {total} stored)"

    # The run says it did not complete, and so does the exit status.
    (run_id, status, reason), *_ = runs(db)
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
        assert status == "running"  # nobody could write it down; the monitor reads it as dead
        (health,) = json.loads(nianbao(config, "health", "--format", "json").stdout)
        assert health["status"] == "interrupted", health
    else:
        assert proc.returncode != 0, f"seed {seed}: exit {proc.returncode}\n{out}"
        assert status == "interrupted" and "shutdown" in reason, (status, reason, err[-2000:])

    # No agency is missing unless the simulator says so; the truly missing are not checkable.
    rows = statuses(config)
    assert not false_missing(rows, portal), f"seed {seed}: false missing {false_missing(rows, portal)}"
    # (Years no stored report covers yet have no rows: the years come from what was found.)
    unfound = [r for r in rows.values() if not r["url"]]
    assert unfound and all(r["status"] in ("not_checkable", "pending") for r in unfound), unfound
    assert all("未完成" in r["evidence"] for r in unfound if r["status"] == "not_checkable")

    # A complete crawl afterwards closes a killed run and makes every report checkable again.
    done = nianbao(config, "crawl", "--quiet")
    assert "finished" in done.stdout
    history = runs(db)
    assert [s for _i, s, _r in history] == ["interrupted", "finished"], history
    if sig == signal.SIGKILL:
        assert history[0][2] == "the crawl process ended before finishing"
    rows = statuses(config)
    assert {k: r["status"] for k, r in rows.items()} == truth(portal)


def test_a_second_crawl_of_a_source_refuses_and_names_the_first(tmp_path):
    slow = SimulatedPortal(generate_region(seed=11, departments=6, townships=3), latency=0.6)
    slow.prerender()
    with slow:
        _second_crawl_refused(tmp_path, slow)


def _second_crawl_refused(tmp_path: Path, portal: SimulatedPortal) -> None:
    config = write_config(tmp_path, portal)
    db = tmp_path / "nianbao.db"
    first = start_crawl(config)
    wait_for(lambda: scalar(db, "SELECT COUNT(*) FROM documents") >= 2, "2 documents", first)
    second = nianbao(config, "crawl", "--quiet", check=False)
    assert second.returncode == 2
    message = second.stderr.strip()
    assert f"pid {first.pid} holds" in message and "since 20" in message and "s0" in message, message
    assert "Traceback" not in second.stderr
    assert [s for _i, s, _r in runs(db)] == ["running"]  # the first crawl's run is left alone
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert [s for _i, s, _r in runs(db)] == ["finished"]


def test_crawls_of_two_sources_run_at_once(tmp_path, portal):
    """The scheduler's parallel chains: each source has its own lock, both runs finish whole."""
    other = SimulatedPortal(generate_region(seed=12, departments=6, townships=3), latency=0.05)
    other.prerender()
    other.start()
    try:
        config = write_config(tmp_path, portal)
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text + f"  - id: s1\n    name: 白云县人民政府\n    start_url: {other.start_url}\n",
            encoding="utf-8",
        )
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "nianbao",
                    "--config",
                    str(config),
                    "crawl",
                    "-q",
                    "--source",
                    sid,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for sid in ("s0", "s1")
        ]
        for p in procs:
            _out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-2000:]
        db = tmp_path / "nianbao.db"
        assert [s for _i, s, _r in runs(db)] == ["finished", "finished"]
        urls = set(portal.report_urls()) | set(other.report_urls())
        with sqlite3.connect(db) as conn:
            stored = {r[0] for r in conn.execute("SELECT url FROM documents")}
        assert urls <= stored
    finally:
        other.stop()


def test_a_list_only_a_browser_can_see_is_not_checkable_and_the_run_says_so(tmp_path):
    """A JS-only column crawled with the browser off: not "nothing published"."""
    region = generate_region(seed=11, departments=6, townships=3)
    with SimulatedPortal(region, family="jsonly") as p:
        config = write_config(tmp_path, p)  # no family, browser off: the generic walk
        proc = nianbao(config, "crawl", "--quiet", check=False)
        assert proc.returncode != 0
        ((_id, status, reason),) = runs(tmp_path / "nianbao.db")
        assert status == "blocked" and "browser" in reason and "/zwgk/nb/" in reason, (status, reason)
        rows = statuses(config)
    assert {r["status"] for r in rows.values()} == {"not_checkable"}
    assert all("浏览器" in r["evidence"] for r in rows.values())


def test_a_document_that_cannot_be_stored_makes_the_run_incomplete(tmp_path, portal):
    """A write that fails (here a real SQLite trigger refusing one report) is never silent."""
    config = write_config(tmp_path, portal)
    db = tmp_path / "nianbao.db"
    nianbao(config, "health")  # creates the database
    victim = next(k for k, s in truth(portal).items() if s == "on_time")
    url = portal.url_of(*victim)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON documents WHEN NEW.url = "
            f"'{url}' BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END"
        )
    proc = nianbao(config, "crawl", "--quiet", check=False)
    assert proc.returncode != 0
    ((_id, status, reason),) = runs(db)
    assert status == "interrupted" and "could not be stored" in reason and url in reason, reason
    assert url in proc.stderr  # loudly, naming the document
    rows = statuses(config)
    assert rows[victim]["status"] == "not_checkable"
    assert not false_missing(rows, portal)
