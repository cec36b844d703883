"""config.yaml is validated on load: every mistake names its key and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.config import ConfigError, load_config, parse_config

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
        [sys.executable, "-m", "crawler.cli", "health", "--config", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "config.yaml:2: storage.colour: unknown key" in proc.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "health", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "config file not found" in missing.stderr
