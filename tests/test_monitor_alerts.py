"""Alerts over a real aiosmtpd SMTP server on 127.0.0.1 and a real HTTP receiver for Apprise."""

from __future__ import annotations

import email
import io
import json
import socket
import threading
from datetime import date, timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from test_monitor_common import SOURCE_ID, build_store, config_for

from outputs.alerts import run_alerts
from simulator.model import generate_region
from storage.store import Fetched, Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler keeping every delivered message."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


class Smtp:
    def __init__(self, port: int):
        self.port, self.inbox, self.controller = port, Inbox(), None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = Smtp(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def region():
    return generate_region(seed=3, departments=8, townships=3)


def alerts_config(tmp_path, region, port, attach="xlsx", apprise=""):
    extra = (
        "alerts:\n"
        f"  smtp: {{host: 127.0.0.1, port: {port}, security: none, from: '年报监测 <monitor@example.gov.cn>', timeout: 5}}\n"
        "  groups:\n"
        f"    - {{name: 青山县政务公开办, emails: [gkb@example.gov.cn, boss@example.gov.cn], sources: [{SOURCE_ID}], attach_digest: {attach}}}\n"
        "    - {name: 外省, emails: [other@example.gov.cn], regions: [外省]}\n"
        f"{apprise}"
    )
    return config_for(tmp_path, region, extra=extra)


def _text(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def test_alert_email_content_and_exactly_once(tmp_path, region, smtp):
    store = build_store(tmp_path, region)
    config = alerts_config(tmp_path, region, smtp.port)
    when = date(region.years[-1] + 1, 6, 1)
    truth = region.expected_status(when)
    missing = [t for t in truth if t["status"] == "missing"]
    late = [t for t in truth if t["status"] == "late"]
    counts = run_alerts(store, config, when)
    assert counts == {"sent": len(missing) + len(late), "failed": 0, "pending": 0, "messages": 1}
    assert len(smtp.inbox.messages) == 1
    rcpts, msg = smtp.inbox.messages[0]
    assert sorted(rcpts) == ["boss@example.gov.cn", "gkb@example.gov.cn"]
    assert f"新增缺报 {len(missing)} 份" in msg["Subject"] and f"新增迟报 {len(late)} 份" in msg["Subject"]
    assert "青山县政务公开办" in msg["Subject"]
    body = _text(msg)
    for t in missing + late:
        assert t["agency"] in body
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "<table" in html and missing[0]["agency"] in html
    attachments = list(msg.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"nianbao-digest-{region.years[-1]}.xlsx"]
    wb = openpyxl.load_workbook(io.BytesIO(attachments[0].get_content()))
    assert "状态" in wb.sheetnames
    # Running again sends nothing: every row is in the ledger as sent.
    again = run_alerts(store, config, when)
    assert again == {"sent": 0, "failed": 0, "pending": 0, "messages": 0}
    assert len(smtp.inbox.messages) == 1
    ledger = store.db.execute("SELECT COUNT(*), COUNT(sent_at) FROM alerts").fetchone()
    assert ledger == (len(missing) + len(late), len(missing) + len(late))


def test_smtp_outage_leaves_rows_pending_then_sends_once(tmp_path, region, smtp):
    store = build_store(tmp_path, region)
    config = alerts_config(tmp_path, region, smtp.port, attach="none")
    when = date(region.years[-1] + 1, 6, 1)
    smtp.stop()
    down = run_alerts(store, config, when)
    assert down["sent"] == 0 and down["messages"] == 0 and down["failed"] > 0
    assert down["pending"] == down["failed"]
    rows = list(store.db.query("SELECT attempts, last_error, sent_at FROM alerts"))
    assert all(r["attempts"] == 1 and r["last_error"] and r["sent_at"] is None for r in rows)
    smtp.start()
    up = run_alerts(store, config, when)
    assert up == {"sent": down["failed"], "failed": 0, "pending": 0, "messages": 1}
    assert run_alerts(store, config, when)["messages"] == 0
    assert len(smtp.inbox.messages) == 1
    assert not list(smtp.inbox.messages[0][1].iter_attachments())


def test_status_change_alerts_again_only_for_the_change(tmp_path, region, smtp):
    store = build_store(tmp_path, region)
    config = alerts_config(tmp_path, region, smtp.port, attach="none")
    when = date(region.years[-1] + 1, 6, 1)
    run_alerts(store, config, when)
    # A missing report turns up, published late: one new alert, for that report only.
    from test_monitor_common import store_report

    gone = next(r for r in region.reports if r.planted == ["missing"])
    gone.published_at = date(gone.year + 1, 5, 20)
    store_report(store, gone)
    counts = run_alerts(store, config, when)
    assert counts["sent"] == 1 and counts["messages"] == 1
    msg = smtp.inbox.messages[-1][1]
    assert "新增迟报 1 份" in msg["Subject"] and "缺报" not in msg["Subject"]
    assert gone.agency.name in _text(msg)


def test_failing_source_reported_once_per_streak(tmp_path, region, smtp):
    store = build_store(tmp_path, region)
    config = alerts_config(tmp_path, region, smtp.port, attach="none")
    when = date(region.years[-1] + 1, 6, 1)
    run_alerts(store, config, when)
    before = len(smtp.inbox.messages)

    def crawl(status):
        store.finish_run(store.start_run(SOURCE_ID), status, {}, "timeout" if status != "finished" else None)

    for _ in range(2):
        crawl("failed")
        assert run_alerts(store, config, when)["messages"] == 0
    crawl("failed")
    assert run_alerts(store, config, when)["sent"] == 1
    msg = smtp.inbox.messages[-1][1]
    assert "1 个网站抓取失败" in msg["Subject"] and "连续 3 次" in _text(msg)
    crawl("failed")
    assert run_alerts(store, config, when)["messages"] == 0
    crawl("finished")
    for _ in range(3):
        crawl("failed")
    assert run_alerts(store, config, when)["sent"] == 1  # a new streak
    assert len(smtp.inbox.messages) == before + 2


class Receiver(BaseHTTPRequestHandler):
    posts: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.posts.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_apprise_gets_the_same_message(tmp_path, region, smtp):
    Receiver.posts = []
    http = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        apprise = f"    - {{name: 钉钉群, apprise: ['json://127.0.0.1:{http.server_port}/'], sources: [{SOURCE_ID}]}}\n"
        store = build_store(tmp_path, region)
        config = alerts_config(tmp_path, region, smtp.port, attach="none", apprise=apprise)
        when = date(region.years[-1] + 1, 6, 1)
        counts = run_alerts(store, config, when)
        assert counts["messages"] == 2 and counts["pending"] == 0
        assert len(Receiver.posts) == 1
        post = Receiver.posts[0]
        assert "钉钉群" in post["title"] and "新增缺报" in post["title"]
        missing = next(t for t in region.expected_status(when) if t["status"] == "missing")
        assert missing["agency"] in post["message"]
        assert run_alerts(store, config, when)["messages"] == 0
        assert len(Receiver.posts) == 1
    finally:
        http.shutdown()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (trusted by the client through SSL_CERT_FILE)."""
    import subprocess

    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return d / "cert.pem", d / "key.pem"


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_login_with_password_from_environment(tmp_path, region, certificate, monkeypatch, security):
    import ssl

    from aiosmtpd.smtp import AuthResult

    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"monitor" and auth_data.password == b"s3cret")

    inbox, port = Inbox(), free_port()
    tls = (
        {"tls_context": server_tls, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": server_tls}
    )
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=security == "starttls",  # aiosmtpd does not see implicit TLS as TLS
        **tls,
    )
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        extra = (
            "alerts:\n"
            f"  smtp: {{host: 127.0.0.1, port: {port}, security: {security}, username: monitor,"
            " password_env: NIANBAO_TEST_SMTP_PASSWORD, from: monitor@example.gov.cn, timeout: 5}\n"
            "  groups:\n    - {name: 公开办, emails: [gkb@example.gov.cn]}\n"
        )
        store = build_store(tmp_path, region)
        config = config_for(tmp_path, region, extra=extra)
        when = date(region.years[-1] + 1, 6, 1)
        monkeypatch.delenv("NIANBAO_TEST_SMTP_PASSWORD", raising=False)
        down = run_alerts(store, config, when)
        assert down["sent"] == 0 and down["pending"] > 0 and not inbox.messages
        error = store.db.execute("SELECT last_error FROM alerts LIMIT 1").fetchone()[0]
        assert "NIANBAO_TEST_SMTP_PASSWORD" in error
        monkeypatch.setenv("NIANBAO_TEST_SMTP_PASSWORD", "s3cret")
        up = run_alerts(store, config, when)
        assert up["messages"] == 1 and up["pending"] == 0 and up["sent"] == down["pending"]
        assert logins == [(b"monitor", b"s3cret")]
        assert len(inbox.messages) == 1 and inbox.messages[0][0] == ["gkb@example.gov.cn"]
    finally:
        controller.stop()


# -- exactly once across processes -------------------------------------------------------------


class GatedInbox(Inbox):
    """Holds the first message's DATA until ``gate`` is set (or a second message arrives).

    So the first sender is still mid-send while the other run does whatever it does: without
    atomic claims the other run sends the same rows (a second DATA opens the gate); with them it
    finds nothing to send and exits, and the test then opens the gate.
    """

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        if self.arrived.is_set():
            self.gate.set()  # a second message: the race happened; let both through
        self.arrived.set()
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 120)
        return await super().handle_DATA(server, session, envelope)


def _monitor_alert(config_path, when):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "-m", "nianbao", "monitor", "--alert", "--as-of", when.isoformat(),
         "--config", str(config_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_two_monitor_alert_processes_at_once_send_each_row_once(tmp_path, region):
    inbox, port = GatedInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        build_store(tmp_path, region).close()
        alerts_config(tmp_path, region, port, attach="none")
        when = date(region.years[-1] + 1, 6, 1)
        due = [t for t in region.expected_status(when) if t["status"] in ("missing", "late")]
        procs = [_monitor_alert(tmp_path / "config.yaml", when) for _ in range(2)]
        # One run is mid-send (held at DATA); wait for the other to end, then let the send finish.
        assert inbox.arrived.wait(120), [p.stderr.read() for p in procs if p.poll() is not None]
        while not inbox.gate.is_set() and all(p.poll() is None for p in procs):
            inbox.gate.wait(0.05)
        inbox.gate.set()
        outcomes = [(p.wait(120), p.stderr.read()) for p in procs]
        assert [code for code, _ in outcomes] == [0, 0], outcomes
    finally:
        controller.stop()
    assert len(inbox.messages) == 1, [m["Subject"] for _, m in inbox.messages]
    body = _text(inbox.messages[0][1])
    assert all(t["agency"] in body for t in due)
    with Store(tmp_path / "nianbao.db") as store:
        rows = store.db.execute(
            "SELECT COUNT(*), COUNT(sent_at), MAX(attempts), COUNT(claimed_by) FROM alerts"
        )
        assert rows.fetchone() == (len(due), len(due), 1, 0)


def test_a_failed_send_exits_nonzero_and_the_next_run_sends_it(tmp_path, region, smtp):
    build_store(tmp_path, region).close()
    alerts_config(tmp_path, region, smtp.port, attach="none")
    when = date(region.years[-1] + 1, 6, 1)
    smtp.stop()
    down = _monitor_alert(tmp_path / "config.yaml", when)
    code, err = down.wait(120), down.stderr.read()
    assert code == 1 and "未能发送" in err and "Traceback" not in err, err
    with Store(tmp_path / "nianbao.db") as store:
        pending = store.db.execute("SELECT COUNT(*) FROM alerts WHERE sent_at IS NULL AND claimed_by IS NULL")
        waiting = pending.fetchone()[0]
    assert waiting > 0
    smtp.start()
    up = _monitor_alert(tmp_path / "config.yaml", when)
    assert up.wait(120) == 0, up.stderr.read()
    assert len(smtp.inbox.messages) == 1
    again = _monitor_alert(tmp_path / "config.yaml", when)
    assert again.wait(120) == 0 and len(smtp.inbox.messages) == 1
    with Store(tmp_path / "nianbao.db") as store:
        assert store.db.execute("SELECT COUNT(*) FROM alerts WHERE sent_at IS NULL").fetchone()[0] == 0


def test_a_source_whose_crawls_never_complete_is_reported(tmp_path, region, smtp):
    """Runs that keep being interrupted leave its reports not checkable: the operator hears of it."""
    store = build_store(tmp_path, region)
    config = alerts_config(tmp_path, region, smtp.port, attach="none")
    when = date(region.years[-1] + 1, 6, 1)
    run_alerts(store, config, when)
    for _ in range(3):
        store.finish_run(store.start_run(SOURCE_ID), "interrupted", {}, "stopped at max_pages_per_source=30")
    assert run_alerts(store, config, when)["sent"] == 1
    assert "max_pages_per_source=30" in _text(smtp.inbox.messages[-1][1])


def test_a_report_changed_after_publication_is_alerted_once_in_the_templates_terms(tmp_path, region, smtp):
    import copy

    from test_monitor_common import report_dict

    store = build_store(tmp_path, region)
    config = alerts_config(tmp_path, region, smtp.port, attach="none")
    when = date(region.years[-1] + 1, 6, 1)
    run_alerts(store, config, when)
    before = len(smtp.inbox.messages)

    r = next(p for p in region.published() if p.year == region.years[-1])
    url = store.db.execute("SELECT url FROM documents WHERE title = ?", [r.title]).fetchone()[0]
    edited = copy.deepcopy(report_dict(r))
    edited["table1"]["licensing"] = (edited["table1"]["licensing"] or 0) + 7
    rec = store.record_fetch(
        Fetched(
            SOURCE_ID,
            url,
            b"edited " + url.encode(),
            title=r.title,
            content_type="text/html",
            fetched_at=f"{when - timedelta(days=2)}T03:00:00+00:00",
        )
    )
    assert rec.outcome == "new_version"
    store.save_report(rec.version_id, "test", edited)

    assert run_alerts(store, config, when)["messages"] == 1
    msg = smtp.inbox.messages[-1][1]
    assert "1 份报告发布后被修改或撤下" in msg["Subject"]
    assert f"表一 行政许可：{edited['table1']['licensing'] - 7} → {edited['table1']['licensing']}" in _text(
        msg
    )
    assert run_alerts(store, config, when)["messages"] == 0  # exactly once
    assert len(smtp.inbox.messages) == before + 1
