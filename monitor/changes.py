"""Change events on published reports (``nianbao changes``): what was modified, removed, restored.

Storage records the events as it stores versions, a new version only when the document's
fingerprint changed (``spiders.fingerprint``: page chrome never counts).  This module explains a
``modified`` event — a diff of the report's text (chrome left out, as in the fingerprint) and of
the numbers the parser read from each version — and caches the explanation in the event row.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from crawler.stored import stored_page
from reports.sniff import DOCUMENT_FORMATS, sniff
from spiders.fingerprint import report_lines
from spiders.pages import page_meta, page_title
from storage import Store


def flatten_numbers(report: dict[str, Any]) -> dict[str, Any]:
    """Every number of the three tables under a dotted name: ``table2.new_received[6]`` → 12."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}", v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        elif isinstance(value, int | float) or value is None:
            out[prefix] = value

    for table in ("table1", "table2", "table3"):
        walk(table, report.get(table) or {})
    return out


def version_text(store: Store, version_id: int) -> str:
    """The readable text of a stored version: a page's title and report text (chrome left out,
    one normalised line per source line), a document's sections via the parser."""
    body = store.version_body(version_id)
    if sniff(body) in DOCUMENT_FORMATS:
        from reports import ParseError, parse_bytes

        try:
            report = parse_bytes(body)
        except ParseError as exc:
            return f"({exc})"
        return "\n".join(str(v) for v in (report.get("sections") or {}).values())
    sel = stored_page(body, store.version(version_id)["content_type"] or "")
    if sel is None:
        return body.decode("utf-8", errors="replace")
    return "\n".join([page_title(sel, page_meta(sel)), *report_lines(sel.root)])


def _parsed(store: Store, version_id: int) -> dict[str, Any] | None:
    row = store.db.execute(
        "SELECT data_json FROM reports WHERE version_id = ? AND data_json IS NOT NULL ORDER BY id DESC LIMIT 1",
        [version_id],
    ).fetchone()
    return json.loads(row[0]) if row else None


def explain_modification(store: Store, previous_id: int, version_id: int) -> dict[str, Any]:
    """A text diff (unified, trimmed) and the numbers that changed between two versions."""
    before, after = version_text(store, previous_id), version_text(store, version_id)
    diff = list(
        difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=1)
    )
    detail: dict[str, Any] = {"text_diff": diff[:200], "text_diff_truncated": len(diff) > 200}
    old, new = _parsed(store, previous_id), _parsed(store, version_id)
    if old and new:
        a, b = flatten_numbers(old), flatten_numbers(new)
        detail["numbers"] = [
            {"field": k, "before": a.get(k), "after": b.get(k)}
            for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)
        ]
    return detail


def list_changes(store: Store, since: str | None = None) -> list[dict[str, Any]]:
    """Every change event (oldest first), each modified one with its diff."""
    out = []
    for e in store.events(since):
        detail = json.loads(e["detail_json"] or "{}")
        explained = "text_diff" in detail and "numbers" in detail
        if e["kind"] == "modified" and e["previous_version_id"] and e["version_id"] and not explained:
            # Numbers need both versions parsed: recompute until they are, then keep.
            detail = explain_modification(store, e["previous_version_id"], e["version_id"])
            store.set_event_detail(e["id"], detail)
        out.append(
            {
                "id": e["id"],
                "kind": e["kind"],
                "at": e["at"],
                "source_id": e["source_id"],
                "url": e["url"],
                "title": e["title"],
                "version_id": e["version_id"],
                "previous_version_id": e["previous_version_id"],
                "detail": detail,
            }
        )
    return out


def format_changes(changes: list[dict[str, Any]]) -> str:
    """The events for a person: one line each, then the changed numbers and text."""
    if not changes:
        return "no changes"
    lines = []
    for c in changes:
        lines.append(f"{c['at']}  {c['kind']:<9} {c['title'] or ''}  {c['url']}")
        detail = c["detail"]
        for n in detail.get("numbers", [])[:20]:
            lines.append(f"    {n['field']}: {n['before']} → {n['after']}")
        for line in detail.get("text_diff", [])[2:12]:
            lines.append(f"    {line}")
        if detail.get("reason"):
            lines.append(f"    ({detail['reason']})")
    return "\n".join(lines)
