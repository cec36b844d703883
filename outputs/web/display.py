"""How the dashboard shows things: labels, Jinja2 filters, report tables in display form, and
which stored documents a browser can show inline."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from monitor.glossary import (
    TABLE1_FIELD_LABELS,
    TABLE1_ITEM_LABELS,
    TABLE2_LEAF_NAMES,
    TABLE3_GROUP_SHORT_NAMES,
    describe,
)
from monitor.localtime import local_time
from reports.model import TABLE2_COLUMN_LABELS, TABLE2_GROUPS, TABLE2_ROWS, TABLE3_FIELD_LABELS, TABLE3_FIELDS

# Table 2's part heading over rows 3–24 (the template's 三、 with its （一）…（七）).
TABLE2_RESULTS_HEADING = "三、本年度办理结果"
TABLE2_RESULT_KEYS = frozenset(k for k, _ in TABLE2_ROWS[2:24]) | {"other_processing"}
TABLE2_GROUP_OF = {key: head for head, keys in TABLE2_GROUPS.items() for key in keys}


def safe_url(url: Any) -> str | None:
    """``url`` if it is an http(s) URL (fit for an href), else None."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def number(value: Any) -> str:
    """A figure for a table cell: thousands separated, "—" for none."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percent(value: Any) -> str:
    """A ratio as a signed whole percentage, "—" for none."""
    return "—" if value is None else f"{value * 100:+.0f}%"


localtime = local_time  # the Jinja2 filter


def file_kind(content_type: Any) -> str:
    """A stored document's type as a reader names it ("网页", "PDF 文件"), never a MIME type."""
    ct = str(content_type or "").split(";")[0].strip().lower()
    kinds = (
        (("html", "xhtml"), "网页"),
        (("pdf",), "PDF 文件"),
        (("wordprocessingml", "msword"), "Word 文档"),
        (("wps", "kingsoft"), "WPS 文档"),
        (("spreadsheet", "excel"), "Excel 表格"),
        (("zip", "rar", "7z", "compressed"), "压缩包"),
        (("image/",), "图片"),
        (("text/plain",), "纯文本"),
    )
    for needles, label in kinds:
        if any(n in ct for n in needles):
            return label
    return "其他文件" if ct else "—"


def issue_text(issue: dict[str, Any]) -> tuple[str, str | None]:
    """A parser finding in plain Chinese (``monitor.glossary.describe``), and its original
    message when the description could not use it (a message of an unknown shape), else None."""
    said = describe(issue)
    message = issue.get("message") or ""
    understood = said != describe(dict(issue, message=""))
    return said, (None if understood or not message or message in said else message)


def event_reason(reason: Any) -> str:
    """Why a report counts as removed, in plain Chinese (the crawl's reasons: spiders/base.py)."""
    text = str(reason or "").strip()
    m = re.fullmatch(r"HTTP (\d{3})", text)
    if m:
        return f"网页已打不开（HTTP {m[1]}）"
    if text == "no longer listed in its column":
        return "已从所在栏目的列表中撤下"
    return text or "未记录原因"


def zone_name(tz: ZoneInfo) -> str:
    """The time zone as readers say it: 北京时间 for China's zone, else its name."""
    return "北京时间" if tz.key in ("Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC") else tz.key


def content_disposition(kind: str, filename: str) -> str:
    """A header value that survives non-ASCII names (RFC 6266 / 5987).

    Not Werkzeug's ``send_file``: it leaves a plain name unquoted, and the quoted form is what
    every client reads the same way.
    """
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("_") or "download"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def inline_kind(content_type: str | None) -> str | None:
    """ "html" or "pdf" when a browser shows this type itself (in a frame), else None."""
    ct = (content_type or "").split(";")[0].strip().lower()
    if ct in ("text/html", "application/xhtml+xml", "text/plain"):
        return "html"
    if ct == "application/pdf":
        return "pdf"
    return None


def table2_rows(table2: dict[str, Any]) -> list[dict[str, Any]]:
    """Table 2's rows in the template's layout: the part heading 三、本年度办理结果 and the group
    headings （三）不予公开 … as rows of their own (``heading`` true, no values) above their
    rows, each row with its ``level`` of indent (0: 一、二、四、; 1: （一）…（七）; 2: 1. 2. …)."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for key, value in table2.items():
        group = TABLE2_GROUP_OF.get(key)
        if key in TABLE2_RESULT_KEYS and TABLE2_RESULTS_HEADING not in seen:
            seen.add(TABLE2_RESULTS_HEADING)
            rows.append({"label": TABLE2_RESULTS_HEADING, "heading": True, "level": 0, "values": []})
        if group and group not in seen:
            seen.add(group)
            rows.append({"label": group, "heading": True, "level": 1, "values": []})
        level = 2 if group else (1 if key in TABLE2_RESULT_KEYS else 0)
        values = value if isinstance(value, list) else [value]
        rows.append(
            {"label": TABLE2_LEAF_NAMES.get(key, key), "heading": False, "level": level, "values": values}
        )
    return rows


def report_tables(data: dict[str, Any]) -> dict[str, Any]:
    """The three tables of a report in display form: lists of labelled rows."""
    t1 = []
    for key, value in (data.get("table1") or {}).items():
        label = TABLE1_ITEM_LABELS.get(key, key)
        if isinstance(value, dict):
            t1.append(
                {"label": label, "cells": [(TABLE1_FIELD_LABELS.get(k, k), v) for k, v in value.items()]}
            )
        else:
            t1.append({"label": label, "cells": [("", value)]})
    t2 = table2_rows(data.get("table2") or {})
    t3 = []
    table3 = data.get("table3") or {}
    for group, label in TABLE3_GROUP_SHORT_NAMES.items():
        values = table3.get(group) or {}
        t3.append({"label": label, "values": [values.get(f) for f in TABLE3_FIELDS]})
    return {
        "table1": t1,
        "table2": t2,
        "table2_columns": TABLE2_COLUMN_LABELS,
        "table3": t3 if table3 else [],
        "table3_columns": TABLE3_FIELD_LABELS,
    }
