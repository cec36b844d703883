"""Shared builders for the monitor tests: a real SQLite store filled from a generated region.

No crawl: each published report of ``simulator.model.generate_region()`` is stored as a fetched
document (with its PubDate) and its ground-truth data model is saved as the parse, the way the
pipeline would after reading it.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from config import Config, parse_config
from reports.model import issue
from simulator.model import PlannedReport, Region, generate_region
from storage.store import Fetched, Store

SOURCE_ID = "qingshan"
REGION = "测试省青山市"


def config_for(tmp_path: Path, region: Region, extra: str = "", agencies: str | None = None) -> Config:
    """A config.yaml with one source for the region; only the government is configured by default."""
    if agencies is None:
        agencies = f"      - {{name: {region.government.name}, kind: government}}\n"
    text = (
        f"storage:\n  path: {tmp_path / 'nianbao.db'}\n"
        f"{extra}"
        "sources:\n"
        f"  - id: {SOURCE_ID}\n"
        f"    name: {region.government.name}\n"
        "    start_url: http://127.0.0.1:1/\n"
        f"    region: {REGION}\n"
        "    agencies:\n"
        f"{agencies}"
    )
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return parse_config(text, path)


def report_dict(r: PlannedReport) -> dict:
    """The data model as the parser would hand it over (title name, its own sum_mismatch issue)."""
    data = copy.deepcopy(r.report)
    data["agency"] = r.title_agency or r.agency.name
    data["published_at_source"] = "meta"
    if "sum_mismatch" in r.planted:
        data["issues"] = [issue("sum_mismatch", "（七）总计 ≠ 三 各行之和", "table2.total_handled.total")]
    return data


def store_report(store: Store, r: PlannedReport, suffix: str = "", source_id: str = SOURCE_ID) -> int:
    """Record one published report as a fetched page plus its parse; returns the report id."""
    assert r.published_at is not None
    stamp = (r.url_date or r.published_at).strftime("%Y%m/t%Y%m%d")
    url = f"http://127.0.0.1/{r.agency.code}/{stamp}_{r.article_id}{suffix}.html"
    rec = store.record_fetch(
        Fetched(
            source_id=source_id,
            url=url,
            body=json.dumps(r.report, ensure_ascii=False).encode() + suffix.encode(),
            title=r.title,
            published_at=r.published_at.isoformat() + " 09:30",
            date_source="meta",
            url_date=(r.url_date or r.published_at).isoformat(),
            content_type="text/html",
            fetched_at=f"{r.published_at.isoformat()}T12:00:00+00:00",
        )
    )
    return store.save_report(rec.version_id, "test", report_dict(r))


def build_store(tmp_path: Path, region: Region) -> Store:
    store = Store(tmp_path / "nianbao.db")
    store.upsert_source(SOURCE_ID, region.government.name, "http://127.0.0.1:1/", "trs", {})
    for r in region.published():
        store_report(store, r)
    return store


@pytest.fixture
def region() -> Region:
    return generate_region(seed=7, departments=12, townships=3)


def test_builder_stores_every_published_report(tmp_path, region):
    store = build_store(tmp_path, region)
    rows = store.reports()
    assert len(rows) == len(region.published())
    assert {(r["year"]) for r in rows} == set(region.years)
    # The planted short title name is what the parse carries.
    short = next(r for r in region.reports if "short_agency_name" in r.planted)
    assert any(row["agency"] == short.title_agency != short.agency.name for row in rows)
    assert date.fromisoformat(rows[0]["published_at"][:10]) <= date(region.years[-1] + 1, 3, 31)
