"""The readable text of a stored document version, and a line diff between two versions."""

from __future__ import annotations

import difflib
import io
import re
from typing import Any

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
_SENTENCE_END = re.compile(r"(?<=[。；！？])")


def _html_text(body: bytes, content_type: str) -> str:
    import lxml.etree
    import lxml.html

    charset = None
    m = re.search(r"charset=([A-Za-z0-9_-]+)", content_type or "", re.I) or _CHARSET.search(body[:4096])
    if m:
        charset = m.group(1).decode() if isinstance(m.group(1), bytes) else m.group(1)
    if charset and charset.lower() in ("gb2312", "gbk"):
        charset = "gb18030"  # the superset: pages labelled GB2312 often hold GBK characters
    try:
        text = body.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        text = body.decode("gb18030", errors="replace")
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    try:
        root = lxml.html.document_fromstring(text)
    except (ValueError, lxml.etree.ParserError):
        return text
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    # Block ends become line ends (and cells tabs), so the diff works line by line.
    for el in root.xpath("//title|//br|//p|//div|//tr|//li|//h1|//h2|//h3|//h4|//h5|//h6|//td|//th"):
        el.tail = ("\t" if el.tag in ("td", "th") else "\n") + (el.tail or "")
    return root.text_content()


def _pdf_text(body: bytes) -> str:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(body)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()


def _docx_text(body: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(body))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def document_text(body: bytes, content_type: str = "") -> str:
    """Plain text of a document: HTML, PDF, DOCX or text; an empty string when unreadable."""
    ct = (content_type or "").lower()
    try:
        if body.startswith(b"%PDF") or "pdf" in ct:
            return _pdf_text(body)
        if body.startswith(b"PK") and (b"word/" in body[:4096] or "officedocument" in ct):
            return _docx_text(body)
        if "html" in ct or "xml" in ct or body.lstrip()[:1] == b"<":
            return _html_text(body, content_type)
        for enc in ("utf-8", "gb18030"):
            try:
                return body.decode(enc)
            except UnicodeDecodeError:
                continue
    except Exception:  # a broken file is shown as "no text", never as a server error
        return ""
    return ""


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
