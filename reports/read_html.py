"""HTML: decode (gb2312/gbk via gb18030), find the report body in a portal page, expand tables."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from reports.doc import Doc
from reports.errors import ParseError
from reports.text import cjk

_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([\w-]+)""", re.I)
_BLOCK = {
    "p",
    "div",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "tr",
    "td",
    "th",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "center",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "dl",
    "form",
    "hr",
    "tbody",
    "thead",
    "main",
    "aside",
}
_SKIP = {"script", "style", "noscript", "iframe", "select", "option", "button", "head", "title"}
_BODY_HINTS = re.compile(r"zoom|trs_editor|article|content|detail|zw|text|main|con", re.I)
_META_NAMES = {
    "pubdate": "published_at",
    "articletitle": "title",
    "contentsource": "content_source",
    "sitename": "site_name",
    "columnname": "column_name",
}


def decode(raw: bytes, charset: str | None = None) -> str:
    """Bytes to text: the declared charset, with GB2312/GBK read as GB18030 (a superset)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    m = _CHARSET.search(raw[:4096])
    enc = (charset or (m.group(1).decode("ascii", "replace") if m else "")).lower()
    if enc in ("gb2312", "gbk", "gb18030", "x-gbk", "cp936"):
        return raw.decode("gb18030", errors="replace")
    try:
        return raw.decode(enc or "utf-8")
    except (LookupError, UnicodeDecodeError):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("gb18030", errors="replace")


def _cell_text(td: etree._Element) -> str:
    return re.sub(r"\s+", "", td.text_content())


def table_grid(table: etree._Element) -> list[list[str | None]]:
    """Rows of a table with rowspan/colspan expanded: merged continuation slots are None."""
    grid: list[list[str | None]] = []
    carry: dict[tuple[int, int], None] = {}
    trs = table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")
    for r, tr in enumerate(trs):
        row: list[str | None] = []
        c = 0
        for td in tr.xpath("./td|./th"):
            while (r, c) in carry:
                row.append(carry.pop((r, c)))
                c += 1
            try:
                rs = max(1, min(int(td.get("rowspan") or 1), 200))
                cs = max(1, min(int(td.get("colspan") or 1), 50))
            except ValueError:
                rs, cs = 1, 1
            txt = _cell_text(td)
            for dc in range(cs):
                row.append(txt if dc == 0 else None)
                for dr in range(1, rs):
                    carry[(r + dr, c + dc)] = None
            c += cs
        while (r, c) in carry:
            row.append(carry.pop((r, c)))
            c += 1
        grid.append(row)
    return grid


class _Walker:
    """Paragraphs from the report body only; table rows from the whole page (a portal may put
    the tables in a sibling of the element that holds most of the prose)."""

    def __init__(self, doc: Doc, body: etree._Element):
        self.doc = doc
        self.body = body
        self.inside = False
        self.buf: list[str] = []

    def flush(self) -> None:
        text = re.sub(r"[ \t\r\n\u00a0\u3000]+", " ", "".join(self.buf)).strip()
        self.buf = []
        if text and self.inside:
            self.doc.para(text)

    def walk(self, el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP or not tag:
            return
        entering = el is self.body
        if entering:
            self.flush()
            self.inside = True
        if tag == "table" and not el.xpath(".//table"):
            self.flush()
            for row in table_grid(el):
                self.doc.row(row)
        else:
            block = tag in _BLOCK
            if block:
                self.flush()
            if el.text:
                self.buf.append(el.text)
            for child in el:
                self.walk(child)
                if child.tail:
                    self.buf.append(child.tail)
            if block:
                self.flush()
        if entering:
            self.flush()
            self.inside = False


def _body(root: etree._Element) -> etree._Element:
    """The element holding the report: a known article container, else the deepest element
    that still holds most of the page's text (portal navigation and footers are small)."""
    total = len(cjk(root.text_content()))
    best, best_depth = root, -1
    for el in root.iter("div", "td", "article", "section", "main"):
        n = len(cjk(el.text_content()))
        if total and n >= 0.6 * total:
            depth = len(list(el.iterancestors()))
            hint = _BODY_HINTS.search((el.get("id") or "") + " " + (el.get("class") or ""))
            if depth > best_depth or (hint and depth == best_depth):
                best, best_depth = el, depth
    return best


def read_html(raw: bytes, charset: str | None = None) -> Doc:
    text = decode(raw, charset)
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as e:
        raise ParseError(f"unreadable HTML: {e}") from e
    for bad in root.xpath("//script|//style|//noscript|//comment()"):
        parent = bad.getparent()
        if parent is not None:
            bad.drop_tree()
    doc = Doc(fmt="html")
    for m in root.xpath("//meta[@name]"):
        key = _META_NAMES.get((m.get("name") or "").lower())
        if key and (m.get("content") or "").strip():
            doc.meta.setdefault(key, m.get("content").strip())
    heads = root.xpath("//title") + root.xpath("//h1")
    doc.meta["html_titles"] = [re.sub(r"\s+", "", h.text_content()) for h in heads]
    body_el = root.find("body")
    if body_el is None:
        body_el = root
    doc.page_text = re.sub(r"[ \t\u00a0\u3000]+", " ", body_el.text_content())
    _Walker(doc, _body(body_el)).walk(body_el)
    return doc
