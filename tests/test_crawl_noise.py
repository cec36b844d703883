"""Noisy portals over real HTTP: every family serves per-request chrome (a clock, counters, token
scripts, rotating related links, jsessionid links), and a change event still means the report
changed — an unedited revalidation stores nothing, one real edit gives exactly one event."""

from __future__ import annotations

import json
import sqlite3
import urllib.request

import pytest

import simulator.families  # noqa: F401  (registers the families)
from simulator.model import generate_region
from simulator.portal import SimulatedPortal
from tests.crawl_helpers import nianbao

# (family, site options): each portal serves its own small region (its own seed: a report on
# two portals would be one report, read once), so an edit on one changes no other.  No DOC/WPS
# here: LibreOffice is not what this file is about.
FAMILIES = [
    ("trs", {"per_page": 6}),
    ("hanweb", {"per_page": 4, "special_formats": ()}),
    ("gkmlpt", {"per_page": 5}),
    ("ucap", {"per_page": 4, "special_formats": ()}),
    ("jsonly", {"per_page": 4}),
]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read()


def _config(tmp, portals) -> object:
    sources = "".join(
        f"  - id: {fam}\n    name: {fam}站点\n    start_url: {p.start_url}\n    family: {fam}\n"
        for (fam, _), p in zip(FAMILIES, portals, strict=True)
    )
    path = tmp / "config.yaml"
    path.write_text(
        "storage:\n  path: nianbao.db\ncrawl:\n  delay: 0\n  concurrency_per_host: 4\n  retries: 1\n"
        f"sources:\n{sources}",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("noise")
    portals = [
        SimulatedPortal(region=generate_region(11 + i, departments=6, townships=1), family=fam, **opts)
        for i, (fam, opts) in enumerate(FAMILIES)
    ]
    for p in portals:
        p.start()
    try:
        config = _config(tmp, portals)
        nianbao(config, "crawl", "--quiet")
        db = sqlite3.connect(tmp / "nianbao.db", isolation_level=None)
        yield portals, config, db
        db.close()
    finally:
        for p in portals:
            p.stop()


def _count(db, table: str) -> int:
    return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _article(portal: SimulatedPortal) -> str:
    """The newest HTML report's article page (one URL: no copies, no second listing)."""
    site = portal.site
    reports = [r for r in portal.region.published() if r.fmt == "html" and site.visible(r)]
    newest = max(reports, key=lambda r: (r.published_at, r.article_id))
    return portal.url_of(newest.agency.name, newest.year)


def test_every_family_serves_per_request_chrome(crawled):
    portals, _, _ = crawled
    for (fam, _), portal in zip(FAMILIES, portals, strict=True):
        url = _article(portal)
        first, second = _get(url), _get(url)
        assert first != second, fam
        assert "今天是".encode() in first and b'var _tk="' in first and "相关链接".encode() in first, fam
    hanweb = portals[1]
    column = _get(hanweb.base_url + hanweb.site.column_url()).decode("utf-8")
    assert ";jsessionid=" in column  # article links carry a session id


def test_an_unedited_revalidation_stores_nothing_and_says_nothing(crawled):
    portals, config, db = crawled
    versions, documents = _count(db, "versions"), _count(db, "documents")
    checks_before = _count(db, "checks")
    nianbao(config, "crawl", "--quiet", "--revalidate")
    assert _count(db, "events") == 0
    assert _count(db, "versions") == versions
    assert _count(db, "documents") == documents  # session ids never made another document
    # The pages really came back (other bytes, so no 304): each was compared by its fingerprint.
    unchanged_pages = db.execute(
        "SELECT d.source_id, COUNT(*) FROM checks c JOIN documents d ON d.id = c.document_id "
        "WHERE c.id > ? AND c.outcome = 'unchanged' AND d.kind = 'page' GROUP BY d.source_id",
        [checks_before],
    ).fetchall()
    assert {source for source, n in unchanged_pages if n > 0} == {fam for fam, _ in FAMILIES}


def test_session_ids_never_reach_a_stored_address(crawled):
    portals, _, db = crawled
    urls = [u for (u,) in db.execute("SELECT url FROM documents")]
    assert urls and not [u for u in urls if "jsessionid" in u.lower()]
    hanweb = portals[1]
    truth = {d["final_url"] for d in hanweb.documents() if d["kind"] == "attachment"}
    truth |= {d["url"] for d in hanweb.documents() if d["kind"] == "article"}
    stored = {u for u in urls if u.startswith(hanweb.base_url)}
    assert stored == truth


def test_an_incremental_recrawl_fetches_no_known_file_again(crawled):
    """A file stored at the end of a redirect (Hanweb's downfile.jsp → /attach/…) is known by
    its link: an ordinary crawl does not fetch it again as if a crawl had been cut short."""
    portals, config, db = crawled
    versions = _count(db, "versions")
    for p in portals:
        p.reset_requests()
    nianbao(config, "crawl", "--quiet")
    assert _count(db, "versions") == versions and _count(db, "events") == 0
    files = {
        d.get("final_url", d["url"]) for p in portals for d in p.documents() if d["kind"] == "attachment"
    }
    files |= {d["url"] for p in portals for d in p.documents() if d["kind"] == "attachment"}
    fetched = [u for p in portals for u, n in p.requests.items() if n and u.split(";")[0] in files]
    assert fetched == []
    assert not [u for u in portals[1].requests if "downfile.jsp" in u]


def test_one_real_edit_gives_exactly_one_event_with_its_diffs(crawled):
    portals, config, db = crawled
    edited = {}
    for portal in portals:
        url = _article(portal)
        report = next(r for r in portal.region.published() if portal.url_of(r.agency.name, r.year) == url)
        edited[url] = report.report["table1"]["licensing"]
        portal.edit(report.agency.name, report.year)
    nianbao(config, "crawl", "--quiet", "--revalidate")
    events = db.execute(
        "SELECT e.kind, d.url FROM events e JOIN documents d ON d.id = e.document_id ORDER BY e.id"
    ).fetchall()
    assert sorted(events) == sorted(("modified", url) for url in edited)

    nianbao(config, "parse", "--stored")
    changes = json.loads(nianbao(config, "changes", "--format", "json").stdout)
    assert sorted(c["url"] for c in changes) == sorted(edited)
    for change in changes:
        detail = change["detail"]
        licensing = next(n for n in detail["numbers"] if n["field"] == "table1.licensing")
        assert licensing["before"] == edited[change["url"]] and licensing["after"] == licensing["before"] + 7
        added = [line for line in detail["text_diff"] if line.startswith("+") and not line.startswith("+++")]
        assert any(str(licensing["after"]) in line for line in added), change["url"]
        # Only the report changed: no clock, counter or related link in the diff.
        assert not [line for line in detail["text_diff"] if "今天是" in line or "相关链接" in line]
