"""Opening the database safely: every unusable file is one clear error, exit 2, and left unchanged.

Real `nianbao` commands in child processes against real files; each file's SHA-256 before and
after proves nothing was written (a newer schema used to be switched to WAL before the check).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from crawl_helpers import nianbao

from storage import Store
from storage.schema import SCHEMA_VERSION

COMMANDS = [
    ["crawl", "--quiet"],
    ["monitor"],
    ["health"],
    ["parse", "--stored"],
    ["changes"],
    ["schedule", "--list"],
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def config_with(tmp: Path, storage: str) -> Path:
    path = tmp / "config.yaml"
    path.write_text(
        f"storage:\n  path: {storage}\nsources:\n  - id: s0\n    name: 站点\n    start_url: http://127.0.0.1:9/\n",
        encoding="utf-8",
    )
    return path


def newer_schema(path: Path) -> Path:
    """A database written by a later nianbao, in rollback-journal mode (as WAL would change it)."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute("INSERT INTO future VALUES (1)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 7}")
    conn.close()
    return path


def other_program(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO accounts (name) VALUES ('x')")
    conn.close()
    return path


def junk(path: Path) -> Path:
    path.write_bytes(b"this is not sqlite\n" * 200)
    return path


CASES = {
    # case: (make the file, the path in storage.path relative to tmp, what the message says)
    "newer_schema": (lambda tmp: newer_schema(tmp / "nianbao.db"), "nianbao.db", "newer than this nianbao"),
    "other_program": (lambda tmp: other_program(tmp / "nianbao.db"), "nianbao.db", "not a nianbao database"),
    "not_sqlite": (lambda tmp: junk(tmp / "nianbao.db"), "nianbao.db", "not a usable nianbao database"),
    "under_a_file": (lambda tmp: junk(tmp / "data"), "data/nianbao.db", "is a file, not a folder"),
}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("case", list(CASES))
def test_an_unusable_database_is_one_clear_error_and_stays_unchanged(tmp_path, case, command):
    make, storage, says = CASES[case]
    existing = make(tmp_path)
    before = digest(existing)
    config = config_with(tmp_path, storage)
    proc = nianbao(config, *command, check=False)
    assert proc.returncode == 2, (proc.stdout, proc.stderr[-3000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert str(tmp_path / storage) in lines[0] and says in lines[0], lines[0]
    assert digest(existing) == before
    assert not (tmp_path / (storage + "-wal")).exists()


def test_a_folder_where_the_database_should_be(tmp_path):
    (tmp_path / "nianbao.db").mkdir()
    proc = nianbao(config_with(tmp_path, "nianbao.db"), "monitor", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{tmp_path / 'nianbao.db'}: is not a database file" in proc.stderr


def test_newer_schema_is_refused_before_the_journal_mode_changes(tmp_path):
    path = newer_schema(tmp_path / "nianbao.db")
    before = digest(path)
    with pytest.raises(Exception, match="newer than this nianbao") as info:
        Store(path)
    assert type(info.value).__name__ == "StorageError"
    assert digest(path) == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def _open_at_once(path: str, barrier, errors) -> None:
    barrier.wait()
    try:
        Store(path).close()
    except Exception as exc:  # reported to the parent, which asserts there were none
        errors.put(repr(exc))


def test_processes_creating_one_database_at_once_apply_each_migration_once(tmp_path):
    """Migrations run in a write transaction that re-reads the version: no "already exists"."""
    ctx = multiprocessing.get_context("fork")
    path = str(tmp_path / "nianbao.db")
    barrier, errors = ctx.Barrier(6), ctx.Queue()
    procs = [ctx.Process(target=_open_at_once, args=(path, barrier, errors)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert not found and all(p.exitcode == 0 for p in procs), found
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
