"""The coordinator's side: send batches of sources to workers, ingest what they deliver.

``crawl_batches(config, batches)`` is the whole cycle: for each batch, the sources are grouped
by queue (``sources[].queue``, else ``distributed.default_queue``) into tasks of at most
``distributed.sources_per_task``; each task carries its sources' configuration, the crawl
settings and the incremental state (``storage.deliveries.export_state``), and is recorded in the
delivery ledger *before* it is sent.  Then results are read from the stream and replayed into the
database until every task is delivered or ``task_timeout`` passes.

Restarting is safe at any moment: tasks already sent and not yet delivered (the ledger's 'sent'
rows) are waited for again, never sent twice, and their sources are left out of new tasks;
results read but not stored are read again (``distributed.delivery``); a result stored already
is not stored twice.  Run times are put on the broker's clock (``_broker_time``), so a worker
with a wrong clock cannot move them; fetches, checks and events are stamped on ingest.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from config import Config
from crawler.runner import RunResult, select_sources
from crawler.stored import stored_fingerprint
from distributed import delivery
from distributed.app import TASK_NAME, make_app, settings
from spiders.fingerprint import PAGE_SCHEME
from storage import Store, now_iso
from storage.deliveries import (
    DeliveryRefused,
    delivery_states,
    expire,
    export_state,
    ingest,
    outstanding,
    record_sent,
    refuse,
)
from storage.locks import crawl_lock

log = logging.getLogger(__name__)


def queue_of(config: Config, source: dict[str, Any]) -> str:
    return source.get("queue") or settings(config)["default_queue"]


def crawl_batches(
    config: Config, batches: Iterable[list[str]], *, revalidate: bool = False, poll_ms: int = 1000
) -> list[RunResult]:
    """Crawl ``batches`` (lists of source ids) on the workers; one RunResult per source delivered.

    Sources of tasks a previous coordinator sent and that are still out are not sent again:
    their results are waited for with the rest.
    """
    section = settings(config)
    delivery.check(config)
    app = make_app(config)
    r = delivery.client(config)
    with Store(config.storage_path) as store:
        # As a local crawl does first: fingerprints for versions stored before they existed, so
        # the spool (which has hashes, not bytes) compares like-for-like.
        store.backfill_fingerprints(stored_fingerprint, PAGE_SCHEME)
        pending = outstanding(store)
        busy = {sid for task in pending.values() for sid in task["sources"]}
        if pending:
            log.info("waiting for %d tasks sent before: %s", len(pending), sorted(busy))
        tasks = list(pending)
        for batch in batches:
            if not batch:  # select_sources reads "no ids" as "every source"
                continue
            sources = [s for s in select_sources(config, list(batch)) if s["id"] not in busy]
            for s in [s for s in sources if crawl_lock(store.path, s["id"]).held_by() is not None]:
                log.warning("%s is being crawled here by another process: not sent", s["id"])
                sources.remove(s)
            for queue, chunk in _tasks(config, sources, int(section["sources_per_task"])):
                tasks.append(_send(config, app, store, queue, chunk, revalidate))
        return _collect(config, r, store, tasks, float(section["task_timeout"]), poll_ms)


def _tasks(config: Config, sources: list[dict], size: int) -> list[tuple[str, list[dict]]]:
    by_queue: dict[str, list[dict]] = {}
    for s in sources:
        by_queue.setdefault(queue_of(config, s), []).append(s)
    return [(q, group[i : i + size]) for q, group in by_queue.items() for i in range(0, len(group), size)]


def _send(config: Config, app: Any, store: Store, queue: str, sources: list[dict], revalidate: bool) -> str:
    ids = [s["id"] for s in sources]
    for s in sources:  # as a local crawl does, so the seed carries the current configuration
        store.upsert_source(s["id"], s["name"], s["start_url"], s.get("family"), s)
    payload = {
        "sources": sources,
        "crawl": config.section("crawl"),
        "state": export_state(store, ids),
        "revalidate": revalidate,
        "reply_to": delivery.stream(config),
    }
    task_id = str(uuid.uuid4())
    record_sent(store, task_id, ids, queue)  # first: a result is accepted only for a task recorded
    app.send_task(TASK_NAME, args=[payload], queue=queue, task_id=task_id, argsrepr=repr(ids))
    log.info("sent task %s to queue %s: %s", task_id, queue, ids)
    return task_id


def _collect(
    config: Config, r: Any, store: Store, tasks: list[str], timeout: float, poll_ms: int
) -> list[RunResult]:
    """Ingest results until no task in ``tasks`` is waiting; expire those past ``timeout``."""
    while True:
        waiting = {t: v for t, v in outstanding(store).items() if t in tasks}
        if not waiting:
            break
        now = datetime.now(UTC)
        for task_id, task in waiting.items():
            if now - datetime.fromisoformat(task["sent_at"]) > timedelta(seconds=timeout):
                n = expire(store, task_id, f"no result within distributed.task_timeout ({timeout:g} s)")
                log.warning("task %s: gave up waiting for %d sources", task_id, n)
        for received in delivery.receive(config, r, block_ms=poll_ms):
            _ingest_one(store, received)
            delivery.done(config, r, received.entry_id)
    results = []
    for row in delivery_states(store, tasks):
        if row["run_id"] is None:
            results.append(RunResult(row["source_id"], 0, "failed", {}, row["reason"] or row["state"]))
            continue
        results.append(_run(store, row["run_id"], row["source_id"]))
    return results


def _run(store: Store, run_id: int, source_id: str) -> RunResult:
    for run in store.runs(source_id, limit=50):
        if run["id"] == run_id:
            return RunResult(
                source_id, run_id, run["status"], json.loads(run["stats_json"] or "{}"), run["reason"]
            )
    return RunResult(source_id, run_id, "failed", {}, "run not found")


def _ingest_one(store: Store, received: delivery.Received) -> None:
    header = received.header
    if header is None:
        log.error("result %s refused: %s", received.entry_id, received.problem)
        return
    task_id, sid, worker = header.get("task_id"), header.get("source_id"), str(header.get("worker"))
    if received.problem:
        refuse(store, task_id, sid, worker, received.problem)
        log.error("result of task %s for %s refused: %s", task_id, sid, received.problem)
        return
    offset = received.broker_time - float(header["worker_clock"])
    result = header["result"]
    if result.get("source_id") != sid:
        refuse(store, task_id, sid, worker, "the result names another source than its header")
        return
    try:
        run_id = ingest(
            store,
            task_id,
            result,
            received.bodies,
            worker=worker,
            started_at=_broker_time(result["run"]["started_at"], offset, task_id, store),
            clock_offset=round(offset, 3),
        )
    except DeliveryRefused as exc:
        refuse(store, task_id, sid, worker, str(exc))
        log.error("result of task %s for %s refused: %s", task_id, sid, exc)
        return
    if run_id is None:
        log.info("result of task %s for %s was stored before: skipped", task_id, sid)
    else:
        log.info(
            "task %s: %s ingested as run %d (worker %s, clock %+.1f s)", task_id, sid, run_id, worker, offset
        )


def _broker_time(worker_time: str | None, offset: float, task_id: str, store: Store) -> str:
    """A worker's timestamp on the broker's clock, kept between the task's sending and now."""
    now = datetime.fromisoformat(now_iso())
    sent = min((datetime.fromisoformat(r["sent_at"]) for r in delivery_states(store, [task_id])), default=now)
    try:
        at = datetime.fromisoformat(worker_time or "") + timedelta(seconds=offset)
    except ValueError:
        at = now
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return min(max(at, sent), now).replace(microsecond=0).isoformat()
