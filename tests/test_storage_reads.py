"""storage.reads over a real SQLite file written by the Store's own write functions."""

from __future__ import annotations

import pytest

from storage import reads
from storage.store import Fetched, Store

PAGE = "http://a.example/art/2025/nb.html"
PDF = "http://a.example/files/nb-2025.pdf"
OTHER = "http://b.example/art/2024/nb.html"


def html(text: str) -> bytes:
    return f'<html><head><meta charset="utf-8"></head><body><p>{text}</p></body></html>'.encode()


def report(agency: str, year: int, **extra) -> dict:
    return {
        "agency": agency,
        "year": year,
        "kind": "department",
        "table2": {"new_received": [1] * 7},
        **extra,
    }


@pytest.fixture
def db(tmp_path):
    """Two sources; a page with a PDF attachment; a page edited once; a page that went away.

    Returns the open Store and the ids the tests look for.
    """
    store = Store(tmp_path / "nianbao.db")
    store.upsert_source("a", "甲县", "http://a.example/", None, {})
    store.upsert_source("b", "乙县", "http://b.example/", None, {})
    run = store.start_run("a")
    page = store.record_fetch(
        Fetched("a", PAGE, html("甲县财政局2025年报告"), content_type="text/html", run_id=run)
    )
    pdf = store.record_fetch(
        Fetched(
            "a",
            PDF,
            b"%PDF-1.4 report",
            content_type="application/pdf",
            kind="attachment",
            parent_url=PAGE,
            filename="甲县财政局.pdf",
            run_id=run,
        )
    )
    # The PDF holds the report; an older parse of the same version failed.
    store.save_report(pdf.version_id, "old", None, error="unreadable")
    pdf_report = store.save_report(pdf.version_id, "v2", report("甲县财政局", 2025))
    # The other source's page: a 2024 report, edited after publication (a second version).
    first = store.record_fetch(Fetched("b", OTHER, html("乙县2024年报告"), content_type="text/html"))
    first_report = store.save_report(first.version_id, "v2", report("乙县人民政府", 2024))
    second = store.record_fetch(Fetched("b", OTHER, html("乙县2024年报告（更正）"), content_type="text/html"))
    second_report = store.save_report(second.version_id, "v2", report("乙县人民政府", 2024, template="2021"))
    # A report whose agency could not be read: never shown as anyone's.
    anon = store.record_fetch(Fetched("b", "http://b.example/x.html", html("无名"), content_type="text/html"))
    store.save_report(anon.version_id, "v2", {"year": 2023})
    store.record_gone(PAGE, run, 404, "not found")
    store.finish_run(run, "finished", {"pages": 2})
    ids = {
        "page_doc": page.document_id,
        "pdf_doc": pdf.document_id,
        "pdf_version": pdf.version_id,
        "pdf_report": pdf_report,
        "other_doc": first.document_id,
        "first_report": first_report,
        "second_report": second_report,
        "second_version": second.version_id,
        "first_version": first.version_id,
    }
    yield store, ids
    store.close()


def test_report_ids_by_url_files_an_attachments_report_under_its_page_too(db):
    store, ids = db
    by_url = reads.report_ids_by_url(store)
    assert by_url == {PDF: ids["pdf_report"], PAGE: ids["pdf_report"], OTHER: ids["second_report"]}


def test_agency_report_ids_newest_first_without_failures(db):
    store, ids = db
    assert reads.agency_report_ids(store, "乙县人民政府") == [ids["second_report"], ids["first_report"]]
    assert reads.agency_report_ids(store, "甲县财政局") == [ids["pdf_report"]]
    assert reads.agency_report_ids(store, "丙县") == []


def test_report_joins_its_document_and_decodes_its_data(db):
    store, ids = db
    rep = reads.report(store, ids["pdf_report"])
    assert rep["agency"] == "甲县财政局" and rep["year"] == 2025 and rep["error"] is None
    assert rep["url"] == PDF and rep["doc_kind"] == "attachment" and rep["parent_id"] == ids["page_doc"]
    assert rep["version_id"] == ids["pdf_version"] and rep["document_id"] == ids["pdf_doc"]
    assert rep["data"] == report("甲县财政局", 2025) and "data_json" not in rep
    assert reads.report(store, ids["second_report"])["data"]["template"] == "2021"
    assert reads.report(store, 999_999) is None


def test_latest_report_id_and_report_years(db):
    store, ids = db
    assert reads.latest_report_id(store, ids["other_doc"]) == ids["second_report"]
    assert reads.latest_report_id(store, ids["pdf_doc"]) == ids["pdf_report"]  # not the failed parse
    assert reads.latest_report_id(store, ids["page_doc"]) is None
    assert reads.report_years(store) == [2025, 2024, 2023]


def test_documents_by_id_and_counts_per_source(db):
    store, ids = db
    doc = reads.document_by_id(store, ids["pdf_doc"])
    assert doc["url"] == PDF and doc["parent_id"] == ids["page_doc"] and doc["filename"] == "甲县财政局.pdf"
    assert reads.document_by_id(store, 999_999) is None
    assert reads.document_counts(store) == {"a": 2, "b": 2}


def test_version_download_names_type_url_and_filename(db):
    store, ids = db
    assert reads.version_download(store, ids["pdf_version"]) == {
        "content_type": "application/pdf",
        "url": PDF,
        "filename": "甲县财政局.pdf",
    }
    assert reads.version_download(store, 999_999) is None


def test_events_of_documents_and_the_most_recent(db):
    store, ids = db
    events = reads.document_events(store, [ids["other_doc"], ids["page_doc"], ids["other_doc"]])
    assert [(e["document_id"], e["kind"]) for e in events] == [
        (ids["other_doc"], "modified"),
        (ids["page_doc"], "removed"),
    ]
    modified = events[0]
    assert (
        modified["previous_version_id"] == ids["first_version"]
        and modified["version_id"] == ids["second_version"]
    )
    assert events[1]["detail"] == {"reason": "not found"}
    assert reads.document_events(store, []) == []
    assert reads.document_events(store, [ids["pdf_doc"]]) == []

    recent = reads.recent_events(store, limit=30)
    assert [e["kind"] for e in recent] == ["removed", "modified"]  # newest first
    assert recent[0]["url"] == PAGE and recent[0]["source_id"] == "a" and recent[0]["detail"]["reason"]
    assert [e["kind"] for e in reads.recent_events(store, limit=1)] == ["removed"]


def test_the_dashboard_speaks_no_sql():
    """Its queries live here, in storage.reads: none in outputs/web."""
    import re
    from pathlib import Path

    sql = re.compile(r"execute\(|\.query\(|SELECT |INSERT |UPDATE ")
    web = Path(__file__).resolve().parents[1] / "outputs" / "web"
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(web.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if sql.search(line)
    ]
    assert found == []
