"""Consistency rules (勾稽关系) of the national template; blank cells make a rule not checkable."""

from __future__ import annotations

from typing import Any

from reports.model import (
    TABLE2_COLUMN_LABELS,
    TABLE2_COLUMNS,
    TABLE2_HANDLED_KEYS_2021,
    TABLE2_HANDLED_KEYS_TRIAL,
    TABLE3_FIELDS,
    issue,
)


def _sum(values: list[Any]) -> int | None:
    return None if any(v is None for v in values) else sum(values)


def check(report: dict[str, Any]) -> list[dict[str, str]]:
    """sum_mismatch issues for every rule that can be checked and does not hold."""
    out: list[dict[str, str]] = []
    t2 = report.get("table2") or {}
    handled_keys = (
        TABLE2_HANDLED_KEYS_TRIAL if report.get("template") == "2019-trial" else TABLE2_HANDLED_KEYS_2021
    )
    if t2 and all(k in t2 for k in ("new_received", "carried_over", "total_handled", "carried_forward")):
        for c, (col, lab) in enumerate(zip(TABLE2_COLUMNS, TABLE2_COLUMN_LABELS, strict=True)):
            a, b = t2["new_received"][c], t2["carried_over"][c]
            x, y = t2["total_handled"][c], t2["carried_forward"][c]
            if None not in (a, b, x, y) and a + b != x + y:
                out.append(
                    issue(
                        "sum_mismatch",
                        f"row1+row2=row24+row25 fails in column {lab}: {a}+{b}={a + b} but {x}+{y}={x + y}",
                        f"table2.row1+row2=row24+row25.{col}",
                    )
                )
            parts = [t2[k][c] for k in handled_keys if k in t2]
            total = _sum(parts)
            if total is not None and x is not None and len(parts) == len(handled_keys) and total != x:
                out.append(
                    issue(
                        "sum_mismatch",
                        f"row24 (（七）总计) = sum of rows 3-23 fails in column {lab}: rows 3-23 sum to {total}, 总计 says {x}",
                        f"table2.row24=sum(rows3-23).{col}",
                    )
                )
    for key, vals in t2.items():
        six = _sum(vals[:6])
        if six is not None and vals[6] is not None and six != vals[6]:
            out.append(
                issue(
                    "sum_mismatch",
                    f"总计 = sum of the six columns fails in row {key}: columns sum to {six}, 总计 says {vals[6]}",
                    f"table2.{key}.total",
                )
            )
    for group, vals in (report.get("table3") or {}).items():
        four = _sum([vals[f] for f in TABLE3_FIELDS[:4]])
        if four is not None and vals["total"] is not None and four != vals["total"]:
            out.append(
                issue(
                    "sum_mismatch",
                    f"总计 = 维持+纠正+其他+尚未审结 fails for {group}: parts sum to {four}, 总计 says {vals['total']}",
                    f"table3.{group}.total",
                )
            )
    return out
