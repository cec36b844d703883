"""Tell the format from the content (magic bytes and a look at the text), never the file name."""

from __future__ import annotations

import codecs
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
    wide = utf16(head)
    if wide:
        # Markup and text are judged on the characters, not on the two-byte code units.
        sample = data[: 2 * _SAMPLE].decode(wide, errors="replace").encode("utf-8")
        return _text_kind(sample[:2048], sample, content_type)
    return _text_kind(head, data[:_SAMPLE], content_type)


def utf16(data: bytes) -> str | None:
    """The UTF-16 codec of ``data``: "utf-16" with a byte-order mark, "utf-16-le"/"utf-16-be"
    when the first code units are mostly ASCII (markup) with their NUL byte on one side; else None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    n = min(len(data), 1024) // 2 * 2
    if n < 16:
        return None
    even, odd = data[0:n:2].count(0), data[1:n:2].count(0)
    # A CJK code unit may hold one NUL byte too (U+4E00 is 00 4E), so ask for a clear majority.
    if odd >= 0.3 * (n // 2) and odd > 4 * even:
        return "utf-16-le"
    if even >= 0.3 * (n // 2) and even > 4 * odd:
        return "utf-16-be"
    return None


_SAMPLE = 65536


def _text_kind(head: bytes, sample: bytes, content_type: str | None) -> str:
    """html | text | unknown for bytes that are not a known binary format."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    is_html_type = (content_type or "").startswith(("text/html", "application/xhtml"))
    starts_tag = stripped[:1] == b"<"
    if (_HTML.search(stripped[:1024]) or is_html_type or starts_tag) and _HTML.search(sample):
        return "html"
    if _looks_text(sample):
        return "text"
    return "unknown"


def _looks_text(sample: bytes) -> bool:
    """UTF-8 or GB18030 text with (almost) no control characters.  ``sample`` is a cut of the
    file: a character split at its end is not an error (the incremental decoder keeps it back)."""
    if b"\x00" in sample:
        return False
    for enc in ("utf-8", "gb18030"):
        try:
            text = codecs.getincrementaldecoder(enc)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t\f")
        return bad <= len(text) * 0.01
    return False
