"""Tell the format from the content (magic bytes and a look at the text), never the file name."""

from __future__ import annotations

import re

# What sniff() calls a document file (read by the office/PDF readers) and any file at all:
# bytes that are never decoded as text, whatever a server's Content-Type says.
DOCUMENT_FORMATS = frozenset({"pdf", "docx", "zip", "ole"})
FILE_FORMATS = DOCUMENT_FORMATS | {"image"}

_HTML = re.compile(rb"<\s*(!doctype\s+html|html|head|body|meta|table|div|p|title|span)[\s>/]", re.I)


def sniff(data: bytes, content_type: str | None = None) -> str:
    """pdf | docx | zip | ole | rtf | html | text | image | unknown."""
    head = data[:2048]
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "docx" if b"word/" in data[:65536] or b"[Content_Types].xml" in data[:65536] else "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"II*\x00", b"MM\x00*", b"BM")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    ):
        return "image"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"\xff\xfe", b"\xfe\xff")):
        stripped = head.decode("utf-16", errors="ignore").encode("utf-8")
    is_html_type = (content_type or "").startswith(("text/html", "application/xhtml"))
    starts_tag = stripped[:1] == b"<"
    if (_HTML.search(stripped[:1024]) or is_html_type or starts_tag) and _HTML.search(data[:65536]):
        return "html"
    if _looks_text(data):
        return "text"
    return "unknown"


def _looks_text(data: bytes) -> bool:
    sample = data[:65536]
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    for enc in ("utf-8", "gb18030"):
        try:
            text = sample.decode(enc)
        except UnicodeDecodeError:
            if enc == "utf-8":
                # A cut multi-byte character at the end of the sample is fine.
                try:
                    text = sample[:-3].decode(enc)
                except UnicodeDecodeError:
                    continue
            else:
                continue
        bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t\f")
        return bad <= len(text) * 0.01
    return False
