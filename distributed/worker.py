"""The worker's side: the ``crawl_batch`` task crawls a batch into a spool and delivers it.

A spool is a folder per task under ``distributed.spool_dir``, holding a nianbao database seeded
with the state the task carries (``storage.deliveries.seed_spool``) and a config with the task's
sources and crawl settings.  The ordinary ``nianbao crawl`` runs there in a child process (the
Twisted reactor cannot restart), with the same spiders and settings as a local crawl.  Each
source's result is added to the result stream (``distributed.delivery``) as soon as its run ends,
while the others still crawl, so the coordinator stores it meanwhile; at the end the rest are
sent and the spool is emptied.  Markers make a task safe to run again on the same machine:
``crawled`` (the crawl is complete, deliver what is left), ``sent`` (the sources delivered),
``delivered`` (nothing left to do).  Delivery waits through a Redis restart; the task is
acknowledged only after it (``acks_late``).
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import logging
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from celery import Celery

from config import Config
from distributed import delivery
from distributed.app import TASK_NAME, settings
from storage import Store, now_iso
from storage.deliveries import seed_spool, spool_blob, spool_results

TASK_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KEEP_SPOOLS = 7 * 86400  # seconds a delivered task's folder (its markers, its crawl log) is kept
log = logging.getLogger(__name__)


def register(app: Celery, config: Config) -> None:
    """Register ``crawl_batch`` on ``app``, spooling under this worker's ``config``."""

    @app.task(name=TASK_NAME, bind=True)
    def crawl_batch(self: Any, payload: dict[str, Any]) -> dict[str, Any]:
        return run_task(config, self.request.id, payload, getattr(self.request, "hostname", None))


def spool_root(config: Config) -> Path:
    return config.resolve(settings(config)["spool_dir"])


def run_task(
    config: Config, task_id: str, payload: dict[str, Any], hostname: str | None = None
) -> dict[str, Any]:
    """Crawl the task's sources into its spool and deliver the results (see the module doc)."""
    if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id):
        raise ValueError(f"task id {task_id!r} is not a UUID")  # it names a folder
    worker = hostname or delivery.worker_name()
    _sweep(spool_root(config), max(KEEP_SPOOLS, 2 * float(settings(config)["visibility_timeout"])))
    folder = spool_root(config) / task_id
    if (folder / "delivered").exists():
        return {"task": task_id, "delivered": "before"}
    r = delivery.client(config)
    reply_to = payload["reply_to"]
    sources = [s["id"] for s in payload["sources"]]
    sent = _SentMarker(folder / "sent")

    def deliver(spool: Store, after: int, closed_only: bool = False) -> None:
        """Send every source whose run in the spool has ended (all, after the crawl), once."""
        for res in spool_results(spool, after, closed_only=closed_only, skip=sent.ids()):
            blobs = {digest: spool_blob(spool, digest) for digest in res["blobs"]}
            delivery.send(config, r, reply_to, _header(task_id, worker, res), blobs)
            sent.add(res["source_id"])

    if not (folder / "crawled").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            after = _seed_and_crawl(folder, payload, sources, delivery.broker_clock(r), deliver)
        except Exception as exc:  # a bad seed, a full disk: each source gets a failed run saying so
            log.exception("task %s: could not crawl", task_id)
            (folder / "failed").write_text(f"the worker could not crawl the task: {exc}", encoding="utf-8")
            after = -1
        (folder / "crawled").write_text(str(after), encoding="utf-8")
    after = int((folder / "crawled").read_text(encoding="utf-8"))
    if after < 0:
        why = (folder / "failed").read_text(encoding="utf-8")
        for sid in sources:
            if sid not in sent.ids():
                delivery.send(config, r, reply_to, _header(task_id, worker, _failed(sid, why)), {})
    else:
        with Store(folder / "nianbao.db") as spool:
            deliver(spool, after)
            for sid in sources:
                if sid not in sent.ids():  # the crawl process died before recording a run for it
                    res = _failed(sid, _no_run(folder / "crawl.log"))
                    delivery.send(config, r, reply_to, _header(task_id, worker, res), {})
    (folder / "delivered").write_text(now_iso(), encoding="utf-8")
    for name in ("nianbao.db", "nianbao.db-wal", "nianbao.db-shm"):
        (folder / name).unlink(missing_ok=True)
    log.info("task %s: delivered %d sources", task_id, len(sources))
    return {"task": task_id, "sources": len(sources)}


class _SentMarker:
    """The sources of a task already delivered, one id per line in a file: a task run again on
    this machine after its crawl does not send them twice (the coordinator would skip them)."""

    def __init__(self, path: Path):
        self.path = path

    def ids(self) -> set[str]:
        return set(self.path.read_text(encoding="utf-8").split()) if self.path.exists() else set()

    def add(self, source_id: str) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(source_id + "\n")


def _seed_and_crawl(
    folder: Path,
    payload: dict[str, Any],
    sources: list[str],
    broker_now: float,
    deliver: Callable[[Store, int, bool], None],
) -> int:
    """Seed the spool, crawl into it, calling ``deliver(spool, after)`` every few seconds while
    the crawl goes on (so each source is delivered as soon as it ends, and the coordinator stores
    it while others still crawl); returns the last seeded run id (the crawl's come after)."""
    # Seeded run times onto this machine's clock: a full walk is due by the age of the last.
    shift = time.time() - broker_now
    spool_config = _write_config(folder, payload)
    with Store(folder / "nianbao.db") as spool:
        after = seed_spool(spool, payload["state"], shift)

        def while_crawling() -> None:
            try:
                deliver(spool, after, True)
            except Exception:  # noqa: BLE001 - delivered after the crawl instead
                log.exception("delivering during the crawl failed; the rest is sent after it")

        _crawl(spool_config, sources, bool(payload.get("revalidate")), folder / "crawl.log", while_crawling)
        for sid in sources:  # a crawl process that died left its runs 'running': say so
            spool.close_stale_runs(sid)
    return after


def _header(task_id: str, worker: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"task_id": task_id, "source_id": result["source_id"], "worker": worker, "result": result}


def _sweep(root: Path, keep: float) -> None:
    """Remove task folders untouched for ``keep`` seconds: delivered long ago, or left by a task
    that another worker completed after this one died."""
    if not root.exists():
        return
    cutoff = time.time() - keep
    for folder in root.iterdir():
        if folder.is_dir() and TASK_ID.fullmatch(folder.name) and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def _write_config(folder: Path, payload: dict[str, Any]) -> Path:
    path = folder / "config.yaml"
    data = {"storage": {"path": "nianbao.db"}, "crawl": payload["crawl"], "sources": payload["sources"]}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _die_with_parent() -> None:
    """In the crawl child: be killed when the worker dies (Linux), so no orphan keeps crawling."""
    with contextlib.suppress(OSError):  # not Linux: the child may outlive a killed worker
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _crawl(
    config_path: Path,
    sources: list[str],
    revalidate: bool,
    log_path: Path,
    meanwhile: Callable[[], None],
    every: float = 2.0,
) -> int:
    """``nianbao crawl`` of ``sources`` in a child process; ``meanwhile()`` every ``every`` s."""
    args = [sys.executable, "-m", "nianbao", "--config", str(config_path), "crawl", "-q"]
    for sid in sources:
        args += ["--source", sid]
    if revalidate:
        args.append("--revalidate")
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        while True:
            try:
                return proc.wait(every)
            except subprocess.TimeoutExpired:
                meanwhile()


def _no_run(log_path: Path) -> str:
    tail = log_path.read_text(encoding="utf-8", errors="replace")[-500:] if log_path.exists() else ""
    return f"the crawl process on the worker ended without a run: {tail.strip()}"


def _failed(source_id: str, reason: str) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "run": {"started_at": now_iso(), "status": "failed", "reason": reason, "stats": {}},
        "ops": [],
        "blobs": [],
    }


def describe(config: Config, timeout: float = 3.0) -> list[dict[str, Any]]:
    """Connected workers: name, queues, current tasks with their sources (Celery's inspect).

    A task's sources are read from its ``argsrepr`` (the coordinator sends the source ids
    there), not from its arguments, which carry the whole seed.
    """
    from distributed.app import make_app

    delivery.check(config)
    inspect = make_app(config).control.inspect(timeout=timeout)
    queues = inspect.active_queues() or {}
    active = inspect.active(safe=True) or {}
    out = []
    for name in sorted(set(queues) | set(active)):
        tasks = []
        for t in active.get(name, []):
            try:
                sources = [str(s) for s in ast.literal_eval(t.get("args") or "[]")]
            except (ValueError, SyntaxError):
                sources = []
            tasks.append({"id": t["id"], "sources": sources})
        out.append(
            {"worker": name, "queues": sorted(q["name"] for q in queues.get(name, [])), "tasks": tasks}
        )
    return out
