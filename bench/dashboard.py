"""Benchmark the dashboard as served by ``nianbao serve``: requests/s and p50/p95 latency.

Starts ``nianbao serve`` in its own process on a free loopback port over an existing database
(``nianbao demo --out DIR`` builds one: pass its ``DIR/config.yaml``), then for the status matrix
and one report page sends REQUESTS GETs at concurrency 1 and 8, each on a new connection, and
prints one line per page and concurrency.  Finally it stops the server with SIGINT (Ctrl-C) and
reports how it ended.

``--code DIR`` runs the server from another checkout (e.g. the main branch, to compare).

Usage: .venv/bin/python bench/dashboard.py --config DIR/config.yaml [--requests 200] [--code DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> float:
    """Seconds to GET ``url`` in full; fails on anything but 200."""
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp:
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status}")
    return time.perf_counter() - start


def measure(url: str, requests: int, concurrency: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p95 ms) of ``requests`` GETs of ``url``, ``concurrency`` at a time."""
    for _ in range(3):  # warm up: templates compiled, pages cached by SQLite
        fetch(url)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        times = sorted(pool.map(fetch, [url] * requests))
    wall = time.perf_counter() - start
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return requests / wall, statistics.median(times) * 1000, p95 * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="config.yaml of a nianbao database")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--code", default=str(ROOT), help="checkout to run the server from")
    args = ap.parse_args()

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(args.code).resolve()))
    cmd = [sys.executable, "-m", "crawler.cli", "serve", "--config", args.config, "--port", str(port)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        if "nianbao dashboard:" not in line:
            raise SystemExit(f"server did not start: {line}{server.stderr.read()}")
        base = line.split("nianbao dashboard:")[1].strip()
        with urllib.request.urlopen(base, timeout=60) as resp:
            report = re.search(r'href="(/report/\d+)"', resp.read().decode())
        if report is None:
            raise SystemExit("the matrix links no report: is the database empty?")
        pages = {"matrix": base, "report": base.rstrip("/") + report.group(1)}
        print(f"server: {args.code}  ({args.requests} requests each, a new connection per request)")
        for name, url in pages.items():
            for concurrency in (1, 8):
                rps, p50, p95 = measure(url, args.requests, concurrency)
                print(
                    f"{name:7} c={concurrency}: {rps:7.1f} req/s  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms",
                    flush=True,
                )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            code = server.wait(15)
            _, err = server.communicate()
            traceback = "Traceback" in err
            print(f"SIGINT: exit {code}" + (", with a traceback on stderr" if traceback else ", cleanly"))
        except subprocess.TimeoutExpired:
            server.kill()
            print("SIGINT: still running after 15 s, killed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
