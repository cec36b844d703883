"""Stored bytes to text: the one charset policy, and the readable text of any stored document.

Everything that turns a fetched or stored document into text goes through here: the crawl's
encoding middleware (so the crawl's fingerprint and a stored version's agree), the parser, the
change diff and the dashboard.

The charset policy (``pick_charset``), first that applies:

1. a byte-order mark (UTF-8, UTF-16);
2. UTF-16 without a mark, told from its NUL bytes (``reports.sniff.utf16``);
3. the header's charset, unless it is a weak server default (latin-1, cp1252, ascii), if the
   bytes decode with it strictly;
4. the page's own ``<meta charset>`` / XML declaration, if the bytes decode with it strictly;
5. UTF-8, then GB18030, if the bytes decode strictly;
6. whichever of those loses fewest characters (a damaged page is read with replacements).

GB2312 and GBK labels read as GB18030, their superset: pages labelled GB2312 often hold GBK
characters.  A wrong header (GBK bytes sent as ``charset=utf-8``) fails step 3 and is read as
the page says.
"""

from __future__ import annotations

import codecs

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, resolve_encoding

from reports.sniff import utf16

# A header charset this weak is usually a server default, not the page's real encoding.
_WEAK = {"cp1252", "latin-1", "latin_1", "iso8859-1", "iso-8859-1", "ascii", "windows-1252"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_GB = {"gb2312", "gbk", "x-gbk", "cp936", "936", "euc-cn", "gb18030"}


def _gb(enc: str | None) -> str | None:
    """GB2312/GBK (any spelling) read as GB18030; other names as w3lib resolves them."""
    if not enc:
        return None
    name = enc.strip().lower()
    return "gb18030" if name in _GB else resolve_encoding(name) or None


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def pick_charset(body: bytes, content_type: str | None = "") -> str:
    """The codec to read ``body`` with, by the policy above; a Python codec name."""
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return enc
    wide = utf16(body[:2048])
    if wide:
        return wide
    header = _gb(http_content_type_encoding(content_type or ""))
    declared = _gb(html_body_declared_encoding(body))
    tried = [header if header not in _WEAK else None, declared, "utf-8", "gb18030"]
    for enc in tried:
        if enc and _decodes(body, enc):
            return enc
    if header in _WEAK:  # bytes any single-byte codec accepts: the server said so
        return header
    usable = [e for e in dict.fromkeys(tried) if e and _known(e)]
    return min(usable, key=lambda e: body.decode(e, errors="replace").count("\ufffd"))


def _known(enc: str) -> bool:
    try:
        codecs.lookup(enc)
        return True
    except LookupError:
        return False


def decode_html(body: bytes, content_type: str | None = "") -> str:
    """``body`` as text by the charset policy (``pick_charset``); never raises for bad bytes.
    Works for any markup or plain text, not only HTML."""
    return body.decode(pick_charset(body, content_type), errors="replace")


def version_text(body: bytes, content_type: str | None = "") -> str:
    """A person-readable text of any stored document, one line per paragraph or table row (a
    row's cells joined by " | "): a page's title and its report (the parser's report zone,
    so no portal chrome), a file's text as the parser reads it.  A document the parser cannot
    read gives its decoded text when it is text, else "(reason)"."""
    from reports.api import read_document
    from reports.errors import ParseError
    from reports.sniff import sniff

    if sniff(body, content_type) == "html":
        body, content_type = _without_chrome(body, content_type)
    try:
        doc = read_document(body, content_type)
    except ParseError as exc:
        from reports.sniff import FILE_FORMATS

        if sniff(body[:65536]) in FILE_FORMATS:
            return f"({exc})"
        return decode_html(body, content_type)
    lines = [t for t in doc.meta.get("html_titles", [])[:1] if t]
    for kind, value in doc.items:
        lines.append(value if kind == "p" else " | ".join(c for c in value if c))
    return "\n".join(lines)


def _without_chrome(body: bytes, content_type: str | None) -> tuple[bytes, str]:
    """A page without the elements whose class or id names chrome (``reports.chrome``: related
    links, counters, clocks, share bars), re-encoded as UTF-8, with its content type; the page as
    it is when it does not parse.  An element holding most of the page is never dropped, whatever
    its name."""
    import lxml.html
    from lxml import etree

    from reports.chrome import chrome_name

    text = decode_html(body, content_type)
    try:
        root = lxml.html.document_fromstring(text.lstrip())
    except (ValueError, etree.ParserError):
        return body, content_type or ""
    total = len(root.text_content())
    found = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and (el.get("class") or el.get("id"))
        and chrome_name(el.get("class"), el.get("id"), False)
        and 2 * len(el.text_content()) < total
    ]
    chosen = set(found)
    for el in found:
        if not chosen.intersection(el.iterancestors()):
            el.drop_tree()
    return lxml.html.tostring(root, encoding="utf-8"), "text/html; charset=utf-8"
