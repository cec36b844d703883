"""The scheduler: its trigger, its lock, its job store across restarts, and how it stops."""

from __future__ import annotations

import os
import pickle
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config import load_config
from nianbao import schedule
from nianbao.schedule import SeasonalTrigger, source_offset
from storage.locks import FileLock, LockHeld
from storage.queries import due_rows

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


# -- the trigger -------------------------------------------------------------------------------


def test_trigger_uses_the_season_cron_inside_the_season_only():
    t = SeasonalTrigger("0 2 * * *", "0 2,14 * * *", ("01-01", "04-15"), "Asia/Shanghai")
    assert t.get_next_fire_time(None, at(2026, 11, 24, 3, 0)) == at(2026, 11, 25, 2, 0)  # off season: nightly
    assert t.get_next_fire_time(None, at(2027, 2, 10, 3, 0)) == at(2027, 2, 10, 14, 0)  # season: twice a day
    assert t.get_next_fire_time(None, at(2026, 12, 31, 3, 0)) == at(2027, 1, 1, 2, 0)
    # The season's last day still gets its afternoon run; the day after is back to nightly.
    assert t.get_next_fire_time(None, at(2027, 4, 15, 3, 0)) == at(2027, 4, 15, 14, 0)
    assert t.get_next_fire_time(None, at(2027, 4, 15, 15, 0)) == at(2027, 4, 16, 2, 0)
    assert t.get_next_fire_time(None, at(2027, 4, 16, 3, 0)) == at(2027, 4, 17, 2, 0)


def test_trigger_season_may_wrap_the_year_and_a_rare_season_cron_is_found():
    t = SeasonalTrigger("0 3 * * 1", "30 1 * * *", ("12-01", "02-28"), "Asia/Shanghai")
    assert t.in_season(at(2026, 12, 5).date()) and t.in_season(at(2027, 1, 5).date())
    assert not t.in_season(at(2027, 3, 1).date())
    assert t.get_next_fire_time(None, at(2026, 11, 30, 12, 0)) == at(2026, 12, 1, 1, 30)
    # A season cron that only fires on 1 March never fires in a December..February season.
    odd = SeasonalTrigger("0 3 * * *", "0 3 1 3 *", ("12-01", "02-28"), "Asia/Shanghai")
    assert odd.get_next_fire_time(None, at(2026, 12, 10, 12, 0)) == at(2027, 3, 1, 3, 0)


def test_trigger_offset_shifts_fire_times_and_survives_pickling():
    t = SeasonalTrigger("0 2 * * *", "0 2,14 * * *", ("01-01", "04-15"), "Asia/Shanghai", 37 * 60 + 5)
    first = t.get_next_fire_time(None, at(2026, 11, 24, 1, 0))
    assert first == at(2026, 11, 24, 2, 37, 5)
    # From the previous fire time (what APScheduler passes), the next is a day later, not the same.
    assert t.get_next_fire_time(first, first + timedelta(seconds=1)) == at(2026, 11, 25, 2, 37, 5)
    # A run missed while down is reported (in the past), for the misfire grace time to judge.
    assert t.get_next_fire_time(first, at(2026, 11, 27, 12, 0)) == at(2026, 11, 25, 2, 37, 5)
    back = pickle.loads(pickle.dumps(t))
    assert back.get_next_fire_time(None, at(2026, 11, 24, 1, 0)) == first
    assert "+37 min" in back.describe()


def test_sources_get_stable_offsets_spread_over_the_jitter_window():
    offsets = [source_offset(f"source-{i}", 90) for i in range(50)]
    assert offsets == [source_offset(f"source-{i}", 90) for i in range(50)]
    assert all(0 <= o < 90 * 60 for o in offsets)
    assert len(set(offsets)) > 45 and max(offsets) - min(offsets) > 60 * 60
    assert source_offset("x", 0) == 0


# -- the lock ----------------------------------------------------------------------------------


def test_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
    path = tmp_path / "db.scheduler.lock"
    with FileLock(path, what="scheduler") as first:
        assert first.holder() == os.getpid()
        with pytest.raises(LockHeld, match=rf"pid {os.getpid()} holds .*db\.scheduler\.lock"):
            FileLock(path, what="scheduler").acquire()
    assert FileLock(path).holder() is None
    FileLock(path).acquire()  # free again


# -- child processes ---------------------------------------------------------------------------


def test_a_stopping_scheduler_ends_the_running_child(monkeypatch):
    monkeypatch.setattr(schedule, "STOP_GRACE", 2)
    result: list[int | None] = []
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    thread = threading.Thread(target=lambda: result.append(schedule.run_step(sleeper, 120)))
    started = time.monotonic()
    thread.start()
    time.sleep(0.5)
    schedule._stopping.set()
    try:
        thread.join(10)
    finally:
        schedule._stopping.clear()
    assert not thread.is_alive() and result == [None]
    assert time.monotonic() - started < 5
    # Once stopping, no new child starts at all.
    schedule._stopping.set()
    try:
        assert schedule.run_step([sys.executable, "-c", "raise SystemExit(3)"], 10) is None
    finally:
        schedule._stopping.clear()
    assert schedule.run_step([sys.executable, "-c", "raise SystemExit(3)"], 10) == 3


def test_children_die_with_a_killed_scheduler(tmp_path):
    pidfile = tmp_path / "child.pid"
    code = (
        "import sys; from nianbao.schedule import run_step; "
        "run_step([sys.executable, '-c', "
        f"\"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)\"], 120)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(pidfile.read_text())
    os.kill(child, 0)  # alive
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie is dead
    except FileNotFoundError:
        return False


# -- the scheduler process ---------------------------------------------------------------------


def write_config(tmp_path: Path, sources: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "storage:\n  path: data/nianbao.db\n"
        "schedule:\n  misfire_grace_minutes: 60\n"
        "sources:\n"
        + (
            sources
            or "  - id: s1\n    name: 一号\n    start_url: http://127.0.0.1:9/\n"
            "  - id: s2\n    name: 二号\n    start_url: http://127.0.0.1:9/x/\n    enabled: false\n"
        ),
        encoding="utf-8",
    )
    return path


class Proc:
    """``python -m nianbao.schedule`` as a real child process, its log in a file."""

    def __init__(self, config: Path, *args: str):
        self.log = config.parent / f"schedule-{time.monotonic_ns()}.log"
        self.out = open(self.log, "wb")  # noqa: SIM115
        self.p = subprocess.Popen(
            [sys.executable, "-m", "nianbao.schedule", "--config", str(config), *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float = 30, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.text().count(needle) >= count:
                return self.text()
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} not seen {count}x; log:\n{self.text()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        self.p.send_signal(sig)
        try:
            return self.p.wait(timeout)
        finally:
            self.out.close()


def list_output(config: Path) -> str:
    return subprocess.run(
        [sys.executable, "-m", "nianbao.schedule", "--config", str(config), "--list"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def stored_next_runs(config: Path) -> dict[str, float]:
    db = schedule.jobstore_path(load_config(config))
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, next_run_time FROM apscheduler_jobs").fetchall())


def test_jobs_and_next_runs_survive_a_restart_and_a_second_scheduler_is_refused(tmp_path):
    config = write_config(tmp_path)
    first = Proc(config)
    first.wait_for("crawl:s1 added")
    runs = stored_next_runs(config)
    assert list(runs) == ["crawl:s1"]  # the disabled source has no job
    listing = list_output(config)
    assert f"运行中（pid {first.p.pid}）" in listing
    assert "crawl:s1" in listing and "cron '0 2 * * *'; 01-01..04-15: '0 2,14 * * *'" in listing

    second = subprocess.run(
        [sys.executable, "-m", "nianbao.schedule", "--config", str(config)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 2
    assert f"pid {first.p.pid} holds" in second.stderr

    assert first.stop() == 0
    assert "received SIGTERM" in first.text() and "scheduler stopped" in first.text()
    assert "未运行" in list_output(config)
    via_cli = subprocess.run(
        [sys.executable, "-m", "nianbao", "--config", str(config), "schedule", "--list"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        via_cli.returncode == 0 and "crawl:s1" in via_cli.stdout and "Scheduler started" not in via_cli.stderr
    )

    again = Proc(config)
    again.wait_for("crawl:s1 kept")
    assert stored_next_runs(config) == runs  # the same job, the same next run time
    assert again.stop(signal.SIGINT) == 0


def test_a_changed_schedule_replaces_the_stored_job(tmp_path):
    config = write_config(tmp_path)
    p = Proc(config)
    p.wait_for("crawl:s1 added")
    assert p.stop() == 0
    config.write_text(
        config.read_text().replace(
            "start_url: http://127.0.0.1:9/\n",
            "start_url: http://127.0.0.1:9/\n    schedule: '15 4 * * *'\n",
            1,
        )
    )
    assert "计划已改" in list_output(config)
    p = Proc(config)
    p.wait_for("crawl:s1 replaced")
    assert p.stop() == 0
    nxt = datetime.fromtimestamp(stored_next_runs(config)["crawl:s1"], TZ)
    offset = source_offset("s1", 90)
    assert (nxt - timedelta(seconds=offset)).strftime("%H:%M") == "04:15"


def test_missed_runs_coalesce_into_one_after_a_restart(tmp_path):
    config = write_config(tmp_path)
    p = Proc(config, "--every", "3")
    p.wait_for("crawl:s1 added")
    assert p.stop() == 0  # before the first run
    time.sleep(7)  # two runs missed
    p = Proc(config, "--every", "3")
    p.wait_for("crawl:s1 kept")
    p.wait_for("start: crawl batch: s1", timeout=20)
    p.wait_for("cycle finished", timeout=120)
    time.sleep(1.5)  # without coalescing, the next missed run would start right away
    text = p.text()
    assert p.stop() == 0
    scheduled = [
        datetime.fromisoformat(m)
        for m in re.findall(r'Running job "s1: every.*\(scheduled at ([^)]+)\)$', text, re.M)
    ]
    # The runs missed while it was down were due before it resumed processing jobs (on a busy
    # machine that can be seconds after the restart): exactly one of them ran.
    resumed = re.search(
        r"^(\S+ \S+) INFO apscheduler.scheduler: Resumed scheduler job processing", text, re.M
    )
    # (the log's times are local times of the child, which shares this process's time zone)
    resumed_at = datetime.strptime(resumed.group(1), "%Y-%m-%d %H:%M:%S,%f").astimezone()
    assert len([t for t in scheduled if t < resumed_at]) == 1, text
    # The crawl of an unreachable portal still goes on to parse and monitor.
    assert "start: parse --stored" in text and "start: monitor --alert" in text


def test_sigterm_mid_batch_exits_cleanly_and_the_source_is_crawled_again_on_restart(tmp_path):
    config = write_config(tmp_path)
    p = Proc(config, "--every", "1")
    p.wait_for("start: crawl batch: s1")
    assert p.stop() == 0
    text = p.text()
    assert "received SIGTERM" in text and "scheduler stopped" in text
    state = schedule.jobstore_path(load_config(config))
    rows = due_rows(state)
    if "batch finished" not in text.split("received SIGTERM")[0]:
        # The batch was stopped: its source is put back in the queue, due at the next start.
        assert [r["source_id"] for r in rows] == ["s1"] and not rows[0]["taken_at"], rows
        assert "due:s1" in list_output(config)
        again = Proc(config, "--every", "3600")
        again.wait_for("start: crawl batch: s1")
        again.wait_for("batch finished: s1", timeout=120)
        again.wait_for("cycle finished", timeout=120)
        assert again.stop() == 0
        assert due_rows(state) == []
    else:  # the signal fell between two batches: nothing is left taken
        assert not [r for r in rows if r["taken_at"]]


def _old_chain(state_path: str, source_id: str) -> None:
    """Stands in for a job of an older scheduler (crawl_chain, or a module path that moved)."""


def test_a_job_stored_under_the_old_module_path_is_replaced(tmp_path):
    """A job store written before the scheduler moved (crawler.schedule → nianbao.schedule) gets
    jobs that run the current chain, not ones that point at a module that no longer exists."""
    config = load_config(write_config(tmp_path))
    spec = next(s for s in schedule.desired_jobs(config) if s.id == "crawl:s1")
    scheduler = schedule.build_scheduler(config)
    scheduler.start(paused=True)
    try:
        # Another reference, standing in for the old path, with everything else exactly as the
        # configuration wants it.
        scheduler.add_job(
            f"{__name__}:_old_chain",
            spec.trigger,
            kwargs=spec.kwargs,
            id=spec.id,
            name=spec.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=60 * 60,
        )
        outcome = schedule.sync_jobs(scheduler, config)
        assert outcome["crawl:s1"] == "replaced"
        assert scheduler.get_job("crawl:s1").func_ref == schedule.JOB == "nianbao.schedule:source_due"
        assert schedule.sync_jobs(scheduler, config)["crawl:s1"] == "kept"
    finally:
        scheduler.shutdown(wait=False)
