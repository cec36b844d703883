"""How the dashboard shows things: labels, Jinja2 filters, report tables in display form, and
which stored documents a browser can show inline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from monitor.glossary import (
    TABLE1_FIELD_LABELS,
    TABLE1_ITEM_LABELS,
    TABLE2_LEAF_NAMES,
    TABLE3_GROUP_SHORT_NAMES,
)
from reports.model import TABLE2_COLUMN_LABELS, TABLE3_FIELD_LABELS, TABLE3_FIELDS


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


def localtime(value: Any, tz: ZoneInfo) -> str:
    """A stored ISO timestamp (UTC) as local time to the minute; other values unchanged."""
    if not isinstance(value, str) or "T" not in value:
        return "—" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


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
    t2 = [
        {"label": TABLE2_LEAF_NAMES.get(k, k), "values": v if isinstance(v, list) else [v]}
        for k, v in (data.get("table2") or {}).items()
    ]
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
