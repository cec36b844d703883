"""storage.queries over a real SQLite file: the reads monitor and ``changes`` use, and the
scheduler's queue of due sources."""

from __future__ import annotations

import os
import sqlite3

import pytest

from storage import Fetched, Store
from storage.queries import (
    catalogue_rows,
    document_events,
    due_rows,
    get_flag,
    legacy_chains,
    parsed_report,
    queue_due,
    release_due,
    report_data_json,
    report_names,
    set_flag,
    take_due,
)

SOURCE = "s"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "nianbao.db") as store:
        store.upsert_source(SOURCE, "站点", "http://127.0.0.1:1/", "trs", {})
        yield store


def fetch(store: Store, url: str, body: bytes, **kw) -> int:
    return store.record_fetch(Fetched(SOURCE, url, body, content_type="text/html", **kw)).version_id


def test_parsed_report_is_the_newest_successful_parse(store):
    v = fetch(store, "http://127.0.0.1/a.html", b"<p>a</p>")
    assert parsed_report(store, v) is None  # never parsed
    store.save_report(v, "1.0", {"agency": "甲局", "year": 2023, "table1": {"licensing": 1}})
    store.save_report(v, "1.1", {"agency": "甲局", "year": 2023, "table1": {"licensing": 2}})
    store.save_report(v, "1.2", None, error="broken")  # a failed run keeps the last good data
    assert parsed_report(store, v)["table1"] == {"licensing": 2}


def test_names_and_catalogue_rows_take_each_versions_newest_run(store):
    v1 = fetch(store, "http://127.0.0.1/a.html", b"<p>a</p>", published_at="2024-01-20")
    v2 = fetch(store, "http://127.0.0.1/a.html", b"<p>a, corrected</p>")
    v3 = fetch(store, "http://127.0.0.1/b.html", b"<p>b</p>")
    store.save_report(v1, "1.0", {"agency": "甲局", "year": 2023})
    store.save_report(v1, "1.1", {"agency": "甲局", "year": 2023, "kind": "department"})
    store.save_report(v2, "1.1", {"agency": "甲局", "year": 2023, "kind": "department"})
    store.save_report(v3, "1.1", None, error="unreadable")
    assert sorted(report_names(store)) == [("甲局", 2023)]
    rows = sorted(catalogue_rows(store), key=lambda r: r[1])
    assert [(r[1], r[4], r[5], r[6]) for r in rows] == [
        (v1, "甲局", 2023, "department"),
        (v2, "甲局", 2023, "department"),
    ]
    assert rows[0][10] == "http://127.0.0.1/a.html" and rows[0][11] == "2024-01-20"


def test_report_data_comes_in_chunks_beyond_sqlites_parameter_bound(store):
    ids = []
    for i in range(1900):  # more than two chunks of 900 ids
        v = fetch(store, f"http://127.0.0.1/{i}.html", f"<p>{i}</p>".encode())
        ids.append(store.save_report(v, "1.1", {"agency": f"局{i}", "year": 2023}))
    got = dict(report_data_json(store, [*ids, 10**9]))  # an unknown id is left out
    assert len(got) == 1900 and '"局1899"' in got[ids[-1]]


def test_document_events_are_oldest_first_with_their_detail(store):
    url = "http://127.0.0.1/a.html"
    fetch(store, url, b"<p>one</p>")
    fetch(store, url, b"<p>two</p>")
    store.record_gone(url, None, 404, "404")
    events = list(document_events(store))
    assert [(e[1], e[3]) for e in events] == [("modified", url), ("removed", url)]
    assert '"reason": "404"' in events[1][4]


def test_the_due_queue_takes_each_source_once_and_survives_a_reopen(tmp_path):
    path = tmp_path / "jobs.sqlite"
    assert due_rows(path) == []
    assert queue_due(path, "s1") and queue_due(path, "s2") and queue_due(path, "s3")
    assert not queue_due(path, "s1")  # queued already
    assert take_due(path, 2) == ["s1", "s2"]  # oldest first, at most the limit
    assert not queue_due(path, "s2")  # being crawled
    rows = {r["source_id"]: r for r in due_rows(path)}
    assert rows["s1"]["taken_at"] and rows["s1"]["pid"] == os.getpid() and rows["s1"]["attempts"] == 1
    assert rows["s3"]["taken_at"] is None and rows["s3"]["attempts"] == 0
    release_due(path, done=["s1"], again=["s2"])
    rows = {r["source_id"]: r for r in due_rows(path)}
    assert set(rows) == {"s2", "s3"} and rows["s2"]["taken_at"] is None and rows["s2"]["attempts"] == 1
    assert take_due(path, 10) == ["s2", "s3"]
    assert take_due(path, 10) == []  # nothing left untaken
    # Flags: set, read after a reopen, cleared.
    set_flag(path, "post_pending", "2026-01-01T00:00:00+00:00")
    assert get_flag(path, "post_pending") == "2026-01-01T00:00:00+00:00"
    set_flag(path, "post_pending", None)
    assert get_flag(path, "post_pending") is None


def test_chains_an_older_scheduler_left_unfinished_are_handed_over_once(tmp_path):
    path = tmp_path / "jobs.sqlite"
    assert legacy_chains(path) == []  # no such table: nothing
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE nianbao_chains_in_flight (source_id TEXT PRIMARY KEY, started_at TEXT, pid INT)"
        )
        conn.execute("INSERT INTO nianbao_chains_in_flight VALUES ('s9', '2026-01-01T02:00:00+08:00', 1)")
    assert legacy_chains(path) == ["s9"]
    assert legacy_chains(path) == []  # the table is gone
