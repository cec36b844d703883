"""config.yaml is validated on load: every mistake names its key and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = """\
storage:
  path: data/nianbao.db
sources:
  - id: jinxiang
    name: 金乡县人民政府
    start_url: http://www.jinxiang.gov.cn/
"""


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, Path("/etc/nianbao/config.yaml"))
    return str(exc.value)


def test_minimal_config_gets_documented_defaults(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    config = load_config(path)
    assert config.storage_path == (tmp_path / "data" / "nianbao.db").resolve()
    source = config.sources[0]
    assert source["deadline"] == {"government": "03-31", "department": "01-31", "township": "01-31"}
    assert source["obey_robots"] is True and source["agencies"] == []
    assert config.section("crawl")["concurrency_per_host"] == 2


def test_shipped_config_is_valid_and_names_real_portals():
    config = load_config(ROOT / "config.yaml")
    assert all(".gov.cn" in s["start_url"] for s in config.sources)
    assert {s["family"] for s in config.sources} >= {"trs", "hanweb", "gkmlpt"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            MINIMAL.replace("http://www.jinxiang.gov.cn/", "htp://x"),
            "config.yaml:6: sources[0].start_url: 'htp://x'",
        ),
        (MINIMAL.replace("storage:", "storge:"), "config.yaml:1: storge: unknown key"),
        (
            MINIMAL.replace("data/nianbao.db", "7"),
            "config.yaml:2: storage.path: expected text, got a number 7",
        ),
        (MINIMAL.replace("    name: 金乡县人民政府\n", ""), "config.yaml:4: sources[0].name: is required"),
        (MINIMAL + "    family: joomla\n", "sources[0].family: 'joomla' is not one of"),
        (
            MINIMAL + "    agencies:\n      - {name: x, kind: bureau}\n",
            "config.yaml:8: sources[0].agencies[0].kind",
        ),
        (
            MINIMAL + "    deadline: {department: 13-40}\n",
            "sources[0].deadline.department: '13-40' is not a day",
        ),
        (MINIMAL + "    schedule: daily\n", "sources[0].schedule: 'daily' is not a five-field cron"),
        (
            MINIMAL + "  - id: jinxiang\n    name: b\n    start_url: http://b.gov.cn/\n",
            "sources[1].id: 'jinxiang' is used",
        ),
        ("storage: [\n", "not valid YAML"),
        ("- 1\n", "expected a mapping"),
    ],
)
def test_bad_config_names_key_and_line(text, expected):
    assert expected in _error(text)


def test_cli_reports_bad_config_and_exits_nonzero(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL.replace("storage:", "storage:\n  colour: red"), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "nianbao", "health", "--config", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "config.yaml:2: storage.colour: unknown key" in proc.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "nianbao", "health", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "config file not found" in missing.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Each of these passed validation and failed later: a traceback, a crash of `schedule` or
        # `serve`, a crawl that hangs, a cap that cancels every download or means "no limit".
        (
            MINIMAL + "    agencies:\n      - {name: x, abolished: 2023-02-30}\n",
            "config.yaml:8: sources[0].agencies[0].abolished: '2023-02-30' is not a calendar date",
        ),
        (
            MINIMAL + "    agencies:\n      - {name: x, deadline: 02-30}\n",
            "config.yaml:8: sources[0].agencies[0].deadline: '02-30' is not a day",
        ),
        (
            MINIMAL + "schedule:\n  crawl: '99 99 * * *'\n",
            "config.yaml:8: schedule.crawl: '99 99 * * *' is not a valid cron expression",
        ),
        (MINIMAL + "    schedule: '0 2 * * 8'\n", "sources[0].schedule: '0 2 * * 8' is not a valid cron"),
        (
            MINIMAL + "schedule:\n  timezone: Mars/Olympus\n",
            "config.yaml:8: schedule.timezone: 'Mars/Olympus' is not a known time zone",
        ),
        (MINIMAL + "schedule:\n  timezone: Asia\n", "schedule.timezone: 'Asia' is not a known time zone"),
        (MINIMAL + "schedule:\n  timezone: ../etc/x\n", "schedule.timezone: '../etc/x' is not a known"),
        (
            MINIMAL + "crawl:\n  concurrency_per_host: 0\n",
            "config.yaml:8: crawl.concurrency_per_host: 0 is out of range: must be at least 1",
        ),
        (MINIMAL + "crawl:\n  concurrency_per_host: -3\n", "crawl.concurrency_per_host: -3 is out of range"),
        (MINIMAL + "crawl:\n  max_file_mb: -5\n", "crawl.max_file_mb: -5 is out of range: must be above 0"),
        (MINIMAL + "crawl:\n  max_file_mb: 0\n", "crawl.max_file_mb: 0 is out of range"),
        (MINIMAL + "crawl:\n  timeout: 0\n", "crawl.timeout: 0 is out of range: must be at least 1"),
        (MINIMAL + "crawl:\n  delay: .nan\n", "crawl.delay: nan is out of range"),
        (MINIMAL + "parse:\n  max_file_mb: .inf\n", "parse.max_file_mb: inf is out of range"),
        (MINIMAL + "monitor:\n  fuzzy_threshold: 1.5\n", "monitor.fuzzy_threshold: 1.5 is out of range"),
        (MINIMAL + "serve:\n  port: 70000\n", "serve.port: 70000 is out of range"),
        (MINIMAL + "schedule:\n  jitter_minutes: -1\n", "schedule.jitter_minutes: -1 is out of range"),
        (MINIMAL + "schedule:\n  misfire_grace_minutes: 0\n", "schedule.misfire_grace_minutes: 0 is out"),
        # A key that nothing reads is not accepted.
        (
            MINIMAL.replace("  path:", "  blobs_path: blobs\n  path:"),
            "config.yaml:2: storage.blobs_path: unknown",
        ),
    ],
)
def test_values_that_would_fail_later_are_refused_at_load(text, expected):
    assert expected in _error(text)


def test_every_mistake_is_reported_at_once():
    text = (
        MINIMAL.replace("http://www.jinxiang.gov.cn/", "htp://x")
        + "    agencies:\n      - {name: x, abolished: 2023-02-30}\n"
        + "crawl:\n  concurrency_per_host: 0\n  timeout: 0\n"
        + "schedule:\n  crawl: '99 99 * * *'\n  timezone: Nowhere/City\n"
    )
    lines = _error(text).splitlines()
    assert len(lines) == 6, lines
    for expected in (
        "config.yaml:6: sources[0].start_url",
        "config.yaml:8: sources[0].agencies[0].abolished",
        "config.yaml:10: crawl.concurrency_per_host",
        "config.yaml:11: crawl.timeout",
        "config.yaml:13: schedule.crawl",
        "config.yaml:14: schedule.timezone",
    ):
        assert sum(expected in line for line in lines) == 1, (expected, lines)


def test_boundary_values_are_accepted():
    config = parse_config(
        MINIMAL
        + "    agencies:\n      - {name: x, abolished: 2024-02-29, deadline: 02-29}\n"
        + "crawl:\n  concurrency_per_host: 1\n  max_file_mb: 0.5\n  timeout: 1\n  delay: 0\n  retries: 0\n"
        + "schedule:\n  crawl: '*/30 1-5 * * mon-fri'\n  timezone: UTC\n"
        + "monitor:\n  fuzzy_threshold: 1\n",
        Path("/etc/nianbao/config.yaml"),
    )
    assert config.sources[0]["agencies"][0]["abolished"] == "2024-02-29"
    assert config.section("crawl")["max_file_mb"] == 0.5
    assert config.section("schedule")["timezone"] == "UTC"


@pytest.mark.parametrize(
    ("command", "extra", "expected"),
    [
        (["schedule", "--list"], "schedule:\n  crawl: '99 99 * * *'\n", "schedule.crawl: '99 99 * * *'"),
        (["schedule", "--list"], "schedule:\n  timezone: Mars/Olympus\n", "schedule.timezone"),
        (["serve", "--port", "0"], "schedule:\n  timezone: Mars/Olympus\n", "schedule.timezone"),
        (["health"], "    agencies:\n      - {name: x, abolished: 2023-02-30}\n", "abolished: '2023-02-30'"),
    ],
)
def test_commands_stop_on_a_bad_value_with_one_message(tmp_path, command, extra, expected):
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL + extra, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "nianbao", *command, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr
