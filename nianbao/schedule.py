"""``nianbao schedule``: crawl every source on its schedule, then parse, then monitor and alert.

One long-running process on APScheduler 3.  Its jobs live in an SQLite job store next to the
database (``<db>.jobs.sqlite``), so the jobs and their next run times survive a restart.

* One job per enabled source, ``crawl:<source id>``.  Its trigger is a ``SeasonalTrigger``: the
  ``schedule.crawl`` cron outside the deadline season and ``schedule.season_crawl`` inside it
  (``season.start``..``season.end``, both inclusive, in ``schedule.timezone``).  One trigger
  choosing by date, not two jobs, so a source never has two crawls in flight.  A source's own
  ``schedule`` cron replaces both, all year round.
* Jitter: each source is shifted by a fixed offset in [0, ``jitter_minutes``) derived from its id,
  so portals are not all hit at the same minute, and a given portal is visited at the same time
  every day (``--list`` shows the real times).
* Each run is a chain of child processes of the CLI: ``crawl --source ID``, then
  ``parse --stored``, then ``monitor --alert``.  Children, because Twisted's reactor cannot be
  restarted in one process.  Parse and monitor of different sources never overlap.
* ``max_instances=1``, ``coalesce=True`` and a misfire grace time are stored with every job.
* A crawl chain that did not finish (the scheduler was killed, or stopped mid-run) is run again
  once, right after the next start.
* A file lock (``<db>.scheduler.lock``) keeps a second scheduler off the same database.
* SIGTERM/SIGINT: the running child gets SIGTERM (SIGKILL after ``STOP_GRACE`` seconds), the rest
  of the chain is skipped, and the process exits 0.  If the scheduler itself is killed, the
  kernel kills its children too (``PR_SET_PDEATHSIG``), so no orphaned crawl runs on.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config import Config
from storage.locks import FileLock, LockHeld
from storage.queries import chains_in_flight, mark_chain

log = logging.getLogger("nianbao.schedule")

CRAWL_TIMEOUT = 6 * 3600  # seconds; a crawl that runs longer is stopped
POST_TIMEOUT = 2 * 3600  # parse and monitor
STOP_GRACE = 30  # seconds a child gets after SIGTERM before SIGKILL
# What a stored job runs.  A job stored under another reference (the module was crawler.schedule
# before it moved to nianbao/) is replaced at start-up, not kept.
CHAIN = "nianbao.schedule:crawl_chain"
MAX_PARALLEL = 2  # crawls of different sources that may run at once
RESUME_DELAY = 5  # seconds after start before an unfinished chain is run again
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def jobstore_path(config: Config) -> Path:
    return config.storage_path.with_name(config.storage_path.name + ".jobs.sqlite")


def lock_path(config: Config) -> Path:
    return config.storage_path.with_name(config.storage_path.name + ".scheduler.lock")


# -- the trigger -------------------------------------------------------------------------------


def _month_day(text: str) -> tuple[int, int]:
    m, d = text.split("-")
    return int(m), int(d)


class SeasonalTrigger(BaseTrigger):
    """Fires on ``crawl`` outside the season and on ``season_crawl`` inside it, shifted by ``offset``.

    The season is a range of days of the year (it may wrap past 31 December).  Picklable, so it
    can be kept in the SQLAlchemy job store; it holds only strings and numbers.
    """

    def __init__(
        self, crawl: str, season_crawl: str, season: tuple[str, str], timezone: str, offset_seconds: int = 0
    ):
        self.crawl = crawl
        self.season_crawl = season_crawl
        self.season = (season[0], season[1])
        self.timezone = timezone
        self.offset_seconds = int(offset_seconds)
        self._build()

    def _build(self) -> None:
        self._tz = ZoneInfo(self.timezone)
        self._off = CronTrigger.from_crontab(self.crawl, timezone=self.timezone)
        self._on = CronTrigger.from_crontab(self.season_crawl, timezone=self.timezone)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "crawl": self.crawl,
            "season_crawl": self.season_crawl,
            "season": list(self.season),
            "timezone": self.timezone,
            "offset_seconds": self.offset_seconds,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.crawl = state["crawl"]
        self.season_crawl = state["season_crawl"]
        self.season = tuple(state["season"])
        self.timezone = state["timezone"]
        self.offset_seconds = state["offset_seconds"]
        self._build()

    def in_season(self, day: date) -> bool:
        start, end, md = _month_day(self.season[0]), _month_day(self.season[1]), (day.month, day.day)
        return start <= md <= end if start <= end else (md >= start or md <= end)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        shift = timedelta(seconds=self.offset_seconds)
        prev = previous_fire_time - shift if previous_fire_time else None
        base = now - shift
        found = [
            t for t in (self._next(self._off, False, prev, base), self._next(self._on, True, prev, base)) if t
        ]
        return min(found) + shift if found else None

    def _next(
        self, cron: CronTrigger, want_season: bool, prev: datetime | None, now: datetime
    ) -> datetime | None:
        """The next firing of ``cron`` that falls on a day in (or out of) the season."""
        for _ in range(6):  # at most a few season boundaries away
            t = cron.get_next_fire_time(prev, now)
            if t is None or self.in_season(t.astimezone(self._tz).date()) == want_season:
                return t
            now, prev = self._next_boundary(t.astimezone(self._tz).date()), None
        return None

    def _next_boundary(self, day: date) -> datetime:
        """Midnight of the first day after ``day`` on which in_season() changes."""
        candidates = []
        for year in (day.year, day.year + 1):
            for m, d in (_month_day(self.season[0]), _month_day(self.season[1])):
                last = (date(year + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
                boundary = date(year, m, min(d, last))
                if (m, d) == _month_day(self.season[1]):
                    boundary += timedelta(days=1)  # the season ends after its last day
                if boundary > day:
                    candidates.append(boundary)
        first = min(candidates)
        return datetime(first.year, first.month, first.day, tzinfo=self._tz)

    def describe(self) -> str:
        shift = (
            f", +{self.offset_seconds // 60} min {self.offset_seconds % 60} s" if self.offset_seconds else ""
        )
        if self.crawl == self.season_crawl:
            return f"cron '{self.crawl}'{shift} ({self.timezone})"
        return (
            f"cron '{self.crawl}'; {self.season[0]}..{self.season[1]}: '{self.season_crawl}'"
            f"{shift} ({self.timezone})"
        )

    def __str__(self) -> str:
        return f"seasonal[{self.describe()}]"

    def __repr__(self) -> str:
        return f"<SeasonalTrigger {self.describe()}>"


# -- the jobs ----------------------------------------------------------------------------------


@dataclass
class JobSpec:
    """One job the configuration asks for."""

    id: str
    name: str  # also the fingerprint: a stored job with another name is replaced
    trigger: BaseTrigger
    kwargs: dict[str, Any]


def source_offset(source_id: str, jitter_minutes: int) -> int:
    """A stable offset in seconds, in [0, jitter_minutes * 60), spreading sources apart."""
    span = max(0, int(jitter_minutes)) * 60
    if span == 0:
        return 0
    return int.from_bytes(hashlib.sha256(source_id.encode()).digest()[:8], "big") % span


def desired_jobs(config: Config, every: float | None = None) -> list[JobSpec]:
    """The crawl-chain job of every enabled source; ``every`` (seconds) replaces the crons (tests)."""
    sched = config.section("schedule")
    season = config.section("season")
    tz = sched["timezone"]
    specs = []
    for source in config.sources:
        if not source.get("enabled", True):
            continue
        sid = source["id"]
        if every:
            # First run a second after the job is stored, then every ``every`` seconds.
            first = datetime.now(ZoneInfo(tz)) + timedelta(seconds=1)
            trigger: BaseTrigger = IntervalTrigger(seconds=every, start_date=first, timezone=tz)
            describe = f"every {every:g} s"
        else:
            off = source.get("schedule") or sched["crawl"]
            on = source.get("schedule") or sched["season_crawl"]
            offset = source_offset(sid, sched["jitter_minutes"])
            trigger = SeasonalTrigger(off, on, (season["start"], season["end"]), tz, offset)
            describe = trigger.describe()
        kwargs = {
            "config_path": str(config.path),
            "source_id": sid,
            "state_path": str(jobstore_path(config)),
        }
        specs.append(JobSpec(id=f"crawl:{sid}", name=f"{sid}: {describe}", trigger=trigger, kwargs=kwargs))
    return specs


def build_scheduler(config: Config) -> BackgroundScheduler:
    sched = config.section("schedule")
    jobstore_path(config).parent.mkdir(parents=True, exist_ok=True)
    store = SQLAlchemyJobStore(url=f"sqlite:///{jobstore_path(config)}")
    return BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=MAX_PARALLEL)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(sched["misfire_grace_minutes"]) * 60,
        },
        timezone=sched["timezone"],
    )


def sync_jobs(scheduler: BackgroundScheduler, config: Config, every: float | None = None) -> dict[str, str]:
    """Make the stored jobs match the configuration; returns {job id: kept|added|replaced|removed}.

    A stored job whose schedule is unchanged is kept as it is, with its next run time, so a run
    missed while the scheduler was down still happens (once, within the misfire grace time).
    """
    grace = int(config.section("schedule")["misfire_grace_minutes"]) * 60
    existing = {job.id: job for job in scheduler.get_jobs()}
    outcome: dict[str, str] = {}
    for spec in desired_jobs(config, every):
        job = existing.pop(spec.id, None)
        if (
            job is not None
            and job.func_ref == CHAIN
            and job.name == spec.name
            and job.kwargs == spec.kwargs
            and job.misfire_grace_time == grace
            and job.coalesce
            and job.max_instances == 1
        ):
            outcome[spec.id] = "kept"
            continue
        scheduler.add_job(
            CHAIN,
            spec.trigger,
            kwargs=spec.kwargs,
            id=spec.id,
            name=spec.name,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=grace,
        )
        outcome[spec.id] = "replaced" if job is not None else "added"
    for job_id, job in existing.items():
        if job_id.startswith("crawl:"):
            job.remove()
            outcome[job_id] = "removed"
    return outcome


# -- unfinished chains -------------------------------------------------------------------------
# A row per chain in flight, in the job store's database: a row left over at start-up means the
# previous scheduler died (or was stopped) before the chain finished.


def unfinished_chains(path: str | Path) -> list[dict[str, Any]]:
    """The chains the job store at ``path`` has marked running (``storage.queries``)."""
    return chains_in_flight(path)


def _mark(path: str | Path, source_id: str, running: bool) -> None:
    mark_chain(path, source_id, running)


def schedule_resumes(scheduler: BackgroundScheduler, config: Config) -> list[str]:
    """Run again, once and soon, every configured chain the last scheduler left unfinished."""
    specs = {spec.kwargs["source_id"]: spec for spec in desired_jobs(config)}
    grace = int(config.section("schedule")["misfire_grace_minutes"]) * 60
    resumed = []
    for row in unfinished_chains(jobstore_path(config)):
        spec = specs.get(row["source_id"])
        if spec is None:
            _mark(jobstore_path(config), row["source_id"], running=False)
            continue
        scheduler.add_job(
            CHAIN,
            DateTrigger(run_date=datetime.now().astimezone() + timedelta(seconds=RESUME_DELAY)),
            kwargs=spec.kwargs,
            id=f"resume:{row['source_id']}",
            name=f"{row['source_id']}: resume the chain started {row['started_at']}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=grace,
        )
        resumed.append(row["source_id"])
    return resumed


# -- running a chain ---------------------------------------------------------------------------

_stopping = threading.Event()  # set on SIGTERM: running children are stopped, no new ones start
_post_lock = threading.Lock()  # parse + monitor of different sources never run at once
_busy_lock = threading.Lock()
_busy: set[str] = set()  # sources whose chain is running (the regular and a resume job may meet)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def child_command(config_path: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "nianbao", "--config", config_path, *args]


def run_step(cmd: list[str], timeout: float, label: str = "") -> int | None:
    """Run one step as a child process; its exit code, or None when skipped or stopped."""
    if _stopping.is_set():
        return None
    label = label or " ".join(cmd)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)
    log.info("start: %s (pid %d)", label, proc.pid)
    term_at: float | None = None
    while True:
        try:
            rc = proc.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            pass
        elapsed = time.monotonic() - started
        if term_at is None and (_stopping.is_set() or elapsed > timeout):
            why = "stopping" if _stopping.is_set() else f"timed out after {timeout:.0f} s"
            log.warning("%s: sending SIGTERM to %s (pid %d)", why, label, proc.pid)
            proc.terminate()
            term_at = time.monotonic()
        elif term_at is not None and time.monotonic() - term_at > STOP_GRACE:
            log.warning("%s (pid %d) ignored SIGTERM for %d s: SIGKILL", label, proc.pid, STOP_GRACE)
            proc.kill()
            term_at = float("inf")
    log.info("done: %s -> exit %s in %.1f s", label, rc, time.monotonic() - started)
    return None if term_at is not None else rc


def _cli_step(config_path: str, args: list[str], timeout: float) -> int | None:
    return run_step(child_command(config_path, *args), timeout, label=" ".join(args))


def crawl_chain(config_path: str, source_id: str, state_path: str) -> dict[str, int | None]:
    """The job: crawl one source, then parse new versions, then monitor and alert.

    Parse and monitor run even when the crawl failed: what it did store still counts, and the
    monitor reports failing sources.  The in-flight mark is cleared only when the chain ran to
    its end, so an interrupted chain is run again after the next start.
    """
    with _busy_lock:
        if source_id in _busy:
            log.info("%s: a chain for this source is already running; skipped", source_id)
            return {}
        _busy.add(source_id)
    try:
        _mark(state_path, source_id, running=True)
        codes: dict[str, int | None] = {}
        codes["crawl"] = _cli_step(config_path, ["crawl", "--source", source_id], CRAWL_TIMEOUT)
        with _post_lock:
            codes["parse"] = _cli_step(config_path, ["parse", "--stored"], POST_TIMEOUT)
            codes["monitor"] = _cli_step(config_path, ["monitor", "--alert"], POST_TIMEOUT)
        if not _stopping.is_set():
            _mark(state_path, source_id, running=False)
        log.info("%s: chain finished %s", source_id, codes)
        return codes
    finally:
        with _busy_lock:
            _busy.discard(source_id)


# -- the process -------------------------------------------------------------------------------


def _on_event(event: JobEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning(
            "job %s missed its run at %s (beyond the misfire grace time)",
            event.job_id,
            event.scheduled_run_time,
        )
    elif event.code == EVENT_JOB_MAX_INSTANCES:
        log.warning("job %s is still running; this run is skipped", event.job_id)
    elif event.code == EVENT_JOB_ERROR:
        log.error("job %s failed: %r", event.job_id, getattr(event, "exception", None))


def list_jobs(config: Config, every: float | None = None) -> list[dict[str, Any]]:
    """Each configured job with its stored next run time (or the one it would get if not stored)."""
    scheduler = build_scheduler(config)
    scheduler.start(paused=True)  # loads the store; nothing runs while paused
    try:
        stored = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    now = datetime.now(ZoneInfo(config.section("schedule")["timezone"]))
    rows = []
    for spec in desired_jobs(config, every):
        job = stored.pop(spec.id, None)
        if job is not None and job.name == spec.name:
            rows.append({"id": spec.id, "schedule": spec.name, "next_run": job.next_run_time, "note": ""})
        else:
            note = "尚未保存" if job is None else "计划已改，下次启动时更新"
            nxt = spec.trigger.get_next_fire_time(None, now)
            rows.append({"id": spec.id, "schedule": spec.name, "next_run": nxt, "note": note})
    for job in stored.values():
        note = "一次性" if job.id.startswith("resume:") else "已不在配置中，下次启动时删除"
        rows.append({"id": job.id, "schedule": job.name, "next_run": job.next_run_time, "note": note})
    for row in unfinished_chains(jobstore_path(config)):
        if not any(r["id"] == f"resume:{row['source_id']}" for r in rows):
            rows.append(
                {
                    "id": f"resume:{row['source_id']}",
                    "schedule": f"{row['source_id']}：{row['started_at']} 开始的任务链没有完成",
                    "next_run": None,
                    "note": "下次启动后立即重跑",
                }
            )
    return rows


def print_jobs(config: Config, every: float | None = None, out=None) -> None:
    out = out or sys.stdout
    holder = FileLock(lock_path(config)).holder()
    state = f"运行中（pid {holder}）" if holder else "未运行"
    print(f"调度器：{state}；任务库 {jobstore_path(config)}", file=out)
    rows = list_jobs(config, every)
    if not rows:
        print("没有启用的来源", file=out)
        return
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        when = r["next_run"].isoformat(sep=" ", timespec="seconds") if r["next_run"] else "-"
        note = f"  [{r['note']}]" if r["note"] else ""
        print(f"{r['id']:<{width}}  下次 {when}  {r['schedule']}{note}", file=out)


def _setup_logging(quiet: bool) -> None:
    """Log to stderr with timestamps, unless the caller configured logging already."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if quiet:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)


def run(config: Config, *, list_only: bool = False, every: float | None = None) -> int:
    """``nianbao schedule``: run until SIGTERM/SIGINT (exit 0), or print the jobs with list_only."""
    _setup_logging(quiet=list_only)
    if list_only:
        print_jobs(config, every)
        return 0
    lock = FileLock(lock_path(config), what="scheduler")
    try:
        lock.acquire()
    except LockHeld as exc:
        print(f"nianbao schedule：{exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        _stopping.set()
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    _stopping.clear()
    scheduler = build_scheduler(config)
    scheduler.add_listener(_on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
    try:
        scheduler.start(paused=True)
        changes = sync_jobs(scheduler, config, every)
        resumed = schedule_resumes(scheduler, config)
        log.info("jobs: %s", ", ".join(f"{k} {v}" for k, v in changes.items()) or "none")
        if resumed:
            log.info("resuming unfinished chains of: %s", ", ".join(resumed))
        for job in scheduler.get_jobs():
            log.info("%s next run %s", job.id, job.next_run_time)
        scheduler.resume()
        while not stop.wait(1):
            pass
        scheduler.shutdown(wait=True)  # running chains see _stopping and end their child quickly
        log.info("scheduler stopped")
        return 0
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for s, handler in old.items():
            signal.signal(s, handler)
        lock.release()


def main(argv: list[str] | None = None) -> int:
    """``python -m nianbao.schedule --config PATH [--list] [--every SECONDS]`` (tests, debugging)."""
    from config import ConfigError, load_config

    parser = argparse.ArgumentParser(prog="python -m nianbao.schedule")
    parser.add_argument("--config", default="config.yaml")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--every", type=float, help="run every job every N seconds instead of its cron")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    return run(config, list_only=args.list, every=args.every)


if __name__ == "__main__":
    # Run the imported module, not __main__: the jobs refer to "nianbao.schedule:crawl_chain", and
    # its stop flag must be the one the signal handler sets.
    from nianbao import schedule as _module

    sys.exit(_module.main())
