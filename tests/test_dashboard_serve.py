"""`nianbao serve` under waitress: it answers, stops cleanly on Ctrl-C and SIGTERM, and its error
pages hold nothing from the server."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from config import load_config
from outputs.web import start_server
from storage.store import Store

ROOT = Path(__file__).resolve().parents[1]


def write_config(root: Path, db: Path) -> Path:
    (root / "config.yaml").write_text(
        f"storage:\n  path: {db}\nsources:\n  - id: a\n    name: 某县\n    start_url: http://a.example/\n",
        encoding="utf-8",
    )
    return root / "config.yaml"


def get(url: str, method: str = "GET") -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_answers_then_stops_cleanly_on_a_signal(tmp_path, sig):
    config = write_config(tmp_path, tmp_path / "nianbao.db")
    Store(tmp_path / "nianbao.db").close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nianbao", "serve", "--config", str(config), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # printed once the socket listens
        assert line.startswith("nianbao dashboard: http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split(": ", 1)[1].strip()
        status, headers, body = get(url + "health")
        assert status == 200 and "某县".encode() in body
        assert "Server" not in headers  # no server name or version handed out
        proc.send_signal(sig)
        assert proc.wait(timeout=60) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=10).close()


def test_a_server_error_page_shows_no_path_and_no_traceback(tmp_path):
    db = tmp_path / "private-data-dir" / "nianbao.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not an SQLite database " * 100)
    server = start_server(load_config(write_config(tmp_path, db)), port=0)
    try:
        status, headers, body = get(server.url)
        text = body.decode("utf-8")
        assert status == 500 and "服务器内部错误" in text
        assert "private-data-dir" not in text and "Traceback" not in text and "database" not in text
        assert "default-src 'none'" in headers["Content-Security-Policy"]
    finally:
        server.shutdown()
    assert not server.thread.is_alive()


def test_only_get_and_head_are_served(tmp_path):
    Store(tmp_path / "nianbao.db").close()
    server = start_server(load_config(write_config(tmp_path, tmp_path / "nianbao.db")), port=0)
    try:
        status, headers, body = get(server.url + "health", "HEAD")
        assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
        for method in ("POST", "PUT", "OPTIONS"):
            status, headers, body = get(server.url + "health", method)
            assert status == 405 and "只支持 GET 请求" in body.decode(), method
            assert set(headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    finally:
        server.shutdown()


@pytest.mark.slow
def test_demo_serve_stops_on_ctrl_c_after_its_crawl(tmp_path):
    """The demo crawls first, in the same process: Scrapy's signal handlers must not swallow Ctrl-C."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nianbao", "demo", "--out", str(tmp_path / "out"), "--serve"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        for line in proc.stdout:
            if line.startswith("dashboard: "):
                url = line.split()[1]
            if line.startswith("serving until interrupted"):
                break
        assert url, proc.stderr.read()[-3000:]
        status, _, body = get(url)
        assert status == 200 and "年度报告发布状态" in body.decode()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
