"""Golden tests on the two real reports in shared/seeds, field by field.

Expected values were read off the files by hand:
- jinxiang-kjj-2023.txt (a row per line, TABs): 2021 template; Table 1 all 0 but the
  行政事业性收费 row is left out (only its column heading is there) -> null + row_missing;
  Table 2 all 0, except that rows （一）予以公开 and （二）部分公开 hold only six numbers
  after the merged label cells (the 自然人 slot is empty) -> null + cell_blank; Table 3 all 0.
  The column heading has the typo 本年度止件数.
- qingzhou-kjj-2024.txt (a cell per line, Word bookmarks): 2021 template, every number 0,
  the title wrapped over two lines, part 五 headed "5、".
"""

from __future__ import annotations

import pytest

import reports
from reports.model import TABLE2_KEYS, TABLE3_FIELDS, TABLE3_GROUPS
from tests.conftest import SEEDS


def _codes(report):
    return sorted((i["code"], i["where"]) for i in report["issues"])


@pytest.fixture(scope="module")
def jinxiang():
    return reports.parse_file(SEEDS / "jinxiang-kjj-2023.txt")


@pytest.fixture(scope="module")
def qingzhou():
    return reports.parse_file(SEEDS / "qingzhou-kjj-2024.txt")


def test_jinxiang_who_and_when(jinxiang):
    assert jinxiang["agency"] == "金乡县科学技术局"
    assert jinxiang["year"] == 2023
    assert jinxiang["template"] == "2021"
    assert jinxiang["kind"] == "department"
    assert jinxiang["published_at"] is None  # no date anywhere in the text
    assert jinxiang["published_at_source"] is None


def test_jinxiang_table1(jinxiang):
    t1 = jinxiang["table1"]
    assert t1["rules"] == {"issued": 0, "abolished": 0, "in_force": 0}
    assert t1["normative_docs"] == {"issued": 0, "abolished": 0, "in_force": 0}
    assert (t1["licensing"], t1["penalty"], t1["coercion"]) == (0, 0, 0)
    assert t1["fees_10k_yuan"] is None


def test_jinxiang_table2_and_3(jinxiang):
    t2 = jinxiang["table2"]
    assert list(t2) == list(TABLE2_KEYS)
    for key in TABLE2_KEYS:
        if key in ("disclosed", "partially_disclosed"):
            assert t2[key] == [None, 0, 0, 0, 0, 0, 0], key
        else:
            assert t2[key] == [0] * 7, key
    for g in TABLE3_GROUPS:
        assert jinxiang["table3"][g] == dict.fromkeys(TABLE3_FIELDS, 0)


def test_jinxiang_issues(jinxiang):
    assert _codes(jinxiang) == [
        ("cell_blank", "table2.disclosed.natural_person"),
        ("cell_blank", "table2.partially_disclosed.natural_person"),
        ("row_missing", "table1.fees_10k_yuan"),
    ]


def test_jinxiang_sections(jinxiang):
    s = jinxiang["sections"]
    assert s["overview"].startswith("2023 年，金乡县科学技术局认真贯彻落实")
    assert s["overview"].rstrip().endswith("确保信息真实、准确。")
    assert "（五）监督保障情况" in s["overview"]
    assert s["problems"].startswith("存在问题：一是工作标准要求还不够高")
    assert "改进措施：" in s["problems"]
    assert s["other"].startswith("（一）政府信息公开申请收费情况")
    assert s["other"].endswith("（七）其他有关文件专门要求通过政府信息公开工作年度报告予以报告的事项：无。")


def test_qingzhou(qingzhou):
    assert qingzhou["agency"] == "青州市科学技术局"
    assert qingzhou["year"] == 2024
    assert qingzhou["template"] == "2021"
    assert qingzhou["kind"] == "department"
    t1 = qingzhou["table1"]
    assert t1 == {
        "rules": {"issued": 0, "abolished": 0, "in_force": 0},
        "normative_docs": {"issued": 0, "abolished": 0, "in_force": 0},
        "licensing": 0,
        "penalty": 0,
        "coercion": 0,
        "fees_10k_yuan": 0.0,
    }
    assert qingzhou["table2"] == {k: [0] * 7 for k in TABLE2_KEYS}
    assert qingzhou["table3"] == {g: dict.fromkeys(TABLE3_FIELDS, 0) for g in TABLE3_GROUPS}
    assert qingzhou["issues"] == []


def test_qingzhou_sections(qingzhou):
    s = qingzhou["sections"]
    assert s["overview"].startswith("2024年，市科技局认真贯彻落实党中央")
    assert s["overview"].endswith("三是增加经费投入，保障政务公开工作顺利进行。")
    # Part 五 is headed "5、 存在的主要问题及改进情况" in this report.
    assert s["problems"].startswith("（一）2023年政务公开问题整改情况")
    assert s["problems"].endswith("确保政务信息公开、透明、准确。")
    assert s["other"].startswith("（一）依申请公开信息处理费收费情况")


def test_seed_bytes_parse_the_same_as_files(qingzhou):
    data = (SEEDS / "qingzhou-kjj-2024.txt").read_bytes()
    assert reports.parse_bytes(data, url="http://example.invalid/x.pdf") == qingzhou


def test_format_table_lists_values_and_issues(jinxiang):
    text = reports.format_table(jinxiang)
    assert "金乡县科学技术局 2023" in text
    assert "row_missing" in text and "table1.fees_10k_yuan" in text
    assert "total_handled" in text
