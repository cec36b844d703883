"""The materialised statuses: every SQL statement that reads or writes them (schema ``_v5``).

``monitor.refresh`` decides what to recompute; this module only moves rows.  The tables:

- ``status_rows``: one row per expected (agency, year) — ``ROW_COLUMNS`` — filtered in SQL by
  year, region or status when read;
- ``status_docs``: per parsed version, what its newest parse counts for (``DOC_COLUMNS``; agency
  NULL when that parse is no usable report), so a changed version names the rows it affected;
- ``status_names``: every agency name reports carry, its administrative prefix, its years and the
  canonical name it maps to;
- ``status_state``: key → JSON value (as_of, the expected years, the config fingerprint, the
  sources that cannot be checked);
- ``status_dirty_versions`` / ``_names`` / ``_documents``: what changed since the last refresh,
  written by triggers (schema ``_v5``) in the transaction of the change itself, read and emptied
  by the refresh (``take_changes``).  A watermark on report ids would miss a parse replaced
  under the same id (SQLite gives a deleted top rowid to the next insert); a trigger misses
  nothing, whoever writes.

Lists of keys travel as one JSON parameter (``json_each``), so no query meets SQLite's bound on
parameters however many rows a refresh touches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from storage.store import Store

ROW_COLUMNS = (
    "agency",
    "kind",
    "year",
    "status",
    "deadline",
    "published_at",
    "days_late",
    "url",
    "date_source",
    "source_id",
    "region",
    "evidence",
    "exp_source_id",  # the source whose walk would have listed the report (not_checkable follows it)
    "undated",  # 1 when a document without a publication date was found for the pair
    "latest_pub",  # the latest publication date among the pair's documents
)
DOC_COLUMNS = (
    "version_id",
    "report_id",
    "document_id",
    "source_id",
    "name",
    "year",
    "kind",
    "issues",
    "published_at",
    "date_source",
    "url",
    "agency",
)

# The newest parser run of each version (usable or not) with its document's and parent page's dates.
_VERSION_ROWS = """
SELECT r.id, r.version_id, r.document_id, r.source_id, r.agency, r.year, r.kind, r.issues,
       r.published_at, r.date_source,
       d.url, d.published_at, d.date_source, d.first_seen,
       p.published_at, p.date_source,
       (r.error IS NULL AND r.agency IS NOT NULL AND r.year IS NOT NULL) AS usable
FROM reports r
JOIN documents d ON d.id = r.document_id
LEFT JOIN documents p ON p.id = d.parent_id
WHERE r.id IN (SELECT MAX(id) FROM reports {where} GROUP BY version_id)
ORDER BY r.id
"""


def _keys(values: Iterable[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


# -- state ---------------------------------------------------------------------------------------


def read_state(store: Store) -> dict[str, Any]:
    """Every stored state value (empty before the first refresh)."""
    return {k: json.loads(v) for k, v in store.db.execute("SELECT key, value FROM status_state")}


def write_state(store: Store, state: dict[str, Any]) -> None:
    store.db.conn.executemany(
        "INSERT OR REPLACE INTO status_state (key, value) VALUES (?, ?)",
        [(k, json.dumps(v, ensure_ascii=False)) for k, v in state.items()],
    )


def clear(store: Store) -> None:
    """Forget everything materialised (a full recomputation follows)."""
    for table in TABLES:
        store.db.conn.execute(f"DELETE FROM {table}")  # noqa: S608 - our table names


TABLES = (
    "status_rows",
    "status_docs",
    "status_names",
    "status_state",
    "status_dirty_versions",
    "status_dirty_names",
    "status_dirty_documents",
)


# -- what changed in the reports ------------------------------------------------------------------


def version_rows(store: Store, version_ids: Iterable[int] | None = None) -> Iterator[tuple[Any, ...]]:
    """The newest parser run of every version (of ``version_ids`` only, when given), by report id:
    (report id, version id, document id, source id, agency, year, kind, issues, report's
    published_at, its date source, url, document's published_at, its date source, first_seen,
    parent page's published_at, its date source, usable: 1 when it read an agency and a year)."""
    if version_ids is None:
        yield from store.db.execute(_VERSION_ROWS.format(where=""))
    else:
        sql = _VERSION_ROWS.format(where="WHERE version_id IN (SELECT value FROM json_each(?))")
        yield from store.db.execute(sql, [_keys(version_ids)])


def anything_changed(store: Store) -> bool:
    """Whether a parser run or a document's date changed since the last refresh."""
    return bool(
        store.db.execute(
            "SELECT EXISTS (SELECT 1 FROM status_dirty_versions) OR EXISTS (SELECT 1 FROM status_dirty_names) "
            "OR EXISTS (SELECT 1 FROM status_dirty_documents)"
        ).fetchone()[0]
    )


def take_changes(store: Store) -> tuple[set[int], set[str], set[int]]:
    """What changed since the last refresh, forgotten as it is read (inside the refresh's
    transaction): (versions whose parser runs changed, agency names those runs carried,
    counted versions whose document or parent page got another date)."""
    conn = store.db.conn
    versions = {r[0] for r in conn.execute("SELECT version_id FROM status_dirty_versions")}
    names_ = {r[0] for r in conn.execute("SELECT name FROM status_dirty_names")}
    dated = {
        r[0]
        for r in conn.execute(
            "WITH touched AS (SELECT document_id AS id FROM status_dirty_documents) "
            "SELECT version_id FROM status_docs WHERE document_id IN (SELECT id FROM touched) "
            "UNION SELECT s.version_id FROM status_docs s JOIN documents d ON d.id = s.document_id "
            "WHERE d.parent_id IN (SELECT id FROM touched)"
        )
    }
    for table in ("status_dirty_versions", "status_dirty_names", "status_dirty_documents"):
        conn.execute(f"DELETE FROM {table}")  # noqa: S608 - our table names
    return versions, names_, dated


def name_years(store: Store, names_: Iterable[str]) -> dict[str, set[int]]:
    """name → the years parser runs read without error for it, for each of ``names_`` that has any."""
    out: dict[str, set[int]] = {}
    for name, year in store.db.execute(
        "SELECT agency, year FROM reports WHERE agency IN (SELECT value FROM json_each(?)) "
        "AND error IS NULL AND year IS NOT NULL GROUP BY agency, year",
        [_keys(names_)],
    ):
        out.setdefault(name, set()).add(int(year))
    return out


# -- status_docs ------------------------------------------------------------------------------------


def docs(store: Store, version_ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    """version id → its stored ``DOC_COLUMNS`` tuple."""
    return {
        r[0]: tuple(r)
        for r in store.db.execute(
            f"SELECT {', '.join(DOC_COLUMNS)} FROM status_docs "
            "WHERE version_id IN (SELECT value FROM json_each(?))",
            [_keys(version_ids)],
        )
    }


def put_docs(store: Store, rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert or replace ``DOC_COLUMNS`` tuples."""
    marks_ = ", ".join("?" * len(DOC_COLUMNS))
    store.db.conn.executemany(
        f"INSERT OR REPLACE INTO status_docs ({', '.join(DOC_COLUMNS)}) VALUES ({marks_})", rows
    )


def delete_docs(store: Store, version_ids: Iterable[int]) -> None:
    store.db.conn.execute(
        "DELETE FROM status_docs WHERE version_id IN (SELECT value FROM json_each(?))", [_keys(version_ids)]
    )


def rename_docs(store: Store, mapping: dict[str, str]) -> None:
    """Count every usable document written under a name in ``mapping`` for its new canonical name."""
    store.db.conn.executemany(
        "UPDATE status_docs SET agency = ? WHERE name = ? AND agency IS NOT NULL",
        [(canonical, name) for name, canonical in mapping.items()],
    )


def docs_of_agencies(store: Store, agencies: Iterable[str]) -> Iterator[tuple[Any, ...]]:
    """The usable documents counted for ``agencies``, as ``DOC_COLUMNS`` tuples by report id."""
    yield from store.db.execute(
        f"SELECT {', '.join(DOC_COLUMNS)} FROM status_docs "
        "WHERE agency IN (SELECT value FROM json_each(?)) ORDER BY report_id",
        [_keys(agencies)],
    )


def agencies_published_between(store: Store, after: str, until: str) -> set[str]:
    """Agencies with a counted document dated after ``after`` and on or before ``until``."""
    return {
        r[0]
        for r in store.db.execute(
            "SELECT DISTINCT agency FROM status_docs WHERE published_at > ? AND published_at <= ? "
            "AND agency IS NOT NULL",
            [after, until],
        )
    }


def first_year(store: Store) -> int | None:
    """The earliest year a usable report is about."""
    return store.db.execute("SELECT MIN(year) FROM status_docs WHERE agency IS NOT NULL").fetchone()[0]


# -- status_names -----------------------------------------------------------------------------------


def names(store: Store, prefixes: Iterable[str] | None = None) -> dict[str, tuple[str, set[int]]]:
    """name → (canonical name, years), for every stored name (or those with one of ``prefixes``)."""
    sql = "SELECT name, canonical, years FROM status_names"
    args: list[Any] = []
    if prefixes is not None:
        sql += " WHERE prefix IN (SELECT value FROM json_each(?))"
        args.append(_keys(prefixes))
    return {n: (c, set(json.loads(y))) for n, c, y in store.db.execute(sql, args)}


def names_named(store: Store, names_: Iterable[str]) -> dict[str, tuple[str, set[int]]]:
    """The stored ones among ``names_``: name → (canonical name, years)."""
    return {
        n: (c, set(json.loads(y)))
        for n, c, y in store.db.execute(
            "SELECT name, canonical, years FROM status_names WHERE name IN (SELECT value FROM json_each(?))",
            [_keys(names_)],
        )
    }


def alias_names(store: Store, canonicals: Iterable[str]) -> dict[str, tuple[str, set[int]]]:
    """The stored names that map to one of ``canonicals`` (name → (canonical, years))."""
    return {
        n: (c, set(json.loads(y)))
        for n, c, y in store.db.execute(
            "SELECT name, canonical, years FROM status_names WHERE canonical IN (SELECT value FROM json_each(?))",
            [_keys(canonicals)],
        )
    }


def canonical_names(store: Store, names_: Iterable[str]) -> dict[str, str]:
    """name → the canonical name it maps to, for the stored ones among ``names_``."""
    return dict(
        store.db.execute(
            "SELECT name, canonical FROM status_names WHERE name IN (SELECT value FROM json_each(?))",
            [_keys(names_)],
        )
    )


def put_names(store: Store, rows: Iterable[tuple[str, str, str, Iterable[int]]]) -> None:
    """Insert or replace (name, prefix, canonical, years) rows."""
    store.db.conn.executemany(
        "INSERT OR REPLACE INTO status_names (name, prefix, canonical, years) VALUES (?, ?, ?, ?)",
        [(n, p, c, json.dumps(sorted(y))) for n, p, c, y in rows],
    )


def delete_names(store: Store, gone: Iterable[str]) -> None:
    store.db.conn.execute(
        "DELETE FROM status_names WHERE name IN (SELECT value FROM json_each(?))", [_keys(gone)]
    )


# -- status_rows ------------------------------------------------------------------------------------


def replace_rows(store: Store, agencies: Iterable[str], rows: Iterable[dict[str, Any]]) -> None:
    """Drop every row of ``agencies``, then insert ``rows`` (dicts with ``ROW_COLUMNS``)."""
    store.db.conn.execute(
        "DELETE FROM status_rows WHERE agency IN (SELECT value FROM json_each(?))", [_keys(agencies)]
    )
    insert_rows(store, rows)


def insert_rows(store: Store, rows: Iterable[dict[str, Any]]) -> None:
    marks_ = ", ".join("?" * len(ROW_COLUMNS))
    store.db.conn.executemany(
        f"INSERT INTO status_rows ({', '.join(ROW_COLUMNS)}) VALUES ({marks_})",
        ([r[k] for k in ROW_COLUMNS] for r in rows),
    )


def unfound_rows(
    store: Store, statuses: Iterable[str] = (), sources: Iterable[str] = ()
) -> Iterator[dict[str, Any]]:
    """Rows whose status is one of ``statuses``, or that are not found (pending, missing,
    not_checkable) and belong to one of ``sources``: each a dict of ``ROW_COLUMNS``."""
    sql = (
        f"SELECT {', '.join(ROW_COLUMNS)} FROM status_rows WHERE status IN (SELECT value FROM json_each(?)) "
        "OR (status IN ('pending', 'missing', 'not_checkable') "
        "AND exp_source_id IN (SELECT value FROM json_each(?)))"
    )
    for row in store.db.execute(sql, [_keys(statuses), _keys(sources)]):
        yield dict(zip(ROW_COLUMNS, row, strict=True))


def update_rows(store: Store, rows: Iterable[dict[str, Any]]) -> None:
    """Write the status and evidence of re-derived rows."""
    store.db.conn.executemany(
        "UPDATE status_rows SET status = ?, evidence = ? WHERE agency = ? AND year = ?",
        [(r["status"], r["evidence"], r["agency"], r["year"]) for r in rows],
    )


def rows(
    store: Store,
    years: Iterable[int] | None = None,
    region: str | None = None,
    agency: str | None = None,
    statuses: Iterable[str] | None = None,
    columns: Iterable[str] = ROW_COLUMNS,
    kind_order: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Stored rows as dicts of ``columns`` (some of ``ROW_COLUMNS``), only those of ``years`` /
    exactly ``region`` / ``agency`` / ``statuses`` when given.  With ``kind_order`` (kind → rank,
    others last) they come sorted by region (none first), kind, agency and year."""
    columns = [c for c in columns if c in ROW_COLUMNS]  # names from ROW_COLUMNS only
    sql = f"SELECT {', '.join(columns)} FROM status_rows WHERE 1"
    args: list[Any] = []
    if years is not None:
        sql += " AND year IN (SELECT value FROM json_each(?))"
        args.append(_keys(years))
    if region is not None:
        sql += " AND region = ?"
        args.append(region)
    if agency is not None:
        sql += " AND agency = ?"
        args.append(agency)
    if statuses is not None:
        sql += " AND status IN (SELECT value FROM json_each(?))"
        args.append(_keys(statuses))
    if kind_order is not None:
        ranks = " ".join("WHEN ? THEN ?" for _ in kind_order)
        sql += f" ORDER BY COALESCE(region, ''), CASE kind {ranks} ELSE ? END, agency, year"
        for kind, rank in kind_order.items():
            args += [kind, rank]
        args.append(max(kind_order.values(), default=0) + 1)
    return [dict(zip(columns, r, strict=True)) for r in store.db.execute(sql, args)]


def regions(store: Store) -> list[str]:
    """Every region a stored row belongs to, sorted."""
    return [
        r[0]
        for r in store.db.execute(
            "SELECT DISTINCT region FROM status_rows WHERE region IS NOT NULL ORDER BY region"
        )
    ]
