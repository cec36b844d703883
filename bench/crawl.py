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
import sqlite3
import statistics
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
        "--rounds", type=int, default=3, help="alternating runs of each spider (medians reported)"
    )
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
        ours_runs, bare_runs = [], []
        urls: list[str] = []
        for round_no in range(1, args.rounds + 1):
            # Alternate the two, so a slow moment of the machine does not fall on one side only.
            ours, urls = crawl_with_nianbao(portal, tmp_path / f"round{round_no}", args.concurrency)
            bare = crawl_bare(urls, tmp_path, args.concurrency)
            ours_runs.append(ours)
            bare_runs.append(bare)
            print(f"round {round_no}: ratio {ours / bare:.2f}")
        ours, bare = statistics.median(ours_runs), statistics.median(bare_runs)
        ratios = sorted(o / b for o, b in zip(ours_runs, bare_runs, strict=True))
        print(
            f"median of {args.rounds} rounds: nianbao {ours:.0f} pages/s, bare Scrapy {bare:.0f} pages/s, "
            f"ratio {ours / bare:.2f} (per round {ratios[0]:.2f}–{ratios[-1]:.2f}; target ≥ 0.7)"
        )

        if args.browser_pages:
            pages = [u for u in urls if "/t20" in u and u.endswith(".html")][: args.browser_pages]
            b, rss = run_bare(pages, tmp_path, 4, browser=True)
            print(
                f"Chromium:    {b['responses']} rendered pages in {b['elapsed']:.1f} s → "
                f"{b['responses'] / b['elapsed']:.1f} pages/s (python process peak RSS {rss} MB, "
                f"Chromium's processes peak {b['browser_pss_mb']} MB together)"
            )


def crawl_with_nianbao(portal: SimulatedPortal, workdir: Path, concurrency: int) -> tuple[float, list[str]]:
    """One first crawl of the portal by `nianbao crawl`: (pages/s, the URLs it requested)."""
    workdir.mkdir()
    config = workdir / "config.yaml"
    config.write_text(
        "storage:\n  path: nianbao.db\n"
        f"crawl:\n  delay: 0\n  concurrency_per_host: {concurrency}\n  max_pages_per_source: 100000\n"
        f"sources:\n  - id: bench\n    name: bench\n    start_url: {portal.start_url}\n",
        encoding="utf-8",
    )
    portal.reset_requests()
    wall, rss, _ = run_child([sys.executable, "-m", "nianbao", "--config", str(config), "crawl", "--quiet"])
    db = sqlite3.connect(workdir / "nianbao.db")
    stats = json.loads(db.execute("SELECT stats_json FROM crawl_runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    docs = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    db.close()
    speed = stats["pages"] / stats["elapsed_seconds"]
    print(
        f"nianbao:     {stats['pages']} pages, {docs} documents stored in {stats['elapsed_seconds']:.1f} s "
        f"→ {speed:.0f} pages/s (process wall {wall:.1f} s, peak RSS {rss} MB)"
    )
    return speed, [u for u in portal.requests if not u.endswith("/robots.txt")]


def crawl_bare(urls: list[str], workdir: Path, concurrency: int) -> float:
    """The same URLs fetched by the bare spider: pages/s."""
    stats, rss = run_bare(urls, workdir, concurrency)
    speed = stats["responses"] / stats["elapsed"]
    print(
        f"bare Scrapy: {stats['responses']} pages in {stats['elapsed']:.1f} s → {speed:.0f} pages/s "
        f"(peak RSS {rss} MB)"
    )
    return speed


def run_bare(urls: list[str], workdir: Path, concurrency: int, browser: bool = False) -> tuple[dict, int]:
    """Run bench/bare_spider.py on ``urls``: (its stats, its peak RSS in MB)."""
    url_file, stats_file = workdir / "urls.json", workdir / "bare.json"
    url_file.write_text(json.dumps(urls), encoding="utf-8")
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "bare_spider.py"),
        str(url_file),
        str(stats_file),
        str(concurrency),
    ]
    _, rss, _ = run_child(cmd + (["--browser"] if browser else []))
    return json.loads(stats_file.read_text()), rss


if __name__ == "__main__":
    main()
