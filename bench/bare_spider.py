"""The framework's ceiling: a Scrapy spider that fetches a list of URLs and does nothing else.

    python bench/bare_spider.py URLS.json STATS.json CONCURRENCY [--browser]

With --browser every page is rendered by scrapy-playwright in Debian's Chromium, and the
browser's processes are sampled every 0.25 s for their memory (PSS, so pages shared between
Chromium's processes count once).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import scrapy
from scrapy.crawler import CrawlerProcess


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: list[str], browser: bool, **kw):
        super().__init__(**kw)
        self.urls = urls
        self.browser = browser
        self.responses = 0
        self.started = time.perf_counter()

    async def start(self):
        self.started = time.perf_counter()
        for url in self.urls:
            yield scrapy.Request(url, self.parse, meta={"playwright": self.browser}, dont_filter=True)

    def parse(self, response):
        self.responses += 1
        return None


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Chromium runs under Playwright's node driver)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def pss_mb(pids: list[int]) -> float:
    """Proportional set size of these processes together, in MB."""
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total_kb / 1024


class BrowserMemory(threading.Thread):
    """Samples the peak memory of this process's child processes (the browser) until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.25):
            self.peak_mb = max(self.peak_mb, pss_mb(descendants(os.getpid())))


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        urls = json.load(f)
    stats_path, concurrency = sys.argv[2], int(sys.argv[3])
    browser = "--browser" in sys.argv
    settings = {
        "CONCURRENT_REQUESTS": max(16, concurrency * 4),
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0,
        "ROBOTSTXT_OBEY": False,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        # the reactor nianbao's runner picks for the same run (crawler.runner.reactor_for)
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
        if browser
        else "twisted.internet.epollreactor.EPollReactor",
    }
    if browser:
        handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
        settings |= {
            "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
            "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": "/usr/bin/chromium", "headless": True},
            "PLAYWRIGHT_MAX_CONTEXTS": 1,
            "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": concurrency,
        }
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, urls=urls, browser=browser)
    memory = BrowserMemory()
    memory.start()
    process.start()
    memory.done.set()
    spider = crawler.spider
    elapsed = crawler.stats.get_value("elapsed_time_seconds") or (time.perf_counter() - spider.started)
    with open(stats_path, "w", encoding="utf-8") as f:
        json.dump(
            {"responses": spider.responses, "elapsed": elapsed, "browser_pss_mb": round(memory.peak_mb)}, f
        )


if __name__ == "__main__":
    main()
