"""The alert ledger: what was alerted, to whom, and who is sending it now.

One row per alert key (group, channel, agency, year, status…), inserted *pending*.  A sender
*claims* the pending rows of a group and channel before sending them: the claim is one
``BEGIN IMMEDIATE`` transaction that marks the unclaimed rows with the sender's name and reads
back exactly the rows it marked, so two senders running at once (cron beside the scheduler)
never hold the same row.  After the send the rows are *sent* (claim cleared), or *failed* (one
more attempt, the error kept, claim released so the next run retries them).  A claim older than
``expiry`` is taken over: a sender killed between claiming and marking does not strand its rows,
at the price of one possible repeat of a message the killed sender had already delivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from storage.store import Store, now_iso


def enqueue(store: Store, group: str, channel: str, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """A pending row for each ``(key, item)`` whose key is not in the ledger yet.

    ``item`` needs ``agency``, ``year`` and ``status``; all of it is kept as the row's payload.
    """
    at = now_iso()
    conn = store.db.conn
    with store.transaction():
        for key, item in items:
            conn.execute(
                "INSERT OR IGNORE INTO alerts (key, group_name, channel, agency, year, status, created_at,"
                " attempts, payload_json) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
                [
                    key,
                    group,
                    channel,
                    item["agency"],
                    item["year"],
                    item["status"],
                    at,
                    json.dumps({**item, "channel": channel}, ensure_ascii=False),
                ],
            )


def claim(store: Store, group: str, channel: str, owner: str, expiry: timedelta) -> list[dict[str, Any]]:
    """Claim for ``owner`` every unsent row of ``group`` and ``channel`` that no one else holds.

    A row held for longer than ``expiry`` counts as free.  Returns the claimed rows' payloads, each
    with its ledger id under ``_id``, oldest first; an empty list when there is nothing to send
    or another sender holds it all.
    """
    now = now_iso()
    stale = (datetime.fromisoformat(now) - expiry).isoformat()
    conn = store.db.conn
    with store.transaction():
        conn.execute(
            "UPDATE alerts SET claimed_by = ?, claimed_at = ? WHERE group_name = ? AND channel = ?"
            " AND sent_at IS NULL AND (claimed_by IS NULL OR claimed_at <= ?)",
            [owner, now, group, channel, stale],
        )
        rows = conn.execute(
            "SELECT id, payload_json FROM alerts WHERE claimed_by = ? AND group_name = ? AND channel = ?"
            " AND sent_at IS NULL ORDER BY id",
            [owner, group, channel],
        ).fetchall()
    return [{**json.loads(payload), "_id": rid} for rid, payload in rows]


def mark_sent(store: Store, ids: list[int]) -> None:
    """The rows ``ids`` were delivered: sent now, one more attempt, no error, no claim."""
    at = now_iso()
    conn = store.db.conn
    with store.transaction():
        conn.executemany(
            "UPDATE alerts SET sent_at = COALESCE(sent_at, ?), attempts = attempts + 1, last_error = NULL,"
            " claimed_by = NULL, claimed_at = NULL WHERE id = ?",
            [(at, rid) for rid in ids],
        )


def mark_failed(store: Store, ids: list[int], owner: str, error: str) -> None:
    """Delivering ``ids`` failed: one more attempt, the error kept, ``owner``'s claim released."""
    conn = store.db.conn
    with store.transaction():
        conn.executemany(
            "UPDATE alerts SET attempts = attempts + 1, last_error = ?, claimed_by = NULL, claimed_at = NULL"
            " WHERE id = ? AND claimed_by = ? AND sent_at IS NULL",
            [(error[:500], rid, owner) for rid in ids],
        )


def pending_count(store: Store) -> int:
    """How many rows of the whole ledger are not sent yet (claimed or not)."""
    return store.db.conn.execute("SELECT COUNT(*) FROM alerts WHERE sent_at IS NULL").fetchone()[0]


def closed_runs(store: Store) -> list[tuple[int, str, str, str | None]]:
    """(run id, source id, status, reason) of every run no longer running, newest first per source.

    The failing-source alerts count their streaks of failed runs from this.
    """
    return store.db.conn.execute(
        "SELECT id, source_id, status, reason FROM crawl_runs WHERE status != 'running'"
        " ORDER BY source_id, id DESC"
    ).fetchall()
