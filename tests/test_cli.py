"""The `nianbao` command itself: help on every subcommand, `parse` on files, the demo end to end."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

import pytest

from nianbao.cli import build_parser
from tests.conftest import SEEDS

COMMANDS = [
    "crawl",
    "parse",
    "monitor",
    "digest",
    "changes",
    "health",
    "check",
    "alert",
    "schedule",
    "serve",
    "demo",
    "worker",
]


def _nianbao(*args: str, cwd=None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nianbao", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def test_every_subcommand_has_help():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)
    for name in COMMANDS:
        proc = _nianbao(name, "--help")
        assert proc.returncode == 0, proc.stderr
        assert f"usage: nianbao {name}" in proc.stdout and "--config" in proc.stdout
        # In Chinese (flags stay English), with an example and the defaults
        description = proc.stdout.split("\n\n")[1]
        assert re.search(r"[\u4e00-\u9fff]", description), description
        assert "选项" in proc.stdout and "显示此帮助并退出" in proc.stdout
        assert f"例如：\n  nianbao {name}" in proc.stdout
        parser = sub.choices[name]
        for action in parser._actions:
            if action.default not in (None, False, argparse.SUPPRESS) and action.help:
                shown = parser._get_formatter()._get_help_string(action) % {"default": action.default}
                assert "默认" in shown and str(action.default) in shown, (name, action.dest, shown)


def test_parse_prints_json_lines_in_input_order_and_fails_after_all_files(tmp_path):
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"\x00\x01 not a report at all \xff" * 50)
    missing = tmp_path / "nope.docx"
    seeds = [SEEDS / "jinxiang-kjj-2023.txt", SEEDS / "qingzhou-kjj-2024.txt"]
    proc = _nianbao("parse", str(seeds[0]), str(garbage), str(missing), str(seeds[1]))
    assert proc.returncode == 1
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [row["path"] for row in lines] == [str(seeds[0]), str(garbage), str(missing), str(seeds[1])]
    jinxiang, bad, gone, qingzhou = lines
    assert (jinxiang["agency"], jinxiang["year"], jinxiang["template"]) == ("金乡县科学技术局", 2023, "2021")
    assert (qingzhou["agency"], qingzhou["year"], qingzhou["template"]) == ("青州市科学技术局", 2024, "2021")
    assert jinxiang["table2"]["new_received"] == [0] * 7
    assert set(bad) == {"path", "error"} and bad["error"]
    assert set(gone) == {"path", "error"} and "No such file" in gone["error"]


def test_parse_table_format_shows_the_tables(tmp_path):
    proc = _nianbao("parse", "--format", "table", str(SEEDS / "qingzhou-kjj-2024.txt"))
    assert proc.returncode == 0, proc.stderr
    assert "青州市科学技术局" in proc.stdout and "总计" in proc.stdout


def test_parse_needs_paths_or_stored():
    proc = _nianbao("parse")
    assert proc.returncode == 2 and "请给出要解析的文件" in proc.stderr


@pytest.mark.slow
def test_demo_matches_the_simulator_ground_truth(tmp_path):
    proc = _nianbao("demo", "--out", str(tmp_path / "out"), "--as-of", "2026-11-23", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "个状态与模拟器的预期一致" in proc.stdout
    assert "迟报" in proc.stdout and "缺报" in proc.stdout
    for fmt in ("csv", "html", "xlsx", "md", "json", "docx"):
        assert (tmp_path / "out" / f"digest-2025.{fmt}").stat().st_size > 100
    assert "dashboard: http://127.0.0.1:" in proc.stdout


def test_bad_arguments_are_told_in_chinese():
    proc = _nianbao("monitor", "--as-of", "2025-13-01")
    assert proc.returncode == 2
    assert "nianbao monitor: 命令行参数有误：" in proc.stderr and "不是 YYYY-MM-DD 格式的日期" in proc.stderr
