"""Crawl-run bookkeeping: when a full walk is due, and the health warnings for the monitor."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from crawler.runner import _health, _walk_due


def _run(run_id: int, listed: int, full: bool = True, status: str = "finished") -> dict:
    return {"id": run_id, "status": status, "stats_json": json.dumps({"full_walk": full, "listed": listed})}


def test_full_walk_due_when_never_done_or_older_than_the_period():
    now = datetime.now(UTC)
    assert _walk_due(None, 7)
    assert not _walk_due((now - timedelta(days=2)).isoformat(), 7)
    assert _walk_due((now - timedelta(days=8)).isoformat(), 7)


def test_health_flags_an_empty_column_and_a_collapse_only_on_full_walks():
    assert _health({"full_walk": True, "listed": 0}, []) == "no reports listed in the column"
    history = [_run(3, 5, full=False), _run(2, 80), _run(1, 79)]
    assert _health({"full_walk": True, "listed": 30}, history) == "30 reports listed, against 80 in run 2"
    assert _health({"full_walk": True, "listed": 70}, history) is None
    assert _health({"full_walk": False, "listed": 3}, history) is None
