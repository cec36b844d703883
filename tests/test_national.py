"""bench/national.py at 50 portals: its figures are sane and what it crawled is right.

The bench runs in a child process, as an operator runs it; its country is rebuilt here from the
same seed (no sockets) to hold the bench's results against the ground truth independently.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from simulator.country import Country

ROOT = Path(__file__).resolve().parents[1]
PORTALS = 50


def test_national_bench_at_50_portals(tmp_path):
    out_json = tmp_path / "result.json"
    keep = tmp_path / "work"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "national.py"),
            "--portals",
            str(PORTALS),
            "--docs",
            "34",
            "--delay",
            "0.1",
            "--old-sample",
            "2",
            "--keep",
            str(keep),
            "--json",
            str(out_json),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out_json.read_text(encoding="utf-8"))

    # The country as the bench built it, rebuilt from its seed.
    country = Country(PORTALS, result["seed"], departments=result["departments"])
    assert result["today"] == country.today.isoformat() == "2026-01-31"
    assert len({p.host for p in country.portals}) == PORTALS  # every portal its own host
    assert result["families"] == dict(Counter(p.family for p in country.portals))
    assert len(result["families"]) >= 4

    # Figures: sane, and printed.
    for name in ("first", "daily", "weekly", "old_daily"):
        s = result[name]
        assert s["wall_s"] > 0 and s["cpu_s"] > 0 and 0 < s["peak_rss_mb"] < 2048, (name, s)
        assert s["db_mb"] > 0
        # The runs' stats and the simulator's own count agree, but for requests that never
        # reached it (a connection refused or timed out on a loaded machine, then retried).
        assert 0 <= s["requests"] - s["simulator_requests"] <= s["requests"] // 100, (name, s)
        assert all(p["rc"] == 0 for p in s["parts"].values()), (name, s["parts"])
    first, daily, weekly, old = result["first"], result["daily"], result["weekly"], result["old_daily"]
    served_first = sum(country.document_counts().values())
    # A first crawl fetches at least every document; an incremental one a few pages a portal.
    assert first["requests"] >= served_first + PORTALS
    assert PORTALS <= daily["requests"] < first["requests"] / 3
    assert weekly["requests"] >= served_first  # a revalidation re-checks every document
    assert first["runs"] == daily["runs"] == weekly["runs"] == PORTALS
    assert old["sample"] == old["runs"] == 2
    assert old["extrapolated"]["wall_s"] == old["wall_s"] * PORTALS / 2
    assert re.search(r"^first\s+\S+\s+\S+\s+\d+\s+\d+MB", proc.stdout, re.M), proc.stdout
    assert "EXTRAPOLATED from 2 to 50 sources" in proc.stdout
    assert f"{first['requests']}" in proc.stdout

    # Right: every portal its own finished run, documents stored = served, statuses = truth.
    for name, as_of in (
        ("first", date(2026, 1, 31)),
        ("daily", date(2026, 2, 1)),
        ("weekly", date(2026, 2, 1)),
    ):
        check = result[name]["check"]
        assert check["as_of"] == as_of.isoformat()
        assert result[name]["run_status"] == {"finished": PORTALS}, name
        assert check["portals_without_finished_run"] == [], name
        assert check["document_mismatches"] == {}, name
        assert check["status_mismatch_count"] == 0, check["status_mismatches"]
    assert first["check"]["documents_stored"] == served_first
    country.advance_day()  # no sockets: the ground truth of the next day
    assert daily["check"]["documents_stored"] == sum(country.document_counts().values()) > served_first
    assert daily["new_reports"] == len(country.new_reports()) >= PORTALS // 10  # and any on that day

    truth = {(t["agency"], t["year"]): t["status"] for ts in country.truth().values() for t in ts}
    rows = json.loads((keep / "status-2026-02-01.json").read_text(encoding="utf-8"))
    assert {(r["agency"], r["year"]): r["status"] for r in rows} == truth
    before = {
        (t["agency"], t["year"]): t["status"] for ts in country.truth(date(2026, 1, 31)).values() for t in ts
    }
    newly_missing = [k for k, s in truth.items() if s == "missing" and before[k] != "missing"]
    assert newly_missing, "the advanced day passes the departments' deadline"

    # Alerts: exactly one mail per recipient, naming that province's new missing reports.
    mails = daily["mails"]
    assert mails["per_recipient"] == {r: 1 for r in mails["recipients"]}
    assert len(mails["recipients"]) >= 2
    agency_province = {a.name: p.province for p in country.portals for a in p.region.agencies}
    per_province = Counter(agency_province[a] for a, _y in newly_missing)
    for subject in mails["subjects"]:
        province = next(
            p for p in per_province if subject.startswith(f"【政府信息公开年报监测】{p}政务公开办")
        )
        assert f"新增缺报 {per_province[province]} 份" in subject, subject
    assert weekly["mails"] == 0  # nothing new a day later: nothing sent twice


def test_national_bench_through_two_local_workers(tmp_path):
    """``--workers 2``: every step also runs through a local cluster on its own database, and it
    stores what the local run stores; the ratio of wall times is printed."""
    out_json, keep = tmp_path / "result.json", tmp_path / "work"
    args = ["--portals", "8", "--docs", "34", "--delay", "0", "--old-sample", "0", "--workers", "2"]
    args += ["--sources-per-task", "3", "--keep", str(keep), "--json", str(out_json)]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "national.py"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out_json.read_text(encoding="utf-8"))
    dist = result["distributed"]
    assert dist["workers"] == 2 and dist["sources_per_task"] == 3
    for name in ("first", "daily", "weekly"):
        here, there = result[name], dist[name]
        assert there["run_status"] == {"finished": 8}, name
        assert there["check"]["document_mismatches"] == {} and there["check"]["status_mismatch_count"] == 0
        assert there["check"]["documents_stored"] == here["check"]["documents_stored"]
        assert 0 <= there["requests"] - there["simulator_requests"] <= there["requests"] // 100, there
        # The workers' processes did the crawling: their CPU is counted in the step's.
        assert there["parts"]["workers"]["cpu_s"] > 0 and there["parts"]["workers"]["rss_mb"] > 0
        ratio = there["wall_s"] / here["wall_s"]
        assert f"{name} through 2 workers (3 sources a task): {ratio:.2f}× the local wall time" in proc.stdout
    assert dist["daily"]["mails"]["per_recipient"] == result["daily"]["mails"]["per_recipient"]
    # Both workers took tasks (8 sources, 3 a task: 3 tasks).
    from storage import Store

    with Store(keep / "distributed.db") as store:
        names = {r[0] for r in store.db.execute("SELECT DISTINCT worker FROM crawl_runs")}
    assert names == {"w1@local", "w2@local"}
