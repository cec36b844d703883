"""The indexes of migration _v6 on a real SQLite file: created on a new database, added to an old
(version 4) one without losing a row, and used by the reads behind the dashboard's pages
(EXPLAIN QUERY PLAN names the index; no big table is scanned whole).  The reads that replaced
whole-table ones give the same answers as those."""

from __future__ import annotations

import re
import sqlite3

import pytest
import sqlite_utils

from storage import queries, reads
from storage.schema import MIGRATIONS, SCHEMA_VERSION
from storage.store import Fetched, Store

V6_INDEXES = {
    "idx_events_document_id",
    "idx_reports_document_id",
    "idx_documents_parent_id",
    "idx_crawl_runs_source_id",
    "idx_reports_year",
    "idx_reports_good_names",
}
BIG_TABLES = ("documents", "versions", "blobs", "reports", "events", "checks", "crawl_runs")


def html(text: str) -> bytes:
    return f'<html><head><meta charset="utf-8"></head><body><p>{text}</p></body></html>'.encode()


def fill(store: Store) -> dict[str, int]:
    """Two sources; pages with and without a PDF attachment, an edit, a removal; reports; runs."""
    ids: dict[str, int] = {}
    for sid in ("a", "b"):
        store.upsert_source(sid, f"{sid}县", f"http://{sid}.example/", None, {})
        for _ in range(3):
            store.finish_run(store.start_run(sid), "finished", {"pages": 1})
    run = store.start_run("a")
    for n in range(4):
        page = f"http://a.example/art/{n}.html"
        got = store.record_fetch(Fetched("a", page, html(f"报告{n}"), content_type="text/html", run_id=run))
        ids[f"page{n}"] = got.document_id
        if n % 2 == 0:  # a file attached, the report read from it; the page itself reads nothing
            pdf = store.record_fetch(
                Fetched(
                    "a",
                    f"http://a.example/f/{n}.pdf",
                    f"%PDF-1.4 {n}".encode(),
                    kind="attachment",
                    parent_url=page,
                    content_type="application/pdf",
                    run_id=run,
                )
            )
            store.save_report(pdf.version_id, "v1", {"agency": f"甲县{n}局", "year": 2024})
            store.save_report(got.version_id, "v1", None, error="no report on the page")
        else:
            store.save_report(got.version_id, "v1", {"agency": f"甲县{n}局", "year": 2023 + n % 3})
    edited = store.record_fetch(
        Fetched("a", "http://a.example/art/1.html", html("报告1（更正）"), content_type="text/html")
    )
    store.save_report(edited.version_id, "v1", {"agency": "甲县1局", "year": 2024})
    store.record_fetch(
        Fetched("a", "http://a.example/f/0.pdf", b"%PDF-1.4 0 edited", kind="attachment",
                parent_url="http://a.example/art/0.html", content_type="application/pdf")
    )  # fmt: skip
    store.record_gone("http://a.example/art/3.html", run, 404, "404")
    store.record_gone("http://a.example/art/0.html", run, 404, "404")  # its file was edited
    store.finish_run(run, "finished", {"pages": 4})
    return ids


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "nianbao.db") as s:
        fill(s)
        yield s


def index_names(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_a_new_database_has_the_indexes(tmp_path):
    with Store(tmp_path / "new.db") as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert index_names(store.db.conn) >= V6_INDEXES


def test_an_old_database_gains_the_indexes_and_keeps_every_row(tmp_path):
    path = tmp_path / "old.db"
    with Store(tmp_path / "source.db") as full:
        fill(full)
    # A version-4 database (the schema as it was before _v6) holding the same rows.
    old = sqlite_utils.Database(sqlite3.connect(path))
    for step in MIGRATIONS[:4]:
        step(old)
    old.execute("PRAGMA user_version = 4")
    assert not V6_INDEXES & index_names(old.conn)
    old.conn.execute("ATTACH DATABASE ? AS src", [str(tmp_path / "source.db")])
    before = {}
    columns = {}
    for table in ("sources", "crawl_runs", "documents", "blobs", "versions", "checks", "reports", "events"):
        # The version-4 columns only: later migrations add some (crawl_runs.worker).
        columns[table] = ", ".join(r[1] for r in old.conn.execute(f"PRAGMA table_info({table})"))
        old.conn.execute(f"INSERT INTO {table} ({columns[table]}) SELECT {columns[table]} FROM src.{table}")
        before[table] = old.conn.execute(f"SELECT {columns[table]} FROM {table} ORDER BY rowid").fetchall()
        assert before[table], table
    old.conn.commit()
    old.conn.execute("DETACH DATABASE src")
    old.conn.close()

    with Store(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert index_names(store.db.conn) >= V6_INDEXES
        for table, rows in before.items():
            got = store.db.execute(f"SELECT {columns[table]} FROM {table} ORDER BY rowid").fetchall()
            assert got == rows, table
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def plans(store: Store, read) -> list[tuple[str, list[str]]]:
    """Every statement ``read()`` runs (bound, as SQLite expands it), with its query plan."""
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    try:
        read()
    finally:
        store.db.conn.set_trace_callback(None)
    out = []
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            plan = [r[3] for r in store.db.conn.execute("EXPLAIN QUERY PLAN " + sql)]
            out.append((sql, plan))
    assert out, "the read ran no query"
    return out


def full_scans(plan: list[str]) -> list[str]:
    """The plan's lines that read a big table row by row, without an index."""
    return [line for line in plan if re.fullmatch(r"SCAN (\w+)", line) and line.split()[1] in BIG_TABLES]


@pytest.mark.parametrize(
    "name, read, index",
    [
        ("a report's events", lambda s, ids: reads.document_events(s, [ids["page1"]]), "idx_events_document_id"),
        ("a document's latest report", lambda s, ids: reads.latest_report_id(s, ids["page1"]), "idx_reports_document_id"),
        ("reports of an agency's URLs", lambda s, ids: reads.report_ids_for_urls(s, ["http://a.example/art/0.html"]), "idx_documents_parent_id"),
        ("events of an agency's URLs", lambda s, ids: reads.events_for_urls(s, ["http://a.example/art/0.html"]), "idx_events_document_id"),
        ("events of some documents", lambda s, ids: list(queries.document_events(s, [ids["page1"]])), "idx_events_document_id"),
        ("each source's latest runs", lambda s, ids: s.latest_runs(10), "idx_crawl_runs_source_id"),
        ("one source's runs", lambda s, ids: s.runs("a", limit=20), "idx_crawl_runs_source_id"),
        ("the last full walk", lambda s, ids: s.last_full_walk("a"), "idx_crawl_runs_source_id"),
        ("the years reported on", lambda s, ids: reads.report_years(s), "idx_reports_year"),
        ("the names reported", lambda s, ids: list(queries.report_names(s)), "idx_reports_good_names"),
    ],
)  # fmt: skip
def test_the_pages_reads_use_an_index(store, name, read, index):
    ids = fill_ids(store)
    found = plans(store, lambda: read(store, ids))
    assert any(index in line for _sql, plan in found for line in plan), (name, found)
    for sql, plan in found:
        assert not full_scans(plan), (name, sql, plan)


def fill_ids(store: Store) -> dict[str, int]:
    return {f"page{n}": store.document(f"http://a.example/art/{n}.html")["id"] for n in range(4)}


def test_reads_by_url_answer_as_the_whole_table_reads_do(store):
    urls = [r[0] for r in store.db.execute("SELECT url FROM documents")] + ["http://nowhere.example/"]
    everything = reads.report_ids_by_url(store)
    assert reads.report_ids_for_urls(store, urls) == everything
    assert reads.report_ids_for_urls(store, urls[:1]) == {k: v for k, v in everything.items() if k == urls[0]}
    events = reads.events_by_url(store)
    assert any(len(v) > 1 for v in events.values())  # a page holding its own and its file's events
    assert reads.events_for_urls(store, urls) == events
    every_event = list(queries.document_events(store))
    some = {every_event[0][0], every_event[-1][0]}
    assert list(queries.document_events(store, some)) == [e for e in every_event if e[0] in some]


def test_latest_runs_are_each_sources_newest(store):
    everything = store.runs(limit=10_000)
    latest = store.latest_runs(per_source=2)
    assert set(latest) == {"a", "b"}
    for sid, runs in latest.items():
        assert runs == [r for r in everything if r["source_id"] == sid][:2]
    assert [r["id"] for r in store.run_history(per_source=2)["a"]] == [r["id"] for r in latest["a"]]


def test_events_page_through_newest_first(store):
    every = store.events()
    assert len(every) >= 3
    assert store.events(newest_first=True, limit=2) == every[::-1][:2]
    assert store.events(newest_first=True, limit=2, offset=2) == every[::-1][2:4]
    assert reads.event_count(store) == len(every)


def test_catalogue_rows_of_some_agencies_are_theirs_of_the_whole(store):
    everything = sorted(queries.catalogue_rows(store))
    names = {row[4] for row in everything}
    assert len(names) > 2
    some = sorted(names)[:2]
    assert sorted(queries.catalogue_rows(store, some)) == [r for r in everything if r[4] in some]
    assert list(queries.catalogue_rows(store, [])) == []
    assert queries.first_report_year(store) == min(row[5] for row in everything)
    found = plans(store, lambda: list(queries.catalogue_rows(store, some)))
    by_name = ("idx_reports_agency_year", "idx_reports_good_names")  # either index on (agency, year)
    assert any(i in line for _sql, plan in found for line in plan for i in by_name), found
    for sql, plan in found:
        assert not full_scans(plan), (sql, plan)
