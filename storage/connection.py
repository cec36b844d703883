"""Opening the database file safely, and write transactions that wait for the lock.

``connect`` refuses, with one message naming the path, anything that is not a usable SQLite
file — a folder, a path under a regular file, a file of another kind — before anything is
written.  ``write_transaction`` is how every write starts: ``BEGIN IMMEDIATE`` takes the write
lock up front.  A deferred ``BEGIN`` that reads first and writes later cannot wait for the lock
when another process committed in between (SQLite answers "database is locked" at once, without
calling the busy handler); an immediate one waits in SQLite's busy handler, and when even that
runs out it is tried again with backoff until ``LOCK_PATIENCE`` seconds have passed.  Then it
raises StorageError: a write is never silently lost.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

BUSY_TIMEOUT = 10.0  # seconds SQLite's busy handler waits for a lock, on every statement
LOCK_PATIENCE = 180.0  # seconds a write transaction keeps trying to start before it gives up
T = TypeVar("T")


class StorageError(Exception):
    """The database cannot be used; the message names the file and says why."""


def connect(path: Path) -> sqlite3.Connection:
    """An autocommit connection to ``path`` (created when absent), after checks that write nothing."""
    parent = path.parent
    for folder in (parent, *parent.parents):
        if folder.exists() and not folder.is_dir():
            raise StorageError(f"{path}: cannot hold a database: {folder} is a file, not a folder")
    if path.exists() and not path.is_file():
        raise StorageError(f"{path}: is not a database file (it is a folder or a device)")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"{path}: cannot create its folder ({exc.strerror or exc})") from None
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StorageError(f"{path}: cannot open the database ({exc})") from None
    try:
        # Reads the header only; another process creating the file may hold it for a moment.
        when_free(lambda: conn.execute("SELECT count(*) FROM sqlite_master").fetchone(), path)
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(f"{path}: not a usable nianbao database ({exc})") from None
    return conn


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite saying another connection holds the lock."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def when_free(action: Callable[[], T], path: Path | str, patience: float = LOCK_PATIENCE) -> T:
    """``action()``, tried again with backoff while the database is locked.

    SQLite's busy handler does not cover every wait: a deferred transaction upgrading to a write
    lock, or a connection switching the journal mode while another process opens the file, gets
    "database is locked" at once.  StorageError after ``patience`` seconds.
    """
    deadline = time.monotonic() + patience
    delay = 0.05
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"{path}: the database stayed locked by another process for {patience:.0f} s ({exc})"
                ) from exc
        # Jitter, so two waiting writers do not retry in step.
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())) * random.uniform(0.5, 1.0))
        delay = min(delay * 2, 2.0)


def begin_immediate(conn: sqlite3.Connection, path: Path | str, patience: float = LOCK_PATIENCE) -> None:
    """``BEGIN IMMEDIATE``, tried again with backoff while the database is locked."""
    when_free(lambda: conn.execute("BEGIN IMMEDIATE"), path, patience)


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection, path: Path | str) -> Iterator[None]:
    """Everything inside commits together or not at all; nested uses become savepoints."""
    if conn.in_transaction:
        name = f"nianbao_{random.getrandbits(64):x}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # an error may already have ended the whole transaction
                conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        conn.execute(f"RELEASE SAVEPOINT {name}")
        return
    begin_immediate(conn, path)
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
