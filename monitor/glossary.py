"""Plain-Chinese wording of the product's machine words: issue codes, events, match methods, and
the cells of the national template (``table2.withheld_state_secret.natural_person``).

The one home of every user-facing label — statuses, agency kinds, issue codes, events, crawl run
outcomes, headline figures, table rows, columns and groups, digest formats and their MIME types —
so the digests, the dashboard, ``changes`` and alerts say the same thing.  Machine words stay in
the code (``monitor.status.STATUSES``, ``reports.model.ISSUE_CODES``); their Chinese is here.

``place(where)`` names a template location; ``describe(issue)`` turns a parser or check finding
(reports/checks.py, reports/template.py, reports/about.py) into one Chinese sentence such as
"表二 三、（三）不予公开 1.属于国家秘密：六类申请人之和 12 ≠ 总计 13".  An issue whose message has
an unknown shape is still described: its place, its label and the original message.
"""

from __future__ import annotations

import re
from typing import Any

from reports.model import (
    PART_HEADINGS,
    TABLE1_2021_DOC_FIELDS,
    TABLE1_2021_DOC_LABELS,
    TABLE2_COLUMN_LABELS,
    TABLE2_COLUMNS,
    TABLE2_GROUPS,
    TABLE2_ROWS,
    TABLE3_FIELD_LABELS,
    TABLE3_FIELDS,
    TABLE3_GROUP_LABELS,
    TABLE3_GROUPS,
)

STATUS_LABELS = {
    "on_time": "按时",
    "late": "迟报",
    "missing": "缺报",
    "pending": "未到期",
    "not_checkable": "无法核查",
}
KIND_LABELS = {"government": "政府", "department": "部门", "township": "乡镇街道"}
ISSUE_LABELS = {
    "template_not_found": "未找到统计表",
    "row_missing": "缺少表格行",
    "cell_blank": "单元格空白",
    "cell_unreadable": "单元格无法识别",
    "sum_mismatch": "勾稽关系不符",
    "year_mismatch": "年度不一致",
    "copied_text": "文字与上年雷同",
    "modified": "发布后被修改",
    "removed": "发布后被删除",
}
EVENT_LABELS = {"modified": "修改", "removed": "删除", "restored": "恢复"}
# A crawl run's outcome: (word, one-character mark for a row of dots).
RUN_LABELS = {
    "finished": ("完成", "✓"),
    "failed": ("失败", "✗"),
    "blocked": ("被拦截", "!"),
    "running": ("进行中", "…"),
    "interrupted": ("未完成（中断）", "‖"),
}
# The headline figures of a report (``monitor.yoy.FIGURES``), in display order.
FIGURE_LABELS = {
    "applications": "本年新收申请数",
    "carried_over": "上年结转申请数",
    "handled": "办理总计",
    "disclosed": "予以公开数",
    "disclosure_rate": "公开率",
    "refusals": "不予公开数",
    "review_total": "行政复议总数",
    "litigation_total": "行政诉讼总数",
    "corrected_total": "复议诉讼被纠错数",
    "licensing": "行政许可决定数",
    "penalty": "行政处罚决定数",
    "normative_docs_issued": "本年制发规范性文件",
    "fees_10k_yuan": "行政事业性收费（万元）",
}
# Digest formats: (MIME type, what a person calls the file).
DIGEST_FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格"),
    "csv": ("text/csv; charset=utf-8", "CSV"),
    "html": ("text/html; charset=utf-8", "网页"),
    "md": ("text/markdown; charset=utf-8", "Markdown"),
    "json": ("application/json; charset=utf-8", "JSON"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档"),
}
MATCH_METHOD_LABELS = {"alias": "别名", "abbreviation": "简称", "fuzzy": "近似匹配"}
# Where a publication date was read (spiders/pages.py, reports/about.py, monitor/catalogue.py).
DATE_SOURCE_LABELS = {
    "meta": "网页标注的发布时间",
    "visible": "页面上显示的日期",
    "page": "页面上的日期",
    "list": "栏目列表中的日期",
    "body": "报告落款日期",
    "url": "网址中的日期",
    "first_seen": "首次抓取到的日期",
    "unknown": "来源不明",
}


def date_source_label(value: str | None) -> str:
    """Where a publication date came from, in plain Chinese ("parent:meta": the page holding
    the attachment); "—" for none."""
    if not value:
        return "—"
    parent = value.startswith("parent:")
    label = DATE_SOURCE_LABELS.get(value.removeprefix("parent:"), "其他依据")
    return f"所在页面的{label}" if parent else label


TABLE_NAMES = {"table1": "表一", "table2": "表二", "table3": "表三"}
TABLE1_ITEM_LABELS = {
    "rules": "规章",
    "normative_docs": "行政规范性文件",
    "licensing": "行政许可",
    "penalty": "行政处罚",
    "coercion": "行政强制",
    "fees_10k_yuan": "行政事业性收费（万元）",
    "other_services": "其他对外管理服务事项",
    "fees": "行政事业性收费",
    "procurement": "政府集中采购",
}
TABLE1_FIELD_LABELS = {
    **dict(zip(TABLE1_2021_DOC_FIELDS, TABLE1_2021_DOC_LABELS, strict=True)),
    "made": "本年新制作数量",
    "published": "本年新公开数量",
    "total": "对外公开总数量",
    "prev_items": "上一年项目数量",
    "change": "本年增/减",
    "decisions": "处理决定数量",
    "projects": "采购项目数量",
    "amount_yuan": "采购总金额（元）",
}
TABLE2_COLUMN_NAMES = dict(zip(TABLE2_COLUMNS, TABLE2_COLUMN_LABELS, strict=True))
TABLE3_GROUP_NAMES = {
    "review": "行政复议",
    "litigation_direct": "行政诉讼（未经复议直接起诉）",
    "litigation_after_review": "行政诉讼（复议后起诉）",
}
TABLE3_FIELD_NAMES = dict(zip(TABLE3_FIELDS, TABLE3_FIELD_LABELS, strict=True))


# Each Table 2 row's own label as the template prints it (no part or group heading).
TABLE2_LEAF_NAMES = dict(TABLE2_ROWS) | {"other_processing": "（六）其他处理"}
TABLE3_GROUP_SHORT_NAMES = dict(zip(TABLE3_GROUPS, TABLE3_GROUP_LABELS, strict=True))


def mime_type(fmt: str) -> str:
    """The MIME type of a digest format, without parameters ("text/csv")."""
    return DIGEST_FORMATS[fmt][0].split(";")[0]


def _table2_row_names() -> dict[str, str]:
    """Each Table 2 row as the template prints it, with its part and group heading."""
    leaf = dict(TABLE2_LEAF_NAMES)
    leaf["partially_disclosed"] = "（二）部分公开"  # the printed label goes on with a long proviso
    group_of = {key: head for head, keys in TABLE2_GROUPS.items() for key in keys}
    out = {}
    for key, label in leaf.items():
        if key in ("new_received", "carried_over", "carried_forward"):
            out[key] = label
        elif key in group_of:
            out[key] = f"三、{group_of[key]} {label}"
        else:
            out[key] = f"三、{label}"
    return out


TABLE2_ROW_NAMES = _table2_row_names()


def place(where: str) -> str:
    """The template location an issue's ``where`` names, in the template's words."""
    if not where:
        return ""
    if where == "year":
        return "报告年度"
    if where == "tables":
        return "统计表"
    head, _, rest = where.partition(".")
    if head == "sections":
        return PART_HEADINGS.get(rest, rest)
    table = TABLE_NAMES.get(head)
    if table is None:
        return where
    if head == "table2":
        if rest.startswith("row1+row2=row24+row25."):
            return f"{table} {TABLE2_COLUMN_NAMES.get(rest.rsplit('.', 1)[1], '')}列"
        if rest.startswith("row24=sum(rows3-23)."):
            col = TABLE2_COLUMN_NAMES.get(rest.rsplit(".", 1)[1], "")
            return f"{table} {TABLE2_ROW_NAMES['total_handled']} · {col}"
        key, _, col = rest.partition(".")
        out = f"{table} {TABLE2_ROW_NAMES.get(key, key)}"
        return f"{out} · {TABLE2_COLUMN_NAMES.get(col, col)}" if col else out
    names = (
        (TABLE1_ITEM_LABELS, TABLE1_FIELD_LABELS)
        if head == "table1"
        else (TABLE3_GROUP_NAMES, TABLE3_FIELD_NAMES)
    )
    key, _, field = rest.partition(".")
    out = f"{table} {names[0].get(key, key)}"
    return f"{out} · {names[1].get(field, field)}" if field else out


_SUMS = (
    # reports/checks.py: (where prefix, message pattern, Chinese sentence)
    (
        "table2.row1+row2=row24+row25.",
        re.compile(r": (-?\d+)\+(-?\d+)=(-?\d+) but (-?\d+)\+(-?\d+)=(-?\d+)$"),
        "本年新收 {0} + 上年结转 {1} = {2}，而总计 {3} + 结转下年度 {4} = {5}，两者应相等",
    ),
    (
        "table2.row24=sum(rows3-23).",
        re.compile(r"sum to (-?\d+), 总计 says (-?\d+)$"),
        "（一）至（六）各项之和 {0} ≠ 总计 {1}",
    ),
    (
        "table3.",
        re.compile(r"parts sum to (-?\d+), 总计 says (-?\d+)$"),
        "维持、纠正、其他、尚未审结之和 {0} ≠ 总计 {1}",
    ),
    ("table2.", re.compile(r"columns sum to (-?\d+), 总计 says (-?\d+)$"), "六类申请人之和 {0} ≠ 总计 {1}"),
)
_TOO_UNLIKE = re.compile(r"the row labelled '([^']*)' there is too unlike it")


def _text(code: str, where: str, message: str) -> str | None:
    """The Chinese finding without its place; None when the message has an unknown shape."""
    if code == "template_not_found":
        return "未找到表一、表二、表三中的任何一张"
    if code == "year_mismatch":
        m = re.search(r"title says (\d+), statistics period says (\d+)", message)
        return f"标题写的是 {m[1]} 年，统计期间写的是 {m[2]} 年" if m else None
    if code == "cell_blank":
        m = re.search(r"placeholder '([^']*)'", message)
        return f"未填数字（写作“{m[1]}”）" if m else "单元格空白"
    if code == "cell_unreadable":
        m = re.search(r"not a number: '(.*)'$", message)
        return f"不是数字：“{m[1]}”" if m else None
    if code == "row_missing":
        if "2019-style" in message:
            return "表格用的是 2019 年试行模板的一行（六）其他处理，数字无法拆分到 2021 年模板的三行"
        unlike = _TOO_UNLIKE.findall(message)
        if unlike:
            return (
                "未找到这一行；该处的行"
                + "、".join(f"“{u}”" for u in unlike)
                + "与模板文字相差太大，未能对应"
            )
        return "未找到这一行"
    if code == "sum_mismatch":
        for prefix, pattern, wording in _SUMS:
            m = pattern.search(message)
            if where.startswith(prefix) and m:
                return wording.format(*m.groups())
        return None
    if code == "copied_text":
        return message  # written in Chinese by the digest
    return None


def describe(issue: dict[str, Any]) -> str:
    """One plain-Chinese sentence for a data-quality issue {code, where, message}."""
    code, where, message = issue.get("code", ""), issue.get("where", ""), issue.get("message", "")
    where_text = place(where)
    text = _text(code, where, message)
    if text is None:
        text = f"{ISSUE_LABELS.get(code, code)}（{message}）" if message else ISSUE_LABELS.get(code, code)
    return f"{where_text}：{text}" if where_text else text
