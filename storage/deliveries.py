"""Crawls done on another machine: the state they start from, and their results coming back.

A remote crawl (``distributed``) runs the ordinary crawl into a *spool*: a private nianbao
database on the worker, seeded with what the coordinator knows of the task's sources, so the
crawl decides exactly as it would here (which URLs are known, their validators, which documents
are gone, whether a full walk is due, the latest version's hash and fingerprint of each
document).  Its results are then *replayed* here through the same Store calls the crawl pipeline
makes (``record_fetch``, ``record_not_modified``, ``record_gone``), in the order it made them,
so versions, checks and events come out as a local crawl would have made them.

- ``export_state(store, source_ids)``: the seed, as plain JSON-ready rows;
- ``seed_spool(spool, state, shift)``: writes it into an empty spool database;
- ``spool_results(spool, after_run)``: per source, the run and the ordered operations to replay;
- ``ingest(store, task_id, result, ...)``: replays one source's result in one transaction.

The ``deliveries`` ledger makes ingest idempotent and bounded: a (task, source) pair is ingested
once ('sent' → 'ingested'); a result for a pair never sent is refused; every operation's URL
must belong to a source of the same task (or be new).  Bytes are addressed by their sha256:
a version whose bytes the coordinator already holds is delivered without them.

Seeded blobs are placeholders (compression ``seed``, no bytes): the spool only compares hashes
and fingerprints, and ``spool_results`` never ships a placeholder — the coordinator has those
bytes.  Times: the coordinator stamps every fetch, check and event when it ingests them; only a
run's start comes from the worker, shifted onto the coordinator's clock by the caller.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from storage.blobs import get_blob
from storage.locks import crawl_lock
from storage.store import Fetched, Store, _insert, _update, now_iso

SEED_COMPRESSION = "seed"  # a placeholder blob in a spool: the coordinator holds the bytes
HISTORY_RUNS = 50  # the runs a crawl reads back (crawler.runner: cut-short runs, health)


class DeliveryRefused(Exception):
    """A worker's result that must not be stored; the message says why."""


# -- the ledger ---------------------------------------------------------------------------------


def record_sent(store: Store, task_id: str, source_ids: Iterable[str], queue: str) -> None:
    """Note that ``task_id`` crawls ``source_ids``: only these results will be accepted for it."""
    at = now_iso()
    with store.transaction():
        for sid in source_ids:
            _insert(
                store.db.conn,
                "deliveries",
                {"task_id": task_id, "source_id": sid, "queue": queue, "state": "sent", "sent_at": at},
            )


def outstanding(store: Store) -> dict[str, dict[str, Any]]:
    """task id → {"sources": [...], "sent_at", "queue"} for every task not fully delivered."""
    out: dict[str, dict[str, Any]] = {}
    for task_id, sid, sent_at, queue in store.db.execute(
        "SELECT task_id, source_id, sent_at, queue FROM deliveries WHERE state = 'sent' ORDER BY id"
    ):
        task = out.setdefault(task_id, {"sources": [], "sent_at": sent_at, "queue": queue})
        task["sources"].append(sid)
    return out


def delivery_states(store: Store, task_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The ledger rows of these tasks."""
    ids = list(task_ids)
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return list(store.db.query(f"SELECT * FROM deliveries WHERE task_id IN ({marks}) ORDER BY id", ids))


def expire(store: Store, task_id: str, reason: str) -> int:
    """Give up waiting for a task's remaining results: each such source gets a failed run saying
    why (its health shows it), and a result coming later is refused.  Returns how many."""
    with store.transaction():
        pending = store.db.execute(
            "SELECT id, source_id FROM deliveries WHERE task_id = ? AND state = 'sent'", [task_id]
        ).fetchall()
        for row_id, source_id in pending:
            run_id = _failed_run(store, source_id, None, reason)
            _update(
                store.db.conn, "deliveries", row_id, {"state": "expired", "reason": reason, "run_id": run_id}
            )
        return len(pending)


def _failed_run(store: Store, source_id: str, worker: str | None, reason: str) -> int:
    run_id = _insert(
        store.db.conn,
        "crawl_runs",
        {"source_id": source_id, "started_at": now_iso(), "status": "running", "worker": worker},
    )
    store.finish_run(run_id, "failed", {}, reason)
    return run_id


# -- the seed -----------------------------------------------------------------------------------


def export_state(store: Store, source_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """What a crawl of ``source_ids`` reads from the database, as rows to seed a spool with.

    Runs left 'running' by a dead crawl are closed first, as a local crawl does (under each
    source's crawl lock, so a live local crawl of a source makes this raise LockHeld).
    """
    for sid in source_ids:
        lock = crawl_lock(store.path, sid)
        lock.acquire(wait=2.0)
        try:
            store.close_stale_runs(sid)
        finally:
            lock.release()
    marks = ", ".join("?" * len(source_ids))
    db = store.db
    sources = list(db.query(f"SELECT * FROM sources WHERE id IN ({marks})", source_ids))
    runs: list[dict[str, Any]] = []
    for sid in source_ids:
        rows = list(
            db.query(
                "SELECT * FROM crawl_runs WHERE source_id = ? ORDER BY id DESC LIMIT ?", [sid, HISTORY_RUNS]
            )
        )
        last_walk = list(
            db.query(
                "SELECT * FROM crawl_runs WHERE source_id = ? AND status = 'finished' "
                "AND json_extract(stats_json, '$.full_walk') = 1 ORDER BY id DESC LIMIT 1",
                [sid],
            )
        )
        seen = {r["id"] for r in rows}
        runs += rows + [r for r in last_walk if r["id"] not in seen]
    documents = list(
        db.query(f"SELECT * FROM documents WHERE source_id IN ({marks}) ORDER BY id", source_ids)
    )
    ids = {d["id"] for d in documents}
    parents = {d["parent_id"] for d in documents if d["parent_id"] and d["parent_id"] not in ids}
    if parents:  # a page of another source that one of these attachments hangs on
        pmarks = ", ".join("?" * len(parents))
        documents += list(db.query(f"SELECT * FROM documents WHERE id IN ({pmarks})", sorted(parents)))
    versions = list(
        db.query(
            "SELECT v.* FROM versions v WHERE v.id IN (SELECT MAX(w.id) FROM versions w JOIN documents d "
            f"ON d.id = w.document_id WHERE d.source_id IN ({marks}) GROUP BY w.document_id) ORDER BY v.id",
            source_ids,
        )
    )
    return {"sources": sources, "runs": runs, "documents": documents, "versions": versions}


def seed_spool(spool: Store, state: dict[str, list[dict[str, Any]]], shift: float = 0.0) -> int:
    """Write ``state`` (from ``export_state``) into the empty spool database; returns the highest
    seeded run id (the spool's own runs come after it).

    ``shift``: seconds to add to the seeded run times, to put them on this machine's clock (a
    full walk is due by the age of the last one).  Column names are checked against the tables:
    the state arrives over the network.
    """
    tables = {
        "sources": state.get("sources", []),
        "crawl_runs": state.get("runs", []),
        "documents": state.get("documents", []),
        "versions": state.get("versions", []),
    }
    conn = spool.db.conn
    with spool.transaction():
        conn.execute("PRAGMA defer_foreign_keys = ON")  # parents may come after their attachments
        for table, rows in tables.items():
            columns = set(spool.db[table].columns_dict)
            for row in rows:
                unknown = set(row) - columns
                if unknown:
                    raise DeliveryRefused(f"seed row for {table} has unknown columns {sorted(unknown)}")
                if table == "crawl_runs":
                    row = {**row, **{k: _shifted(row.get(k), shift) for k in ("started_at", "finished_at")}}
                if table == "versions":
                    conn.execute(
                        "INSERT OR IGNORE INTO blobs (sha256, size, compression, data) VALUES (?, ?, ?, ?)",
                        [row["sha256"], row.get("size") or 0, SEED_COMPRESSION, b""],
                    )
                _insert(conn, table, row)
    return max((r["id"] for r in tables["crawl_runs"]), default=0)


def _shifted(value: str | None, seconds: float) -> str | None:
    if not value or not seconds:
        return value
    return (datetime.fromisoformat(value) + timedelta(seconds=seconds)).isoformat()


# -- results ------------------------------------------------------------------------------------


def spool_results(
    spool: Store, after_run: int, *, closed_only: bool = False, skip: Collection[str] = ()
) -> list[dict[str, Any]]:
    """Per source crawled in the spool since run ``after_run``: its run, the operations to
    replay in order, and the sha256 of every blob the coordinator lacks (read with
    ``spool_blob``).  ``closed_only``: only sources whose run has ended (while the crawl goes
    on; a run is closed after everything of its source is stored); ``skip``: sources left out.
    """
    out = []
    sql = "SELECT * FROM crawl_runs WHERE id > ?" + (" AND status != 'running'" if closed_only else "")
    runs = [r for r in spool.db.query(sql + " ORDER BY id", [after_run]) if r["source_id"] not in skip]
    for run in runs:
        ops: list[dict[str, Any]] = []
        blobs: list[str] = []
        rows = spool.db.query(
            "SELECT c.outcome, c.http_status AS check_status, c.document_id, d.*, p.url AS parent_url, "
            "v.sha256 AS v_sha256, v.headers_json AS v_headers, v.content_type AS v_content_type, "
            "v.fingerprint AS v_fingerprint, b.compression AS b_compression "
            "FROM checks c JOIN documents d ON d.id = c.document_id "
            "LEFT JOIN documents p ON p.id = d.parent_id LEFT JOIN versions v ON v.id = c.version_id "
            "LEFT JOIN blobs b ON b.sha256 = v.sha256 WHERE c.run_id = ? ORDER BY c.id",
            [run["id"]],
        )
        for r in rows:
            if r["outcome"] in ("new_version", "unchanged"):
                if r["outcome"] == "new_version":
                    headers = json.loads(r["v_headers"] or "{}")
                    if r["b_compression"] != SEED_COMPRESSION and r["v_sha256"] not in blobs:
                        blobs.append(r["v_sha256"])
                else:  # same bytes or fingerprint as the latest version: replayed with those
                    headers = {"etag": r["etag"], "last-modified": r["last_modified"]}
                ops.append(
                    {
                        "op": "fetch",
                        "url": r["url"],
                        "kind": r["kind"],
                        "parent_url": r["parent_url"],
                        "title": r["title"],
                        "column_name": r["column_name"],
                        "published_at": r["published_at"],
                        "date_source": r["date_source"],
                        "list_date": r["list_date"],
                        "url_date": r["url_date"],
                        "filename": r["filename"],
                        "meta": json.loads(r["meta_json"] or "{}"),
                        "content_key": r["content_key"],
                        "fingerprint": r["v_fingerprint"],
                        "http_status": r["check_status"],
                        "headers": {k: v for k, v in headers.items() if v is not None},
                        "content_type": r["v_content_type"] or "",
                        "sha256": r["v_sha256"],
                    }
                )
            elif r["outcome"] == "not_modified":
                ops.append({"op": "not_modified", "url": r["url"], "http_status": r["check_status"]})
            elif r["outcome"] == "gone":
                event = spool.db.execute(
                    "SELECT detail_json FROM events WHERE document_id = ? AND kind = 'removed' "
                    "ORDER BY id DESC LIMIT 1",
                    [r["document_id"]],
                ).fetchone()
                reason = json.loads(event[0] or "{}").get("reason", "") if event else ""
                ops.append(
                    {"op": "gone", "url": r["url"], "http_status": r["check_status"], "reason": reason}
                )
        out.append(
            {
                "source_id": run["source_id"],
                "run": {
                    "started_at": run["started_at"],
                    "status": run["status"],
                    "reason": run["reason"],
                    "stats": json.loads(run["stats_json"] or "{}"),
                },
                "ops": ops,
                "blobs": blobs,
            }
        )
    return out


def spool_blob(spool: Store, digest: str) -> bytes:
    return get_blob(spool.db, digest)


# -- ingest -------------------------------------------------------------------------------------


def ingest(
    store: Store,
    task_id: str,
    result: dict[str, Any],
    bodies: dict[str, bytes],
    *,
    worker: str,
    started_at: str,
    clock_offset: float,
) -> int | None:
    """Replay one source's result (from ``spool_results``) into the database, all or nothing.

    Returns the new run's id, or None when this (task, source) was ingested already.  Raises
    DeliveryRefused, storing nothing, when the task never named the source or an operation
    names a document of a source outside the task; ``refuse`` then records why.  ``bodies``:
    sha256 → bytes for the new bytes (the caller has checked each hash); other bytes are the
    coordinator's own.
    """
    sid = result["source_id"]
    with store.transaction():
        row = store.db.execute(
            "SELECT state FROM deliveries WHERE task_id = ? AND source_id = ?", [task_id, sid]
        ).fetchone()
        if row is None:
            raise DeliveryRefused(f"task {task_id} did not name source {sid!r}")
        if row[0] == "ingested":
            return None
        if row[0] != "sent":
            raise DeliveryRefused(f"task {task_id} for {sid!r} is {row[0]}")
        allowed = {
            r[0] for r in store.db.execute("SELECT source_id FROM deliveries WHERE task_id = ?", [task_id])
        }
        for op in result["ops"]:
            owner = store.db.execute("SELECT source_id FROM documents WHERE url = ?", [op["url"]]).fetchone()
            if owner is not None and owner[0] not in allowed:
                raise DeliveryRefused(f"{op['url']} belongs to source {owner[0]!r}, not to task {task_id}")
        run = result["run"]
        run_id = _insert(
            store.db.conn,
            "crawl_runs",
            {"source_id": sid, "started_at": started_at, "status": "running", "worker": worker},
        )
        for op in result["ops"]:
            _replay(store, op, sid, run_id, lambda digest: _body(store, bodies, digest))
        store.finish_run(run_id, run["status"], run["stats"], run["reason"])
        store.db.execute(
            "UPDATE deliveries SET state = 'ingested', ingested_at = ?, run_id = ?, worker = ?, "
            "clock_offset = ? WHERE task_id = ? AND source_id = ?",
            [now_iso(), run_id, worker, clock_offset, task_id, sid],
        )
        return run_id


def refuse(store: Store, task_id: str, source_id: str, worker: str, reason: str) -> int | None:
    """Record a refused result: the (task, source) is closed as 'rejected' and the source gets a
    failed run saying why, so its health shows it.  None when the pair was never sent."""
    with store.transaction():
        row = store.db.execute(
            "SELECT id, state FROM deliveries WHERE task_id = ? AND source_id = ?", [task_id, source_id]
        ).fetchone()
        if row is None or row[1] != "sent":
            return None
        at = now_iso()
        run_id = _failed_run(store, source_id, worker, f"delivery refused: {reason}")
        _update(
            store.db.conn,
            "deliveries",
            row[0],
            {"state": "rejected", "reason": reason, "worker": worker, "ingested_at": at, "run_id": run_id},
        )
        return run_id


def _body(store: Store, bodies: dict[str, bytes], digest: str) -> bytes:
    if digest in bodies:
        return bodies[digest]
    try:
        return get_blob(store.db, digest)
    except KeyError:
        raise DeliveryRefused(f"bytes {digest} neither delivered nor stored") from None


def _replay(store: Store, op: dict[str, Any], sid: str, run_id: int, body: Callable[[str], bytes]) -> None:
    kind = op["op"]
    if kind == "fetch":
        store.record_fetch(
            Fetched(
                source_id=sid,
                url=op["url"],
                body=body(op["sha256"]),
                http_status=int(op["http_status"] or 200),
                headers=dict(op["headers"]),
                content_type=op["content_type"],
                kind=op["kind"],
                parent_url=op["parent_url"],
                title=op["title"],
                column_name=op["column_name"],
                published_at=op["published_at"],
                date_source=op["date_source"],
                list_date=op["list_date"],
                url_date=op["url_date"],
                filename=op["filename"],
                meta=dict(op["meta"] or {}),
                run_id=run_id,
                content_key=op["content_key"],
                fingerprint=op["fingerprint"],
            )
        )
    elif kind == "not_modified":
        store.record_not_modified(op["url"], run_id, int(op["http_status"] or 304))
    elif kind == "gone":
        store.record_gone(op["url"], run_id, int(op["http_status"] or 404), op.get("reason") or "")
    else:
        raise DeliveryRefused(f"unknown operation {kind!r}")
