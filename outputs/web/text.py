"""The readable text of a stored document version (``reports.decode.version_text``), and a line
diff between two versions."""

from __future__ import annotations

import difflib
import re
from typing import Any

from reports.decode import version_text

_SENTENCE_END = re.compile(r"(?<=[。；！？])")

# The readable text of a stored version is made in one place for the parser, ``changes`` and
# the dashboard (charset policy included): ``reports.decode``.
document_text = version_text


def text_lines(text: str) -> list[str]:
    """Non-empty lines with collapsed spaces, long lines cut after each sentence."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"[ \t\u3000\xa0]+", " ", line).strip()
        out.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return out


def line_diff(old: str, new: str, context: int = 2) -> dict[str, Any]:
    """A unified line diff as rows {kind: hunk|add|del|same, text}, with counts."""
    a, b = text_lines(old), text_lines(new)
    rows = []
    added = removed = 0
    for line in difflib.unified_diff(a, b, lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            rows.append({"kind": "hunk", "text": line})
        elif line.startswith("+"):
            added += 1
            rows.append({"kind": "add", "text": line[1:]})
        elif line.startswith("-"):
            removed += 1
            rows.append({"kind": "del", "text": line[1:]})
        else:
            rows.append({"kind": "same", "text": line[1:]})
    return {"rows": rows, "added": added, "removed": removed, "old_lines": len(a), "new_lines": len(b)}
