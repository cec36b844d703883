"""Scrapy settings, in one place, built from config.yaml's ``crawl`` section."""

from __future__ import annotations

from typing import Any

from config import Config

RETRY_HTTP_CODES = [500, 502, 503, 504, 521, 522, 524, 408, 429]
HTTP_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
# Only http(s) is ever fetched: Scrapy's file, data, s3 and ftp handlers are removed from the
# base (so a family that sets its own DOWNLOAD_HANDLERS, like the browser's, cannot bring them
# back) and disabled by name.  crawler.middlewares.ContainmentMiddleware refuses the rest.
DOWNLOAD_HANDLERS_BASE = {"http": HTTP_HANDLER, "https": HTTP_HANDLER}
NO_HANDLERS = {"file": None, "data": None, "s3": None, "ftp": None}


def build_settings(config: Config, *, log_level: str = "WARNING") -> dict[str, Any]:
    """The Scrapy settings for a crawl that stores into ``config``'s database."""
    crawl = config.section("crawl")
    per_host = int(crawl["concurrency_per_host"])
    delay = float(crawl["delay"])
    return {
        "BOT_NAME": "nianbao",
        "USER_AGENT": crawl["user_agent"],
        "ROBOTSTXT_OBEY": bool(crawl["obey_robots"]),
        "CONCURRENT_REQUESTS": max(16, per_host * 4),
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_host,
        "DOWNLOAD_DELAY": delay,
        "DOWNLOAD_DELAY_JITTER": 0.5,  # 0.5×–1.5× the delay, so requests do not beat in step
        # AutoThrottle adapts the delay to each host's latency; never faster than DOWNLOAD_DELAY.
        "AUTOTHROTTLE_ENABLED": bool(crawl["autothrottle"]) and delay > 0,
        "AUTOTHROTTLE_START_DELAY": max(delay, 0.1),
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(per_host),
        "RETRY_ENABLED": True,
        "RETRY_TIMES": int(crawl["retries"]),
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "DOWNLOAD_TIMEOUT": int(crawl["timeout"]),
        "DOWNLOAD_MAXSIZE": int(float(crawl["max_file_mb"]) * 2**20),
        "DOWNLOAD_WARNSIZE": 0,
        "COOKIES_ENABLED": True,
        # Scrapy starts this many cooperative tasks per response to drain its callback output
        # (default 100); our callbacks yield a handful of items, and the tasks cost ~1 ms a page.
        "CONCURRENT_ITEMS": 8,
        "ITEM_PIPELINES": {"crawler.pipelines.StoragePipeline": 300},
        "DOWNLOAD_HANDLERS_BASE": DOWNLOAD_HANDLERS_BASE,
        "DOWNLOAD_HANDLERS": NO_HANDLERS,
        "NIANBAO_ALLOWED_HOSTS": list(crawl["allowed_hosts"]),
        "DOWNLOADER_MIDDLEWARES": {
            # before robots.txt (100) is fetched for the request's host, and before everything else
            "crawler.middlewares.ContainmentMiddleware": 40,
            "crawler.middlewares.ChineseEncodingMiddleware": 950,
            # challenge pages, soft 404s, back-off on 0-byte/429/5xx, for every spider (registered
            # here only).  Between Retry (550) and cookies (700): it sees responses before Retry
            # does, and adds browser-earned cookies before the cookie middleware builds the header.
            "crawler.barriers.BarrierMiddleware": 650,
        },
        "NIANBAO_BROWSER_EXECUTABLE": crawl["browser"]["executable"],
        "NIANBAO_BROWSER_TIMEOUT": int(crawl["browser"]["timeout"]),
        "EXTENSIONS": {
            "crawler.progress.Progress": 500,
            "crawler.timebound.TimeBound": 510,
            # log_count/* per source, not per process (many sources crawl in one process)
            "scrapy.extensions.logcount.LogCount": None,
            "crawler.logcount.SourceLogCount": 0,
        },
        # A crawler is not a service to be remote-controlled: both open local ports by default.
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_LEVEL": log_level,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "NIANBAO_DB": str(config.storage_path),
    }
