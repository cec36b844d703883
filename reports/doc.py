"""What every reader produces: the document as paragraphs and table rows in reading order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A paragraph: ("p", text).  A table row: ("row", [cell text or None for a merged slot]).
Item = tuple[str, Any]


@dataclass
class Doc:
    items: list[Item] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # page metadata found in the document
    page_text: str = ""  # text around the report (portal chrome), searched for a 发布日期 line
    fmt: str = ""

    def para(self, text: str) -> None:
        text = text.strip()
        if text:
            self.items.append(("p", text))

    def row(self, cells: list[str | None]) -> None:
        if any(c is not None for c in cells):  # an all-blank row still counts (blank cells)
            self.items.append(("row", cells))

    def paragraphs(self) -> list[str]:
        return [v for k, v in self.items if k == "p"]

    def rows(self) -> list[list[str | None]]:
        return [v for k, v in self.items if k == "row"]

    def head_text(self, limit: int = 4000) -> str:
        """The document's first ``limit`` characters in reading order, a row's cells joined by
        " | ": what a title line and metadata fields are read from when no page surrounds it."""
        out: list[str] = []
        size = 0
        for kind, value in self.items:
            line = value if kind == "p" else " | ".join(c for c in value if c)
            out.append(line)
            size += len(line) + 1
            if size >= limit:
                break
        return "\n".join(out)[:limit]
