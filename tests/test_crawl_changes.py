"""Incremental crawls and change events: edits, removals and restorations between crawls."""

from __future__ import annotations

import json
import sqlite3

import pytest

from simulator.portal import SimulatedPortal
from tests.crawl_helpers import nianbao, write_config


def _events(db) -> list[tuple[str, str]]:
    return [
        (kind, url)
        for kind, url in db.execute(
            "SELECT e.kind, d.url FROM events e JOIN documents d ON d.id = e.document_id ORDER BY e.id"
        )
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("changes")
    portal = SimulatedPortal(seed=11)
    with portal:
        config = write_config(tmp, [portal.start_url])
        db = sqlite3.connect(tmp / "nianbao.db", isolation_level=None)
        yield portal, config, db
        db.close()


def test_an_unchanged_recrawl_costs_under_a_tenth_of_the_first(site):
    portal, config, db = site
    portal.reset_requests()
    nianbao(config, "crawl", "--quiet")
    first = portal.request_count()
    versions = db.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
    portal.reset_requests()
    nianbao(config, "crawl", "--quiet")
    second = portal.request_count()
    assert first > 100
    assert second <= 0.1 * first, (first, second, portal.requests)
    assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == versions
    assert _events(db) == []


def test_edit_remove_restore_give_exactly_the_right_events(site):
    portal, config, db = site
    site_ = portal.site
    html_reports = [p for p in portal.region.published() if p.fmt == "html"]
    edited, removed = html_reports[0], html_reports[1]
    edited_url = portal.url_of(edited.agency.name, edited.year)
    removed_url = portal.url_of(removed.agency.name, removed.year)
    portal.edit(edited.agency.name, edited.year)
    portal.remove(removed.agency.name, removed.year)
    portal.reset_requests()
    nianbao(config, "crawl", "--quiet", "--revalidate")
    assert sorted(_events(db)) == [("modified", edited_url), ("removed", removed_url)]
    assert site_.visible(edited)

    portal.restore(removed.agency.name, removed.year)
    nianbao(config, "crawl", "--quiet", "--revalidate")
    assert _events(db)[2:] == [("restored", removed_url)]
    # nothing changed since: a further revalidation adds no event and no version
    versions = db.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
    nianbao(config, "crawl", "--quiet", "--revalidate")
    assert len(_events(db)) == 3
    assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == versions


def _db_path(config):
    return config.parent / "nianbao.db"


def test_changes_speak_the_templates_terms(site):
    """The edit above, as ``nianbao changes`` shows it: each changed number labelled as the
    template prints it, in text and JSON, with the old machine key kept for scripts."""
    portal, config, _db = site
    edited = next(p for p in portal.region.published() if p.fmt == "html")  # edited above
    url = portal.url_of(edited.agency.name, edited.year)
    nianbao(config, "parse", "--stored")
    received = edited.report["table2"]["new_received"][0]
    licensing = edited.report["table1"]["licensing"]

    text = nianbao(config, "changes").stdout
    assert f"表二 一、本年新收政府信息公开申请数量 · 自然人：{received - 1} → {received}" in text
    assert "表二 三、（一）予以公开 · 总计：" in text
    assert f"表一 行政许可：{licensing - 7} → {licensing}" in text
    assert "table2." not in text and "table1." not in text  # no machine keys for people

    changes = json.loads(nianbao(config, "changes", "--format", "json").stdout)
    (modified,) = [c for c in changes if c["kind"] == "modified" and c["url"] == url]
    assert modified["kind_label"] == "修改"
    numbers = {n["key"]: n for n in modified["detail"]["numbers"]}
    cell = numbers["table2.new_received.natural_person"]
    assert cell == {
        "key": "table2.new_received.natural_person",
        "label": "表二 一、本年新收政府信息公开申请数量 · 自然人",
        "field": "table2.new_received[0]",  # the key scripts read before labels existed
        "before": received - 1,
        "after": received,
    }

    # The digest's 变更 rows say the same, from the explained event.
    out = _db_path(config).parent / "digest.json"
    nianbao(config, "digest", "--year", str(edited.year), "--format", "json", "-o", str(out))
    rows = [c for c in json.loads(out.read_text(encoding="utf-8"))["changes"] if c["url"] == url]
    assert [r["label"] for r in rows] == ["修改"]
    assert f"表一 行政许可：{licensing - 7} → {licensing}" in rows[0]["detail"]


def _newest_html_report(portal: SimulatedPortal):
    """The newest HTML report: it sits on the column's first list page."""
    reports = [p for p in portal.region.published() if p.fmt == "html" and portal.site.visible(p)]
    return max(reports, key=lambda p: (p.published_at, p.article_id))


def test_a_report_gone_from_its_column_is_removed_only_after_a_complete_walk(site, monkeypatch):
    portal, config, db = site
    monkeypatch.setenv("NIANBAO_BACKOFF_BASE", "0.05")  # the crawl backs off a failing page
    before = len(_events(db))
    report = _newest_html_report(portal)
    url = portal.url_of(report.agency.name, report.year)
    portal.unlist(report.agency.name, report.year)
    assert portal.site.visible(report)  # the page still answers 200

    # A list page that fails: the walk may have missed the report, so nothing is concluded.
    second_page = portal.site.page_path(1)
    portal.main.server.behaviour.fail_paths[second_page] = -1
    try:
        nianbao(config, "crawl", "--quiet", "--revalidate")
    finally:
        del portal.main.server.behaviour.fail_paths[second_page]
    assert len(_events(db)) == before

    nianbao(config, "crawl", "--quiet", "--revalidate")
    assert _events(db)[before:] == [("removed", url)]
    detail = db.execute("SELECT detail_json FROM events ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert json.loads(detail) == {"reason": "no longer listed in its column"}
    assert db.execute("SELECT gone_since IS NOT NULL FROM documents WHERE url = ?", [url]).fetchone()[0]

    # Listed again: even an ordinary (incremental) crawl fetches it and records the restoration.
    portal.restore(report.agency.name, report.year)
    portal.reset_requests()
    nianbao(config, "crawl", "--quiet")
    assert _events(db)[before:] == [("removed", url), ("restored", url)]
    assert portal.requests[url] == 1
    assert db.execute("SELECT gone_since FROM documents WHERE url = ?", [url]).fetchone()[0] is None


def test_a_source_robots_txt_disallows_is_not_checkable_rather_than_missing(tmp_path):
    agency = "青山县人民政府"
    source = f"    agencies:\n      - name: {agency}\n        kind: government\n"
    with SimulatedPortal(seed=11, robots_txt="User-agent: *\nDisallow: /\n") as portal:
        config = write_config(tmp_path, [portal.start_url], source_extra=source)
        proc = nianbao(config, "crawl", "--quiet", check=False)
        assert proc.returncode == 2, proc.stdout + proc.stderr  # a blocked source fails the command
        assert not [u for u in portal.requests if not u.endswith("/robots.txt")]  # asked nothing else
    db = sqlite3.connect(tmp_path / "nianbao.db")
    status, reason = db.execute("SELECT status, reason FROM crawl_runs").fetchone()
    assert status == "blocked" and "robots.txt" in reason
    assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 0
    rows = json.loads(nianbao(config, "monitor", "--as-of", "2026-06-01", "--format", "json").stdout)
    mine = [r for r in rows if r["agency"] == agency]
    assert mine and {r["status"] for r in mine} == {"not_checkable"}
    assert all("robots.txt" in r["evidence"] for r in mine)
