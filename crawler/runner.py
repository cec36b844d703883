"""Running crawls: one Scrapy crawler per source, all in one process, each recorded as a run."""

from __future__ import annotations

import json
import logging
import select
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess

from config import Config, ConfigError
from crawler.settings import build_settings
from crawler.stored import stored_fingerprint
from spiders import spider_for
from spiders.fingerprint import PAGE_SCHEME
from storage import Store
from storage.locks import LockHeld, crawl_lock

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
    """Crawl the sources (all enabled ones by default) in this process; a run record for each.

    Blocks until every crawl is done.  Twisted's reactor cannot restart, so call this once per
    process (``nianbao.batches`` runs batches of sources in child processes).

    Many sources are crawled at once, at most ``crawl.sources_at_once``: when one ends, the next
    starts (``Batch``).  Politeness stays per host: each source has its own downloader with
    ``concurrency_per_host``, ``delay`` and AutoThrottle, and two sources on the same host never
    crawl at the same time.  Each source is locked (``storage.locks.crawl_lock``) while it crawls;
    a single source whose lock another process holds raises LockHeld naming that process, one of
    many is skipped (``not_started``) and the rest crawl.  A run that did not get to the end (a
    signal, a closespider reason, a cap, a document that could not be stored) is recorded
    ``interrupted``, never ``finished``; one left ``running`` by a killed process is closed as
    ``interrupted`` by the next crawl of its source.  Each run is closed as soon as its source
    ends, so a batch killed midway keeps the records of the sources it finished.
    """
    sources = select_sources(config, source_ids)
    Store(config.storage_path).close()  # an unusable database is one clear error before any lock
    return Batch(config, sources, revalidate=revalidate, log_level=log_level, quiet=quiet).run()


class _Process(CrawlerProcess):
    """A CrawlerProcess that remembers it was asked to stop (a signal), so no new source starts."""

    stopping = False

    def stop(self) -> Any:
        self.stopping = True
        return super().stop()


@dataclass
class _Active:
    source: dict
    run_id: int
    crawler: Crawler
    lock: Any
    full_walk: bool
    failure: str | None = None


class Batch:
    """Sources crawled by one process, at most ``sources_at_once`` at a time, one host at a time."""

    def __init__(
        self, config: Config, sources: list[dict], *, revalidate: bool, log_level: str, quiet: bool
    ) -> None:
        self.config = config
        self.crawl_settings = config.section("crawl")
        self.revalidate = revalidate
        self.at_once = max(1, int(self.crawl_settings["sources_at_once"]))
        self.pending: list[dict] = list(sources)
        self.active: dict[str, _Active] = {}
        self.results: dict[str, RunResult] = {}
        self.order = [s["id"] for s in sources]
        self.single = len(sources) == 1
        _offline_public_suffix_list()
        settings = build_settings(config, log_level=log_level)
        # One progress line per source is useful for a few sources; a batch prints its own summary.
        settings["NIANBAO_QUIET"] = quiet or len(sources) > PER_SOURCE_PROGRESS
        settings["LOG_INSTALL_ROOT_HANDLER"] = True
        settings["TWISTED_REACTOR"] = reactor_for(sources)
        self.quiet = quiet
        self.process = _Process(settings)
        logging.getLogger("scrapy").setLevel(log_level)
        self.store = Store(config.storage_path)

    # -- the batch ------------------------------------------------------------------------------

    def run(self) -> list[RunResult]:
        try:
            # Versions stored before fingerprints: fill them in, drop chrome-only "modified" events.
            self.store.backfill_fingerprints(stored_fingerprint, PAGE_SCHEME)
            self._fill(wait=LOCK_GRACE)
            summary = None
            if len(self.order) > PER_SOURCE_PROGRESS and not self.quiet:
                from twisted.internet import task

                summary = task.LoopingCall(self._summary)
                summary.start(SUMMARY_INTERVAL, now=False)
            handlers = _signal_handlers()
            try:
                self.process.start()
            except BaseException as exc:
                # Stopped before Scrapy could finish (a storage error, Ctrl-C twice): the runs
                # still open did not complete, and say so.
                _close_unfinished(self.config, [a.run_id for a in self.active.values()], exc)
                raise
            finally:
                _restore_signal_handlers(handlers)
            for source in self.pending:  # never started: stopped by a signal first
                self._not_started(source, "stopped before this source's turn")
            return [self.results[sid] for sid in self.order if sid in self.results]
        finally:
            for a in self.active.values():
                a.lock.release()
            self.store.close()

    def _summary(self) -> None:
        done = len(self.results)
        requests = sum(r.stats.get("requests", 0) for r in self.results.values())
        print(
            f"[batch] {done}/{len(self.order)} sources done, {len(self.active)} crawling, "
            f"{len(self.pending)} waiting; {requests} requests by the finished ones",
            file=sys.stderr,
            flush=True,
        )

    def _fill(self, wait: float = 0.0) -> None:
        """Start waiting sources until ``at_once`` crawl, skipping hosts already being crawled."""
        if self.process.stopping:
            return
        busy = {_host(a.source) for a in self.active.values()}
        i = 0
        while len(self.active) < self.at_once and i < len(self.pending):
            source = self.pending[i]
            if _host(source) in busy:
                i += 1  # its host is being crawled by another source: politeness is per host
                continue
            self.pending.pop(i)
            lock = crawl_lock(self.config.storage_path, source["id"])
            try:
                lock.acquire(wait=wait)
            except LockHeld as exc:
                if self.single:
                    raise
                self._not_started(source, str(exc))
                continue
            try:
                self._start(source, lock)
            except Exception:
                lock.release()
                raise
            busy.add(_host(source))

    def _start(self, source: dict, lock: Any) -> None:
        store, crawl_settings, sid = self.store, self.crawl_settings, source["id"]
        store.upsert_source(sid, source["name"], source["start_url"], source.get("family"), source)
        store.close_stale_runs(sid)  # we hold its lock: any 'running' run is dead
        cut_short = _cut_short_since_full_walk(store.runs(sid, limit=50))
        run_id = store.start_run(sid)
        known = store.known_urls(sid)
        full = (
            self.revalidate
            or _walk_due(store.last_full_walk(sid), crawl_settings["revalidate_days"])
            or cut_short
        )
        validators = {url: store.validators(url) for url in known} if full else {}
        children = store.attachments_by_page(sid) if full else {}
        crawler = self.process.create_crawler(_spider_class(source, crawl_settings))
        _count_unstored(crawler)
        active = _Active(source, run_id, crawler, lock, full)
        self.active[sid] = active
        done = self.process.crawl(
            crawler,
            source=source,
            known_urls=known,
            validators=validators,
            revalidate=full and bool(known),
            children=children,
            recheck=store.pages(sid) if full else (),
            gone=store.gone_urls(sid),
            orphans=store.orphan_attachments(sid),
            max_pages=int(crawl_settings["max_pages_per_source"]),
            max_documents=int(crawl_settings["max_documents_per_run"]),
            run_id=run_id,
        )
        done.addErrback(self._failed, active)
        done.addBoth(self._ended, active)

    def _failed(self, failure: Any, active: _Active) -> None:
        sid = active.source["id"]
        logging.getLogger(__name__).error("crawl of %s failed: %s", sid, failure.getTraceback())
        active.failure = f"crawler error: {failure.getErrorMessage()}"

    def _ended(self, _result: Any, active: _Active) -> None:
        """Close the source's run now, release its lock and start the next waiting source."""
        sid = active.source["id"]
        try:
            stats = _run_stats(active.crawler.stats.get_stats())
            stats["full_walk"] = active.full_walk
            stats["health"] = _health(stats, self.store.runs(sid, limit=20))
            status, reason = _run_status(stats, active.failure)
            self.store.finish_run(active.run_id, status, stats, reason)
            self.results[sid] = RunResult(sid, active.run_id, status, stats, reason)
        except Exception:  # noqa: BLE001 - one source's bookkeeping must not stop the batch
            logging.getLogger(__name__).exception("could not close the run of %s", sid)
            self.results[sid] = RunResult(
                sid, active.run_id, "interrupted", {}, "the run could not be closed"
            )
        finally:
            active.lock.release()
            del self.active[sid]
        try:
            self._fill()
        except Exception:  # noqa: BLE001 - the sources that crawl go on; the rest are reported
            logging.getLogger(__name__).exception("could not start the next source")
            for source in self.pending:
                self._not_started(source, "the batch could not start it (see the log)")
            self.pending = []

    def _not_started(self, source: dict, why: str) -> None:
        self.results[source["id"]] = RunResult(source["id"], 0, "not_started", {}, why)


PER_SOURCE_PROGRESS = 5  # more sources than this: one summary line for the batch instead
SUMMARY_INTERVAL = 10.0  # seconds between batch summary lines


def _host(source: dict) -> str:
    """The host (with its port) a source starts on: two sources there never crawl at once."""
    return urlsplit(source["start_url"]).netloc.lower()


def _spider_class(source: dict, crawl_settings: dict) -> type:
    """The source's spider class, with its own robots.txt choice and time bound."""
    spider_cls = spider_for(source)
    own = {**(spider_cls.custom_settings or {})}
    if source.get("obey_robots") != crawl_settings["obey_robots"]:
        own["ROBOTSTXT_OBEY"] = source["obey_robots"]
    # One slow portal must not hold its batch: past this, it stops like a cap (interrupted).
    own["NIANBAO_MAX_SECONDS"] = float(crawl_settings["max_minutes_per_source"]) * 60
    return type(spider_cls.__name__, (spider_cls,), {"custom_settings": own})


def _signal_handlers() -> dict[int, Any]:
    """The SIGINT/SIGTERM/SIGBREAK handlers now, before Scrapy installs its own."""
    import signal

    wanted = [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, n)]
    return {s: signal.getsignal(s) for s in wanted}


def _restore_signal_handlers(handlers: dict[int, Any]) -> None:
    """Put back what Scrapy replaced: its handlers outlive the crawl and would swallow a later
    Ctrl-C (``demo --serve`` serves after crawling in the same process)."""
    import signal

    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)


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
        stats = json.loads(run["stats_json"] or "{}")
        if run["status"] == "finished" and stats.get("walk_incomplete"):
            return True  # it finished, but a list page or document failed for good
        if run["status"] == "finished" and stats.get("full_walk"):
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
        v
        for k, v in raw.items()
        if k.startswith("downloader/exception_type_count/") and not k.endswith(".IgnoreRequest")
    )  # IgnoreRequest: a request we dropped on purpose (refused, or past the time bound)
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
        # pages or documents that failed for good (after retries), robots, blocks: the walk may
        # have missed reports, so it proves no absence (spiders.base.PortalSpider.walk_incomplete)
        "walk_incomplete": raw.get("nianbao/walk_incomplete"),
        "unstored": raw.get("nianbao/unstored", 0),
        "unstored_urls": raw.get("nianbao/unstored_urls", []),
        "needs_browser": raw.get("nianbao/needs_browser", []),
        "elapsed_seconds": raw.get("elapsed_time_seconds"),
        "time_limit": raw.get("nianbao/time_limit"),
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
    if not stats["documents"] and not stats["listed"] and stats["walk_incomplete"]:
        # Every page it asked for answered an error (a portal down with 500s): not a crawl that
        # found nothing, a crawl that could read nothing.
        codes = ", ".join(f"HTTP {k} ×{v}" for k, v in sorted(stats["http_statuses"].items()))
        return "failed", f"nothing could be read ({stats['walk_incomplete']}; {codes})"
    return "finished", None


def _incomplete(stats: dict[str, Any]) -> str | None:
    """Why the crawl did not reach the end of its walk, or None when it did."""
    why = []
    reason = stats["finish_reason"]
    if reason == "shutdown":
        why.append("stopped by a signal before the end (finish reason shutdown)")
    elif reason == "time_limit":
        why.append(
            f"stopped after {stats['time_limit'] / 60:g} minutes, its time bound "
            "(crawl.max_minutes_per_source)"
        )
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
