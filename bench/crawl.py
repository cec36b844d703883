"""Crawl throughput: nianbao against a bare Scrapy spider on the same simulated URLs.

    .venv/bin/python bench/crawl.py [--counties 26] [--concurrency 8] [--browser-pages 60]

1. Serves a simulated region of at least 2,000 documents (26 counties ≈ 2,100 reports + ~980
   attachments) and renders every attachment first, so only crawling is timed.
2. Runs `nianbao crawl` on it (child process) and reads pages/s from the run's own stats.
3. Runs a bare Scrapy spider (bench/bare_spider.py) that fetches exactly the URLs nianbao
   requested, with the same concurrency and no processing: the framework's ceiling here.
4. Renders article pages through scrapy-playwright with Debian's Chromium.
Prints the figures and each run's peak memory (max RSS of the child process).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.portal import SimulatedPortal, big_region  # noqa: E402


def run_child(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stdout) of a child process, measured by wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{out.read()}\n{err.read()[-3000:]}")
        return wall, usage.ru_maxrss // 1024, out.read()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counties", type=int, default=26, help="simulated counties (26 ≈ 3,100 documents)")
    ap.add_argument("--concurrency", type=int, default=8, help="concurrent requests per host, both spiders")
    ap.add_argument(
        "--browser-pages", type=int, default=60, help="article pages to render in Chromium (0: skip)"
    )
    args = ap.parse_args()

    region = big_region(args.counties)
    portal = SimulatedPortal(region, per_page=20)
    with portal, tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        rendered = portal.prerender(processes=2)
        print(
            f"region: {len(region.published())} published reports, {rendered} attachments rendered in "
            f"{time.perf_counter() - t:.0f} s (not timed)"
        )
        tmp_path = Path(tmp)
        config = tmp_path / "config.yaml"
        config.write_text(
            "storage:\n  path: nianbao.db\n"
            f"crawl:\n  delay: 0\n  concurrency_per_host: {args.concurrency}\n  max_pages_per_source: 100000\n"
            f"sources:\n  - id: bench\n    name: bench\n    start_url: {portal.start_url}\n",
            encoding="utf-8",
        )
        portal.reset_requests()
        wall, rss, _ = run_child(
            [sys.executable, "-m", "crawler.cli", "--config", str(config), "crawl", "--quiet"]
        )
        import sqlite3

        db = sqlite3.connect(tmp_path / "nianbao.db")
        stats = json.loads(
            db.execute("SELECT stats_json FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
        )
        docs = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        ours = stats["pages"] / stats["elapsed_seconds"]
        print(
            f"nianbao:     {stats['pages']} pages, {docs} documents stored in {stats['elapsed_seconds']:.1f} s "
            f"→ {ours:.0f} pages/s (process wall {wall:.1f} s, peak RSS {rss} MB)"
        )

        urls = [u for u in portal.requests if not u.endswith("/robots.txt")]
        url_file = tmp_path / "urls.json"
        url_file.write_text(json.dumps(urls), encoding="utf-8")
        stats_file = tmp_path / "bare.json"
        bare_cmd = [
            sys.executable,
            str(ROOT / "bench" / "bare_spider.py"),
            str(url_file),
            str(stats_file),
            str(args.concurrency),
        ]
        wall, rss, _ = run_child(bare_cmd)
        bare_stats = json.loads(stats_file.read_text())
        bare = bare_stats["responses"] / bare_stats["elapsed"]
        print(
            f"bare Scrapy: {bare_stats['responses']} pages in {bare_stats['elapsed']:.1f} s → {bare:.0f} pages/s "
            f"(process wall {wall:.1f} s, peak RSS {rss} MB)"
        )
        print(f"ratio nianbao / bare Scrapy: {ours / bare:.2f} (target ≥ 0.7)")

        if args.browser_pages:
            pages = [u for u in urls if "/t20" in u and u.endswith(".html")][: args.browser_pages]
            url_file.write_text(json.dumps(pages), encoding="utf-8")
            wall, rss, _ = run_child([*bare_cmd[:-1], "4", "--browser"])
            b = json.loads(stats_file.read_text())
            print(
                f"Chromium:    {b['responses']} rendered pages in {b['elapsed']:.1f} s → "
                f"{b['responses'] / b['elapsed']:.1f} pages/s (python process peak RSS {rss} MB; "
                f"Chromium's own processes add ~600-700 MB)"
            )


if __name__ == "__main__":
    main()
