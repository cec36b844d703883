"""The one flattener of a report's numbers: each number of the three tables with a stable machine
key and a label in the template's own terms.

    table2.withheld_state_secret.natural_person → "表二 三、（三）不予公开 1.属于国家秘密 · 自然人"

Keys are dotted (``table1.licensing``, ``table1.rules.issued``, ``table2.<row>.<column>``,
``table3.<group>.<field>``), the keys ``monitor.yoy`` compares by; labels come from the glossary
(``monitor.glossary.place``).  ``legacy_field`` gives the key ``nianbao changes`` printed before
(``table2.new_received[6]``), kept in its JSON for scripts that read it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from monitor.glossary import place
from reports.model import TABLE2_COLUMNS

Value = int | float | None


class Number(NamedTuple):
    key: str  # table2.new_received.total
    label: str  # 表二 一、本年新收政府信息公开申请数量 · 总计
    value: Value


def _num(v: Any) -> Value:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


@lru_cache(maxsize=4096)
def label(key: str) -> str:
    """The template's words for a dotted key (the key itself for one the glossary does not know)."""
    return place(key) or key


def legacy_field(key: str) -> str:
    """The key ``nianbao changes`` used before labels: a Table 2 cell by column index
    (``table2.new_received[6]``), every other key as it is."""
    table, _, rest = key.partition(".")
    row, _, col = rest.partition(".")
    if table == "table2" and col in TABLE2_COLUMNS:
        return f"table2.{row}[{TABLE2_COLUMNS.index(col)}]"
    return key


def flatten(report: dict[str, Any]) -> list[Number]:
    """Every number of the three tables, in the report's order; a cell the parser could not read
    (blank, placeholder, text) has the value None."""
    out: list[Number] = []

    def add(key: str, value: Any) -> None:
        out.append(Number(key, label(key), _num(value)))

    for key, value in (report.get("table1") or {}).items():
        if isinstance(value, dict):
            for sub, v in value.items():
                add(f"table1.{key}.{sub}", v)
        else:
            add(f"table1.{key}", value)
    for key, row in (report.get("table2") or {}).items():
        if isinstance(row, list):
            for col, v in zip(TABLE2_COLUMNS, row, strict=False):
                add(f"table2.{key}.{col}", v)
    for group, fields in (report.get("table3") or {}).items():
        if isinstance(fields, dict):
            for f, v in fields.items():
                add(f"table3.{group}.{f}", v)
    return out


def values(report: dict[str, Any]) -> dict[str, Value]:
    """``flatten`` as {key: value}."""
    return {n.key: n.value for n in flatten(report)}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """The numbers that differ between two reports, in the template's order:
    {key, label, field (``legacy_field``), before, after}."""
    a, b = values(before), values(after)
    keys = list(dict.fromkeys([*a, *b]))
    return [
        {"key": k, "label": label(k), "field": legacy_field(k), "before": a.get(k), "after": b.get(k)}
        for k in keys
        if a.get(k) != b.get(k)
    ]


def shown(value: Value) -> str:
    """A number as a person reads it: an unread cell is "空白", not "None"."""
    return "空白" if value is None else str(value)


def change_line(change: dict[str, Any]) -> str:
    """One changed number ({key or field, label, before, after}) in the template's terms:
    "表二 三、（三）不予公开 1.属于国家秘密 · 自然人：0 → 1"."""
    name = change.get("label") or (label(change["key"]) if change.get("key") else change.get("field", ""))
    return f"{name}：{shown(change.get('before'))} → {shown(change.get('after'))}"


def change_summary(changes: list[dict[str, Any]], limit: int = 5) -> str:
    """The first ``limit`` changed numbers on one line, "；"-separated, and how many more."""
    text = "；".join(change_line(c) for c in changes[:limit])
    return f"{text}；另有 {len(changes) - limit} 处" if len(changes) > limit else text
