"""Exclusive, process-wide locks on files next to the database: one scheduler, one crawl per source.

A lock is ``fcntl.flock`` on its own file.  The kernel drops it when the holder exits, however it
exits (even SIGKILL), so a crash never leaves a stale lock behind; the pid and start time written
into the file only serve to name the holder, and to tell whether a crawl recorded as running is
still alive (its source's lock is held).

Crawls lock per source, not per database: the scheduler crawls two sources at once, and crawls
of different sources write different runs and documents, each write in its own short
transaction that waits for SQLite's lock (``storage.connection``).  What must never run twice
is a crawl of the same source — the second would mark the first's run interrupted and both
would store the same documents.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.connection import StorageError


class LockHeld(StorageError):
    """Another process holds the lock; the message names its pid, since when, and the lock file."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as it wrote itself into the lock file."""

    pid: int | None
    since: str | None


class FileLock:
    """``with FileLock(path, what="scheduler"):`` — raises LockHeld if it is taken.

    ``acquire(wait=N)`` keeps trying for N seconds first.
    """

    def __init__(self, path: str | Path, what: str = "process"):
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    def acquire(self, wait: float = 0.0) -> None:
        fd = self._open(os.O_RDWR | os.O_CREAT)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                holder = _read_holder(fd)
                os.close(fd)
                who = f"pid {holder.pid}" if holder.pid else "another process"
                since = f", since {holder.since}" if holder.since else ""
                raise LockHeld(
                    f"another {self.what} is already running on this database ({who} holds {self.path}{since})"
                ) from None
        since = datetime.now(UTC).replace(microsecond=0).isoformat()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {since}\n".encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def holder(self) -> int | None:
        """The pid of the process holding the lock now (None: nobody), without taking it."""
        held = self.held_by()
        return held.pid if held else None

    def held_by(self) -> Holder | None:
        """Who holds the lock now (None: nobody), without taking it."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None  # nobody holds it; anything in the file is left over
        finally:
            os.close(fd)

    def _open(self, flags: int) -> int:
        # O_CLOEXEC: child processes (the crawls) must not inherit the lock, or a crawl that
        # outlives a killed scheduler would keep the next scheduler from starting.
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, flags | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StorageError(f"{self.path}: cannot create the lock file ({exc.strerror or exc})") from None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def crawl_lock(db_path: str | Path, source_id: str) -> FileLock:
    """The lock a crawl of ``source_id`` holds on the database at ``db_path`` while it runs."""
    db = Path(db_path)
    return FileLock(db.with_name(f"{db.name}.crawl-{source_id}.lock"), what=f"crawl of source {source_id}")


def _read_holder(fd: int) -> Holder:
    try:
        text = os.pread(fd, 64, 0).decode(errors="replace").split()
    except OSError:
        return Holder(None, None)
    pid = int(text[0]) if text and text[0].isdigit() else None
    return Holder(pid, text[1] if len(text) > 1 else None)
