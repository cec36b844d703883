"""The scheduler killed with SIGKILL in the middle of a batch of 50 portals, then restarted: the
unfinished sources are crawled again, the finished ones are not, and nothing is lost, duplicated or
sent twice.  A real scheduler process with a real batch child, 50 simulated portals each on its own
loopback address, and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import os
import re
import signal
import socket
import sqlite3
import time
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from crawl_helpers import nianbao
from test_schedule import Proc, _alive  # the scheduler-process helpers

from simulator.model import generate_region
from simulator.server import Behaviour, SiteServer
from simulator.trs import TrsSite

pytestmark = pytest.mark.slow


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db, timeout=30) as conn:
        q = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "documents": q("SELECT COUNT(*) FROM documents"),
            "versions": q("SELECT COUNT(*) FROM versions"),
            "runs": q("SELECT COUNT(*) FROM crawl_runs"),
        }


def versions_so_far(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        return counts(db)["versions"]
    except sqlite3.OperationalError:  # the crawl has not created the tables yet
        return 0


PORTALS = 50
CLOSED = ("finished", "failed", "blocked")


def stored(db: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return set(
            conn.execute("SELECT d.url, v.sha256 FROM versions v JOIN documents d ON d.id = v.document_id")
        )


def run_states(db: Path) -> dict[str, list[str]]:
    """source id → the statuses of its runs, oldest first."""
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            rows = conn.execute("SELECT source_id, status FROM crawl_runs ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # the crawl has not created the tables yet
        return {}
    out: dict[str, list[str]] = {}
    for sid, status in rows:
        out.setdefault(sid, []).append(status)
    return out


def test_sigkill_mid_batch_then_restart_resumes_only_the_unfinished_without_loss_or_repeats(tmp_path):
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    servers = []
    try:
        for i in range(PORTALS):
            region = generate_region(seed=300 + i, departments=6, townships=1)
            # Slow answers, so the batch is still crawling when the scheduler is killed.
            server = SiteServer(TrsSite(region), Behaviour(latency=0.05), host=f"127.0.5.{i + 1}")
            servers.append(server.start())
        sources = "".join(
            f"  - id: p{i:02d}\n    name: 门户{i}\n    start_url: {s.base_url}/\n    region: 测试省{i}\n"
            for i, s in enumerate(servers)
        )
        config = tmp_path / "config.yaml"
        config.write_text(
            "storage:\n  path: nianbao.db\n"
            "crawl:\n  delay: 0\n  concurrency_per_host: 2\n  retries: 1\n  autothrottle: false\n"
            "  sources_at_once: 8\n  batch_size: 50\n"
            "alerts:\n"
            f"  smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none, from: 'monitor@example.gov.cn', timeout: 5}}\n"
            "  groups:\n    - {name: 测试省政务公开办, emails: [gkb@example.gov.cn], attach_digest: none}\n"
            f"sources:\n{sources}",
            encoding="utf-8",
        )
        db = tmp_path / "nianbao.db"

        first = Proc(config, "--every", "3600")  # each source due once, a second after the start
        text = first.wait_for("start: crawl batch:", timeout=60)
        batch_pid = int(re.search(r"start: crawl batch: .* \(pid (\d+)\)", text).group(1))
        # Kill it when some sources have finished and others are still being crawled.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            states = run_states(db)
            done = [s for s, runs in states.items() if runs[-1] in CLOSED]
            if len(done) >= 8 and any(runs[-1] == "running" for runs in states.values()):
                break
            time.sleep(0.1)
        kept = stored(db)
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while _alive(batch_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(batch_pid), "the batch must die with the scheduler"
        at_kill = run_states(db)
        closed = {s for s, runs in at_kill.items() if runs[-1] in CLOSED}
        assert 8 <= len(closed) < PORTALS, at_kill

        second = Proc(config, "--every", "3600")
        text = second.wait_for("resuming unfinished sources:")
        resumed = set(re.search(r"resuming unfinished sources: (.*)$", text, re.M).group(1).split(", "))
        second.wait_for("cycle finished", timeout=400)
        text = second.text()
        assert second.stop() == 0

        # Exactly the sources whose runs had not closed were crawled again.
        all_ids = {f"p{i:02d}" for i in range(PORTALS)}
        assert resumed == all_ids - closed
        after = run_states(db)
        for sid in closed:
            assert after[sid] == at_kill[sid], sid  # not crawled a second time
        for sid in resumed:
            assert after[sid][-1] == "finished", (sid, after[sid])
            assert "running" not in after[sid], (sid, after[sid])  # the killed run was closed
        # Nothing lost: everything stored before the kill is still there; nothing duplicated:
        # the portals never changed, so one version per document.
        now = stored(db)
        assert kept <= now
        with sqlite3.connect(db) as conn:
            documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        assert len(now) == documents
        urls = {u for u, _ in now}
        missing = {u for s in servers for u in s.site.report_urls()} - urls
        # Alerts went out once, and a later monitor run sends nothing again.
        sent = len(inbox.messages)
        assert sent >= 1, text[-3000:]
        again = nianbao(config, "monitor", "--alert")
        assert '"sent": 0' in again.stderr and len(inbox.messages) == sent
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT key, sent_at FROM alerts").fetchall()
        assert rows and all(sent_at for _, sent_at in rows)
        assert len({k for k, _ in rows}) == len(rows)
        assert not missing, f"reports never stored: {sorted(missing)[:10]}"
    finally:
        for s in servers:
            s.stop()
        smtp.stop()


def test_a_killed_batch_process_has_its_unfinished_sources_crawled_again(tmp_path):
    """The batch child dies (SIGKILL, as the OOM killer would) while the scheduler lives: its
    unfinished sources get one more batch at once, the finished ones do not."""
    servers = []
    scheduler = None
    try:
        for i in range(6):
            region = generate_region(seed=400 + i, departments=6, townships=1)
            server = SiteServer(TrsSite(region), Behaviour(latency=0.05), host=f"127.0.6.{i + 1}")
            servers.append(server.start())
        sources = "".join(
            f"  - id: k{i}\n    name: 门户{i}\n    start_url: {s.base_url}/\n" for i, s in enumerate(servers)
        )
        config = tmp_path / "config.yaml"
        config.write_text(
            "storage:\n  path: nianbao.db\n"
            "crawl:\n  delay: 0\n  concurrency_per_host: 2\n  retries: 1\n  autothrottle: false\n"
            "  sources_at_once: 2\n"
            f"sources:\n{sources}",
            encoding="utf-8",
        )
        db = tmp_path / "nianbao.db"
        scheduler = Proc(config, "--every", "3600")
        text = scheduler.wait_for("start: crawl batch:", timeout=60)
        batch_pid = int(re.search(r"start: crawl batch: .* \(pid (\d+)\)", text).group(1))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            states = run_states(db)
            if any(r[-1] in CLOSED for r in states.values()) and any(
                r[-1] == "running" for r in states.values()
            ):
                break
            time.sleep(0.1)
        os.kill(batch_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(batch_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        at_kill = run_states(db)  # before a new batch process is even started
        closed = {s for s, runs in at_kill.items() if runs[-1] in CLOSED}
        text = scheduler.wait_for("the batch died", timeout=60)
        again = set(
            re.search(r"the batch died \(exit -9\); crawling again: (.*)$", text, re.M).group(1).split(", ")
        )
        assert closed and again == {f"k{i}" for i in range(6)} - closed
        scheduler.wait_for("cycle finished", timeout=300)
        assert scheduler.stop() == 0
        after = run_states(db)
        for sid in closed:
            assert after[sid] == at_kill[sid], sid
        for sid in again:
            assert after[sid][-1] == "finished" and "running" not in after[sid], (sid, after[sid])
        urls = {u for u, _ in stored(db)}
        assert {u for s in servers for u in s.site.report_urls()} <= urls
        with sqlite3.connect(db) as conn:
            documents = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        assert len(stored(db)) == documents  # one version each: nothing stored twice
    finally:
        if scheduler is not None and scheduler.p.poll() is None:
            scheduler.stop(signal.SIGKILL)
        for s in servers:
            s.stop()
