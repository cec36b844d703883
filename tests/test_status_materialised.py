"""Materialised statuses: after every change an incremental refresh stores exactly the rows a full
recomputation gives (every column), and the incremental refreshes really are incremental.

A real SQLite store filled the way the pipeline fills it (fetched documents, their parses, crawl
runs), two sources in two regions; the full recomputation runs on a copy of the database, and
is also checked against ``status_from`` on the whole catalogue (the computation of old).
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_monitor_common import report_dict

from config import Config, parse_config
from monitor.catalogue import load_catalogue
from monitor.refresh import refresh_statuses
from monitor.status import compute_status, sort_rows, status_from
from simulator.model import PlannedReport, generate_region
from storage import statuses
from storage.store import Fetched, Store

SOURCES = {"qingshan": ("青山县", "测试省青山市"), "baishui": ("白水县", "测试省白水市")}
YEARS = (2021, 2022, 2023)
_copies = itertools.count()


def key(row):
    return (row["agency"], row["year"])


def config_text(db: Path, extra: str = "", agencies: dict[str, str] | None = None) -> str:
    lines = [f"storage:\n  path: {db}\n", extra, "sources:\n"]
    for sid, (county, region) in SOURCES.items():
        lines.append(f"  - id: {sid}\n    name: {county}人民政府\n    start_url: http://127.0.0.1:1/{sid}/\n")
        lines.append(f"    region: {region}\n    agencies:\n")
        lines.append((agencies or {}).get(sid, f"      - {{name: {county}人民政府, kind: government}}\n"))
    return "".join(lines)


def make_config(tmp_path: Path, extra: str = "", agencies: dict[str, str] | None = None) -> Config:
    path = tmp_path / "config.yaml"
    text = config_text(tmp_path / "nianbao.db", extra, agencies)
    path.write_text(text, encoding="utf-8")
    return parse_config(text, path)


class World:
    """The store, the reports not stored yet, and helpers that change things as the pipeline does."""

    def __init__(self, tmp_path: Path, seed: int = 5):
        self.tmp_path = tmp_path
        self.store = Store(tmp_path / "nianbao.db")
        self.pending: list[tuple[str, PlannedReport]] = []
        self.stored: list[tuple[str, int, PlannedReport]] = []  # (source, version id, report)
        self.rng = random.Random(seed)
        for sid, (county, _region) in SOURCES.items():
            self.store.upsert_source(sid, f"{county}人民政府", f"http://127.0.0.1:1/{sid}/", "trs", {})
            self.finish(sid, "finished")
            region = generate_region(
                seed=seed + len(county), county=county, departments=6, townships=3, years=YEARS
            )
            self.pending += [(sid, r) for r in region.published()]
        self.pending.sort(key=lambda p: (p[1].published_at, p[1].agency.name))

    def finish(self, sid: str, status: str, reason: str | None = None, **stats) -> None:
        self.store.finish_run(self.store.start_run(sid), status, {"listed": 5, **stats}, reason)

    def publish(self, sid: str, r: PlannedReport, suffix: str = "", data: dict | None = None) -> int:
        """Fetch and parse one report, as a crawl followed by ``parse --stored`` would."""
        url = f"http://127.0.0.1/{sid}/{r.agency.code}/{r.year}/t_{r.article_id}{suffix}.html"
        rec = self.store.record_fetch(
            Fetched(
                source_id=sid,
                url=url,
                body=json.dumps(r.report, ensure_ascii=False).encode() + suffix.encode(),
                title=r.title,
                published_at=r.published_at.isoformat(),
                date_source="meta",
                content_type="text/html",
                fetched_at=f"{r.published_at.isoformat()}T12:00:00+00:00",
            )
        )
        self.store.save_report(rec.version_id, "test", data if data is not None else report_dict(r))
        self.stored.append((sid, rec.version_id, r))
        return rec.version_id

    def publish_until(self, day: date) -> int:
        """Store every planned report published on or before ``day``; returns how many."""
        now = [p for p in self.pending if p[1].published_at <= day]
        self.pending = [p for p in self.pending if p[1].published_at > day]
        for sid, r in now:
            self.publish(sid, r)
        return len(now)

    def reparse(self, version_id: int, parser: str, **changes) -> None:
        """A newer parser reads a stored version differently (another agency, year, or an error)."""
        r = next(r for _s, v, r in self.stored if v == version_id)
        if changes.get("error"):
            self.store.save_report(version_id, parser, None, error=changes["error"])
            return
        data = report_dict(r)
        data.update(changes)
        self.store.save_report(version_id, parser, data)

    def refetch_with_date(self, version_id: int, day: date) -> None:
        """The same document fetched again, its list now giving another publication date."""
        sid, _v, r = next(s for s in self.stored if s[1] == version_id)
        url = f"http://127.0.0.1/{sid}/{r.agency.code}/{r.year}/t_{r.article_id}.html"
        self.store.record_fetch(
            Fetched(
                source_id=sid,
                url=url,
                body=json.dumps(r.report, ensure_ascii=False).encode(),
                title=r.title,
                published_at=day.isoformat(),
                date_source="list",
                content_type="text/html",
            )
        )


def full_rows(store: Store, config: Config, as_of: date, tmp_path: Path) -> list[dict]:
    """What a full recomputation stores, on a copy of the database (the original keeps its state)."""
    path = tmp_path / f"full-{next(_copies)}.db"
    dst = sqlite3.connect(path)
    store.db.conn.backup(dst)
    dst.close()
    with Store(path) as other:
        assert refresh_statuses(other, config, as_of, full=True)["mode"] == "full"
        rows = sorted(statuses.rows(other), key=key)
    path.unlink()
    return rows


def check(world: World, config: Config, as_of: date) -> dict:
    """Refresh incrementally, then compare every stored column with a full recomputation and
    the old whole-catalogue computation; returns what the refresh did."""
    store = world.store
    result = refresh_statuses(store, config, as_of)
    mine = sorted(statuses.rows(store), key=key)
    assert mine == full_rows(store, config, as_of, world.tmp_path)
    old = status_from(load_catalogue(store, config), config, store, as_of)
    assert sort_rows(mine) == old
    assert refresh_statuses(store, config, as_of)["mode"] == "unchanged"
    assert compute_status(store, config, as_of) == old
    return result


def by_key(store: Store) -> dict:
    return {key(r): r for r in statuses.rows(store)}


def test_each_change_refreshes_incrementally_to_the_full_rows(tmp_path):
    w = World(tmp_path)
    config = make_config(tmp_path)
    day = date(2023, 12, 20)
    w.publish_until(day)
    first = check(w, config, day)
    assert first["mode"] == "full" and first["reason"] == "尚无已存状态"
    total = first["rows"]

    # Across a year boundary: 2023's reports are expected now, every agency gets a row more.
    day = date(2024, 1, 10)
    step = check(w, config, day)
    assert step["mode"] == "full" and "预期年度" in step["reason"]

    # New reports parsed: only their agencies are derived again.
    day = date(2024, 1, 25)
    assert w.publish_until(day) > 0
    step = check(w, config, day)
    assert step["mode"] == "incremental" and 0 < step["agencies"] <= 12
    assert step["rows_recomputed"] < total

    # The department deadline (01-31) passes: pending rows turn missing, from the rows alone.
    pending = [r for r in by_key(w.store).values() if r["status"] == "pending" and r["kind"] != "government"]
    assert pending
    day = date(2024, 2, 1)
    step = check(w, config, day)
    assert step["mode"] == "incremental" and step["transitions"] >= len(pending) - step["rows_recomputed"]
    assert by_key(w.store)[key(pending[0])]["status"] in ("missing", "late", "on_time")

    # Reports published after the old as_of count now (docs dated between the two dates).
    day = date(2024, 3, 10)
    assert w.publish_until(day) > 0
    step = check(w, config, day)
    assert step["mode"] == "incremental"

    # A report re-parsed to another agency and year, one to an error, one row deleted outright.
    vids = [v for _s, v, _r in w.stored]
    w.reparse(vids[3], "test2", agency="青山县新设机构", year=2022)
    step = check(w, config, day)
    assert step["mode"] == "incremental" and step["agencies"] <= 3
    assert ("青山县新设机构", 2022) in by_key(w.store)
    w.reparse(vids[5], "test2", error="无法读取")
    assert check(w, config, day)["mode"] == "incremental"
    w.store.db.execute("DELETE FROM reports WHERE version_id = ?", [vids[7]])
    step = check(w, config, day)
    assert step["mode"] == "incremental" and step["agencies"] <= 2
    # The same parser reads a version again (its row is replaced, not added).
    w.store.save_report(vids[9], "test", {**report_dict(w.stored[9][2]), "issues": []})
    assert check(w, config, day)["mode"] == "incremental"
    # Read again by the same parser as the newest row: SQLite gives the new row the same id.
    w.reparse(vids[10], "test3", agency="白水县另一局")
    assert check(w, config, day)["mode"] == "incremental"
    newest = w.store.db.execute("SELECT MAX(id) FROM reports").fetchone()[0]
    w.reparse(vids[10], "test3", agency="白水县又一局")
    assert w.store.db.execute("SELECT MAX(id) FROM reports").fetchone()[0] == newest
    step = check(w, config, day)
    assert step["mode"] == "incremental" and step["agencies"] == 2
    assert ("白水县又一局", w.stored[10][2].year) in by_key(w.store)

    # One source fails three times, is blocked, interrupted, then recovers: only its rows change.
    for _ in range(3):
        w.finish("baishui", "failed", "connection refused")
    step = check(w, config, day)
    assert step["mode"] == "incremental" and step["sources"] == ["baishui"] and step["rows_recomputed"] == 0
    rows = by_key(w.store)
    assert any(r["status"] == "not_checkable" for r in rows.values() if r["exp_source_id"] == "baishui")
    assert not any(r["status"] == "not_checkable" for r in rows.values() if r["exp_source_id"] == "qingshan")
    w.finish("baishui", "blocked", "403 WAF challenge")
    assert check(w, config, day)["sources"] == ["baishui"]
    w.finish("baishui", "interrupted", "killed")
    assert check(w, config, day)["sources"] == ["baishui"]
    w.finish("baishui", "finished")
    step = check(w, config, day)
    assert step["sources"] == ["baishui"] and step["transitions"] > 0

    # The government deadline (03-31) passes.
    day = date(2024, 4, 1)
    step = check(w, config, day)
    assert step["mode"] == "incremental" and step["rows_recomputed"] < total

    # A document fetched again with another date (no new parse): followed through the checks.
    w.reparse(vids[11], "test2", published_at=None, published_at_source=None)  # dated by its page
    assert check(w, config, day)["mode"] == "incremental"
    w.refetch_with_date(vids[11], date(2024, 3, 30))
    step = check(w, config, day)
    assert step["mode"] == "incremental" and step["agencies"] >= 1

    # A new name, then its short form for another year (matched by abbreviation).
    late = copy.deepcopy(w.stored[1][2])
    late.published_at = date(2024, 3, 31)
    w.publish("qingshan", late, "_x", {**report_dict(late), "agency": "青山县科学技术局", "year": 2022})
    w.publish("qingshan", late, "_y", {**report_dict(late), "agency": "青山县科技局", "year": 2023})
    step = check(w, config, day)
    assert step["mode"] == "incremental" and step["agencies"] <= 3
    # A short name first, then its full form: the full form names the agency, the short one follows.
    w.publish("qingshan", late, "_z", {**report_dict(late), "agency": "青山县应急局", "year": 2021})
    assert check(w, config, day)["mode"] == "incremental"
    assert ("青山县应急局", 2021) in by_key(w.store)
    w.publish("qingshan", late, "_w", {**report_dict(late), "agency": "青山县应急管理局", "year": 2022})
    step = check(w, config, day)
    assert step["mode"] == "incremental" and step["agencies"] == 2
    assert ("青山县应急管理局", 2021) in by_key(w.store) and ("青山县应急局", 2021) not in by_key(w.store)

    # Configuration changes: an alias, a new agency, a deadline override — each a full refresh.
    for extra, agencies in (
        ("monitor:\n  aliases: {青山县新设机构: 青山县人民政府}\n", None),
        (
            "",
            {"qingshan": "      - {name: 青山县人民政府, kind: government}\n      - {name: 青山县新设局}\n"},
        ),
        ("deadlines: {department: '02-15'}\n", None),
    ):
        config = make_config(tmp_path, extra, agencies)
        step = check(w, config, day)
        assert step["mode"] == "full" and step["reason"] == "配置已变更"
        step = check(w, config, day + timedelta(days=1))
        assert step["mode"] == "incremental"
        day += timedelta(days=1)

    # Into the next year: full again; then a look into the past is computed, not stored.
    day = date(2025, 1, 2)
    assert w.publish_until(day) >= 0
    assert check(w, config, day)["mode"] == "full"
    past = date(2024, 2, 1)
    stored = statuses.read_state(w.store)["as_of"]
    assert compute_status(w.store, config, past) == status_from(
        load_catalogue(w.store, config), config, w.store, past
    )
    assert statuses.read_state(w.store)["as_of"] == stored


def test_a_crawl_that_starts_ends_or_dies_is_seen_by_the_next_look(tmp_path):
    """Pages skip reading every source's runs while none started, ended or lost its process
    (``Store.health_key``); each of those is seen by the very next look."""
    from storage.locks import crawl_lock

    world, config = World(tmp_path), make_config(tmp_path)
    store, as_of = world.store, date(2024, 6, 1)
    world.publish_until(as_of)
    check(world, config, as_of)
    assert statuses.read_state(store)["health_key"] == store.health_key()

    def checkable(sid: str) -> bool:
        mine = [r["status"] for r in compute_status(store, config, as_of) if r["source_id"] == sid]
        assert "missing" in mine or "not_checkable" in mine  # something only a whole walk can show
        return "not_checkable" not in mine

    # A crawl starts: the health is the same (a run under way is not evidence yet); the newer
    # key is stored, so the next look does not read the runs again.
    lock = crawl_lock(store.path, "baishui")
    lock.acquire()
    run_id = store.start_run("baishui")
    assert refresh_statuses(store, config, as_of)["mode"] == "unchanged"
    assert statuses.read_state(store)["health_key"] == store.health_key() and checkable("baishui")
    # Its process dies: the run counts as interrupted, the source is no longer checkable.
    lock.release()
    assert not checkable("baishui")
    check(world, config, as_of)
    # The next crawl ends: checkable again.
    with crawl_lock(store.path, "baishui"):
        store.close_stale_runs("baishui")
        store.finish_run(store.start_run("baishui"), "finished", {"listed": 5})
    assert checkable("baishui") and store.runs("baishui")[1]["id"] == run_id
    check(world, config, as_of)
    # A run ending blocked, written by another process between two looks: seen.
    world.finish("qingshan", "blocked", "403 WAF challenge")
    assert not checkable("qingshan")
    check(world, config, as_of)


def test_a_report_year_outside_the_stored_years_is_computed(tmp_path):
    w = World(tmp_path)
    config = make_config(tmp_path)
    day = date(2024, 6, 1)
    w.publish_until(day)
    rows = compute_status(w.store, config, day, years=[2023])
    assert rows and {r["year"] for r in rows} == {2023}
    assert rows == status_from(load_catalogue(w.store, config), config, w.store, day, [2023])
    assert compute_status(w.store, config, day, years=[2019]) == status_from(
        load_catalogue(w.store, config), config, w.store, day, [2019]
    )
    region = compute_status(w.store, config, day, region="测试省白水市")
    assert region and all(r["region"] == "测试省白水市" for r in region)
    assert region == [r for r in compute_status(w.store, config, day) if r["region"] == "测试省白水市"]


# -- a seeded random sequence of changes -------------------------------------------------------

OPS = ("publish", "advance", "reparse", "error", "delete", "health", "refetch", "rename")


def apply(w: World, op: str, day: date) -> date:
    rng = w.rng
    vids = [v for _s, v, _r in w.stored]
    if op == "publish":
        w.publish_until(day + timedelta(days=rng.randint(1, 40)))
    elif op == "advance":
        day += timedelta(days=rng.choice((1, 2, 7, 30, 61)))
    elif op == "reparse" and vids:
        v = rng.choice(vids)
        w.reparse(
            v,
            f"p{rng.randint(1, 3)}",
            year=rng.choice(YEARS),
            agency=rng.choice(["青山县某局", "白水县某局", None]),
        )
    elif op == "error" and vids:
        w.reparse(rng.choice(vids), f"p{rng.randint(1, 3)}", error="坏文件")
    elif op == "delete" and vids:
        w.store.db.execute(
            "DELETE FROM reports WHERE id = (SELECT MAX(id) FROM reports WHERE version_id = ?)",
            [rng.choice(vids)],
        )
    elif op == "health":
        status = rng.choice(["failed", "failed", "blocked", "interrupted", "finished"])
        w.finish(rng.choice(list(SOURCES)), status, "x" if status != "finished" else None)
    elif op == "refetch" and vids:
        w.refetch_with_date(rng.choice(vids), day - timedelta(days=rng.randint(0, 300)))
    elif op == "rename" and w.stored:
        sid, _v, r = rng.choice(w.stored)
        variant = copy.deepcopy(r)
        variant.article_id += 100_000
        name = rng.choice(["科技局", "科学技术局", "发展和改革局", "发改局", "新设办"])
        county = SOURCES[sid][0]
        w.publish(sid, variant, f"_v{len(w.stored)}", {**report_dict(variant), "agency": county + name})
    return day


@settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10_000), ops=st.lists(st.sampled_from(OPS), min_size=8, max_size=14))
def test_random_sequences_match_a_full_recomputation(tmp_path_factory, seed, ops):
    tmp_path = tmp_path_factory.mktemp("seq")
    w = World(tmp_path, seed=seed % 50)
    config = make_config(tmp_path)
    day = date(2024, 1, 15)
    w.publish_until(day)
    check(w, config, day)
    for op in ops:
        day = apply(w, op, day)
        result = check(w, config, day)
        assert result["mode"] in ("incremental", "unchanged") or "预期年度" in result.get("reason", ""), (
            op,
            result,
        )
    w.store.close()


def test_monitor_full_recomputes_and_stores_the_same_rows(tmp_path):
    w = World(tmp_path)
    config = make_config(tmp_path)
    day = date(2024, 2, 20)
    w.publish_until(day)
    assert refresh_statuses(w.store, config, date(2024, 2, 1))["mode"] == "full"
    w.publish_until(day)
    before = statuses.read_state(w.store)
    args = (
        "--config",
        str(config.path),
        "monitor",
        "--as-of",
        day.isoformat(),
        "--no-parse",
        "--format",
        "json",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "nianbao", *args, "--full"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "状态已完整重算" in proc.stderr
    old = status_from(load_catalogue(w.store, config), config, w.store, day)
    assert json.loads(proc.stdout) == old
    after = statuses.read_state(w.store)
    assert after["as_of"] == day.isoformat() and after["config"] == before["config"]
    # Without --full the next run finds nothing to do and answers the same.
    proc = subprocess.run(
        [sys.executable, "-m", "nianbao", *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and json.loads(proc.stdout) == old
    assert refresh_statuses(w.store, config, day)["mode"] == "unchanged"
