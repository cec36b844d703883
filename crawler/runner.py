"""Running crawls: one Scrapy crawler per source, all in one process, each recorded as a run."""

from __future__ import annotations

import json
import logging
import select
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess

from config import Config, ConfigError
from crawler.settings import build_settings
from crawler.stored import stored_fingerprint
from spiders import spider_for
from spiders.fingerprint import PAGE_SCHEME
from storage import Store
from storage.locks import crawl_lock

LOCK_GRACE = 2.0  # seconds to wait for a source's crawl lock before naming its holder


@dataclass
class RunResult:
    """What one source's crawl did."""

    source_id: str
    run_id: int
    status: str
    stats: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


def _offline_public_suffix_list() -> None:
    """Keep Scrapy's cookie middleware from fetching the Public Suffix List at run time.

    tldextract otherwise downloads it on the first cookie (and logs a traceback when offline);
    the snapshot bundled with tldextract is enough to scope cookies.
    """
    try:
        import scrapy.downloadermiddlewares.cookies as cookies
        import tldextract

        if hasattr(cookies, "_split_domain"):
            cookies._split_domain = tldextract.TLDExtract(
                suffix_list_urls=(), include_psl_private_domains=True
            )
    except ImportError:
        pass


EPOLL_REACTOR = "twisted.internet.epollreactor.EPollReactor"
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


def reactor_for(sources: list[dict]) -> str:
    """The Twisted reactor for a run: asyncio only when a source may need the browser.

    scrapy-playwright needs the asyncio reactor (Scrapy 2.19's default), but with it plain
    crawls stalled for about a second after every few responses on this machine (~25 pages/s
    against ~400 with epoll, same spider, same server); so runs without a browser use epoll.
    """
    browser = any(s.get("browser") or s.get("family") == "jsonly" for s in sources)
    return ASYNCIO_REACTOR if browser or not hasattr(select, "epoll") else EPOLL_REACTOR


def select_sources(config: Config, source_ids: list[str] | None) -> list[dict]:
    """The enabled sources, or exactly the ones asked for (ConfigError for an unknown id)."""
    if source_ids:
        return [config.source(sid) for sid in source_ids]
    sources = [s for s in config.sources if s.get("enabled", True)]
    if not sources:
        raise ConfigError(f"{config.path}: no enabled sources to crawl")
    return sources


def run_crawl(
    config: Config,
    source_ids: list[str] | None = None,
    *,
    revalidate: bool = False,
    log_level: str = "WARNING",
    quiet: bool = False,
) -> list[RunResult]:
    """Crawl the sources (all enabled ones by default) and record a run for each.

    Blocks until every crawl is done.  Twisted's reactor cannot restart, so call this once per
    process (the scheduler runs each crawl in a child process).

    Each source is locked first (``storage.locks.crawl_lock``): when another process is crawling
    one of them, nothing is crawled and LockHeld names that process.  A run that did not get to
    the end (a signal, a closespider reason, a cap, a document that could not be stored) is
    recorded ``interrupted``, never ``finished``; one left ``running`` by a killed process is
    closed as ``interrupted`` by the next crawl of its source.
    """
    sources = select_sources(config, source_ids)
    Store(config.storage_path).close()  # an unusable database is one clear error before any lock
    locks = []
    try:
        for source in sources:
            lock = crawl_lock(config.storage_path, source["id"])
            lock.acquire(wait=LOCK_GRACE)
            locks.append(lock)
        return _crawl_locked(config, sources, revalidate, log_level, quiet)
    finally:
        for lock in locks:
            lock.release()


def _crawl_locked(
    config: Config, sources: list[dict], revalidate: bool, log_level: str, quiet: bool
) -> list[RunResult]:
    _offline_public_suffix_list()
    settings = build_settings(config, log_level=log_level)
    settings["NIANBAO_QUIET"] = quiet
    settings["LOG_INSTALL_ROOT_HANDLER"] = True
    settings["TWISTED_REACTOR"] = reactor_for(sources)
    process = CrawlerProcess(settings)
    logging.getLogger("scrapy").setLevel(log_level)
    crawl_settings = config.section("crawl")
    started = []
    full_walks: dict[str, bool] = {}
    failures: dict[str, str] = {}
    with Store(config.storage_path) as store:
        # Versions stored before fingerprints: fill them in, drop chrome-only "modified" events.
        store.backfill_fingerprints(stored_fingerprint, PAGE_SCHEME)
        for source in sources:
            store.upsert_source(
                source["id"], source["name"], source["start_url"], source.get("family"), source
            )
            store.close_stale_runs(source["id"])  # we hold its lock: any 'running' run is dead
            cut_short = _cut_short_since_full_walk(store.runs(source["id"], limit=50))
            run_id = store.start_run(source["id"])
            known = store.known_urls(source["id"])
            full = (
                revalidate
                or _walk_due(store.last_full_walk(source["id"]), crawl_settings["revalidate_days"])
                or cut_short
            )
            full_walks[source["id"]] = full
            validators = {url: store.validators(url) for url in known} if full else {}
            children = store.attachments_by_page(source["id"]) if full else {}
            spider_cls = spider_for(source)
            if source.get("obey_robots") != crawl_settings["obey_robots"]:
                spider_cls = type(
                    spider_cls.__name__,
                    (spider_cls,),
                    {
                        "custom_settings": {
                            **(spider_cls.custom_settings or {}),
                            "ROBOTSTXT_OBEY": source["obey_robots"],
                        }
                    },
                )
            crawler = process.create_crawler(spider_cls)
            _count_unstored(crawler)
            done = process.crawl(
                crawler,
                source=source,
                known_urls=known,
                validators=validators,
                revalidate=full and bool(known),
                children=children,
                recheck=store.pages(source["id"]) if full else (),
                gone=store.gone_urls(source["id"]),
                orphans=store.orphan_attachments(source["id"]),
                max_pages=int(crawl_settings["max_pages_per_source"]),
                max_documents=int(crawl_settings["max_documents_per_run"]),
                run_id=run_id,
            )
            done.addErrback(_remember_failure, failures, source["id"])
            started.append((source, run_id, crawler))
    try:
        process.start()
    except BaseException as exc:
        # Stopped before Scrapy could finish (a storage error, Ctrl-C twice): the runs did not
        # complete, and say so.
        _close_unfinished(config, [run_id for _s, run_id, _c in started], exc)
        raise
    results = []
    with Store(config.storage_path) as store:
        for source, run_id, crawler in started:
            stats = _run_stats(crawler.stats.get_stats())
            stats["full_walk"] = full_walks[source["id"]]
            stats["health"] = _health(stats, store.runs(source["id"], limit=20))
            status, reason = _run_status(stats, failures.get(source["id"]))
            store.finish_run(run_id, status, stats, reason)
            results.append(RunResult(source["id"], run_id, status, stats, reason))
    return results


def _count_unstored(crawler: Crawler) -> None:
    """Count every item the pipeline failed to store (``nianbao/unstored``), loudly.

    Scrapy logs the exception and drops the item; the run must then not say ``finished``: the
    document is missing from the database although the portal served it.
    """

    def on_error(item: Any, response: Any, spider: Any, failure: Any) -> None:
        url = getattr(item, "url", None) or "?"
        crawler.stats.inc_value("nianbao/unstored")
        urls = crawler.stats.get_value("nianbao/unstored_urls") or []
        if len(urls) < 20:
            crawler.stats.set_value("nianbao/unstored_urls", [*urls, url])
        logging.getLogger(__name__).error("could not store %s: %s", url, failure.getErrorMessage())

    crawler.signals.connect(on_error, signal=signals.item_error, weak=False)


def _close_unfinished(config: Config, run_ids: list[int], exc: BaseException) -> None:
    """Record runs cut short by ``exc`` as interrupted (best effort: the database may be the cause)."""
    if not run_ids:
        return
    why = "stopped by Ctrl-C" if isinstance(exc, KeyboardInterrupt) else f"the crawl process failed: {exc}"
    try:
        with Store(config.storage_path) as store:
            for run_id in run_ids:
                store.finish_run(run_id, "interrupted", {}, why)
    except Exception:  # noqa: BLE001 - the original exception is the one to report
        logging.getLogger(__name__).exception("could not record runs %s as interrupted", run_ids)


def _remember_failure(failure, failures: dict[str, str], source_id: str) -> None:
    logging.getLogger(__name__).error("crawl of %s failed: %s", source_id, failure.getTraceback())
    failures[source_id] = f"crawler error: {failure.getErrorMessage()}"


def _walk_due(last: str | None, every_days: float) -> bool:
    """Whether a source is due a full walk: never walked, or the last one is older than the period.

    Ordinary crawls stop at the first list page that holds only known reports, which keeps a
    daily crawl of an unchanged portal to a handful of requests; the periodic full walk is what
    notices a report edited or removed after publication.
    """
    if last is None:
        return True
    age = datetime.now(UTC) - datetime.fromisoformat(last)
    return age.total_seconds() >= every_days * 86400


def _cut_short_since_full_walk(history: list[dict]) -> bool:
    """Whether a run since the last finished full walk (``history``: newest first) was cut short.

    Then the next crawl walks the whole column: the cut-short run stored the newest reports but
    maybe not the older new ones, and an incremental walk would stop at the first page of known
    reports before reaching them.
    """
    for run in history:
        if run["status"] == "finished" and json.loads(run["stats_json"] or "{}").get("full_walk"):
            return False
        if run["status"] in ("interrupted", "running"):
            return True
    return False


def _health(stats: dict[str, Any], history: list[dict]) -> str | None:
    """A warning for the monitor when a full walk lists no reports, or far fewer than the last one.

    Portals get redesigned and columns move: a crawl that "succeeds" with nothing in it is the
    quiet failure this catches.
    """
    if not stats["full_walk"]:
        return None
    if stats["listed"] == 0:
        return "no reports listed in the column"
    for run in history:
        previous = json.loads(run["stats_json"] or "{}")
        if run["status"] == "finished" and previous.get("full_walk") and previous.get("listed"):
            if stats["listed"] < 0.5 * previous["listed"]:
                return f"{stats['listed']} reports listed, against {previous['listed']} in run {run['id']}"
            return None
    return None


def _run_stats(raw: dict[str, Any]) -> dict[str, Any]:
    errors = raw.get("log_count/ERROR", 0) + sum(
        v for k, v in raw.items() if k.startswith("downloader/exception_type_count/")
    )
    return {
        "pages": raw.get("response_received_count", 0),
        "requests": raw.get("downloader/request_count", 0),
        "documents": raw.get("nianbao/documents", 0),
        "new_versions": raw.get("nianbao/new_version", 0),
        "unchanged": raw.get("nianbao/unchanged", 0),
        "reports": raw.get("nianbao/reports", 0),
        "copies": raw.get("nianbao/copies", 0),  # pages that re-post a report stored at another URL
        "listed": raw.get("nianbao/listed", 0),
        "backoffs": raw.get("nianbao/backoff", 0),
        "soft_404": raw.get("nianbao/soft_404", 0),
        "challenges_passed": raw.get("nianbao/challenges_passed", 0),
        "removed": raw.get("nianbao/removed", 0),
        "errors": errors,
        "blocked": raw.get("nianbao/blocked", 0) + raw.get("robotstxt/forbidden", 0),
        "blocked_reasons": raw.get("nianbao/blocked_reasons", [])
        + (["robots.txt disallows the column"] if raw.get("robotstxt/forbidden") else []),
        # URLs never fetched (crawler.containment, bad links), and the bound a run ran out of
        "refused": raw.get("nianbao/refused", 0),
        "refused_reasons": {
            k.split("/", 2)[2]: v for k, v in raw.items() if k.startswith("nianbao/refused/")
        },
        "http_statuses": {
            k.rsplit("/", 1)[-1]: v
            for k, v in raw.items()
            if k.startswith("downloader/response_status_count/")
        },
        "finish_reason": raw.get("finish_reason"),
        "capped": raw.get("nianbao/capped", 0),  # set when a page or document cap stops the walk
        "unstored": raw.get("nianbao/unstored", 0),
        "unstored_urls": raw.get("nianbao/unstored_urls", []),
        "needs_browser": raw.get("nianbao/needs_browser", []),
        "elapsed_seconds": raw.get("elapsed_time_seconds"),
    }


def _run_status(stats: dict[str, Any], failure: str | None = None) -> tuple[str, str | None]:
    """The run's status and why.

    failed: the crawler itself broke, or errors and nothing fetched.  interrupted: the crawl did
    not get to its end (see ``_incomplete``), whatever it stored.  blocked: robots, a barrier,
    or a list only a browser can see kept us out.  Else finished.
    """
    if failure:
        return "failed", failure
    incomplete = _incomplete(stats)
    if incomplete:
        return "interrupted", incomplete
    if stats["needs_browser"]:
        return "blocked", (
            f"the report list at {stats['needs_browser'][0]} is filled in by a script and the browser "
            "is off for this source: crawl it with browser: true"
        )
    if stats["blocked"] and not stats["documents"]:
        return "blocked", "; ".join(stats["blocked_reasons"]) or "blocked"
    if not stats["documents"] and stats["errors"]:
        return "failed", f"{stats['errors']} errors and no documents"
    return "finished", None


def _incomplete(stats: dict[str, Any]) -> str | None:
    """Why the crawl did not reach the end of its walk, or None when it did."""
    why = []
    reason = stats["finish_reason"]
    if reason == "shutdown":
        why.append("stopped by a signal before the end (finish reason shutdown)")
    elif reason != "finished":
        why.append(f"stopped before the end (finish reason {reason or 'none: the crawl never closed'})")
    if stats["capped"]:
        why.append(f"stopped at a crawl cap ({stats['capped']})")
    if stats["unstored"]:
        why.append(
            f"{stats['unstored']} fetched documents could not be stored "
            f"(first: {', '.join(stats['unstored_urls'][:3])})"
        )
    return "; ".join(why) or None
