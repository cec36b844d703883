"""Storage: versions, checks, blobs, events, reports, runs — on real SQLite files."""

from __future__ import annotations

import sqlite3

import pytest

from storage import Fetched, StorageError, Store
from storage.schema import SCHEMA_VERSION


def _fetch(body: bytes, url: str = "http://x.gov.cn/a/t20240126_1.html", **kw) -> Fetched:
    return Fetched(source_id="src", url=url, body=body, content_type="text/html", **kw)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "n.db")
    s.upsert_source("src", "某县人民政府", "http://x.gov.cn/", "trs", {})
    yield s
    s.close()


def test_database_is_wal_with_foreign_keys_and_schema_version(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_same_bytes_record_a_check_not_a_version(store):
    first = store.record_fetch(_fetch(b"<html>v1</html>"))
    again = store.record_fetch(_fetch(b"<html>v1</html>"))
    assert first.outcome == "new_version" and again.outcome == "unchanged"
    assert again.version_id == first.version_id
    assert store.db["versions"].count == 1
    outcomes = [r["outcome"] for r in store.db.query("SELECT outcome FROM checks ORDER BY id")]
    assert outcomes == ["new_version", "unchanged"]


def test_changed_bytes_add_a_version_and_keep_the_old_one(store):
    first = store.record_fetch(_fetch(b"<html>v1</html>"))
    second = store.record_fetch(_fetch(b"<html>v2</html>"))
    assert second.outcome == "new_version" and second.previous_version_id == first.version_id
    assert store.version_body(first.version_id) == b"<html>v1</html>"
    assert store.version_body(second.version_id) == b"<html>v2</html>"
    events = store.events()
    assert [(e["kind"], e["previous_version_id"], e["version_id"]) for e in events] == [
        ("modified", first.version_id, second.version_id)
    ]


def test_identical_bytes_at_two_urls_are_one_blob(store):
    body = b"%PDF-1.4 " + bytes(range(256)) * 100
    store.record_fetch(_fetch(body, url="http://x.gov.cn/a.pdf"))
    store.record_fetch(_fetch(body, url="http://x.gov.cn/a_wap.pdf"))
    assert store.db["versions"].count == 2
    assert store.db["blobs"].count == 1


def test_gone_and_restored_documents_are_events_once(store):
    store.record_fetch(_fetch(b"v1"))
    assert store.record_gone("http://x.gov.cn/a/t20240126_1.html", None, 404, "HTTP 404") is True
    assert store.record_gone("http://x.gov.cn/a/t20240126_1.html", None, 404, "HTTP 404") is False
    store.record_fetch(_fetch(b"v1"))
    assert [e["kind"] for e in store.events()] == ["removed", "restored"]
    assert store.document("http://x.gov.cn/a/t20240126_1.html")["gone_since"] is None


def test_reports_are_idempotent_per_version_and_parser(store):
    rec = store.record_fetch(_fetch(b"v1"))
    report = {"agency": "某县科学技术局", "year": 2023, "template": "2021", "issues": []}
    store.save_report(rec.version_id, "p1", report)
    store.save_report(rec.version_id, "p1", report)
    assert store.db["reports"].count == 1
    assert list(store.versions_to_parse("p1")) == []
    assert [r["version_id"] for r in store.versions_to_parse("p2")] == [rec.version_id]
    assert store.reports(2023)[0]["agency"] == "某县科学技术局"


def test_a_failed_write_loses_nothing_stored_before(store):
    store.record_fetch(_fetch(b"v1"))
    with pytest.raises(sqlite3.IntegrityError), store.transaction():
        store.db["versions"].insert({"document_id": 1, "sha256": "0" * 64, "size": 1})  # no such blob
    assert store.db["versions"].count == 1
    assert store.version_body(1) == b"v1"


def test_runs_record_their_figures(store):
    run = store.start_run("src")
    store.finish_run(run, "finished", {"pages": 7, "documents": 5, "errors": 1})
    row = store.runs("src")[0]
    assert (row["status"], row["pages"], row["documents"], row["errors"]) == ("finished", 7, 5, 1)


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="junk.db: not a usable nianbao database"):
        Store(bad)
