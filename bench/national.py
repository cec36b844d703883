"""A simulated country on loopback, crawled the way a national deployment runs nianbao.

    .venv/bin/python bench/national.py [--portals 3000] [--docs 40] [--old-sample 20]
                                       [--keep DIR] [--json PATH] [--delay 0.5]
                                       [--workers N [--sources-per-task 100]]

The country (:mod:`simulator.country`) is ``--portals`` county portals, each its own host
127.x.y.z, of the families real portals have, ~``--docs`` documents each, served by one event
loop in this process; every attachment is rendered before anything is timed.  Its day starts on
31 January 2026 (departments' deadline for their 2025 reports).  On a fresh database, with the
product's own commands in child processes and politeness at the defaults (2 per host, 0.5 s):

1. first: ``nianbao crawl`` (every source, one process), ``parse --stored``, ``monitor --alert``;
2. daily: the country advances a day (new reports on one portal in ten; the departments'
   deadline passes), then the same three commands, alerts to a local aiosmtpd;
3. weekly: ``crawl --revalidate``, ``parse --stored``, ``monitor --alert``;
4. old: the same daily cycle under the old scheduling — one chain per source, ``crawl --source
   X`` then ``parse --stored`` then ``monitor --alert``, two chains at a time, parse and monitor
   never overlapping — on a copy of the database after step 1, for ``--old-sample`` sources (all
   when the sample is not smaller than the country); a sample's total is extrapolated to the
   whole country and labelled so.

With ``--workers N`` (issue #15) every step of 1–3 runs twice, on the same country: locally as
above, then on a second database through a :class:`distributed.local.LocalCluster` on this
machine (redis-server on loopback, N ``nianbao worker`` processes) with ``crawl --distributed``;
the workers' CPU (their whole process trees) is added to the step's, their peak RSS is sampled.

Per step: wall time, CPU time (user + system of the children, from wait4), requests (summed over
the step's crawl runs' stats), peak RSS (the largest child's, from wait4), database size; and the
simulator's own CPU (its serving thread).  Checks: every portal has its own finished run,
documents stored = documents served, statuses = the country's ground truth, one alert mail per
recipient on the daily cycle.  ``--json PATH`` writes all of it (after every step) for scripts.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402

from distributed.local import free_port  # noqa: E402
from simulator.country import Country  # noqa: E402

TARGETS = {"first_crawl_s": 3600, "daily_s": 600, "peak_rss_mb": 2048}


# -- children --------------------------------------------------------------------------------------


class Launcher:
    """Starts the children from small processes, so their peak RSS is their own.

    Linux keeps a process's peak RSS across exec, and a child forked (or vforked) from this
    process starts with this process's peak: the simulator, its renderings and all.  Children are
    started instead by two workers of a fork server begun before the country is built.
    """

    def __init__(self) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver"))
        self.pool.submit(int).result(60)  # the fork server and its workers exist from now on

    def run(self, cmd: list[str], log: Path) -> dict[str, Any]:
        return self.pool.submit(run_child, cmd, log).result()

    def close(self) -> None:
        self.pool.shutdown()


def run_child(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run one child to its end: wall, CPU (user + sys), peak RSS (MB) and exit code, from wait4."""
    with open(log, "ab") as out:
        out.write(("$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": time.perf_counter() - start,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
        "rc": proc.returncode,
    }


def nianbao(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "nianbao", "--config", str(config), *args]


# -- the database ----------------------------------------------------------------------------------


def db_size_mb(db: Path) -> float:
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


def runs_after(db: Path, after_id: int) -> list[dict[str, Any]]:
    """Crawl runs with an id above ``after_id``: id, source_id, status, stats."""
    from storage import Store

    with Store(db) as store:
        rows = store.runs(limit=10**7)
    out = []
    for r in rows:
        if r["id"] > after_id:
            out.append(
                {
                    "id": r["id"],
                    "source_id": r["source_id"],
                    "status": r["status"],
                    "stats": json.loads(r["stats_json"] or "{}"),
                }
            )
    return out


def stored_documents(db: Path) -> dict[str, int]:
    from storage import Store
    from storage.reads import document_counts

    with Store(db) as store:
        return document_counts(store)


def max_run_id(db: Path) -> int:
    if not db.exists():
        return 0
    runs = runs_after(db, 0)
    return max((r["id"] for r in runs), default=0)


# -- alerts ----------------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler keeping (recipients, subject) of every delivered message."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd
        from email import message_from_bytes, policy

        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), str(msg["Subject"])))
        return "250 OK"

    def take(self) -> list[tuple[list[str], str]]:
        with self._lock:
            out, self.messages = self.messages, []
        return out


# -- the configuration -----------------------------------------------------------------------------


def recipient(province: str, country: Country) -> str:
    names = sorted({p.province for p in country.portals})
    return f"gkb{names.index(province):02d}@example.gov.cn"


def write_config(
    path: Path,
    db: Path,
    country: Country,
    smtp_port: int,
    delay: float = 0.5,
    distributed: dict[str, Any] | None = None,
) -> Path:
    """The country's config; with ``distributed`` (a cluster's section), a coordinator's."""
    import yaml

    lines = [
        "# Written by bench/national.py for its simulated country.",
        "storage:",
        f"  path: {db}",
        "crawl:",
        "  concurrency_per_host: 2",
        f"  delay: {delay}",
        "  user_agent: 'nianbao-bench/0.1 (+local simulator)'",
        "alerts:",
        f"  smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, from: 'nianbao <monitor@example.gov.cn>', timeout: 30}}",
        "  groups:",
    ]
    for prov in sorted({p.province for p in country.portals}):
        lines.append(
            f"    - {{name: {prov}政务公开办, emails: [{recipient(prov, country)}], regions: [{prov}]}}"
        )
    lines.append("sources:")
    for p in country.portals:
        r = p.region
        lines += [
            f"  - id: {p.source_id}",
            f"    name: {r.county}人民政府",
            f"    start_url: {p.start_url}",
            f"    family: {p.family}",
            f"    region: {p.province}",
            "    agencies:",
            f"      - {{name: {r.government.name}, kind: government}}",
        ]
        lines += [f"      - {{name: {a.name}, kind: {a.kind}}}" for a in r.agencies[1:4]]
    if distributed:
        lines.append(yaml.safe_dump({"distributed": distributed}, sort_keys=False).rstrip())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- distributed workers (issue #15) ----------------------------------------------------------------


class Workers:
    """The CPU and peak RSS of a LocalCluster's processes (redis-server, the workers, the pool
    processes and their crawl children) over one step.

    CPU: user + system of every live process of the trees, and of the children they reaped
    (a crawl child is reaped by its pool process).  Peak RSS: the largest single process,
    sampled every 0.2 s — a crawl child that lives shorter may be missed.
    """

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self.cpu0 = 0.0
        self.peak = 0.0

    def _processes(self) -> list[Any]:
        import psutil

        roots = [self.cluster.redis.proc.pid] + [w.proc.pid for w in self.cluster.workers]
        out = []
        for pid in roots:
            try:
                root = psutil.Process(pid)
                out += [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return out

    def cpu(self) -> float:
        import psutil

        total = 0.0
        for proc in self._processes():
            try:
                t = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def _sample(self) -> None:
        import psutil

        while not self._stop.wait(0.2):
            for proc in self._processes():
                try:
                    self.peak = max(self.peak, proc.memory_info().rss / 2**20)
                except psutil.NoSuchProcess:
                    continue

    def begin(self) -> None:
        self.cpu0, self.peak = self.cpu(), 0.0
        self._stop.clear()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def end(self) -> dict[str, Any]:
        self._stop.set()
        if self._sampler:
            self._sampler.join()
        return {"wall_s": 0.0, "cpu_s": self.cpu() - self.cpu0, "rss_mb": self.peak, "rc": 0}


# -- steps -----------------------------------------------------------------------------------------


class Step:
    """Children of one step: their figures summed (CPU), maxed (RSS), and the step's wall time."""

    def __init__(
        self, name: str, country: Country, db: Path, launcher: Launcher, workers: Workers | None = None
    ) -> None:
        self.name, self.country, self.db, self.launcher = name, country, db, launcher
        self.workers = workers
        if workers:
            workers.begin()
        self.parts: dict[str, dict[str, Any]] = {}
        self.first_run = max_run_id(db)
        self.sim_cpu0 = country.cpu_seconds()
        self.sim_req0 = country.request_count()
        self.t0 = time.perf_counter()

    def run(self, part: str, cmd: list[str], log: Path) -> dict[str, Any]:
        fig = self.launcher.run(cmd, log)
        self.parts[part] = fig
        print(
            f"  {self.name}/{part}: {fig['wall_s']:.1f} s wall, {fig['cpu_s']:.1f} s CPU, "
            f"peak RSS {fig['rss_mb']:.0f} MB, exit {fig['rc']}",
            flush=True,
        )
        return fig

    def finish(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.t0
        runs = runs_after(self.db, self.first_run)
        if self.workers:
            self.parts["workers"] = self.workers.end()
        out = {
            "wall_s": wall,
            "cpu_s": sum(p["cpu_s"] for p in self.parts.values()),
            "peak_rss_mb": max((p["rss_mb"] for p in self.parts.values()), default=0),
            "requests": sum(int(r["stats"].get("requests", 0)) for r in runs),
            "simulator_requests": self.country.request_count() - self.sim_req0,
            "simulator_cpu_s": self.country.cpu_seconds() - self.sim_cpu0,
            "db_mb": db_size_mb(self.db),
            "runs": len(runs),
            "run_status": _count(r["status"] for r in runs),
            # Other work on the machine slows every figure: the 1/5/15-minute load at the end.
            "load_avg": [round(x, 1) for x in os.getloadavg()],
            "parts": self.parts,
        }
        print(
            f"{self.name}: {out['wall_s']:.1f} s wall, {out['cpu_s']:.1f} s CPU, {out['requests']} requests "
            f"({out['simulator_requests']} served), peak RSS {out['peak_rss_mb']:.0f} MB, "
            f"database {out['db_mb']:.1f} MB, simulator CPU {out['simulator_cpu_s']:.1f} s, "
            f"runs {out['run_status']}, load average {out['load_avg']}",
            flush=True,
        )
        return out


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def cycle(step: Step, config: Path, as_of: date, log: Path, *crawl_args: str) -> None:
    step.run("crawl", nianbao(config, "crawl", "--quiet", *crawl_args), log)
    step.run("parse", nianbao(config, "parse", "--stored"), log)
    step.run("monitor", nianbao(config, "monitor", "--alert", "--as-of", as_of.isoformat()), log)


def old_cycle(step: Step, config: Path, sources: list[str], as_of: date, log: Path) -> None:
    """nianbao/schedule.py's crawl_chain: per source crawl → parse → monitor, two chains at once,
    parse and monitor of two chains never at the same time."""
    queue = list(sources)
    qlock, post = threading.Lock(), threading.Lock()

    def worker(n: int) -> None:
        while True:
            with qlock:
                if not queue:
                    return
                sid = queue.pop(0)
            step.run(f"{sid}/crawl", nianbao(config, "crawl", "--quiet", "--source", sid), log)
            with post:
                step.run(f"{sid}/parse", nianbao(config, "parse", "--stored"), log)
                step.run(
                    f"{sid}/monitor", nianbao(config, "monitor", "--alert", "--as-of", as_of.isoformat()), log
                )

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def monitor_rows(config: Path, as_of: date) -> list[dict[str, Any]]:
    out = subprocess.run(
        nianbao(config, "monitor", "--no-parse", "--format", "json", "--as-of", as_of.isoformat()),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def status_diffs(rows: list[dict[str, Any]], country: Country, as_of: date) -> list[str]:
    """Statuses that differ from the country's ground truth (agency names are unique per country)."""
    ours = {(r["agency"], r["year"]): r["status"] for r in rows}
    diffs = []
    for truths in country.truth(as_of).values():
        for t in truths:
            got = ours.pop((t["agency"], t["year"]), None)
            if got != t["status"]:
                diffs.append(f"{t['agency']} {t['year']}: expected {t['status']}, got {got}")
    diffs += [f"{a} {y}: not in the ground truth" for a, y in ours]
    return diffs


def checks(
    db: Path, config: Path, country: Country, as_of: date, keep: Path, label: str = ""
) -> dict[str, Any]:
    """Every portal its own finished run; documents stored = served; statuses = ground truth.

    The monitor's rows are kept in ``keep`` (``status-<as_of>.json``) for a test to compare too."""
    runs = runs_after(db, 0)
    latest: dict[str, dict[str, Any]] = {}
    for r in runs:
        if r["id"] > latest.get(r["source_id"], {"id": 0})["id"]:
            latest[r["source_id"]] = r
    unfinished = sorted(
        p.source_id for p in country.portals if latest.get(p.source_id, {}).get("status") != "finished"
    )
    served = country.document_counts()
    stored = stored_documents(db)
    doc_diffs = {sid: [stored.get(sid, 0), n] for sid, n in served.items() if stored.get(sid, 0) != n}
    rows = monitor_rows(config, as_of)
    (keep / f"status-{label}{as_of.isoformat()}.json").write_text(
        json.dumps(rows, ensure_ascii=False), encoding="utf-8"
    )
    diffs = status_diffs(rows, country, as_of)
    out = {
        "as_of": as_of.isoformat(),
        "portals_without_finished_run": unfinished,
        "documents_stored": sum(stored.values()),
        "documents_served": sum(served.values()),
        "document_mismatches": doc_diffs,
        "statuses": len(rows),
        "status_counts": _count(r["status"] for r in rows),
        "status_mismatches": diffs[:50],
        "status_mismatch_count": len(diffs),
    }
    print(
        f"  check: {len(country.portals) - len(unfinished)}/{len(country.portals)} portals finished, "
        f"documents {out['documents_stored']} stored / {out['documents_served']} served "
        f"({len(doc_diffs)} portals differ), {len(rows)} statuses {out['status_counts']}, "
        f"{len(diffs)} differ from the ground truth",
        flush=True,
    )
    for d in diffs[:10]:
        print("    " + d)
    return out


# -- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--portals", type=int, default=3000, help="simulated portals (each its own host)")
    ap.add_argument("--docs", type=int, default=40, help="about this many documents per portal (≥ 34)")
    ap.add_argument(
        "--old-sample", type=int, default=20, help="sources crawled the old way (extrapolated to all)"
    )
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument(
        "--delay",
        type=float,
        default=0.5,
        help="crawl.delay (the issue's politeness: 0.5; a test may go faster)",
    )
    ap.add_argument("--keep", type=Path, help="keep the databases, config and logs in this directory")
    ap.add_argument("--json", type=Path, help="write the figures as JSON here (after every step)")
    ap.add_argument(
        "--render-processes", type=int, default=2, help="processes rendering attachments (not timed)"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="also run steps 1-3 through N local distributed workers, on a second database",
    )
    ap.add_argument(
        "--sources-per-task",
        type=int,
        default=50,
        help="distributed.sources_per_task with --workers (50: two workers crawl at most 100 "
        "sources at once, as the local crawl.sources_at_once)",
    )
    args = ap.parse_args(argv)
    if args.workers < 0:
        ap.error(f"--workers {args.workers}: 0 or more")
    if args.sources_per_task < 1:
        ap.error(f"--sources-per-task {args.sources_per_task}: at least 1")
    if args.portals < 1:
        ap.error(f"--portals {args.portals}: at least 1")
    if args.docs < 34:
        ap.error(f"--docs {args.docs}: a county has at least 34 documents (10 bodies, 3 years)")
    # 13 bodies (9 departments) ≈ 40 documents; each more department ≈ 3.
    departments = max(6, 9 + round((args.docs - 40) / 3))

    work = args.keep or Path(tempfile.mkdtemp(prefix="nianbao-national-"))
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("*.db*"):
        old.unlink()
    log = work / "children.log"
    log.write_text("")
    result: dict[str, Any] = {
        "portals": args.portals,
        "seed": args.seed,
        "departments": departments,
        "politeness": {"concurrency_per_host": 2, "delay": args.delay},
    }

    def save() -> None:
        if args.json:
            args.json.write_text(
                json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
            )

    cluster, workers = None, None
    if args.workers:
        from distributed.local import LocalCluster

        cluster = LocalCluster(work / "cluster", args.workers, sources_per_task=args.sources_per_task)
        os.environ.update(cluster.env)  # before the Launcher: the children it starts inherit it
        result["distributed"] = {"workers": args.workers, "sources_per_task": args.sources_per_task}
    launcher = Launcher()  # before the country: see Launcher
    if cluster:
        cluster.start()  # small processes, started before the country too
        workers = Workers(cluster)
    t = time.perf_counter()
    country = Country(args.portals, args.seed, departments=departments)
    result["families"] = _count(p.family for p in country.portals)
    result["today"] = country.today.isoformat()
    rendered = country.prerender(args.render_processes)
    served = sum(country.document_counts().values())
    print(
        f"country: {args.portals} portals on their own hosts ({result['families']}), {served} documents "
        f"served on {country.today}, {rendered} attachments rendered in {time.perf_counter() - t:.0f} s (not timed)",
        flush=True,
    )
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    db, dist_db = work / "nianbao.db", work / "distributed.db"
    try:
        with country:
            config = write_config(work / "config.yaml", db, country, smtp.port, args.delay)
            if cluster:
                dist_config = write_config(
                    work / "coordinator.yaml", dist_db, country, smtp.port, args.delay, cluster.section()
                )

            def step(name: str, as_of: date, *crawl_args: str, new: int | None = None) -> None:
                """One step locally, then (``--workers``) through the cluster on its own database."""
                ways = [(name, db, config, (), None, "")]
                if cluster:
                    ways.append(
                        (f"{name}/{args.workers}w", dist_db, dist_config, ("--distributed",), workers, "w-")
                    )
                for label, database, cfg, extra, measured, prefix in ways:
                    s = Step(label, country, database, launcher, measured)
                    cycle(s, cfg, as_of, log, *extra, *crawl_args)
                    figures = s.finish()
                    mails = inbox.take()
                    if new is None:
                        figures["mails"] = len(mails)
                    else:
                        figures["new_reports"] = new
                        figures["mails"] = mails_summary(mails, country)
                    figures["check"] = checks(database, cfg, country, as_of, work, prefix)
                    if measured:
                        result["distributed"][name] = figures
                    else:
                        result[name] = figures
                    save()

            as_of = country.today
            step("first", as_of)

            # The old scheduling starts from the same database (copied now, after step 1).
            old_db = work / "old.db"
            shutil.copyfile(db, old_db)
            for suffix in ("-wal", "-shm"):
                if db.with_name(db.name + suffix).exists():
                    shutil.copyfile(db.with_name(db.name + suffix), old_db.with_name(old_db.name + suffix))

            as_of = country.advance_day()
            new = country.new_reports()
            print(f"advanced to {as_of}: {len(new)} new reports", flush=True)
            step("daily", as_of, new=len(new))
            step("weekly", as_of, "--revalidate")

            sample = [p.source_id for p in country.portals][: max(0, args.old_sample)]
            if sample:
                old_config = write_config(work / "old-config.yaml", old_db, country, smtp.port, args.delay)
                step = Step("old-daily", country, old_db, launcher)
                old_cycle(step, old_config, sample, as_of, log)
                old = step.finish()
                old["sample"] = len(sample)
                old["mails"] = len(inbox.take())
                if len(sample) < args.portals:
                    factor = args.portals / len(sample)
                    old["extrapolated"] = {
                        "wall_s": old["wall_s"] * factor,
                        "cpu_s": old["cpu_s"] * factor,
                        "requests": round(old["requests"] * factor),
                    }
                result["old_daily"] = old
                save()
    finally:
        smtp.stop()
        launcher.close()
        if cluster:
            cluster.stop()
    # The simulator runs in this process: its peak memory is this process's (renderings included).
    result["simulator_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print_summary(result)
    save()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def mails_summary(mails: list[tuple[list[str], str]], country: Country) -> dict[str, Any]:
    per: dict[str, int] = {}
    for rcpts, _subject in mails:
        for r in rcpts:
            per[r] = per.get(r, 0) + 1
    expected = sorted({recipient(p.province, country) for p in country.portals})
    return {
        "messages": len(mails),
        "per_recipient": per,
        "recipients": expected,
        "subjects": [s for _, s in mails],
    }


def print_summary(result: dict[str, Any]) -> None:
    print(
        f"\n== national bench: {result['portals']} portals, 2 per host, {result['politeness']['delay']} s delay =="
    )
    head = f"{'':14}{'wall':>10}{'CPU':>10}{'requests':>10}{'peak RSS':>10}{'database':>10}{'sim CPU':>9}"
    print(head)
    dist = result.get("distributed") or {}
    rows = [(n, result.get(n)) for n in ("first", "daily", "weekly", "old_daily")]
    rows += [(f"{n}/{dist.get('workers')}w", dist.get(n)) for n in ("first", "daily", "weekly")]
    for name, s in rows:
        if not s:
            continue
        label = name if name != "old_daily" else f"old daily ({s['sample']})"
        print(
            f"{label:14}{_dur(s['wall_s']):>10}{_dur(s['cpu_s']):>10}{s['requests']:>10}"
            f"{s['peak_rss_mb']:>8.0f}MB{s['db_mb']:>8.0f}MB{_dur(s['simulator_cpu_s']):>9}"
        )
    for name in ("first", "daily", "weekly"):
        here, there = result.get(name), dist.get(name)
        if here and there:
            print(
                f"{name} through {dist['workers']} workers ({dist['sources_per_task']} sources a task): "
                f"{there['wall_s'] / here['wall_s']:.2f}× the local wall time (crawl alone "
                f"{there['parts']['crawl']['wall_s'] / here['parts']['crawl']['wall_s']:.2f}×; target ≤ 1.2×)"
            )
    old, daily = result.get("old_daily"), result.get("daily")
    if old and daily:
        if "extrapolated" in old:
            e = old["extrapolated"]
            print(
                f"old daily, EXTRAPOLATED from {old['sample']} to {result['portals']} sources (×"
                f"{result['portals'] / old['sample']:.0f}): {_dur(e['wall_s'])} wall, {_dur(e['cpu_s'])} CPU, "
                f"{e['requests']} requests — against {_dur(daily['wall_s'])} wall for the new daily cycle"
            )
        else:
            print(f"old daily: {_dur(old['wall_s'])} wall against {_dur(daily['wall_s'])} for the new one")
    if "first" in result:
        rss = max(result[n]["peak_rss_mb"] for n in ("first", "daily", "weekly") if n in result)
        print(
            f"targets: first crawl {_dur(result['first']['parts']['crawl']['wall_s'])} (≤ 60 min), "
            + (f"daily cycle {_dur(daily['wall_s'])} (≤ 10 min), " if daily else "")
            + f"peak RSS {rss:.0f} MB (≤ 2048 MB)"
        )


def _dur(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f}s"
    return f"{math.floor(seconds / 60)}m{seconds % 60:02.0f}s"


if __name__ == "__main__":
    raise SystemExit(main())
