"""An exclusive, process-wide lock on a file, so only one scheduler runs per database.

The lock is ``fcntl.flock`` on a file next to the database.  The kernel drops it when the holder
exits, however it exits (even SIGKILL), so a crash never leaves a stale lock behind; the pid
written into the file only serves to name the holder in the error message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class LockHeld(Exception):
    """Another process holds the lock; the message names its pid and the lock file."""


class FileLock:
    """``with FileLock(path, what="scheduler"):`` — raises LockHeld at once if it is taken."""

    def __init__(self, path: str | Path, what: str = "process"):
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_CLOEXEC: child processes (the crawls) must not inherit the lock, or a crawl that
        # outlives a killed scheduler would keep the next scheduler from starting.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"pid {holder}" if holder else "another process"
            raise LockHeld(
                f"another {self.what} is already running on this database ({who} holds {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
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
        """The pid recorded by the current holder, if any (without taking the lock)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_pid(fd)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None  # nobody holds it; any pid in the file is left over
        finally:
            os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
