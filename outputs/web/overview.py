"""The overview's arithmetic, apart from any page: which year to open on, what counts as a problem,
the agencies in problems-first order, and the counts per year and per region.

Inputs are the monitor's status rows (``monitor.status.compute_status``) and the stored events by
document URL (``storage.reads.events_for_urls``); nothing here reads the database.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from monitor.status import STATUSES

# Problems, worst first: a report not there, one nobody can check, one late; then a report
# changed after publication (its status may be 按时).
PROBLEM_STATUSES = ("missing", "not_checkable", "late")
CHANGE_KINDS = ("removed", "modified")


def focus_year(rows: list[dict[str, Any]], as_of: date) -> int | None:
    """The latest report year with a deadline passed by ``as_of`` (some report of it is due);
    the latest year when none is due yet; None without rows."""
    day = as_of.isoformat()
    due = [r["year"] for r in rows if r["deadline"] < day]
    if due:
        return max(due)
    return max((r["year"] for r in rows), default=None)


def after_publication(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """What happened to a published report, from its document's events (oldest first):
    ``{"removed": bool, "modified": n, "at": last event}``; None when nothing did.

    Removed means removed now (a later restore undoes it); modified counts every edit.
    """
    if not events:
        return None
    removed = False
    modified = 0
    for e in events:
        if e["kind"] == "removed":
            removed = True
        elif e["kind"] == "restored":
            removed = False
        elif e["kind"] == "modified":
            modified += 1
    if not removed and not modified:
        return None
    return {"removed": removed, "modified": modified, "at": events[-1]["at"]}


def problem_of(cell: dict[str, Any] | None) -> str | None:
    """The cell's problem: its status when a problem, else "removed"/"modified"; None if fine."""
    if cell is None:
        return None
    if cell["status"] in PROBLEM_STATUSES:
        return cell["status"]
    change = cell.get("change")
    if change:
        return "removed" if change["removed"] else "modified"
    return None


def problem_rank(problem: str | None) -> int:
    """Order of problems: missing, not checkable, late, removed, modified, then none."""
    order = (*PROBLEM_STATUSES, *CHANGE_KINDS)
    return order.index(problem) if problem in order else len(order)


def agencies_by_problem(
    rows: list[dict[str, Any]], year: int | None, events: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One entry per agency (in the rows' order) with its ``cells`` by year, each cell a status
    row plus ``change`` (from ``events``, which must hold at least ``year``'s URLs); the agencies
    with a problem in ``year`` come first (worst first), each entry's ``problem`` naming it.
    ``with_details`` completes the cells of the agencies shown."""
    agencies: dict[str, dict[str, Any]] = {}
    for r in rows:
        a = agencies.setdefault(
            r["agency"], {"name": r["agency"], "kind": r["kind"], "region": r["region"], "cells": {}}
        )
        a["cells"][r["year"]] = _cell(r, {}, events)
    out = list(agencies.values())
    for a in out:
        a["problem"] = problem_of(a["cells"].get(year))
    out.sort(key=lambda a: problem_rank(a["problem"]))  # stable: the monitor's order within a rank
    return out


def cell_urls(agencies: list[dict[str, Any]]) -> set[str]:
    """The report URLs of these agencies' cells."""
    return {c["url"] for a in agencies for c in a["cells"].values() if c["url"]}


def with_details(
    agencies: list[dict[str, Any]], report_ids: dict[str, int], events: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The agencies with every cell's ``report_id`` and ``change`` (of every year) filled in."""
    for a in agencies:
        a["cells"] = {y: _cell(c, report_ids, events) for y, c in a["cells"].items()}
    return agencies


def _cell(
    row: dict[str, Any], report_ids: dict[str, int], events: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    url = row["url"]
    return dict(
        row,
        report_id=report_ids.get(url) if url else None,
        change=after_publication(events.get(url, [])) if url else None,
    )


def status_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Status → how many rows have it, for every status (0 included)."""
    counts = Counter(r["status"] for r in rows)
    return {s: counts.get(s, 0) for s in STATUSES}


def counts_by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, int]]:
    """``key``'s value (year, region) → its status counts, in sorted order of the values."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    return {k: status_counts(groups[k]) for k in sorted(groups, key=lambda v: (v is None, v))}
