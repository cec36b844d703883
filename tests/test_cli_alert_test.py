"""`nianbao alert --test [GROUP]`: a test message through each channel, over real aiosmtpd and HTTP."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

import pytest
from test_monitor_alerts import Receiver, Smtp, free_port

from tests.crawl_helpers import nianbao


@pytest.fixture
def smtp():
    server = Smtp(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver():
    Receiver.posts = []
    http = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield http
    http.shutdown()
    http.server_close()


def _config(tmp_path, smtp_port: int, apprise_port: int):
    path = tmp_path / "config.yaml"
    path.write_text(
        "storage:\n  path: nianbao.db\n"
        "alerts:\n"
        f"  smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, from: monitor@example.gov.cn, timeout: 5}}\n"
        "  groups:\n"
        f"    - {{name: 青山县政务公开办, emails: [gkb@example.gov.cn, boss@example.gov.cn], apprise: ['json://127.0.0.1:{apprise_port}/']}}\n"
        "    - {name: 外省, emails: [other@example.gov.cn]}\n"
        "sources:\n  - {id: s0, name: 站点, start_url: 'http://a.gov.cn/'}\n",
        encoding="utf-8",
    )
    return path


def test_alert_test_reaches_every_channel_and_leaves_no_trace(tmp_path, smtp, receiver):
    config = _config(tmp_path, smtp.port, receiver.server_port)
    proc = nianbao(config, "alert", "--test", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = {tuple(rcpts): msg for rcpts, msg in smtp.inbox.messages}
    assert set(got) == {("gkb@example.gov.cn", "boss@example.gov.cn"), ("other@example.gov.cn",)}
    first = got[("gkb@example.gov.cn", "boss@example.gov.cn")]
    assert first["Subject"] == "【政府信息公开年报监测】测试消息：青山县政务公开办"
    assert "测试消息" in first.get_body(preferencelist=("plain",)).get_content()
    assert len(Receiver.posts) == 1 and "测试消息" in Receiver.posts[0]["title"]
    lines = proc.stdout.splitlines()
    assert sum(line.startswith("成功") for line in lines) == 3, proc.stdout
    assert "全部 3 个渠道发送成功" in proc.stdout
    assert not (tmp_path / "nianbao.db").exists()  # the ledger (the database) is never touched


def test_alert_test_one_group(tmp_path, smtp, receiver):
    config = _config(tmp_path, smtp.port, receiver.server_port)
    proc = nianbao(config, "alert", "--test", "外省", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [rcpts for rcpts, _ in smtp.inbox.messages] == [["other@example.gov.cn"]]
    assert Receiver.posts == []


def test_alert_test_unknown_group_is_a_clear_error(tmp_path, smtp, receiver):
    config = _config(tmp_path, smtp.port, receiver.server_port)
    proc = nianbao(config, "alert", "--test", "青山县", check=False)
    assert proc.returncode == 2
    assert "没有名为 '青山县' 的提醒组" in proc.stderr and "青山县政务公开办、外省" in proc.stderr
    assert "Traceback" not in proc.stderr and smtp.inbox.messages == []


def test_alert_test_reports_each_failed_channel_and_exits_1(tmp_path, receiver):
    dead = free_port()  # no SMTP server listens there
    config = _config(tmp_path, dead, receiver.server_port)
    proc = nianbao(config, "alert", "--test", check=False)
    assert proc.returncode == 1
    out = proc.stdout
    assert out.count("失败") == 2 and out.count("成功") == 1, out  # two email channels, one webhook
    assert "ConnectionRefusedError" in out and "2 个发送失败" in proc.stderr


def test_alert_without_test_says_what_to_use(tmp_path, smtp, receiver):
    proc = nianbao(_config(tmp_path, smtp.port, receiver.server_port), "alert", check=False)
    assert proc.returncode == 2 and "--test" in proc.stderr and "monitor --alert" in proc.stderr


def test_alert_test_never_prints_a_webhook_secret(tmp_path, receiver):
    path = tmp_path / "config.yaml"
    path.write_text(
        "storage:\n  path: nianbao.db\nalerts:\n  groups:\n"
        "    - {name: 钉钉群, apprise: ['nosuchscheme://s3cr3t-t0ken/', "
        f"'json://user:pa55word@127.0.0.1:{receiver.server_port}/']}}\n"
        "sources:\n  - {id: s0, name: 站点, start_url: 'http://a.gov.cn/'}\n",
        encoding="utf-8",
    )
    proc = nianbao(path, "alert", "--test", check=False)
    assert proc.returncode == 1 and len(Receiver.posts) == 1
    printed = proc.stdout + proc.stderr
    assert "成功" in printed and "失败" in printed and "cannot use URL" in printed
    assert "s3cr3t" not in printed and "pa55word" not in printed, printed
