"""HTML: decode (``reports.decode``'s charset policy), find the report body in a portal page (also when it
is split over sibling containers), expand tables."""

from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

from reports.about import part_of
from reports.decode import decode_html
from reports.doc import Doc
from reports.errors import ParseError
from reports.model import PART_HEADINGS
from reports.text import cjk

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
_PART_ORDER = {key: i for i, key in enumerate(PART_HEADINGS)}
_META_NAMES = {
    "pubdate": "published_at",
    "publishtime": "published_at",  # some CMSs' name for PubDate
    "publishdate": "published_at",
    "articletitle": "title",
    "contentsource": "content_source",
    "sitename": "site_name",
    "columnname": "column_name",
}


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
    """Paragraphs and table rows of the whole page in reading order, and for each element the
    range of paragraphs it holds: which elements are the report is decided afterwards."""

    def __init__(self) -> None:
        self.paras: list[str] = []
        self.items: list[tuple[str, Any]] = []  # ("p", paragraph index) or ("row", cells)
        self.spans: dict[etree._Element, tuple[int, int]] = {}
        self.tables: set[etree._Element] = set()  # elements holding a table (rows, no paragraphs)
        self.buf: list[str] = []

    def flush(self) -> None:
        text = re.sub(r"[ \t\r\n\u00a0\u3000]+", " ", "".join(self.buf)).strip()
        self.buf = []
        if text:
            self.items.append(("p", len(self.paras)))
            self.paras.append(text)

    def walk(self, el: etree._Element) -> bool:
        """Walk ``el``; True if it holds a table."""
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP or not tag:
            return False
        block = tag in _BLOCK
        if block:
            self.flush()
        start = len(self.paras)
        has_table = False
        if tag == "table" and not el.xpath(".//table"):
            for row in table_grid(el):
                self.items.append(("row", row))
            has_table = True
        else:
            if el.text:
                self.buf.append(el.text)
            for child in el:
                has_table |= self.walk(child)
                if child.tail:
                    self.buf.append(child.tail)
            if block:
                self.flush()
        # An inline element's text may still be buffered: it ends in the next paragraph.
        pending = not block and any(s.strip() for s in self.buf)
        self.spans[el] = (start, len(self.paras) + pending)
        if has_table:
            self.tables.add(el)
        return has_table


class _Zone:
    """Which elements hold the report's prose: the body element, or the run of sibling
    containers the report was split into (prose, tables, prose), told apart from navigation,
    metadata blocks, related links and footers by the part headings (一、…六、) they carry."""

    def __init__(self, walker: _Walker):
        self.w = walker
        self._part: dict[int, int | None] = {}

    def heads(self, el: etree._Element) -> list[int]:
        """The part headings in ``el``, as positions in the template's order."""
        a, b = self.w.spans.get(el, (0, 0))
        out = []
        for i in range(a, b):
            if i not in self._part:
                key = part_of(self.w.paras[i])
                self._part[i] = _PART_ORDER[key] if key else None
            if self._part[i] is not None:
                out.append(self._part[i])
        return out

    def container(self, el: etree._Element) -> bool:
        """A block of several paragraphs or with a table, not a single heading line."""
        a, b = self.w.spans.get(el, (0, 0))
        return b - a >= 2 or el in self.w.tables

    def kids(self, el: etree._Element) -> list[etree._Element]:
        return [k for k in el if k in self.w.spans]

    def elements(self, body: etree._Element, root: etree._Element) -> list[etree._Element]:
        inner = self._inside(body)
        if inner:
            return inner
        a = body
        while a is not root and a.getparent() is not None:
            parent = a.getparent()
            kids = self.kids(parent)
            if any(self.heads(k) for k in kids if k is not a):
                return self._run(kids, a)
            a = parent
        return [body]

    def _inside(self, body: etree._Element) -> list[etree._Element] | None:
        """The body holds more than the report, which is split over several of its containers
        (the element that held most of the text was a wrapper around page chrome too)."""
        el, n = body, len(self.heads(body))
        while n:
            with_heads = [k for k in self.kids(el) if self.heads(k)]
            if sum(len(self.heads(k)) for k in with_heads) != n:
                return None  # headings in the element's own text: a flat report
            if len(with_heads) >= 2:
                if all(self.container(k) for k in with_heads):
                    return self._run(self.kids(el), None)
                return None
            el = with_heads[0]
        return None

    def _run(self, kids: list[etree._Element], anchor: etree._Element | None) -> list[etree._Element]:
        """The kids from the report's first part to its last: part headings in order (a second
        article starts again at 一), with the blocks between them.  Without an anchor (the
        body element), the run with the most headings."""
        runs: list[list[int]] = []  # indices of the heading kids (and the anchor) of each run
        last = -1
        for i, k in enumerate(kids):
            h = self.heads(k)
            if not h and k is not anchor:
                continue
            if not runs or (h and min(h) <= last):
                runs.append([])
                last = -1
            runs[-1].append(i)
            last = max([last, *h])
        if anchor is not None:
            pick = next(r for r in runs if any(kids[i] is anchor for i in r))
        else:
            pick = max(runs, key=lambda r: sum(len(self.heads(kids[i])) for i in r))
        first, end = pick[0], pick[-1]
        # A flat part (heading and text as sibling lines) goes on to the next container.
        while first > 0 and not self.container(kids[first]) and self._gap_line(kids[first - 1]):
            first -= 1
        while end + 1 < len(kids) and not self.container(kids[end]) and self._gap_line(kids[end + 1]):
            end += 1
        return kids[first : end + 1]

    def _gap_line(self, el: etree._Element) -> bool:
        return not self.container(el) and not self.heads(el)


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


def read_html(raw: bytes, content_type: str | None = None) -> Doc:
    text = decode_html(raw, content_type)
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
    walker = _Walker()
    walker.walk(body_el)
    walker.flush()  # text after the last block (a closing line in <body>) ends the last paragraph
    keep: set[int] = set()
    for el in _Zone(walker).elements(_body(body_el), body_el):
        a, b = walker.spans.get(el, (0, 0))  # none in a body inside a table read as rows
        keep.update(range(a, b))
    for kind, val in walker.items:
        if kind == "row":
            doc.row(val)
        elif val in keep:
            doc.para(walker.paras[val])
    return doc
