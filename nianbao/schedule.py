"""``nianbao schedule``: crawl every source on its schedule, in batches, then parse, monitor and alert.

One long-running process on APScheduler 3.  Its jobs live in an SQLite job store next to the
database (``<db>.jobs.sqlite``), so the jobs and their next run times survive a restart.

* One job per enabled source, ``crawl:<source id>``.  Its trigger is a ``SeasonalTrigger``: the
  ``schedule.crawl`` cron outside the deadline season and ``schedule.season_crawl`` inside it
  (``season.start``..``season.end``, both inclusive, in ``schedule.timezone``).  One trigger
  choosing by date, not two jobs.  A source's own ``schedule`` cron replaces both, all year round.
* Jitter: each source is shifted by a fixed offset in [0, ``jitter_minutes``) derived from its id,
  so portals are not all hit at the same minute, and a given portal is visited at the same time
  every day (``--list`` shows the real times).
* A job only puts its source in the queue of due sources (in the job store).  The dispatcher
  gathers what is due (waiting ``GATHER`` seconds for sources due at about the same time) and
  crawls it in batches of ``crawl.batch_size`` sources, each batch one child process
  (``nianbao.batches``; Twisted's reactor cannot be restarted), at most ``MAX_PARALLEL`` at once.
  Thousands of portals are crawled together: politeness is per host, not per process.
* After each batch, ``parse --stored`` reads the new versions.  When nothing is due or crawling
  any more, ``monitor --alert`` runs once for the cycle (statuses are updated incrementally).
* A source already queued or being crawled is not queued twice (``max_instances=1`` and
  ``coalesce=True`` are stored with every job too, and a misfire grace time).
* Crash safety: a source taken by a batch stays in the queue until the batch has ended.  After a
  scheduler was killed, the next start queues again every taken source whose run did not close
  (finished, failed or blocked), and runs the cycle's parse and monitor if they were owed.
  Alerts stay exactly once (``storage.ledger``); versions are stored by content, never twice.
* A file lock (``<db>.scheduler.lock``) keeps a second scheduler off the same database.
* SIGTERM/SIGINT: running children get SIGTERM (SIGKILL after ``STOP_GRACE`` seconds), nothing
  new starts, and the process exits 0.  If the scheduler itself is killed, the kernel kills its
  children too (``PR_SET_PDEATHSIG``), so no orphaned crawl runs on.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import logging
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config import Config
from nianbao.batches import child_command, child_env, crawl_command
from storage import Store
from storage.locks import FileLock, LockHeld
from storage.queries import due_rows, get_flag, legacy_chains, queue_due, release_due, set_flag, take_due

log = logging.getLogger("nianbao.schedule")

CRAWL_TIMEOUT = 6 * 3600  # seconds; a crawl that runs longer is stopped
POST_TIMEOUT = 2 * 3600  # parse and monitor
STOP_GRACE = 30  # seconds a child gets after SIGTERM before SIGKILL
# What a stored job runs.  A job stored under another reference (crawl_chain, one chain of
# processes per source, before batches; crawler.schedule before the module moved) is replaced.
JOB = "nianbao.schedule:source_due"
MAX_PARALLEL = 2  # batches (crawl processes) that may run at once
GATHER = 20.0  # seconds the dispatcher waits for more sources once one is due
MAX_ATTEMPTS = 2  # batches a due source may be taken by before it waits for its next run
POST_WAIT = 3600.0  # at most this long between a batch and the monitor, however busy the queue


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
        kwargs = {"state_path": str(jobstore_path(config)), "source_id": sid}
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
            and job.func_ref == JOB
            and job.name == spec.name
            and job.kwargs == spec.kwargs
            and job.misfire_grace_time == grace
            and job.coalesce
            and job.max_instances == 1
        ):
            outcome[spec.id] = "kept"
            continue
        scheduler.add_job(
            JOB,
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
        if job_id.startswith(("crawl:", "resume:")):  # resume: one-off jobs of the older scheduler
            job.remove()
            outcome[job_id] = "removed"
    return outcome


# -- the queue of due sources ------------------------------------------------------------------
# A source's job only queues it (``source_due``); the dispatcher gathers what is due and crawls it
# in batches (``nianbao.batches``), so thousands of portals are crawled by a few processes.


def source_due(state_path: str, source_id: str) -> bool:
    """The job of a source: put it in the queue of due sources (``storage.queries.queue_due``)."""
    queued = queue_due(state_path, source_id)
    if not queued:
        log.info("%s: already queued or being crawled; this run is skipped", source_id)
    _wake.set()
    return queued


def resume_unfinished(config: Config) -> list[str]:
    """Put back in the queue every source the last scheduler took but did not see to the end.

    A source taken by a batch that was killed is crawled again, unless its run had closed by
    then as finished, failed or blocked (a repeat would only duplicate work).  Chains an older
    scheduler left unfinished are queued too.  Returns the sources queued again.
    """
    state = jobstore_path(config)
    configured = {s["id"] for s in config.sources if s.get("enabled", True)}
    for sid in legacy_chains(state):
        if sid in configured:
            queue_due(state, sid)
    taken = [r for r in due_rows(state) if r["taken_at"]]
    done = _closed_since(config, {r["source_id"]: r["taken_at"] for r in taken})
    again = [r["source_id"] for r in taken if r["source_id"] not in done and r["source_id"] in configured]
    gone = [r["source_id"] for r in taken if r["source_id"] not in configured]
    release_due(state, sorted(done) + gone, again)
    for row in due_rows(state):
        if row["source_id"] not in configured:
            release_due(state, [row["source_id"]], [])
    return again


def _closed_since(config: Config, taken_at: dict[str, str]) -> set[str]:
    """The sources whose latest run started after it was taken and closed as a whole crawl."""
    if not taken_at:
        return set()
    done = set()
    with Store(config.storage_path) as store:
        history = store.run_history(per_source=1)
    for sid, when in taken_at.items():
        runs = history.get(sid) or []
        if not runs:
            continue
        run = runs[0]
        started = datetime.fromisoformat(run["started_at"])
        if started >= datetime.fromisoformat(when) - timedelta(seconds=1) and run["status"] in CLOSED:
            done.add(sid)
    return done


CLOSED = ("finished", "failed", "blocked")  # a run that will not be better for a repeat right now


# -- running batches ---------------------------------------------------------------------------

_stopping = threading.Event()  # set on SIGTERM: running children are stopped, no new ones start
_wake = threading.Event()  # a source was queued: the dispatcher looks sooner
_unparsed = threading.Event()  # a batch stored versions no parse has read yet
_post_lock = threading.Lock()  # parse + monitor never run twice at once
_running_lock = threading.Lock()
_running: set[int] = set()  # batches in flight (thread ids)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def run_step(cmd: list[str], timeout: float, label: str = "") -> int | None:
    """Run one step as a child process; its exit code, or None when skipped or stopped."""
    if _stopping.is_set():
        return None
    label = label or " ".join(cmd)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=child_env(), preexec_fn=_die_with_parent)
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


def run_batch(config: Config, source_ids: list[str]) -> int | None:
    """Crawl one batch in a child process, then release its sources and parse what it stored.

    Parse runs even when the crawl failed: what it did store still counts.  The monitor runs once
    the queue is empty and no other batch is crawling (``post_cycle``), once per cycle.
    """
    state = jobstore_path(config)
    names = ", ".join(source_ids[:5]) + (f" … ({len(source_ids)} sources)" if len(source_ids) > 5 else "")
    cmd = crawl_command(config.path, source_ids, quiet=True)
    if config.section("distributed"):  # the batch goes to the crawl workers (docs/distributed.md)
        cmd.append("--distributed")
    rc = run_step(cmd, CRAWL_TIMEOUT, label=f"crawl batch: {names}")
    _unparsed.set()
    if get_flag(state, POST_FLAG) is None:  # from here, parse and monitor are owed
        set_flag(state, POST_FLAG, datetime.now(UTC).isoformat(timespec="seconds"))
    rows = {r["source_id"]: r for r in due_rows(state) if r["source_id"] in source_ids}
    done = _closed_since(config, {sid: r["taken_at"] for sid, r in rows.items() if r["taken_at"]})
    unfinished = [sid for sid in source_ids if sid not in done]
    if _stopping.is_set():  # crawled again at the next start
        release_due(state, sorted(done), unfinished)
        return rc
    if rc is None or rc not in (0, 2):
        # The batch process died (killed, out of memory): its unfinished sources get one more
        # batch; a source that kills its batch every time is left to its next scheduled run.
        again = [sid for sid in unfinished if rows.get(sid, {}).get("attempts", 0) < MAX_ATTEMPTS]
        log.warning("the batch died (exit %s); crawling again: %s", rc, ", ".join(again) or "none")
        release_due(state, [sid for sid in source_ids if sid not in again], again)
        _wake.set()
    else:
        release_due(state, source_ids, [])
    with _post_lock:
        _unparsed.clear()  # (a batch ending during this parse sets it again)
        _cli_step(str(config.path), ["parse", "--stored"], POST_TIMEOUT)
    log.info("batch finished: %s -> crawl exit %s", names, rc)
    return rc


def post_cycle(config: Config) -> dict[str, int | None] | None:
    """Parse and monitor (with alerts) once the cycle's crawls are done, if a batch ran since."""
    state = jobstore_path(config)
    with _post_lock:
        if _stopping.is_set() or get_flag(state, POST_FLAG) is None:
            return None
        codes: dict[str, int | None] = {}
        if _unparsed.is_set():  # else each batch's own parse read everything already
            _unparsed.clear()
            codes["parse"] = _cli_step(str(config.path), ["parse", "--stored"], POST_TIMEOUT)
        codes["monitor"] = _cli_step(str(config.path), ["monitor", "--alert"], POST_TIMEOUT)
        if not _stopping.is_set():
            set_flag(state, POST_FLAG, None)
            log.info("cycle finished %s", codes)
        return codes


POST_FLAG = "post_pending"


def _post_overdue(state: Path, longest: float) -> bool:
    """Whether parse and monitor have been owed for longer than ``longest`` seconds."""
    since = get_flag(state, POST_FLAG)
    if since is None:
        return False
    try:
        owed = datetime.now(UTC) - datetime.fromisoformat(since)
    except ValueError:
        return True
    return owed.total_seconds() > longest


def dispatch(config: Config, stop: threading.Event, gather: float, post_wait: float = POST_WAIT) -> None:
    """The dispatcher: take due sources in batches, at most MAX_PARALLEL batches at once; when
    nothing is due or crawling, run the cycle's parse and monitor — or sooner, when they have
    been owed for ``post_wait`` seconds (sources that keep coming due must not hold back alerts)."""
    state = jobstore_path(config)
    size = int(config.section("crawl")["batch_size"])
    while not stop.is_set():
        _wake.wait(1.0)
        if stop.is_set():
            break
        if _wake.is_set():
            _wake.clear()
            stop.wait(gather)  # let the sources due at about the same time join one batch
            if stop.is_set():
                break
        with _running_lock:
            free = MAX_PARALLEL - len(_running)
        if free > 0:
            batch = take_due(state, size)
            if batch:
                thread = threading.Thread(target=_batch_thread, args=(config, batch), daemon=True)
                with _running_lock:
                    _running.add(id(thread))
                thread.start()
                continue
        with _running_lock:
            idle = not _running
        if (idle and not any(r["taken_at"] is None for r in due_rows(state))) or _post_overdue(
            state, post_wait
        ):
            post_cycle(config)


def _wait_for_batches(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _running_lock:
            if not _running:
                return
        time.sleep(0.2)


def _batch_thread(config: Config, source_ids: list[str]) -> None:
    me = id(threading.current_thread())
    try:
        run_batch(config, source_ids)
    except Exception:  # noqa: BLE001 - the dispatcher goes on; the sources are queued again
        # Dropped, not queued again (that could loop): each source's next scheduled time retries.
        log.exception("batch of %s failed", ", ".join(source_ids[:5]))
        release_due(jobstore_path(config), source_ids, [])
    finally:
        with _running_lock:
            _running.discard(me)


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
        note = "已不在配置中，下次启动时删除"
        rows.append({"id": job.id, "schedule": job.name, "next_run": job.next_run_time, "note": note})
    for row in due_rows(jobstore_path(config)):
        if row["taken_at"]:
            what, note = f"{row['source_id']}：自 {row['taken_at']} 起在一批抓取中（pid {row['pid']}）", ""
            if not holder_alive(config):
                note = "调度器已停止，下次启动后重新抓取（除非该来源的抓取已完成）"
        else:
            what, note = f"{row['source_id']}：{row['queued_at']} 起已到期，等待下一批抓取", ""
        rows.append({"id": f"due:{row['source_id']}", "schedule": what, "next_run": None, "note": note})
    return rows


def holder_alive(config: Config) -> bool:
    """Whether a scheduler holds the lock on this database now."""
    return FileLock(lock_path(config)).holder() is not None


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
        resumed = resume_unfinished(config)
        log.info("jobs: %s", ", ".join(f"{k} {v}" for k, v in changes.items()) or "none")
        if resumed:
            log.info("resuming unfinished sources: %s", ", ".join(resumed))
        if get_flag(jobstore_path(config), POST_FLAG):
            _unparsed.set()
            log.info("the last cycle's parse and monitor did not run: they run once nothing is due")
        for job in scheduler.get_jobs():
            log.info("%s next run %s", job.id, job.next_run_time)
        gather = min(GATHER, every / 4) if every else GATHER
        post_wait = min(POST_WAIT, every * 5) if every else POST_WAIT
        dispatcher = threading.Thread(
            target=dispatch, args=(config, stop, gather, post_wait), name="dispatcher"
        )
        dispatcher.start()
        _wake.set()
        scheduler.resume()
        while not stop.wait(1):
            pass
        scheduler.shutdown(wait=True)
        dispatcher.join()
        _wait_for_batches(STOP_GRACE + 10)  # running batches see _stopping and end their child
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
