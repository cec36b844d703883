"""The worker's side: the ``crawl_batch`` task crawls a batch into a spool, then delivers it.

A spool is a folder per task under ``distributed.spool_dir``, holding a nianbao database seeded
with the state the task carries (``storage.deliveries.seed_spool``) and a config with the task's
sources and crawl settings.  The ordinary ``nianbao crawl`` runs there in a child process (the
Twisted reactor cannot restart), with the same spiders and settings as a local crawl.  Then every
source's result is added to the result stream (``distributed.delivery``) and the spool is
emptied.  Markers make a task safe to run again on the same machine: ``crawled`` (the crawl is
complete, deliver it), ``delivered`` (nothing left to do).  Delivery waits through a Redis
restart; the task is acknowledged only after it (``acks_late``).
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
    if not (folder / "crawled").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        try:
            after = _seed_and_crawl(folder, payload, sources, delivery.broker_clock(r))
        except Exception as exc:  # a bad seed, a full disk: each source gets a failed run saying so
            log.exception("task %s: could not crawl", task_id)
            (folder / "failed").write_text(f"the worker could not crawl the task: {exc}", encoding="utf-8")
            after = -1
        (folder / "crawled").write_text(str(after), encoding="utf-8")
    after = int((folder / "crawled").read_text(encoding="utf-8"))
    if after < 0:
        why = (folder / "failed").read_text(encoding="utf-8")
        for sid in sources:
            delivery.send(config, r, reply_to, _header(task_id, worker, _failed(sid, why)), {})
    else:
        with Store(folder / "nianbao.db") as spool:
            results = spool_results(spool, after)
            done = {res["source_id"] for res in results}
            for sid in sources:
                if sid not in done:  # the crawl process died before recording a run for it
                    results.append(_failed(sid, _no_run(folder / "crawl.log")))
            for res in results:
                blobs = {digest: spool_blob(spool, digest) for digest in res["blobs"]}
                delivery.send(config, r, reply_to, _header(task_id, worker, res), blobs)
    (folder / "delivered").write_text(now_iso(), encoding="utf-8")
    for name in ("nianbao.db", "nianbao.db-wal", "nianbao.db-shm"):
        (folder / name).unlink(missing_ok=True)
    log.info("task %s: delivered %d sources", task_id, len(sources))
    return {"task": task_id, "sources": len(sources)}


def _seed_and_crawl(folder: Path, payload: dict[str, Any], sources: list[str], broker_now: float) -> int:
    """Seed the spool, crawl into it; returns the last seeded run id (the crawl's come after)."""
    # Seeded run times onto this machine's clock: a full walk is due by the age of the last.
    shift = time.time() - broker_now
    spool_config = _write_config(folder, payload)
    with Store(folder / "nianbao.db") as spool:
        after = seed_spool(spool, payload["state"], shift)
    _crawl(spool_config, sources, bool(payload.get("revalidate")), folder / "crawl.log")
    with Store(folder / "nianbao.db") as spool:
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


def _crawl(config_path: Path, sources: list[str], revalidate: bool, log_path: Path) -> int:
    args = [sys.executable, "-m", "nianbao", "--config", str(config_path), "crawl", "-q"]
    for sid in sources:
        args += ["--source", sid]
    if revalidate:
        args.append("--revalidate")
    with open(log_path, "wb") as out:
        proc = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    return proc.returncode


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
