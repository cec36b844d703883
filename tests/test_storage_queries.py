"""storage.queries over a real SQLite file: the reads monitor and ``changes`` use, and the
scheduler's chains in flight."""

from __future__ import annotations

import os
import sqlite3

import pytest

from storage import Fetched, Store
from storage.queries import (
    catalogue_rows,
    chains_in_flight,
    document_events,
    mark_chain,
    parsed_report,
    report_data_json,
    report_names,
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


def test_chains_in_flight_survive_a_reopen_and_clear(tmp_path):
    path = tmp_path / "jobs.sqlite"
    assert chains_in_flight(path) == []
    mark_chain(path, "s1", True)
    mark_chain(path, "s2", True)
    mark_chain(path, "s1", False)
    (row,) = chains_in_flight(path)
    assert row["source_id"] == "s2" and row["pid"] == os.getpid() and row["started_at"]
    # The table lives in the job store's own database, beside APScheduler's tables.
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT source_id FROM nianbao_chains_in_flight").fetchall() == [("s2",)]
