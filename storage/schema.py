"""The SQLite schema and its migrations.

The schema version lives in ``PRAGMA user_version``.  Each migration is a function that takes
the database from version N-1 to N; ``migrate`` runs the missing ones in one transaction each.
Add a migration at the end of ``MIGRATIONS``; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from storage.connection import StorageError, write_transaction


def _v1(db: sqlite_utils.Database) -> None:
    db["sources"].create(
        {
            "id": str,
            "name": str,
            "start_url": str,
            "family": str,
            "config_json": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )
    db["crawl_runs"].create(
        {
            "id": int,
            "source_id": str,
            "started_at": str,
            "finished_at": str,
            "status": str,  # running | finished | failed | blocked
            "pages": int,
            "documents": int,
            "new_versions": int,
            "unchanged": int,
            "reports": int,
            "errors": int,
            "blocked": int,
            "requests": int,
            "reason": str,
            "stats_json": str,
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db["documents"].create(
        {
            "id": int,
            "source_id": str,
            "url": str,
            "kind": str,  # page | attachment
            "parent_id": int,  # the article page an attachment hangs on
            "title": str,
            "column_name": str,
            "published_at": str,  # ISO date
            "date_source": str,  # meta | visible | list | body | url
            "list_date": str,
            "url_date": str,
            "filename": str,  # from Content-Disposition; recorded, never used as a path
            "meta_json": str,
            "first_seen": str,
            "last_seen": str,
            "last_status": int,
            "etag": str,
            "last_modified": str,
            "gone_since": str,
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id"), ("parent_id", "documents", "id")],
    )
    db["documents"].create_index(["url"], unique=True)
    db["documents"].create_index(["source_id"])
    db["blobs"].create(
        {"sha256": str, "size": int, "compression": str, "data": bytes},
        pk="sha256",
    )
    db["versions"].create(
        {
            "id": int,
            "document_id": int,
            "sha256": str,
            "fetched_at": str,
            "http_status": int,
            "headers_json": str,
            "content_type": str,
            "size": int,
            "run_id": int,
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id"), ("sha256", "blobs", "sha256")],
    )
    db["versions"].create_index(["document_id"])
    db["checks"].create(
        {
            "id": int,
            "document_id": int,
            "version_id": int,
            "run_id": int,
            "checked_at": str,
            "http_status": int,
            "outcome": str,  # new_version | unchanged | not_modified | gone | error
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["checks"].create_index(["document_id"])
    db["reports"].create(
        {
            "id": int,
            "version_id": int,
            "document_id": int,
            "source_id": str,
            "parser_version": str,
            "agency": str,
            "year": int,
            "kind": str,
            "template": str,
            "published_at": str,
            "date_source": str,
            "issues": int,
            "error": str,
            "data_json": str,
            "parsed_at": str,
        },
        pk="id",
        foreign_keys=[("version_id", "versions", "id"), ("document_id", "documents", "id")],
    )
    db["reports"].create_index(["version_id", "parser_version"], unique=True)
    db["reports"].create_index(["agency", "year"])
    db["events"].create(
        {
            "id": int,
            "document_id": int,
            "version_id": int,
            "previous_version_id": int,
            "kind": str,  # modified | removed | restored
            "at": str,
            "detail_json": str,
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db["events"].create_index(["at"])
    # The alert ledger: one row per (group, agency, year, status) change, so alerts go out once.
    db["alerts"].create(
        {
            "id": int,
            "key": str,
            "group_name": str,
            "agency": str,
            "year": int,
            "status": str,
            "created_at": str,
            "sent_at": str,
            "attempts": int,
            "last_error": str,
            "payload_json": str,
        },
        pk="id",
    )
    db["alerts"].create_index(["key"], unique=True)


def _v2(db: sqlite_utils.Database) -> None:
    """One report reached by several URLs (a city column and a department column).

    content_key: a hash of an article page's title and body text; same_as: the document this
    one is a copy of (its first URL), so the copy is kept as fetched but read as one report.
    """
    db["documents"].add_column("content_key", str)
    db["documents"].add_column("same_as", int)
    db["documents"].create_index(["content_key"])


def _v3(db: sqlite_utils.Database) -> None:
    """What a version is, apart from its page chrome (counters, clocks, tokens, related links).

    fingerprint: a page's title, body text and attachment links hashed, or a file's sha256
    (spiders.fingerprint); NULL for versions stored before, until Store.backfill_fingerprints.
    """
    db["versions"].add_column("fingerprint", str)


def _v4(db: sqlite_utils.Database) -> None:
    """Alert rows are claimed by one sender at a time (see storage.ledger); the channel is a column."""
    db["alerts"].add_column("channel", str)
    db["alerts"].add_column("claimed_by", str)
    db["alerts"].add_column("claimed_at", str)
    db.execute("UPDATE alerts SET channel = json_extract(payload_json, '$.channel')")
    db["alerts"].create_index(["group_name", "channel"])


def _v5(db: sqlite_utils.Database) -> None:
    """The monitor's statuses, kept up to date instead of derived from every report each time.

    status_rows: one row per expected (agency, year), the fields of ``monitor.status.FIELDS`` plus
    what re-deriving an unfound row needs (the source that would have to list it, whether a
    document without a date or dated later was found).  status_docs: per parsed version, what its
    newest parse counts for (the catalogue, agency NULL when that parse is no usable report).
    status_names: every agency name reports carry, its years and the canonical name it maps to.
    status_state: the as_of the rows were computed for and what they depend on.
    status_dirty_*: what changed since the last refresh, written by triggers in the same
    transaction as the change (so nothing is missed, whoever writes): the versions whose parser
    runs were added, replaced or deleted, the agency names those runs carried, and the documents
    whose publication date or its source changed.
    """
    db.execute("CREATE TABLE status_state (key TEXT PRIMARY KEY, value TEXT)")
    db.execute(
        "CREATE TABLE status_names (name TEXT PRIMARY KEY, prefix TEXT NOT NULL, canonical TEXT NOT NULL, "
        "years TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX idx_status_names_prefix ON status_names (prefix)")
    db.execute("CREATE INDEX idx_status_names_canonical ON status_names (canonical)")
    db.execute(
        "CREATE TABLE status_docs (version_id INTEGER PRIMARY KEY, report_id INTEGER NOT NULL, "
        "document_id INTEGER, source_id TEXT, name TEXT, year INTEGER, kind TEXT, issues INTEGER, "
        "published_at TEXT, date_source TEXT, url TEXT, agency TEXT)"
    )
    db.execute("CREATE INDEX idx_status_docs_agency_year ON status_docs (agency, year)")
    db.execute("CREATE INDEX idx_status_docs_published_at ON status_docs (published_at)")
    db.execute("CREATE INDEX idx_status_docs_document_id ON status_docs (document_id)")
    db.execute("CREATE INDEX idx_status_docs_name ON status_docs (name)")
    db.execute(
        "CREATE TABLE status_rows (agency TEXT NOT NULL, year INTEGER NOT NULL, kind TEXT, status TEXT, "
        "deadline TEXT, published_at TEXT, days_late INTEGER, url TEXT, date_source TEXT, source_id TEXT, "
        "region TEXT, evidence TEXT, exp_source_id TEXT, undated INTEGER, latest_pub TEXT, "
        "PRIMARY KEY (agency, year))"
    )
    db.execute("CREATE INDEX idx_status_rows_region_year ON status_rows (region, year)")
    db.execute("CREATE INDEX idx_status_rows_year ON status_rows (year)")
    db.execute("CREATE INDEX idx_status_rows_status ON status_rows (status)")
    db.execute("CREATE INDEX idx_status_rows_exp_source ON status_rows (exp_source_id)")
    db.execute("CREATE TABLE status_dirty_versions (version_id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE status_dirty_names (name TEXT PRIMARY KEY)")
    db.execute("CREATE TABLE status_dirty_documents (document_id INTEGER PRIMARY KEY)")
    for event, row in (("INSERT", "NEW"), ("DELETE", "OLD")):
        db.execute(
            f"CREATE TRIGGER status_reports_{event.lower()} AFTER {event} ON reports BEGIN "
            f"INSERT OR IGNORE INTO status_dirty_versions VALUES ({row}.version_id); "
            f"INSERT OR IGNORE INTO status_dirty_names SELECT {row}.agency WHERE {row}.agency IS NOT NULL; "
            "END"
        )
    db.execute(
        "CREATE TRIGGER status_reports_update AFTER UPDATE ON reports BEGIN "
        "INSERT OR IGNORE INTO status_dirty_versions VALUES (OLD.version_id), (NEW.version_id); "
        "INSERT OR IGNORE INTO status_dirty_names SELECT OLD.agency WHERE OLD.agency IS NOT NULL; "
        "INSERT OR IGNORE INTO status_dirty_names SELECT NEW.agency WHERE NEW.agency IS NOT NULL; "
        "END"
    )
    db.execute(
        "CREATE TRIGGER status_documents_dates AFTER UPDATE OF published_at, date_source ON documents "
        "WHEN OLD.published_at IS NOT NEW.published_at OR OLD.date_source IS NOT NEW.date_source BEGIN "
        "INSERT OR IGNORE INTO status_dirty_documents VALUES (NEW.id); "
        "END"
    )


def _v6(db: sqlite_utils.Database) -> None:
    """Indexes for a national store (millions of runs and checks, hundreds of thousands of reports):
    the dashboard's pages and the crawl read one document's, one source's or one year's rows.

    events(document_id): a report's history; reports(document_id): a document's latest parse;
    documents(parent_id): a page's attachments; crawl_runs(source_id): a source's latest runs
    (ordered by id, the rowid every index ends with); reports(year): the years reported on;
    the good reports' (agency, year), the names every catalogue matches, without reading the
    reports' rows (their data is most of the table; error is a column so the index covers).
    """
    db["events"].create_index(["document_id"], if_not_exists=True)
    db["reports"].create_index(["document_id"], if_not_exists=True)
    db["documents"].create_index(["parent_id"], if_not_exists=True)
    db["crawl_runs"].create_index(["source_id"], if_not_exists=True)
    db["reports"].create_index(["year"], if_not_exists=True)
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_reports_good_names ON reports (agency, year, error) "
        "WHERE error IS NULL AND agency IS NOT NULL AND year IS NOT NULL"
    )


def _v7(db: sqlite_utils.Database) -> None:
    """Crawls on remote workers (``distributed``): who crawled a run, and the delivery ledger.

    One ``deliveries`` row per (task, source) sent to a worker: 'sent' until its results are
    ingested ('ingested', with the run they became) or refused ('rejected', with why), so a
    result delivered twice is stored once and a result for a task never sent is refused.
    """
    db["crawl_runs"].add_column("worker", str)
    db["deliveries"].create(
        {
            "id": int,
            "task_id": str,
            "source_id": str,
            "queue": str,
            "state": str,  # sent | ingested | rejected | expired
            "sent_at": str,
            "ingested_at": str,
            "run_id": int,
            "worker": str,
            "clock_offset": float,  # seconds the worker's clock was behind the broker's
            "reason": str,
        },
        pk="id",
    )
    db["deliveries"].create_index(["task_id", "source_id"], unique=True)
    db["deliveries"].create_index(["state"])


def _v8(db: sqlite_utils.Database) -> None:
    """The runs still 'running', by a small index: with the newest run id, they tell a page
    whether any source's health can have changed since the statuses were stored
    (``Store.health_key``), without reading every source's latest runs."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_crawl_runs_running ON crawl_runs (source_id) WHERE status = 'running'"
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8]
SCHEMA_VERSION = len(MIGRATIONS)


def check_version(db: sqlite_utils.Database) -> int:
    """The database's schema version, or StorageError when this nianbao must not touch it.

    Reads only, so it runs before anything is written (the journal mode included): a database
    from a newer nianbao, or another program's database, is left exactly as it was.
    """
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"database schema version {version} is newer than this nianbao's ({SCHEMA_VERSION}); "
            "upgrade nianbao"
        )
    if version == 0:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 3")]
        # Outside a transaction the two reads see different moments: another process creating
        # the same database may have committed its first migration in between.  Only tables
        # with a version still 0 are another program's.
        if tables and db.execute("PRAGMA user_version").fetchone()[0] == 0:
            raise StorageError(
                f"not a nianbao database: it holds other tables ({', '.join(tables)}) and no schema version"
            )
    return version


def migrate(db: sqlite_utils.Database, path: str = "") -> int:
    """Bring ``db`` up to ``SCHEMA_VERSION``; returns the version it started at.

    Each step runs in its own write transaction and checks the version again inside it, so two
    processes opening a new database at once apply each step once.
    """
    start = check_version(db)
    for version in range(start + 1, SCHEMA_VERSION + 1):
        with write_transaction(db.conn, path):
            if check_version(db) >= version:
                continue  # another process applied it meanwhile
            MIGRATIONS[version - 1](db)
            db.execute(f"PRAGMA user_version = {version}")
    return start
