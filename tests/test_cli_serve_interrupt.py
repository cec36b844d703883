"""Ctrl-C stops `nianbao demo --serve`: the child exits within 5 s of SIGINT (and of SIGTERM)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest


def _lines(stream, out: list[str], seen: threading.Event, pattern: re.Pattern[str]) -> None:
    for line in stream:
        out.append(line)
        if pattern.search(line):
            seen.set()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_demo_serve_within_5_seconds(tmp_path, sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "nianbao", "demo", "--out", str(tmp_path / "out"), "--serve"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out: list[str] = []
    serving = threading.Event()
    reader = threading.Thread(
        target=_lines, args=(proc.stdout, out, serving, re.compile(r"dashboard: http://")), daemon=True
    )
    reader.start()
    try:
        # The demo crawls and parses first: wait for its address, however long a busy machine takes.
        while not serving.wait(1):
            assert proc.poll() is None, "".join(out)[-3000:]
        url = re.search(r"dashboard: (http://\S+)", "".join(out)).group(1)
        deadline = time.monotonic() + 60
        while True:  # poll until the dashboard answers
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    assert resp.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard never answered"
        proc.send_signal(sig)
        sent = time.monotonic()
        proc.wait(timeout=5)
        assert time.monotonic() - sent < 5
        reader.join(5)
        # It stopped through its own handler (the dashboard and the simulator shut down), not killed.
        assert proc.returncode in (0, 1), "".join(out)[-2000:]
        assert "已停止" in "".join(out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
