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


def _stats(**over) -> dict:
    from crawler.runner import _run_stats

    stats = _run_stats({"finish_reason": "finished", "nianbao/documents": 5})
    stats.update(over)
    return stats


def test_a_run_that_did_not_reach_its_end_is_interrupted_whatever_it_stored():
    from crawler.runner import _run_status

    assert _run_status(_stats()) == ("finished", None)
    for stats, says in [
        (_stats(finish_reason="shutdown"), "signal"),
        (_stats(finish_reason="closespider_timeout"), "closespider_timeout"),
        (_stats(finish_reason=None), "never closed"),
        (_stats(capped="max_pages_per_source=30"), "max_pages_per_source=30"),
        (_stats(unstored=1, unstored_urls=["http://127.0.0.1/a.html"]), "http://127.0.0.1/a.html"),
        (_stats(finish_reason="shutdown", documents=0), "signal"),  # cut short with nothing: not finished
    ]:
        status, reason = _run_status(stats)
        assert status == "interrupted" and says in reason, (stats, status, reason)
    assert _run_status(_stats(finish_reason="shutdown"), "crawler error: boom") == (
        "failed",
        "crawler error: boom",
    )


def test_a_list_only_a_browser_sees_blocks_the_run_and_names_the_page():
    from crawler.runner import _run_status

    status, reason = _run_status(_stats(needs_browser=["http://127.0.0.1/zwgk/nb/"]))
    assert status == "blocked" and "http://127.0.0.1/zwgk/nb/" in reason and "browser: true" in reason


def test_a_run_cut_short_since_the_last_full_walk_makes_the_next_crawl_walk_everything():
    from crawler.runner import _cut_short_since_full_walk

    def run(status: str, full: bool) -> dict:
        return {"status": status, "stats_json": json.dumps({"full_walk": full})}

    assert not _cut_short_since_full_walk([])
    assert not _cut_short_since_full_walk([run("finished", False), run("finished", True)])
    assert _cut_short_since_full_walk(
        [run("finished", False), run("interrupted", False), run("finished", True)]
    )
    assert _cut_short_since_full_walk([run("interrupted", True)])
    assert not _cut_short_since_full_walk([run("finished", True), run("interrupted", False)])
