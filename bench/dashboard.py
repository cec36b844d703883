"""Benchmark the dashboard as served by ``nianbao serve``: requests/s and p50/p95 latency.

Starts ``nianbao serve`` in its own process on a free loopback port over an existing database
(``nianbao demo --out DIR`` builds one: pass its ``DIR/config.yaml``), then for the status matrix
and one report page sends REQUESTS GETs at concurrency 1 and 8, each either on a new connection
("new") or on one kept-alive connection per client thread ("keep"; a server that closes it gets
a new one), and prints one line per page, concurrency and connection mode.  Finally it stops the
server with SIGINT (Ctrl-C) and reports how it ended.

``--code DIR`` (repeatable) runs the server from a checkout (e.g. the main branch, to compare);
with ``--rounds N`` the checkouts take turns N times, so a busy machine weighs on each alike, and
the medians over the rounds are printed last.

Usage: .venv/bin/python bench/dashboard.py --config DIR/config.yaml [--requests 200]
       [--code DIR]... [--rounds 1]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
_local = threading.local()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, keep: bool) -> float:
    """Seconds to GET ``url`` in full; fails on anything but 200."""
    parts = urlsplit(url)
    start = time.perf_counter()
    conn = getattr(_local, "conn", None) if keep else None
    if conn is None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", parts.path or "/", headers={} if keep else {"Connection": "close"})
    resp = conn.getresponse()
    resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{url}: HTTP {resp.status}")
    elapsed = time.perf_counter() - start
    if keep:
        _local.conn = conn  # http.client opens a new one by itself if the server closed this
    else:
        conn.close()
    return elapsed


def measure(url: str, requests: int, concurrency: int, keep: bool) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p95 ms) of ``requests`` GETs of ``url``, ``concurrency`` at a time."""
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda _: fetch(url, keep), range(concurrency * 2)))  # warm up
        start = time.perf_counter()
        times = sorted(pool.map(lambda _: fetch(url, keep), range(requests)))
        wall = time.perf_counter() - start
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return requests / wall, statistics.median(times) * 1000, p95 * 1000


def run_one(code: str, config: str, requests: int) -> dict[tuple[str, int, str], tuple[float, float, float]]:
    """Serve from checkout ``code`` and measure every page, concurrency and connection mode."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(code).resolve()))
    cmd = [sys.executable, "-m", "nianbao", "serve", "--config", config, "--port", str(port)]
    # cwd too: ``python -m`` puts the working directory before PYTHONPATH.
    server = subprocess.Popen(
        cmd, cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    results = {}
    try:
        line = server.stdout.readline()
        if "nianbao dashboard:" not in line:
            raise SystemExit(f"server did not start: {line}{server.stderr.read()}")
        base = line.split("nianbao dashboard:")[1].strip()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/")
        report = re.search(r'href="(/report/\d+)"', conn.getresponse().read().decode())
        conn.close()
        if report is None:
            raise SystemExit("the matrix links no report: is the database empty?")
        pages = {"matrix": base, "report": base.rstrip("/") + report.group(1)}
        print(f"server: {code}  ({requests} requests each)")
        for name, url in pages.items():
            for concurrency in (1, 8):
                for mode in ("new", "keep"):
                    got = measure(url, requests, concurrency, mode == "keep")
                    results[(name, concurrency, mode)] = got
                    print(f"  {line_for(name, concurrency, mode, got)}", flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            code_ = server.wait(15)
            _, err = server.communicate()
            how = ", with a traceback on stderr" if "Traceback" in err else ", cleanly"
            print(f"  SIGINT: exit {code_}{how}")
        except subprocess.TimeoutExpired:
            server.kill()
            print("  SIGINT: still running after 15 s, killed")
    return results


def line_for(name: str, concurrency: int, mode: str, got: tuple[float, float, float]) -> str:
    rps, p50, p95 = got
    return f"{name:7} c={concurrency} {mode:4}: {rps:7.1f} req/s  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="config.yaml of a nianbao database")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--code", action="append", help="checkout to run the server from (repeatable)")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    codes = args.code or [str(ROOT)]
    all_runs: dict[str, list[dict]] = defaultdict(list)
    for _ in range(args.rounds):
        for code in codes:
            all_runs[code].append(run_one(code, str(Path(args.config).resolve()), args.requests))
    if args.rounds > 1:
        print(f"\nmedians over {args.rounds} rounds")
        for code, runs in all_runs.items():
            print(f"server: {code}")
            for key in runs[0]:
                got = tuple(statistics.median(r[key][i] for r in runs) for i in range(3))
                print(f"  {line_for(*key, got)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
