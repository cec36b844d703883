"""Crawling TRS portals over real HTTP: the simulated county portal and a GBK department site."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest

from simulator.portal import SimulatedPortal
from tests.crawl_helpers import nianbao, write_config


def _documents(db) -> dict[str, dict]:
    db.row_factory = sqlite3.Row
    return {r["url"]: dict(r) for r in db.execute("SELECT * FROM documents")}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """The demo region (a TRS county portal + a GBK .shtml department site), crawled once."""
    tmp = tmp_path_factory.mktemp("trs")
    portal = SimulatedPortal.demo(seed=7)
    with portal:
        config = write_config(tmp, portal.start_urls)
        proc = nianbao(config, "crawl", "--quiet")
        db = sqlite3.connect(tmp / "nianbao.db")
        yield portal, config, db, proc
        db.close()


def test_every_report_and_attachment_is_found_from_the_home_page(crawled):
    portal, _, db, proc = crawled
    expected = {u for u in portal.report_urls() if "_wap" not in u}  # mobile copies are the same reports
    stored = set(_documents(db))
    assert expected <= stored, sorted(expected - stored)[:5]
    assert "finished" in proc.stdout


def test_nothing_but_reports_is_stored(crawled):
    portal, _, db, _ = crawled
    truth = set(portal.report_urls())
    extra = [u for u in _documents(db) if u not in truth]
    assert extra == []
    titles = [r[0] for r in db.execute("SELECT title FROM documents WHERE kind = 'page'")]
    assert not [t for t in titles if "通知" in t or "图解" in t or "报表" in t]


def test_pagination_reaches_the_last_page_of_both_conventions(crawled):
    portal, _, _, _ = crawled
    for served in portal.sites:
        last = served.site.list_urls()[-1]
        assert portal.requests[last] >= 1, f"{served.name}: last list page {last} never requested"
    # the department site uses index_2.shtml for page 2; the county site index_1.html
    assert portal.sites[1].site.list_urls()[1].endswith("index_2.shtml")


def test_gbk_site_is_decoded(crawled):
    portal, _, db, _ = crawled
    gbk = portal.sites[1]
    rows = [r for u, r in _documents(db).items() if u.startswith(gbk.base_url) and r["kind"] == "page"]
    assert rows
    (agency,) = gbk.site.agencies
    assert all(r["title"].startswith(agency) for r in rows), [r["title"] for r in rows]


def test_attachments_hang_on_their_article_and_inherit_its_date(crawled):
    portal, _, db, _ = crawled
    docs = _documents(db)
    by_id = {r["id"]: r for r in docs.values()}
    attachments = [r for r in docs.values() if r["kind"] == "attachment"]
    planned = [pr for pr in portal.region.published() if pr.fmt in ("pdf", "docx")]
    spreadsheets = [d for d in portal.site.documents() if d["fmt"] == "xlsx"]
    assert len(spreadsheets) == 1  # an HTML report that also attaches its tables
    assert len(attachments) == len(planned) + len(spreadsheets)
    for a in attachments:
        parent = by_id[a["parent_id"]]
        assert parent["kind"] == "page"
        assert a["published_at"] == parent["published_at"] and a["date_source"].startswith("parent:")
    types = {
        db.execute("SELECT content_type FROM versions WHERE document_id = ?", [a["id"]]).fetchone()[0]
        for a in attachments
    }
    assert any("pdf" in t for t in types) and any("word" in t for t in types)
    assert any("spreadsheet" in t for t in types)
    sheet = docs[spreadsheets[0]["url"]]
    assert by_id[sheet["parent_id"]]["url"] == spreadsheets[0]["article_url"]


def test_pubdate_wins_over_the_url_date(crawled):
    portal, _, db, _ = crawled
    docs = _documents(db)
    pr = next(p for p in portal.region.reports if "url_date_after_pubdate" in p.planted)
    url = portal.url_of(pr.agency.name, pr.year)
    row = docs[url]
    assert row["published_at"] == pr.published_at.isoformat()
    assert row["date_source"] == "meta"
    assert row["url_date"] == pr.url_date.isoformat() != row["published_at"]
    for p in portal.region.published():
        r = docs[portal.url_of(p.agency.name, p.year)]
        assert r["published_at"] == p.published_at.isoformat(), (p.agency.name, p.year)


def _versions(db, url: str) -> list[int]:
    return [
        r[0]
        for r in db.execute(
            "SELECT v.id FROM versions v JOIN documents d ON d.id = v.document_id WHERE d.url = ? ORDER BY v.id",
            [url],
        )
    ]


def test_recrawl_versions_same_bytes_as_checks_and_changed_bytes_as_new_versions(crawled):
    portal, config, db, _ = crawled
    versions_before = db.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
    nianbao(config, "crawl", "--quiet", "--revalidate")
    assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == versions_before
    assert db.execute("SELECT COUNT(*) FROM checks WHERE outcome != 'new_version'").fetchone()[0] > 0

    main_site = portal.sites[0].site
    page_report = next(
        p
        for p in portal.region.published()
        if p.fmt == "html" and main_site.owns(p) and p.article_id not in main_site.tables_ids
    )  # (a report with a tables spreadsheet would change two files)
    file_report = next(p for p in portal.region.published() if p.fmt == "pdf" and main_site.owns(p))
    page_url = portal.url_of(page_report.agency.name, page_report.year)
    file_url = main_site.attachment_url_of(file_report)
    old_page, old_file = _versions(db, page_url), _versions(db, file_url)
    assert len(old_page) == len(old_file) == 1
    portal.edit(page_report.agency.name, page_report.year)
    portal.edit(file_report.agency.name, file_report.year)
    nianbao(config, "crawl", "--quiet", "--revalidate")
    new_page, new_file = _versions(db, page_url), _versions(db, file_url)
    assert new_page[0] == old_page[0] and len(new_page) == 2  # the old version is kept beside the new one
    assert new_file[0] == old_file[0] and len(new_file) == 2
    assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == versions_before + 2
    changes = json.loads(nianbao(config, "changes", "--format", "json").stdout)
    assert sorted(c["url"] for c in changes if c["kind"] == "modified") == sorted([page_url, file_url])
    page_change = next(c for c in changes if c["url"] == page_url)
    assert any(line.startswith("+") for line in page_change["detail"]["text_diff"])


def test_health_lists_each_source_run(crawled):
    _, config, _, _ = crawled
    rows = json.loads(nianbao(config, "health", "--format", "json").stdout)
    assert [r["source"] for r in rows] == ["s0", "s1"]
    assert all(r["status"] == "finished" and r["documents"] > 0 for r in rows)
    assert date.fromisoformat(rows[0]["last_run"][:10]) <= date.today()
