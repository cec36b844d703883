"""Status, expectations and name matching against a generated region's ground truth."""

from __future__ import annotations

from datetime import date

import pytest
from test_monitor_common import SOURCE_ID, build_store, config_for, store_report

from monitor.catalogue import load_catalogue
from monitor.expectations import expected_pairs, infer_kind
from monitor.names import match_names, name_key
from monitor.status import FIELDS, compute_status, format_table
from simulator.model import generate_region
from storage import Store

TRUTH_FIELDS = ("status", "deadline", "published_at", "days_late", "kind")


@pytest.fixture
def region():
    return generate_region(seed=7, departments=12, townships=3)


def _by_pair(rows):
    return {(r["agency"], r["year"]): r for r in rows}


@pytest.mark.parametrize(
    "as_of",
    [
        (1, 1, 20),  # before the department deadline of the last year
        (1, 2, 1),  # the day after it
        (1, 3, 31),  # the government deadline itself
        (1, 4, 1),  # the day after
        (2, 6, 1),  # long after
    ],
)
def test_status_matches_ground_truth(tmp_path, region, as_of):
    plus, month, day = as_of
    when = date(region.years[-1] + plus, month, day)
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    rows = compute_status(store, config, when, years=region.years)
    assert all(tuple(r) == FIELDS for r in rows)
    got = _by_pair(rows)
    truth = {(t["agency"], t["year"]): t for t in region.expected_status(when)}
    assert set(got) == set(truth)
    for pair, t in truth.items():
        assert {k: got[pair][k] for k in TRUTH_FIELDS} == {k: t[k] for k in TRUTH_FIELDS}, pair
    # Every planted late report is late by exactly the planted number of days.
    for r in region.reports:
        for tag in r.planted:
            if tag.startswith("late:") and r.published_at <= when:
                assert got[(r.agency.name, r.year)]["days_late"] == int(tag[5:])
    statuses = {r["status"] for r in rows}
    assert "missing" in statuses and "late" in statuses
    if when < date(region.years[-1] + 1, 3, 31):
        assert "pending" in statuses


def test_status_before_and_after_a_deadline_for_one_report(tmp_path, region):
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    missing = next(r for r in region.reports if r.planted == ["missing"] and r.agency.kind == "department")
    deadline = date(missing.year + 1, 1, 31)
    on = _by_pair(compute_status(store, config, deadline))[(missing.agency.name, missing.year)]
    after = _by_pair(compute_status(store, config, date(missing.year + 1, 2, 1)))
    assert on["status"] == "pending" and "尚余 0 天" in on["evidence"]
    assert after[(missing.agency.name, missing.year)]["status"] == "missing"
    # A report published after as_of does not count yet.
    late = next(r for r in region.reports if any(p.startswith("late:") for p in r.planted))
    before_pub = _by_pair(compute_status(store, config, late.published_at.replace(day=1)))
    if late.published_at.day > 1:
        assert before_pub[(late.agency.name, late.year)]["status"] == "missing"


def test_agency_seen_only_in_earlier_years_is_expected_missing(tmp_path, region):
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    gone = next(r for r in region.reports if "missing:seen_before_only" in r.planted)
    pairs = {(e.agency, e.year): e for e in expected_pairs(store, config, date(gone.year + 1, 6, 1))}
    assert (gone.agency.name, gone.year) in pairs
    assert not pairs[(gone.agency.name, gone.year)].configured
    row = _by_pair(compute_status(store, config, date(gone.year + 1, 6, 1)))[(gone.agency.name, gone.year)]
    assert row["status"] == "missing" and row["region"] == "测试省青山市"


def test_abolished_agency_is_not_expected_after_its_date(tmp_path, region):
    store = build_store(tmp_path, region)
    gone = next(r for r in region.reports if "missing:seen_before_only" in r.planted)
    agencies = (
        f"      - {{name: {region.government.name}, kind: government}}\n"
        f"      - {{name: {gone.agency.name}, abolished: '{gone.year - 1}-12-31'}}\n"
        f"      - {{name: 青山县新设局, deadline: '02-15'}}\n"
    )
    config = config_for(tmp_path, region, agencies=agencies)
    pairs = {(e.agency, e.year): e for e in expected_pairs(store, config, date(gone.year + 1, 6, 1))}
    assert (gone.agency.name, gone.year - 1) in pairs
    assert (gone.agency.name, gone.year) not in pairs
    # A configured agency that never published is expected in every year, with its own deadline.
    new = [e for (a, _y), e in pairs.items() if a == "青山县新设局"]
    assert sorted(e.year for e in new) == region.years
    assert all(e.deadline == date(e.year + 1, 2, 15) for e in new)


def test_deadline_overrides_region_and_source(tmp_path, region):
    store = build_store(tmp_path, region)
    extra = (
        "deadlines: {government: '04-30'}\n"
        "monitor:\n  regions:\n    测试省: {department: '02-28', township: '03-15'}\n"
    )
    config = config_for(tmp_path, region, extra=extra)
    last = region.years[-1]
    pairs = {(e.agency, e.year): e for e in expected_pairs(store, config, date(last + 1, 6, 1))}
    assert pairs[(region.government.name, last)].deadline == date(last + 1, 4, 30)
    town = next(a for a in region.agencies if a.kind == "township")
    assert pairs[(town.name, last)].kind == "township"
    assert pairs[(town.name, last)].deadline == date(last + 1, 3, 15)
    dept = next(a for a in region.agencies if a.kind == "department")
    assert pairs[(dept.name, last)].deadline == date(last + 1, 2, 28)


def test_not_checkable_when_source_is_blocked_or_keeps_failing(tmp_path, region):
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    when = date(region.years[-1] + 1, 6, 1)
    missing = next(r for r in region.reports if r.planted == ["missing"])
    pair = (missing.agency.name, missing.year)
    for _ in range(2):
        store.finish_run(store.start_run(SOURCE_ID), "failed", {}, "connection refused")
    assert _by_pair(compute_status(store, config, when))[pair]["status"] == "missing"
    store.finish_run(store.start_run(SOURCE_ID), "failed", {}, "connection refused")
    row = _by_pair(compute_status(store, config, when))[pair]
    assert row["status"] == "not_checkable" and "连续 3 次" in row["evidence"]
    store.finish_run(store.start_run(SOURCE_ID), "finished", {})
    assert _by_pair(compute_status(store, config, when))[pair]["status"] == "missing"
    store.finish_run(store.start_run(SOURCE_ID), "blocked", {}, "403 WAF challenge")
    rows = _by_pair(compute_status(store, config, when))
    assert rows[pair]["status"] == "not_checkable"
    # Found reports keep their status whatever the crawler says now.
    assert rows[(region.government.name, region.years[0])]["status"] in ("on_time", "late")


def test_a_source_never_crawled_is_not_checkable_until_its_first_crawl(tmp_path, region):
    config = config_for(tmp_path, region)
    when = date(region.years[-1] + 1, 6, 1)
    with Store(tmp_path / "nianbao.db") as store:
        pair = (region.government.name, region.years[-1])
        row = _by_pair(compute_status(store, config, when))[pair]
        assert row["status"] == "not_checkable" and "尚未完成过一次抓取" in row["evidence"]
        store.upsert_source(SOURCE_ID, "x", "http://127.0.0.1:1/", None, {})
        store.finish_run(store.start_run(SOURCE_ID), "interrupted", {}, "killed")
        assert _by_pair(compute_status(store, config, when))[pair]["status"] == "not_checkable"
        store.finish_run(store.start_run(SOURCE_ID), "finished", {})  # walked, found nothing
        assert _by_pair(compute_status(store, config, when))[pair]["status"] == "missing"


def test_duplicates_count_earliest_date_and_best_parse(tmp_path, region):
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    r = next(x for x in region.published() if x.agency.kind == "department" and not x.planted)
    # A _wap copy published later and parsed with issues: the date stays the original's.
    late_copy = type(r)(**{**r.__dict__, "published_at": r.published_at.replace(year=r.year + 1, month=5)})
    store_report(store, late_copy, suffix="_wap")
    cat = load_catalogue(store, config)
    found = cat.found[(r.agency.name, r.year)]
    assert len(found.docs) == 2
    assert found.earliest().published_at == r.published_at
    row = _by_pair(compute_status(store, config, date(r.year + 2, 1, 1)))[(r.agency.name, r.year)]
    assert row["published_at"] == r.published_at.isoformat() and "共 2 份文档" in row["evidence"]


def test_short_name_is_matched_and_logged(tmp_path, region):
    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    short = next(r for r in region.reports if "short_agency_name" in r.planted)
    cat = load_catalogue(store, config)
    assert short.title_agency not in cat.years
    assert short.year in cat.years[short.agency.name]
    logged = {m.name: m for m in cat.matches}
    assert logged[short.title_agency].canonical == short.agency.name
    assert logged[short.title_agency].method == "abbreviation"


def test_alias_and_fuzzy_matching():
    seen = {
        "金乡县科技局": {2023},
        "青山县发展改革局": {2023},
        "青山县发展和改革局": {2024, 2025},
        "青山县教育局": {2023, 2024},
        "青山县体育局": {2023, 2024},  # similar to 教育局 but a different body
        "红河县发展和改革局": {2025},  # same words, another county: never merged
        "青山县 城关镇人民政府": {2024},
    }
    mapping, log = match_names(
        seen,
        ["青山县城关镇", "青山县教育局"],
        {"金乡县科技局": "金乡县科学技术局"},
        fuzzy=True,
        threshold=0.85,
    )
    assert mapping["金乡县科技局"] == "金乡县科学技术局"
    assert mapping["青山县发展改革局"] == "青山县发展和改革局"
    assert mapping["青山县体育局"] == "青山县体育局"
    assert mapping["红河县发展和改革局"] == "红河县发展和改革局"
    assert mapping["青山县 城关镇人民政府"] == "青山县城关镇"
    methods = {m.name: m.method for m in log}
    assert methods == {
        "金乡县科技局": "alias",
        "青山县发展改革局": "fuzzy",
        "青山县 城关镇人民政府": "abbreviation",
    }
    # Two names that both reported for one year are two agencies, however alike.
    mapping, _ = match_names({"青山县发展改革局": {2023}, "青山县发展和改革局": {2023}}, [], {}, True, 0.85)
    assert mapping["青山县发展改革局"] == "青山县发展改革局"
    # Fuzzy matching can be turned off.
    mapping, _ = match_names({"青山县发展改革局": {2023}, "青山县发展和改革局": {2024}}, [], {}, False, 0.85)
    assert mapping["青山县发展改革局"] == "青山县发展改革局"
    assert name_key("青山县科学技术局") == name_key("青山县科技局") != name_key("红河县科技局")


def test_config_aliases_map_names(tmp_path, region):
    store = build_store(tmp_path, region)
    short = next(r for r in region.reports if "short_agency_name" in r.planted)
    extra = f"monitor:\n  fuzzy_match: false\n  aliases:\n    {short.title_agency}: {short.agency.name}\n"
    cat = load_catalogue(store, config_for(tmp_path, region, extra=extra))
    assert {m.name: m.method for m in cat.matches}[short.title_agency] == "alias"


def test_infer_kind():
    assert infer_kind("青山县人民政府") == "government"
    assert infer_kind("马集镇人民政府") == "township"
    assert infer_kind("新华街道办事处") == "township"
    assert infer_kind("城关镇") == "township"
    assert infer_kind("青山县人民政府办公室") == "department"


def test_format_table_aligns_chinese(tmp_path, region):
    store = build_store(tmp_path, region)
    rows = compute_status(store, config_for(tmp_path, region), date(region.years[-1] + 1, 6, 1))
    text = format_table(rows[:8])
    lines = text.splitlines()
    from monitor.status import display_width

    # Header, rule and rows all start the 年度 column at the same display offset.
    head = lines[0]
    offset = display_width(head[: head.index("年度")])
    for line in lines[2:10]:
        year = str(rows[0]["year"])[:2]
        assert display_width(line[: line.index(year)]) == offset
    assert "缺报" in text or "按时" in text


def test_match_log_from_store(tmp_path, region):
    from monitor.names import match_log

    store = build_store(tmp_path, region)
    short = next(r for r in region.reports if "short_agency_name" in r.planted)
    log = match_log(store, config_for(tmp_path, region))
    assert {
        "name": short.title_agency,
        "canonical": short.agency.name,
        "method": "abbreviation",
        "score": 1.0,
    } in log


def test_an_incomplete_latest_run_makes_absences_not_checkable(tmp_path, region):
    """Interrupted, dead while running, or an empty list: not found proves nothing."""
    from storage.locks import crawl_lock

    store = build_store(tmp_path, region)
    config = config_for(tmp_path, region)
    when = date(region.years[-1] + 1, 6, 1)
    missing = next(r for r in region.reports if r.planted == ["missing"])
    pair = (missing.agency.name, missing.year)
    found = (region.government.name, region.years[0])

    def status() -> dict:
        return _by_pair(compute_status(store, config, when))[pair]

    store.finish_run(store.start_run(SOURCE_ID), "finished", {"listed": 30})
    assert status()["status"] == "missing"
    store.finish_run(store.start_run(SOURCE_ID), "interrupted", {"listed": 3}, "stopped by a signal")
    row = status()
    assert row["status"] == "not_checkable" and "未完成" in row["evidence"] and "signal" in row["evidence"]
    assert _by_pair(compute_status(store, config, when))[found]["status"] in ("on_time", "late")
    store.finish_run(store.start_run(SOURCE_ID), "finished", {"listed": 30})
    assert status()["status"] == "missing"

    # A crawl running now: the finished run before it stays the evidence ...
    running = store.start_run(SOURCE_ID)
    with crawl_lock(store.path, SOURCE_ID):
        assert status()["status"] == "missing"
    # ... but once its process is gone (no lock holder) it was cut short.
    row = status()
    assert row["status"] == "not_checkable" and "ended before finishing" in row["evidence"]
    store.finish_run(running, "finished", {"listed": 0})
    assert status()["status"] == "not_checkable" and "未在栏目中列出任何报告" in status()["evidence"]
    store.finish_run(
        store.start_run(SOURCE_ID), "blocked", {"needs_browser": ["http://127.0.0.1/zwgk/nb/"]}, "x"
    )
    assert "浏览器" in status()["evidence"]
    # A failed run stored nothing: the run before it is still the evidence.
    store.finish_run(store.start_run(SOURCE_ID), "finished", {"listed": 30})
    store.finish_run(store.start_run(SOURCE_ID), "failed", {}, "connection refused")
    assert status()["status"] == "missing"
