"""Crawling many sources: batches of ``crawl.batch_size`` sources, each crawled by one child process.

One process crawls a whole batch at once (``crawler.runner.Batch``: ``crawl.sources_at_once``
sources in flight, politeness per host), so its memory is bounded by the window, and a process
that dies takes at most its own batch's runs with it.  Children, because Twisted's reactor cannot
be restarted in one process.  Used by ``nianbao crawl`` over more sources than one batch and by
the scheduler.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def split(source_ids: Sequence[str], size: int) -> list[list[str]]:
    """``source_ids`` in consecutive batches of at most ``size``."""
    size = max(1, int(size))
    return [list(source_ids[i : i + size]) for i in range(0, len(source_ids), size)]


def child_command(config_path: str | Path, *args: str) -> list[str]:
    """The command line of a ``nianbao`` subcommand run as a child process of this one."""
    return [sys.executable, "-m", "nianbao", "--config", str(config_path), *args]


def crawl_command(
    config_path: str | Path, source_ids: Sequence[str], *, revalidate: bool = False, quiet: bool = False
) -> list[str]:
    """``nianbao crawl --source A --source B …`` for one batch."""
    args = ["crawl"]
    for sid in source_ids:
        args += ["--source", sid]
    if revalidate:
        args.append("--revalidate")
    if quiet:
        args.append("--quiet")
    return child_command(config_path, *args)


def child_env() -> dict[str, str]:
    """The environment of a child: this one, with the project importable from anywhere."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    return env
