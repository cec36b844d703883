"""Read-only queries the dashboard needs, as small functions over a ``Store``.

Each function runs one query and returns plain Python: dicts keyed by column name, lists of them,
or ids.  JSON columns a caller always decodes (``reports.data_json``, ``events.detail_json``) come
back decoded as ``data`` / ``detail``.  Nothing here writes; "report" always means a parsed
report row without an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from storage.store import Store


def report_ids_by_url(store: Store) -> dict[str, int]:
    """Document URL → the newest good report with an agency read from it.

    An attachment's report is also filed under its parent page's URL (unless that page has a
    report of its own), because the monitor's statuses point at whichever of the two it found.
    """
    out: dict[str, int] = {}
    for url, parent_url, rid in store.db.execute(
        """SELECT d.url, p.url, MAX(r.id) FROM reports r JOIN documents d ON d.id = r.document_id
           LEFT JOIN documents p ON p.id = d.parent_id
           WHERE r.error IS NULL AND r.agency IS NOT NULL GROUP BY d.url"""
    ):
        out[url] = rid
        if parent_url:
            out.setdefault(parent_url, rid)
    return out


def report_ids_for_urls(store: Store, urls: Iterable[str]) -> dict[str, int]:
    """``report_ids_by_url`` for the given URLs only, each looked up by its index.

    A URL whose document has no good report of its own gets its first attachment's (in URL
    order) that has one, as ``report_ids_by_url`` files it.
    """
    good = "r.error IS NULL AND r.agency IS NOT NULL"
    out: dict[str, int] = {}
    for chunk in _chunks(urls):
        marks = ", ".join("?" * len(chunk))
        for url, own, child in store.db.execute(
            f"""SELECT d.url,
                   (SELECT MAX(r.id) FROM reports r WHERE r.document_id = d.id AND {good}),
                   (SELECT (SELECT MAX(r.id) FROM reports r WHERE r.document_id = a.id AND {good})
                    FROM documents a WHERE a.parent_id = d.id
                      AND EXISTS (SELECT 1 FROM reports r WHERE r.document_id = a.id AND {good})
                    ORDER BY a.url LIMIT 1)
                FROM documents d WHERE d.url IN ({marks})""",
            chunk,
        ):
            if own or child:
                out[url] = own or child
    return out


def agency_report_ids(store: Store, agency: str) -> list[int]:
    """Ids of the good reports read as ``agency``'s, newest first."""
    return [
        row[0]
        for row in store.db.execute(
            "SELECT id FROM reports WHERE agency = ? AND error IS NULL ORDER BY id DESC", [agency]
        )
    ]


def report(store: Store, report_id: int) -> dict[str, Any] | None:
    """A report row joined with its document (``url``, ``title``, ``doc_kind``, ``parent_id``).

    ``data`` holds the decoded report (``{}`` when none was stored); None if there is no such row.
    """
    row = next(
        store.db.query(
            """SELECT r.id, r.version_id, r.document_id, r.source_id, r.agency, r.year, r.kind,
                      r.template, r.published_at, r.date_source, r.issues, r.error, r.data_json,
                      r.parsed_at, d.url, d.title, d.kind AS doc_kind, d.parent_id
               FROM reports r JOIN documents d ON d.id = r.document_id WHERE r.id = ?""",
            [report_id],
        ),
        None,
    )
    if row is None:
        return None
    row["data"] = json.loads(row.pop("data_json") or "{}")
    return row


def latest_report_id(store: Store, document_id: int) -> int | None:
    """The newest good report read from ``document_id``, if any."""
    row = store.db.execute(
        "SELECT id FROM reports WHERE document_id = ? AND error IS NULL ORDER BY id DESC LIMIT 1",
        [document_id],
    ).fetchone()
    return row[0] if row else None


def report_years(store: Store) -> list[int]:
    """The years some report is about, newest first."""
    return [
        row[0]
        for row in store.db.execute(
            "SELECT DISTINCT year FROM reports WHERE year IS NOT NULL ORDER BY year DESC"
        )
    ]


def document_by_id(store: Store, document_id: int) -> dict[str, Any] | None:
    """The ``documents`` row ``document_id``, or None."""
    return next(store.db.query("SELECT * FROM documents WHERE id = ?", [document_id]), None)


def document_counts(store: Store) -> dict[str, int]:
    """Source id → how many documents are stored for it (sources without any are absent)."""
    return dict(store.db.execute("SELECT source_id, COUNT(*) FROM documents GROUP BY source_id").fetchall())


def version_download(store: Store, version_id: int) -> dict[str, Any] | None:
    """What serving version ``version_id`` needs: its ``content_type`` and its document's ``url``
    and ``filename``; None if there is no such version.  The bytes: ``store.version_body``."""
    return next(
        store.db.query(
            "SELECT v.content_type, d.url, d.filename FROM versions v "
            "JOIN documents d ON d.id = v.document_id WHERE v.id = ?",
            [version_id],
        ),
        None,
    )


def document_events(store: Store, document_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The events (modified / removed / restored) of these documents, oldest first, ``detail``
    decoded."""
    ids = list(dict.fromkeys(document_ids))
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = list(store.db.query(f"SELECT * FROM events WHERE document_id IN ({marks}) ORDER BY id", ids))
    for row in rows:
        row["detail"] = json.loads(row.get("detail_json") or "{}")
    return rows


def recent_events(store: Store, limit: int = 30) -> list[dict[str, Any]]:
    """The ``limit`` newest events, newest first, each with its document's ``url``, ``title`` and
    ``source_id``, ``detail`` decoded."""
    rows = list(
        store.db.query(
            "SELECT e.*, d.url, d.title, d.source_id FROM events e JOIN documents d ON d.id = e.document_id "
            "ORDER BY e.id DESC LIMIT ?",
            [limit],
        )
    )
    for row in rows:
        row["detail"] = json.loads(row.get("detail_json") or "{}")
    return rows


def events_by_url(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Document URL → its events (``kind``, ``at``, ``document_id``), oldest first.

    An attachment's events are also filed under its parent page's URL, as in
    ``report_ids_by_url``: the monitor's statuses point at whichever of the two it found, and an
    edited attachment is an edited report.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for url, parent_url, kind, at, document_id in store.db.execute(
        """SELECT d.url, p.url, e.kind, e.at, e.document_id FROM events e
           JOIN documents d ON d.id = e.document_id LEFT JOIN documents p ON p.id = d.parent_id
           ORDER BY e.id"""
    ):
        event = {"kind": kind, "at": at, "document_id": document_id}
        out.setdefault(url, []).append(event)
        if parent_url and parent_url != url:
            out.setdefault(parent_url, []).append(event)
    return out


def events_for_urls(store: Store, urls: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """``events_by_url`` for the given URLs only: each document's events and its attachments'."""
    out: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(urls):
        marks = ", ".join("?" * len(chunk))
        for url, kind, at, document_id in store.db.execute(
            f"""SELECT url, kind, at, document_id FROM (
                  SELECT d.url, e.id, e.kind, e.at, e.document_id FROM documents d
                  JOIN events e ON e.document_id = d.id WHERE d.url IN ({marks})
                  UNION ALL
                  SELECT p.url, e.id, e.kind, e.at, e.document_id FROM documents p
                  JOIN documents d ON d.parent_id = p.id JOIN events e ON e.document_id = d.id
                  WHERE p.url IN ({marks}) AND d.url != p.url)
                ORDER BY id""",
            chunk + chunk,
        ):
            out.setdefault(url, []).append({"kind": kind, "at": at, "document_id": document_id})
    return out


def event_count(store: Store) -> int:
    """How many change events are stored."""
    return store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def _chunks(values: Iterable[Any], size: int = 400) -> Iterable[list[Any]]:
    """``values`` without repeats, in lists short enough for SQLite's bound on parameters
    (a query may use each list twice)."""
    wanted = list(dict.fromkeys(values))
    for i in range(0, len(wanted), size):
        yield wanted[i : i + size]


def document_ids(store: Store, urls: Iterable[str]) -> dict[str, int]:
    """URL → document id, for the given URLs that are stored."""
    wanted = list(dict.fromkeys(urls))
    out: dict[str, int] = {}
    for i in range(0, len(wanted), 500):  # SQLite caps the number of parameters
        chunk = wanted[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        out.update(
            store.db.execute(f"SELECT url, id FROM documents WHERE url IN ({marks})", chunk).fetchall()
        )
    return out
