"""Change events on published reports (``nianbao changes``): what was modified, removed, restored.

Storage records the events as it stores versions, a new version only when the document's
fingerprint changed (``spiders.fingerprint``: page chrome never counts).  This module explains a
``modified`` event — a diff of the report's text (``reports.decode.version_text``: chrome left
out) and of the numbers the parser read from each version, each number with its label in the
template's terms (``monitor.numbers``) — and caches the explanation in the event row.
"""

from __future__ import annotations

import difflib
import json
from typing import Any
from zoneinfo import ZoneInfo

from monitor.glossary import EVENT_LABELS
from monitor.localtime import DEFAULT_ZONE, local_time
from monitor.numbers import change_line, differences
from reports.decode import version_text as document_text
from storage import Store
from storage.queries import parsed_report


def version_text(store: Store, version_id: int) -> str:
    """The readable text of a stored version (``reports.decode.version_text``: a page's title
    and report without the portal chrome, a file's text as the parser reads it)."""
    return document_text(store.version_body(version_id), store.version(version_id)["content_type"] or "")


def explain_modification(store: Store, previous_id: int, version_id: int) -> dict[str, Any]:
    """A text diff (unified, trimmed) and the numbers that changed between two versions."""
    before, after = version_text(store, previous_id), version_text(store, version_id)
    diff = list(
        difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after", lineterm="", n=1)
    )
    detail: dict[str, Any] = {"text_diff": diff[:200], "text_diff_truncated": len(diff) > 200}
    numbers = number_changes(store, previous_id, version_id)
    if numbers is not None:
        detail["numbers"] = numbers
    return detail


def number_changes(store: Store, previous_id: int, version_id: int) -> list[dict[str, Any]] | None:
    """The numbers that differ between two parsed versions, each with its key and its label in
    the template's terms; None while either version is not parsed."""
    old, new = parsed_report(store, previous_id), parsed_report(store, version_id)
    return differences(old, new) if old and new else None


def list_changes(
    store: Store,
    since: str | None = None,
    *,
    newest_first: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Every change event (oldest first, or newest first), each modified one with its diff;
    ``limit`` and ``offset`` take one page of them, and only that page is explained."""
    out = []
    for e in store.events(since, newest_first=newest_first, limit=limit, offset=offset):
        detail = json.loads(e["detail_json"] or "{}")
        # Explained before numbers had labels: explained again, in the template's terms.
        explained = "numbers" in detail and all("label" in n for n in detail["numbers"])
        if e["kind"] == "modified" and e["previous_version_id"] and e["version_id"] and not explained:
            # Numbers need both versions parsed: recompute until they are, then keep.
            detail = explain_modification(store, e["previous_version_id"], e["version_id"])
            store.set_event_detail(e["id"], detail)
        out.append(
            {
                "id": e["id"],
                "kind": e["kind"],
                "kind_label": EVENT_LABELS.get(e["kind"], e["kind"]),
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


def format_changes(changes: list[dict[str, Any]], tz: ZoneInfo = ZoneInfo(DEFAULT_ZONE)) -> str:
    """The events for a person, times in ``tz``: one line each, then the changed numbers and text."""
    if not changes:
        return "no changes"
    lines = []
    for c in changes:
        kind = EVENT_LABELS.get(c["kind"], c["kind"])
        lines.append(f"{local_time(c['at'], tz)}  {kind}  {c['title'] or ''}  {c['url']}")
        detail = c["detail"]
        for n in detail.get("numbers", [])[:20]:
            lines.append(f"    {change_line(n)}")
        for line in detail.get("text_diff", [])[2:12]:
            lines.append(f"    {line}")
        if detail.get("reason"):
            lines.append(f"    ({detail['reason']})")
    return "\n".join(lines)
