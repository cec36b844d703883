"""The one place that reads and writes nianbao's SQLite database.

Every write runs in a transaction (``self.transaction()``: ``BEGIN IMMEDIATE``, waiting for the
lock with backoff, see ``storage.connection``), the database is in WAL mode so the dashboard can
read while a crawl writes, and foreign keys are enforced.  Opening checks the file and its schema
version before anything is written, and fails with one StorageError naming the file.  Rows are written with
plain SQL (``_insert`` / ``_update``: sqlite-utils wraps each statement in a savepoint, which the
crawl's per-document writes cannot afford); sqlite-utils builds the schema and runs queries.  Fetching the same bytes
again records a *check*, not a new version; so does fetching other bytes with the same
*fingerprint* (the same report in other page chrome: a counter, a clock, a token).  Only a
changed fingerprint (or changed bytes, when a side has none) adds a version and keeps the old one.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils

from storage.blobs import get_blob, put_blob, sha256
from storage.connection import StorageError, connect, when_free, write_transaction
from storage.locks import crawl_lock
from storage.schema import check_version, migrate

STALE_REASON = "the crawl process ended before finishing"


def now_iso() -> str:
    """The current UTC time, to the second, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class Fetched:
    """One fetched document, as the crawl pipeline hands it to storage."""

    source_id: str
    url: str
    body: bytes
    http_status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = ""
    kind: str = "page"  # page | attachment
    parent_url: str | None = None
    title: str | None = None
    column_name: str | None = None
    published_at: str | None = None
    date_source: str | None = None
    list_date: str | None = None
    url_date: str | None = None
    filename: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    fetched_at: str | None = None
    content_key: str | None = None  # title + body text hash of an article page (spiders.fingerprint)
    fingerprint: str | None = None  # what the document is, chrome aside (spiders.fingerprint)


@dataclass
class Recorded:
    """What storing a fetch did."""

    document_id: int
    version_id: int
    outcome: str  # new_version | unchanged
    previous_version_id: int | None = None
    same_as: int | None = None  # the document this one is a copy of (same report, another URL)


class Store:
    """nianbao's database: sources, documents, versions, blobs, reports, runs and events."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        conn = connect(self.path)  # StorageError for a folder, a path under a file, not SQLite
        try:
            self.db = sqlite_utils.Database(conn)
            when_free(self._prepare, self.path)
        except (StorageError, sqlite3.Error) as exc:
            conn.close()
            why = str(exc).removeprefix(f"{self.path}: ")
            if isinstance(exc, sqlite3.Error):
                why = f"not a usable nianbao database ({why})"
            raise StorageError(f"{self.path}: {why}") from None

    def _prepare(self) -> None:
        """Check the schema version before the first write (a newer schema is left untouched),
        then WAL mode and the migrations; safe to run again when the file was locked."""
        check_version(self.db)
        self.db.enable_wal()
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA synchronous = NORMAL")
        migrate(self.db, str(self.path))

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self):
        """A context manager: everything inside commits together or not at all (nests).

        The outermost level takes the write lock at once (``BEGIN IMMEDIATE``), waiting for it;
        StorageError when it stays locked past ``storage.connection.LOCK_PATIENCE``.
        """
        return write_transaction(self.db.conn, self.path)

    # -- sources and runs -------------------------------------------------------------------

    def upsert_source(
        self, source_id: str, name: str, start_url: str, family: str | None, config: dict
    ) -> None:
        with self.transaction():
            existing = self.db.execute("SELECT 1 FROM sources WHERE id = ?", [source_id]).fetchone()
            row = {
                "id": source_id,
                "name": name,
                "start_url": start_url,
                "family": family,
                "config_json": json.dumps(config, ensure_ascii=False, default=str),
                "updated_at": now_iso(),
            }
            if not existing:
                row["created_at"] = row["updated_at"]
            self.db["sources"].upsert(row, pk="id")

    def start_run(self, source_id: str) -> int:
        with self.transaction():
            return _insert(
                self.db.conn,
                "crawl_runs",
                {"source_id": source_id, "started_at": now_iso(), "status": "running"},
            )

    def finish_run(self, run_id: int, status: str, stats: dict[str, Any], reason: str | None = None) -> None:
        """Close a run with its figures; ``stats`` keys that are columns are stored as such."""
        columns = (
            "pages",
            "documents",
            "new_versions",
            "unchanged",
            "reports",
            "errors",
            "blocked",
            "requests",
        )
        row = {k: int(stats.get(k, 0) or 0) for k in columns}
        row.update(
            finished_at=now_iso(),
            status=status,
            reason=reason,
            stats_json=json.dumps(stats, ensure_ascii=False, default=str),
        )
        with self.transaction():
            _update(self.db.conn, "crawl_runs", run_id, row)

    def runs(self, source_id: str | None = None, limit: int = 50) -> list[dict]:
        sql = "SELECT * FROM crawl_runs"
        args: list[Any] = []
        if source_id:
            sql += " WHERE source_id = ?"
            args.append(source_id)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return list(self.db.query(sql, args))

    # -- documents and versions -------------------------------------------------------------

    def document(self, url: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM documents WHERE url = ?", [url]))
        return rows[0] if rows else None

    def orphan_attachments(self, source_id: str) -> list[dict[str, Any]]:
        """Attachments a stored page links but that were never stored (a crawl cut short).

        Each comes with its page's URL, title and publication date, so it can be fetched with
        the Referer and the date it inherits.
        """
        out = []
        rows = self.db.execute(
            "SELECT url, title, published_at, date_source, column_name, meta_json FROM documents "
            "WHERE source_id = ? AND kind = 'page' AND meta_json LIKE '%attachments%'",
            [source_id],
        ).fetchall()
        stored = self.known_urls(source_id)
        # A file stored at the end of a redirect (downfile.jsp → /attach/…) names its link.
        stored |= {
            r[0]
            for r in self.db.execute(
                "SELECT json_extract(meta_json, '$.link') FROM documents WHERE source_id = ? "
                "AND kind = 'attachment' AND meta_json LIKE '%\"link\"%'",
                [source_id],
            )
        }
        for url, title, published_at, date_source, column_name, meta_json in rows:
            for link in json.loads(meta_json).get("attachments", []):
                if link not in stored:
                    out.append(
                        {
                            "page_url": url,
                            "url": link,
                            "title": title,
                            "published_at": published_at,
                            "date_source": date_source,
                            "column_name": column_name,
                        }
                    )
        return out

    def close_stale_runs(self, source_id: str) -> int:
        """Mark the source's runs left 'running' by a crawl process that is gone as 'interrupted'.

        Returns how many.  Touches nothing while another live process holds the source's crawl
        lock (``crawl_lock``): its run is not stale.  A crawl calls this holding the lock itself,
        so every 'running' row of the source is then a dead process's.
        """
        holder = crawl_lock(self.path, source_id).held_by()
        if holder is not None and holder.pid != os.getpid():
            return 0
        with self.transaction():
            cur = self.db.execute(
                "UPDATE crawl_runs SET status = 'interrupted', reason = ?, "
                "finished_at = COALESCE(finished_at, ?) WHERE source_id = ? AND status = 'running'",
                [STALE_REASON, now_iso(), source_id],
            )
            return cur.rowcount

    def latest_runs(self, per_source: int = 20) -> dict[str, list[dict[str, Any]]]:
        """source id → its latest ``per_source`` runs as stored, newest first.

        Each source's runs are read by its index, newest first: the cost follows the sources,
        not the years of daily runs stored.
        """
        out: dict[str, list[dict[str, Any]]] = {}
        rows = self.db.query(
            "SELECT r.* FROM sources s JOIN crawl_runs r ON r.id IN "
            "(SELECT id FROM crawl_runs WHERE source_id = s.id ORDER BY id DESC LIMIT ?) "
            "ORDER BY r.source_id, r.id DESC",
            [per_source],
        )
        for row in rows:
            out.setdefault(row["source_id"], []).append(row)
        return out

    def run_history(self, per_source: int = 20) -> dict[str, list[dict[str, Any]]]:
        """source id → its latest runs, newest first, each with ``stats`` (the parsed stats_json).

        A 'running' run whose crawl process is gone (nobody holds the source's crawl lock, or it
        is not the source's newest run) is shown as it will be recorded: 'interrupted'.
        """
        out: dict[str, list[dict[str, Any]]] = {}
        for sid, rows in self.latest_runs(per_source).items():
            runs = out[sid] = []
            for row in rows:
                row["stats"] = orjson.loads(row["stats_json"] or "{}")  # 5x json's speed: 66,000 runs
                if row["status"] == "running" and (runs or crawl_lock(self.path, sid).held_by() is None):
                    row.update(status="interrupted", reason=STALE_REASON)
                runs.append(row)
        return out

    def health_key(self) -> list[Any]:
        """What every source's health (``monitor.status.source_health``) depends on, cheaply:
        the newest run, the runs still 'running' and whether their crawl process lives, and how
        many sources have a document.  Starting, ending or losing a run changes it."""
        newest = self.db.execute("SELECT MAX(id) FROM crawl_runs").fetchone()[0]
        running = [
            [run_id, crawl_lock(self.path, sid).held_by() is not None]
            for run_id, sid in self.db.execute(
                "SELECT id, source_id FROM crawl_runs INDEXED BY idx_crawl_runs_running "
                "WHERE status = 'running' ORDER BY id"
            )
        ]
        return [newest, running, len(self.crawled_sources())]

    def crawled_sources(self) -> set[str]:
        """The sources that have at least one stored document."""
        return {
            r[0]
            for r in self.db.execute(
                "SELECT id FROM sources s WHERE EXISTS (SELECT 1 FROM documents WHERE source_id = s.id)"
            )
        }

    def pages(self, source_id: str) -> list[str]:
        """The reports a source's column listed (article pages and files listed directly, gone
        ones included), for a revalidation."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT url FROM documents WHERE source_id = ? AND (kind = 'page' OR parent_id IS NULL) "
                "ORDER BY id",
                [source_id],
            )
        ]

    def gone_urls(self, source_id: str) -> set[str]:
        """The source's documents that are removed now (404/410 or no longer listed)."""
        return {
            r[0]
            for r in self.db.execute(
                "SELECT url FROM documents WHERE source_id = ? AND gone_since IS NOT NULL", [source_id]
            )
        }

    def last_full_walk(self, source_id: str) -> str | None:
        """When the source's last finished full walk (first crawl or revalidation) started."""
        row = self.db.execute(
            "SELECT started_at FROM crawl_runs WHERE source_id = ? AND status = 'finished' "
            "AND json_extract(stats_json, '$.full_walk') = 1 ORDER BY id DESC LIMIT 1",
            [source_id],
        ).fetchone()
        return row[0] if row else None

    def known_urls(self, source_id: str) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT url FROM documents WHERE source_id = ?", [source_id])}

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) last seen for ``url``, for a conditional GET."""
        row = self.db.execute("SELECT etag, last_modified FROM documents WHERE url = ?", [url]).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def attachments_by_page(self, source_id: str) -> dict[str, list[str]]:
        """Page URL → the URLs of the attachments stored under it, for one source."""
        out: dict[str, list[str]] = {}
        for page, url in self.db.execute(
            "SELECT p.url, a.url FROM documents a JOIN documents p ON p.id = a.parent_id WHERE a.source_id = ?",
            [source_id],
        ):
            out.setdefault(page, []).append(url)
        return out

    def latest_version(self, document_id: int) -> dict | None:
        rows = list(
            self.db.query(
                "SELECT * FROM versions WHERE document_id = ? ORDER BY id DESC LIMIT 1",
                [document_id],
            )
        )
        return rows[0] if rows else None

    def record_fetch(self, f: Fetched) -> Recorded:
        """Store one fetched document: a new version when it changed, else a check.

        Changed means: other bytes, and — when both this fetch and the latest version have a
        fingerprint — another fingerprint.  Other bytes with the same fingerprint (page chrome
        that differs per request) are a check with outcome ``unchanged``: no blob, no version,
        no event.

        This runs once per fetched document, so it speaks SQL directly: sqlite-utils' insert
        and update wrap each statement in a savepoint and cost ~0.5 ms a document.
        """
        at = f.fetched_at or now_iso()
        digest = sha256(f.body)
        headers = {k.lower(): v for k, v in f.headers.items()}
        fields = {
            "source_id": f.source_id,
            "kind": f.kind,
            "parent_id": self._document_id(f.parent_url) if f.parent_url else None,
            "title": f.title,
            "column_name": f.column_name,
            "published_at": f.published_at,
            "date_source": f.date_source,
            "list_date": f.list_date,
            "url_date": f.url_date,
            "filename": f.filename,
            "meta_json": json.dumps(f.meta, ensure_ascii=False) if f.meta else None,
            "last_seen": at,
            "last_status": f.http_status,
            "etag": headers.get("etag"),
            "last_modified": headers.get("last-modified"),
            "content_key": f.content_key,
        }
        # Keep what we knew when this fetch knows less (e.g. a re-fetch without list context).
        known = {k: v for k, v in fields.items() if v is not None}
        conn = self.db.conn
        with self.transaction():
            row = conn.execute(
                "SELECT d.id, d.gone_since, v.id, v.sha256, v.fingerprint FROM documents d LEFT JOIN versions v "
                "ON v.id = (SELECT MAX(id) FROM versions WHERE document_id = d.id) WHERE d.url = ?",
                [f.url],
            ).fetchone()
            same_as = self._original_of(f.url, f.content_key)
            if row is None:
                doc_id = _insert(
                    conn, "documents", {"url": f.url, "first_seen": at, "same_as": same_as, **known}
                )
                previous = None
            else:
                doc_id, gone_since, previous, previous_sha, previous_fp = row
                _update(conn, "documents", doc_id, {**known, "gone_since": None, "same_as": same_as})
                if gone_since:
                    self._event(doc_id, "restored", at, previous, None, {})
                same_report = previous_fp is not None and previous_fp == f.fingerprint
                if previous is not None and (previous_sha == digest or same_report):
                    self._check(doc_id, previous, f.run_id, at, f.http_status, "unchanged")
                    return Recorded(doc_id, previous, "unchanged", previous, same_as)
            put_blob(self.db, f.body, digest)
            version_id = _insert(
                conn,
                "versions",
                {
                    "document_id": doc_id,
                    "sha256": digest,
                    "fetched_at": at,
                    "http_status": f.http_status,
                    "headers_json": json.dumps(headers, ensure_ascii=False),
                    "content_type": f.content_type or headers.get("content-type", ""),
                    "size": len(f.body),
                    "run_id": f.run_id,
                    "fingerprint": f.fingerprint,
                },
            )
            self._check(doc_id, version_id, f.run_id, at, f.http_status, "new_version")
            if previous is not None:
                self._event(doc_id, "modified", at, previous, version_id, {})
            return Recorded(doc_id, version_id, "new_version", previous, same_as)

    def backfill_fingerprints(
        self, fingerprint: Callable[[bytes, str, str], str], scheme: str | None = None, batch: int = 200
    ) -> dict[str, int]:
        """Give every version stored without a fingerprint one, then drop the ``modified``
        events whose two versions have the same fingerprint; idempotent, cheap once done.

        ``fingerprint(body, content_type, url)`` is the crawl's own function (storage does not
        know how pages are read).  A fingerprint written ``<name>:<hash>`` whose name is not
        ``scheme`` was made by an older way of reading pages, and is computed again: a fresh
        fetch is only ever compared with a fingerprint of its own scheme.  Versions stored
        before fingerprints existed may differ only
        in page chrome (a counter, a clock); the events between them said a report changed when
        it had not, so they are deleted, not kept with a mark: every reader of events (changes,
        digests, alerts, the dashboard) then sees only real changes.  The versions stay: they
        are what the portal served.  Returns ``{"fingerprinted": n, "events_dropped": m}``.
        """
        done, last = 0, 0
        while True:
            rows = self.db.execute(
                "SELECT v.id, v.sha256, v.content_type, d.url FROM versions v "
                "JOIN documents d ON d.id = v.document_id WHERE v.id > ? AND (v.fingerprint IS NULL OR "
                " (? IS NOT NULL AND instr(v.fingerprint, ':') > 0"
                "  AND substr(v.fingerprint, 1, instr(v.fingerprint, ':') - 1) != ?)) ORDER BY v.id LIMIT ?",
                [last, scheme, scheme, batch],
            ).fetchall()
            if not rows:
                break
            last = rows[-1][0]
            with self.transaction():
                for version_id, digest, content_type, url in rows:
                    value = fingerprint(get_blob(self.db, digest), content_type or "", url)
                    _update(self.db.conn, "versions", version_id, {"fingerprint": value})
            done += len(rows)
        with self.transaction():
            dropped = self.db.execute(
                "DELETE FROM events WHERE kind = 'modified' AND id IN ("
                " SELECT e.id FROM events e JOIN versions a ON a.id = e.previous_version_id"
                " JOIN versions b ON b.id = e.version_id"
                " WHERE e.kind = 'modified' AND a.fingerprint IS NOT NULL AND a.fingerprint = b.fingerprint)"
            ).rowcount
        return {"fingerprinted": done, "events_dropped": dropped}

    def record_not_modified(self, url: str, run_id: int | None, http_status: int = 304) -> None:
        """A conditional GET said nothing changed: a check on the latest version."""
        with self.transaction():
            doc = self.document(url)
            if doc is None:
                return
            at = now_iso()
            latest = self.latest_version(doc["id"])
            _update(self.db.conn, "documents", doc["id"], {"last_seen": at, "gone_since": None})
            self._check(doc["id"], latest["id"] if latest else None, run_id, at, http_status, "not_modified")
            if doc.get("gone_since"):
                self._event(doc["id"], "restored", at, latest["id"] if latest else None, None, {})

    def record_gone(self, url: str, run_id: int | None, http_status: int, reason: str) -> bool:
        """A known document answered 404/410 or left its column; True when this is news."""
        with self.transaction():
            doc = self.document(url)
            if doc is None:
                return False
            at = now_iso()
            self._check(doc["id"], None, run_id, at, http_status, "gone")
            if doc.get("gone_since"):
                return False
            _update(self.db.conn, "documents", doc["id"], {"gone_since": at, "last_status": http_status})
            latest = self.latest_version(doc["id"])
            self._event(doc["id"], "removed", at, latest["id"] if latest else None, None, {"reason": reason})
            return True

    def version_body(self, version_id: int) -> bytes:
        row = self.db.execute("SELECT sha256 FROM versions WHERE id = ?", [version_id]).fetchone()
        if row is None:
            raise KeyError(f"version {version_id}")
        return get_blob(self.db, row[0])

    def version(self, version_id: int) -> dict:
        rows = list(self.db.query("SELECT * FROM versions WHERE id = ?", [version_id]))
        if not rows:
            raise KeyError(f"version {version_id}")
        return rows[0]

    def versions(self, document_id: int) -> list[dict]:
        return list(self.db.query("SELECT * FROM versions WHERE document_id = ? ORDER BY id", [document_id]))

    # -- reports ----------------------------------------------------------------------------

    def versions_to_parse(self, parser_version: str | None, source_id: str | None = None) -> Iterator[dict]:
        """Versions with no report row from ``parser_version`` yet, joined with their document;
        with ``parser_version`` None, the versions no parser has read at all.

        Copies of a report at another URL (``same_as``), and their files, are not read again.
        """
        sql = """
            SELECT v.id AS version_id, v.content_type, v.fetched_at, d.id AS document_id, d.url, d.kind,
                   d.title, d.published_at, d.date_source, d.list_date, d.source_id, d.parent_id,
                   d.column_name, d.meta_json,
                   p.title AS parent_title, p.published_at AS parent_published_at,
                   p.date_source AS parent_date_source
            FROM versions v JOIN documents d ON d.id = v.document_id
            LEFT JOIN documents p ON p.id = d.parent_id
            WHERE NOT EXISTS (SELECT 1 FROM reports r WHERE r.version_id = v.id {same_parser})
              AND d.same_as IS NULL AND (p.id IS NULL OR p.same_as IS NULL)  -- copies: read once
        """.format(same_parser="" if parser_version is None else "AND r.parser_version = ?")
        args: list[Any] = [] if parser_version is None else [parser_version]
        if source_id:
            sql += " AND d.source_id = ?"
            args.append(source_id)
        yield from self.db.query(sql + " ORDER BY v.id", args)

    def save_report(
        self,
        version_id: int,
        parser_version: str,
        report: dict[str, Any] | None,
        error: str | None = None,
    ) -> int:
        """Store the parse of one version (idempotent per (version, parser_version))."""
        doc = self.db.execute(
            "SELECT d.id, d.source_id FROM versions v JOIN documents d ON d.id = v.document_id WHERE v.id = ?",
            [version_id],
        ).fetchone()
        report = report or {}
        row = {
            "version_id": version_id,
            "document_id": doc[0],
            "source_id": doc[1],
            "parser_version": parser_version,
            "agency": report.get("agency"),
            "year": report.get("year"),
            "kind": report.get("kind"),
            "template": report.get("template"),
            "published_at": report.get("published_at"),
            "date_source": report.get("published_at_source"),
            "issues": len(report.get("issues") or []),
            "error": error,
            "data_json": json.dumps(report, ensure_ascii=False) if report else None,
            "parsed_at": now_iso(),
        }
        with self.transaction():
            self.db.execute(
                "DELETE FROM reports WHERE version_id = ? AND parser_version = ?",
                [version_id, parser_version],
            )
            return _insert(self.db.conn, "reports", row)

    def reports(self, year: int | None = None) -> list[dict]:
        """Every stored report row (newest parser run per version), optionally for one year."""
        sql = "SELECT * FROM reports WHERE error IS NULL AND agency IS NOT NULL"
        args: list[Any] = []
        if year is not None:
            sql += " AND year = ?"
            args.append(year)
        return list(self.db.query(sql + " ORDER BY agency, year, published_at", args))

    # -- events -----------------------------------------------------------------------------

    def events(
        self,
        since: str | None = None,
        *,
        newest_first: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict]:
        """Change events with their document's ``url``, ``title`` and ``source_id``, oldest first
        (or newest first); ``limit`` and ``offset`` page through them."""
        sql = """SELECT e.*, d.url, d.title, d.source_id FROM events e JOIN documents d ON d.id = e.document_id"""
        args: list[Any] = []
        if since:
            sql += " WHERE e.at >= ?"
            args.append(since)
        sql += " ORDER BY e.id DESC" if newest_first else " ORDER BY e.id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return list(self.db.query(sql, args))

    def set_event_detail(self, event_id: int, detail: dict[str, Any]) -> None:
        with self.transaction():
            _update(self.db.conn, "events", event_id, {"detail_json": json.dumps(detail, ensure_ascii=False)})

    # -- internals --------------------------------------------------------------------------

    def _original_of(self, url: str, content_key: str | None) -> int | None:
        """The first document at another URL with this page's content, if any (any source:
        a city portal may re-post a department's report)."""
        if not content_key:
            return None
        row = self.db.conn.execute(
            "SELECT id FROM documents WHERE content_key = ? AND url != ? AND same_as IS NULL "
            "ORDER BY id LIMIT 1",
            [content_key, url],
        ).fetchone()
        return row[0] if row else None

    def _document_id(self, url: str) -> int | None:
        row = self.db.conn.execute("SELECT id FROM documents WHERE url = ?", [url]).fetchone()
        return row[0] if row else None

    def _check(
        self, doc_id: int, version_id: int | None, run_id: int | None, at: str, status: int, outcome: str
    ) -> None:
        _insert(
            self.db.conn,
            "checks",
            {
                "document_id": doc_id,
                "version_id": version_id,
                "run_id": run_id,
                "checked_at": at,
                "http_status": status,
                "outcome": outcome,
            },
        )

    def _event(self, doc_id: int, kind: str, at: str, prev: int | None, version: int | None, detail: dict):
        _insert(
            self.db.conn,
            "events",
            {
                "document_id": doc_id,
                "version_id": version,
                "previous_version_id": prev,
                "kind": kind,
                "at": at,
                "detail_json": json.dumps(detail, ensure_ascii=False),
            },
        )


def _insert(conn: sqlite3.Connection, table: str, row: dict[str, Any]) -> int:
    """INSERT one row (column names are ours, never input) and return its rowid."""
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    cur = conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))
    return cur.lastrowid  # type: ignore[return-value]


def _update(conn: sqlite3.Connection, table: str, row_id: int, row: dict[str, Any]) -> None:
    """UPDATE one row by id (column names are ours, never input)."""
    assignments = ", ".join(f"{k} = ?" for k in row)
    conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", [*row.values(), row_id])
