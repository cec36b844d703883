"""A cluster on this machine, for benchmarks, trials and tests: ``redis-server`` on loopback with
a password, and ``nianbao worker`` processes, each with its own config and spool.

    with LocalCluster(Path("cluster"), workers=2) as cluster:
        config_text += yaml.safe_dump({"distributed": cluster.section()})
        subprocess.run([..., "crawl", "--distributed"], env={**os.environ, **cluster.env})

Redis keeps an append-only file in its folder, so ``RedisServer.restart`` loses nothing queued.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import redis
import yaml

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")


class RedisServer:
    """redis-server on 127.0.0.1:<free port>, password required, append-only file in ``folder``."""

    def __init__(self, folder: Path, password: str):
        self.folder = folder
        self.password = password
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        if not Path(REDIS_SERVER).exists():
            raise RuntimeError("redis-server not found: install Debian's redis-server (make setup does)")
        args = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--requirepass", self.password]
        args += ["--appendonly", "yes", "--dir", str(self.folder), "--save", "", "--protected-mode", "yes"]
        with open(self.folder / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        _wait(self.ping, 20, "redis-server to answer")
        return self

    def ping(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, password=self.password, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # redis writes its append-only file and exits
            self.proc.wait(30)

    def restart(self) -> None:
        self.stop()
        self.start()


class LoggedProcess:
    """A child ``nianbao`` process whose output goes to ``self.log``: read, kill or stop it."""

    log: Path
    proc: subprocess.Popen

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM (a Celery worker finishes its current task first); SIGKILL after 30 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerProcess(LoggedProcess):
    """``nianbao --config CONFIG worker --name NAME`` in a child process, its output in a file."""

    def __init__(self, config: Path, name: str, env: dict[str, str], *args: str):
        self.name = name
        self.log = config.parent / f"{name}.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "nianbao",
                    "--config",
                    str(config),
                    "worker",
                    "--name",
                    name,
                    "-v",
                    *args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        _wait(lambda: "ready" in self.text() or self.proc.poll() is not None, 60, f"worker {name} to start")
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker {name} exited: {self.text()[-2000:]}")


def worker_config(folder: Path, section: dict[str, Any]) -> Path:
    """A worker's config file in ``folder``: no sources (tasks bring them), the spool beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    data = {"storage": {"path": "unused.db"}, "distributed": section, "sources": []}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class LocalCluster:
    """Redis and ``workers`` workers under ``folder``, with fresh random secrets."""

    def __init__(
        self, folder: Path, workers: int = 2, *, sources_per_task: int = 100, visibility_timeout: int = 3600
    ):
        self.folder = folder
        self.count = workers
        self.password = secrets.token_hex(16)
        self.secret = secrets.token_hex(16)
        self.redis = RedisServer(folder / "redis", self.password)
        self.options = {"sources_per_task": sources_per_task, "visibility_timeout": visibility_timeout}
        self.workers: list[WorkerProcess] = []

    @property
    def env(self) -> dict[str, str]:
        """The environment the coordinator and workers need (merge it into ``os.environ``)."""
        return {"NIANBAO_REDIS_PASSWORD": self.password, "NIANBAO_DELIVERY_SECRET": self.secret}

    def section(self) -> dict[str, Any]:
        """The ``distributed:`` section for a coordinator's config."""
        return {"broker_url": self.redis.url, **self.options}

    def start(self) -> LocalCluster:
        import os

        self.redis.start()
        env = {**os.environ, **self.env}
        for i in range(1, self.count + 1):
            config = worker_config(self.folder / f"w{i}", self.section())
            self.workers.append(WorkerProcess(config, f"w{i}@local", env))
        return self

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        self.redis.stop()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
