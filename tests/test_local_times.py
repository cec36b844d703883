"""People read times in their own zone (``schedule.timezone``, Asia/Shanghai by default): the
command line's `changes` and `health` tables as well as the dashboard; JSON keeps UTC."""

from __future__ import annotations

import json
import sqlite3

from crawl_helpers import nianbao

from storage import Fetched, Store


def _config(tmp_path, zone: str | None):
    schedule = f"schedule:\n  timezone: {zone}\n" if zone else ""
    path = tmp_path / "config.yaml"
    path.write_text(
        "storage:\n  path: nianbao.db\n" + schedule + "sources:\n"
        "  - id: s0\n    name: 青山县人民政府\n    start_url: http://127.0.0.1:9/\n",
        encoding="utf-8",
    )
    return path


def _history(tmp_path) -> None:
    """A run started 2026-03-31 16:30 UTC and a report modified at 2026-03-31 17:05 UTC."""
    with Store(tmp_path / "nianbao.db") as store:
        store.upsert_source("s0", "青山县人民政府", "http://127.0.0.1:9/", None, {})
        run = store.start_run("s0")
        store.finish_run(run, "finished", {"documents": 1})
        url = "http://127.0.0.1:9/a.pdf"
        for body, at in (
            (b"%PDF-1 first", "2026-03-30T02:00:00+00:00"),
            (b"%PDF-1 second", "2026-03-31T17:05:00+00:00"),
        ):
            store.record_fetch(Fetched("s0", url, body, kind="attachment", fetched_at=at, title="年报"))
    with sqlite3.connect(tmp_path / "nianbao.db") as db:
        db.execute("UPDATE crawl_runs SET started_at = '2026-03-31T16:30:00+00:00'")


def test_changes_and_health_print_local_times(tmp_path):
    _history(tmp_path)
    config = _config(tmp_path, None)
    changes = nianbao(config, "changes").stdout
    assert "2026-04-01 01:05" in changes and "17:05" not in changes  # Shanghai is UTC+8
    health = nianbao(config, "health").stdout
    assert "2026-04-01 00:30" in health and "16:30" not in health
    # JSON is for scripts: the stored UTC timestamps, unchanged.
    (event,) = json.loads(nianbao(config, "changes", "--format", "json").stdout)
    assert event["at"] == "2026-03-31T17:05:00+00:00"


def test_the_zone_is_configurable(tmp_path):
    _history(tmp_path)
    config = _config(tmp_path, "Europe/Berlin")
    assert "2026-03-31 19:05" in nianbao(config, "changes").stdout  # CEST, UTC+2
    assert "2026-03-31 18:30" in nianbao(config, "health").stdout
