"""The reads (and the scheduler's one small table) that the monitor, ``nianbao changes`` and the
scheduler need: every SQL statement outside the Store's write paths lives here or in
``storage.reads`` (the dashboard's), so no package above storage writes SQL.

Each function takes an open ``Store`` (or, for the scheduler, the path of its job-store
database) and returns plain Python values.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.store import Store

# -- parsed reports ----------------------------------------------------------------------------


def parsed_report(store: Store, version_id: int) -> dict[str, Any] | None:
    """The data model the parser read from a version, its newest successful run; None if the
    version was never parsed (or only failed)."""
    row = store.db.execute(
        "SELECT data_json FROM reports WHERE version_id = ? AND data_json IS NOT NULL ORDER BY id DESC LIMIT 1",
        [version_id],
    ).fetchone()
    return json.loads(row[0]) if row else None


def report_names(store: Store) -> Iterator[tuple[str, int]]:
    """Every (agency name as the report writes it, year) read without error, once each."""
    yield from store.db.execute(
        "SELECT agency, year FROM reports WHERE error IS NULL AND agency IS NOT NULL AND year IS NOT NULL "
        "GROUP BY agency, year"
    )


# One row per version: the newest parser run of that version, with its document's (and the page
# it was linked from) dates.
_CATALOGUE_SELECT = """
SELECT r.id, r.version_id, r.document_id, r.source_id, r.agency, r.year, r.kind, r.issues,
       r.published_at, r.date_source,
       d.url, d.published_at, d.date_source, d.first_seen,
       p.published_at, p.date_source
FROM reports r
JOIN documents d ON d.id = r.document_id
LEFT JOIN documents p ON p.id = d.parent_id
"""
_CATALOGUE_ROWS = (
    _CATALOGUE_SELECT
    + """WHERE r.error IS NULL AND r.agency IS NOT NULL AND r.year IS NOT NULL
  AND r.id IN (SELECT MAX(id) FROM reports GROUP BY version_id)
"""
)


# The same rows for a few agency names: each name's reports by index (reports(agency, year)),
# each version's newest parser run by index (reports(version_id, parser_version)).
_CATALOGUE_ROWS_OF = (
    _CATALOGUE_SELECT
    + """WHERE r.agency IN ({marks}) AND r.error IS NULL AND r.year IS NOT NULL
  AND r.id = (SELECT MAX(id) FROM reports WHERE version_id = r.version_id)
ORDER BY r.id
"""
)


def catalogue_rows(store: Store, names: Iterable[str] | None = None) -> Iterator[tuple[Any, ...]]:
    """One tuple per parsed version (its newest parser run), streamed:
    (report id, version id, document id, source id, agency, year, kind, issue count,
    report's published_at, its date source, document url, document's published_at, its date
    source, first_seen, parent page's published_at, its date source).

    With ``names`` (agency names as reports write them), only those agencies' rows, read by
    index: an agency's page need not read the whole store."""
    if names is None:
        yield from store.db.execute(_CATALOGUE_ROWS)
        return
    wanted = sorted(set(names))
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(wanted), 900):
        chunk = wanted[i : i + 900]
        rows += store.db.execute(
            _CATALOGUE_ROWS_OF.format(marks=",".join("?" * len(chunk))), chunk
        ).fetchall()
    yield from sorted(rows) if len(wanted) > 900 else rows


def first_report_year(store: Store) -> int | None:
    """The earliest year a good report (agency and year read) is about; None without any."""
    row = store.db.execute(
        "SELECT MIN(year) FROM reports WHERE error IS NULL AND agency IS NOT NULL AND year IS NOT NULL"
    ).fetchone()
    return row[0]


def report_data_json(store: Store, report_ids: list[int]) -> Iterator[tuple[int, str | None]]:
    """(report id, data_json) for each of ``report_ids`` that exists, fetched in chunks that
    stay under SQLite's bound on query parameters."""
    for i in range(0, len(report_ids), 900):
        chunk = report_ids[i : i + 900]
        marks = ",".join("?" * len(chunk))
        yield from store.db.execute(
            f"SELECT id, data_json FROM reports WHERE id IN ({marks})", chunk
        ).fetchall()


def document_events(
    store: Store, document_ids: Iterable[int] | None = None
) -> Iterator[tuple[int, str, str, str, str | None]]:
    """Every change event, oldest first: (document id, kind, at, document url, detail_json);
    with ``document_ids``, only those documents' events (read by index), oldest first."""
    sql = "SELECT e.document_id, e.kind, e.at, d.url, e.detail_json FROM events e JOIN documents d ON d.id = e.document_id"
    if document_ids is None:
        yield from store.db.execute(sql + " ORDER BY e.id")
        return
    ids = sorted(set(document_ids))
    rows: list[tuple[int, Any]] = []
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        marks = ",".join("?" * len(chunk))
        rows += store.db.execute(
            sql.replace("SELECT ", "SELECT e.id, ", 1) + f" WHERE e.document_id IN ({marks})", chunk
        ).fetchall()
    for row in sorted(rows):
        yield row[1:]


# -- the scheduler's queue of due sources ------------------------------------------------------
# In the job store's database.  A source's job puts it in the queue when it is due; the
# dispatcher takes due sources in batches (taken_at set) and releases them when the batch's
# crawl has ended.  A row still taken at start-up means the previous scheduler died (or was
# stopped) mid-batch: its source is crawled again unless its run had closed by then.


def _queue(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    conn.executescript(
        "CREATE TABLE IF NOT EXISTS nianbao_due (source_id TEXT PRIMARY KEY, queued_at TEXT NOT NULL,"
        " taken_at TEXT, pid INTEGER, attempts INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS nianbao_flags (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    )
    return conn


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def queue_due(path: str | Path, source_id: str) -> bool:
    """Put a source in the queue; False when it is queued or being crawled already."""
    with contextlib.closing(_queue(path)) as conn:
        cur = conn.execute(
            "INSERT OR IGNORE INTO nianbao_due (source_id, queued_at) VALUES (?, ?)", [source_id, _now()]
        )
        return cur.rowcount == 1


def take_due(path: str | Path, limit: int) -> list[str]:
    """Take up to ``limit`` queued sources, oldest first, marking them taken by this process."""
    with contextlib.closing(_queue(path)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT source_id FROM nianbao_due WHERE taken_at IS NULL ORDER BY queued_at, source_id LIMIT ?",
                [limit],
            )
        ]
        conn.executemany(
            "UPDATE nianbao_due SET taken_at = ?, pid = ?, attempts = attempts + 1 WHERE source_id = ?",
            [(_now(), os.getpid(), sid) for sid in ids],
        )
        conn.execute("COMMIT")
    return ids


def due_rows(path: str | Path) -> list[dict[str, Any]]:
    """Every row of the queue: {source_id, queued_at, taken_at, pid, attempts}, oldest first
    (attempts: how many batches took it since it was queued)."""
    with contextlib.closing(_queue(path)) as conn:
        rows = conn.execute(
            "SELECT source_id, queued_at, taken_at, pid, attempts FROM nianbao_due ORDER BY queued_at, source_id"
        ).fetchall()
    return [
        {"source_id": r[0], "queued_at": r[1], "taken_at": r[2], "pid": r[3], "attempts": r[4]} for r in rows
    ]


def release_due(path: str | Path, done: list[str], again: list[str]) -> None:
    """Drop the ``done`` sources from the queue; put the ``again`` ones back as not taken."""
    with contextlib.closing(_queue(path)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("DELETE FROM nianbao_due WHERE source_id = ?", [(s,) for s in done])
        conn.executemany(
            "UPDATE nianbao_due SET taken_at = NULL, pid = NULL WHERE source_id = ?", [(s,) for s in again]
        )
        conn.execute("COMMIT")


def set_flag(path: str | Path, name: str, value: str | None) -> None:
    """Set (or clear, with None) one of the scheduler's flags."""
    with contextlib.closing(_queue(path)) as conn:
        if value is None:
            conn.execute("DELETE FROM nianbao_flags WHERE name = ?", [name])
        else:
            conn.execute("INSERT OR REPLACE INTO nianbao_flags VALUES (?, ?)", [name, value])


def get_flag(path: str | Path, name: str) -> str | None:
    with contextlib.closing(_queue(path)) as conn:
        row = conn.execute("SELECT value FROM nianbao_flags WHERE name = ?", [name]).fetchone()
    return row[0] if row else None


def legacy_chains(path: str | Path) -> list[str]:
    """Sources whose crawl chain an older scheduler (one chain per source) left unfinished; the
    table is emptied, its sources are to be queued."""
    with contextlib.closing(sqlite3.connect(str(path), timeout=30, isolation_level=None)) as conn:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'nianbao_chains_in_flight'"
        ).fetchone():
            return []
        ids = [r[0] for r in conn.execute("SELECT source_id FROM nianbao_chains_in_flight")]
        conn.execute("DROP TABLE nianbao_chains_in_flight")
    return ids
