"""Year-on-year comparison against a generated region's ground truth."""

from __future__ import annotations

import json
from datetime import date

import pytest
from test_monitor_common import SOURCE_ID, build_store, config_for

from monitor.yoy import compare, derived, flatten, is_swing, similarity
from simulator.model import generate_region
from storage.store import Fetched


@pytest.fixture
def region():
    return generate_region(seed=11, departments=12, townships=3)


def test_yoy_numbers_copied_text_and_quality_match_ground_truth(tmp_path, region):
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    last = region.years[-1]
    rows = {r["agency"]: r for r in compare(store, config, last, as_of=date(last + 1, 6, 1))}
    assert set(rows) == {a.name for a in region.agencies}
    for agency in region.agencies:
        row = rows[agency.name]
        cur, prev = region.report(agency.name, last), region.report(agency.name, last - 1)
        assert row["present"] == (cur.published_at is not None)
        assert row["previous_present"] == (prev.published_at is not None)
        if not (row["present"] and row["previous_present"]):
            assert row["changes"] == [] and row["figures"]["applications"]["change"] is None
            continue
        t2c, t2p = cur.report["table2"], prev.report["table2"]
        apps = row["figures"]["applications"]
        assert (apps["current"], apps["previous"]) == (t2c["new_received"][6], t2p["new_received"][6])
        assert apps["change"] == t2c["new_received"][6] - t2p["new_received"][6]
        refusals = sum(v[6] for k, v in t2c.items() if k.startswith("withheld_"))
        assert row["figures"]["refusals"]["current"] == refusals
        handled = t2c["total_handled"][6]
        if handled:
            rate = (t2c["disclosed"][6] + t2c["partially_disclosed"][6]) / handled
            assert row["figures"]["disclosure_rate"]["current"] == pytest.approx(rate, abs=1e-4)
        t3 = cur.report["table3"]
        assert row["figures"]["review_total"]["current"] == t3["review"]["total"]
        lit = t3["litigation_direct"]["total"] + t3["litigation_after_review"]["total"]
        assert row["figures"]["litigation_total"]["current"] == lit
        # Every number that differs is listed, and only those.
        fc, fp = flatten(cur.report), flatten(prev.report)
        assert {k for k, *_ in row["changes"]} == {k for k in fc if fc[k] != fp.get(k)}
        for key, p, c, _swing in row["changes"]:
            assert (p, c) == (fp.get(key), fc[key])
        # Timing: days before the deadline from the ground-truth publication date.
        deadline = date(last + 1, 3, 31) if agency.kind == "government" else date(last + 1, 1, 31)
        assert row["days_before_deadline"] == (deadline - cur.published_at).days
    copied = {a for a, r in rows.items() if r["copied_text"]}
    planted = {r.agency.name for r in region.reports if r.year == last and "copied_text" in r.planted}
    assert copied == planted and planted
    assert all(rows[a]["copied_sections"] == ["problems"] for a in copied)
    assert all(rows[a]["similarity"]["problems"] == 1.0 for a in copied)
    flagged = {a for a, r in rows.items() if r["quality_codes"].get("sum_mismatch")}
    assert flagged == {
        r.agency.name for r in region.reports if r.year == last and "sum_mismatch" in r.planted
    }


def test_yoy_events_modified_and_removed(tmp_path, region):
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    last = region.years[-1]
    target = next(r for r in region.published() if r.year == last and not r.planted)
    doc = store.db.execute(
        "SELECT d.url FROM reports r JOIN documents d ON d.id = r.document_id WHERE r.agency = ? AND r.year = ?",
        [target.agency.name, last],
    ).fetchone()
    store.record_fetch(Fetched(SOURCE_ID, doc[0], json.dumps({"edited": True}).encode()))
    store.record_gone(doc[0], None, 404, "404")
    rows = {r["agency"]: r for r in compare(store, config, last, as_of=date(last + 1, 6, 1))}
    row = rows[target.agency.name]
    assert row["modified"] == 1 and row["removed"] == 1
    assert [e["kind"] for e in row["events"]] == ["modified", "removed"]
    assert sum(r["modified"] for r in rows.values()) == 1


def test_swing_rules():
    assert is_swing(30, 10, 0.5)
    assert not is_swing(3, 1, 0.5)  # small numbers are noise
    assert not is_swing(12, 10, 0.5)
    assert is_swing(8, 0, 0.5)
    assert is_swing(0.3, 0.9, 0.5, rate=True)
    assert not is_swing(0.8, 0.9, 0.5, rate=True)
    assert not is_swing(None, 10, 0.5)


def test_similarity_and_derived_on_trial_template():
    text = "存在问题：一是信息公开内容的全面性有待提高；二是政策解读形式较为单一。" * 3
    assert similarity(text, text, 0.9) == 1.0
    assert similarity(text, "完全不同的内容" * 10, 0.9) < 0.5
    assert similarity("", text, 0.9) is None
    trial = {
        "template": "2019-trial",
        "table1": {
            "licensing": {"prev_items": 3, "change": 1, "decisions": 42},
            "normative_docs": {"made": 4},
        },
        "table2": {"new_received": [1, 0, 0, 0, 0, 0, 1], "other_processing": [0] * 7},
        "table3": {},
    }
    d = derived(trial)
    assert d["licensing"] == 42 and d["normative_docs_issued"] == 4 and d["applications"] == 1
    assert d["review_total"] is None and d["disclosure_rate"] is None


def test_yoy_counts_only_reports_published_by_as_of(tmp_path, region):
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    last = region.years[-1]
    gov = region.report(region.government.name, last)
    as_of = gov.published_at.replace(day=1) if gov.published_at.day > 1 else gov.published_at
    as_of = min(as_of, date(last + 1, 2, 1))
    rows = {r["agency"]: r for r in compare(store, config, last, as_of=as_of)}
    row = rows[region.government.name]
    assert row["status"] == "pending" and not row["present"] and row["previous_present"]
    assert row["figures"]["applications"]["current"] is None
