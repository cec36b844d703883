"""Running the real `nianbao` command against a simulated portal, for the crawl tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def write_config(tmp: Path, start_urls: list[str], extra: str = "", source_extra: str = "") -> Path:
    """A config with one source per start URL, crawling as fast as loopback allows."""
    sources = "".join(
        f"  - id: s{i}\n    name: 站点{i}\n    start_url: {url}\n{source_extra}"
        for i, url in enumerate(start_urls)
    )
    path = tmp / "config.yaml"
    path.write_text(
        f"storage:\n  path: nianbao.db\ncrawl:\n  delay: 0\n  concurrency_per_host: 4\n  retries: 1\n{extra}"
        f"sources:\n{sources}",
        encoding="utf-8",
    )
    return path


def nianbao(config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``nianbao --config CONFIG ARGS`` in a child process (Twisted's reactor cannot restart)."""
    proc = subprocess.run(
        [sys.executable, "-m", "nianbao", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode not in (0,):
        raise AssertionError(
            f"nianbao {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr[-4000:]}"
        )
    return proc
