"""PDF: ruled tables with pdfplumber, the text around them in reading order; scans go to OCR."""

from __future__ import annotations

import bisect
import io
import re

from reports.doc import Doc
from reports.errors import ParseError
from reports.limits import Limits

MAX_PAGES = 200


def _open_pdfium(data: bytes):
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        msg = str(e)
        if "password" in msg.lower():
            raise ParseError("encrypted (password-protected) PDF") from e
        raise ParseError(f"unreadable PDF (truncated or corrupt): {msg}") from e


def looks_scanned(text: str, pages: int) -> bool:
    """Too few readable CJK characters for a report: a scan, or a text layer without ToUnicode."""
    n_cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    bad = text.count("(cid:") + sum(ch < " " and ch not in "\r\n\t" for ch in text)
    return n_cjk < 10 * max(1, pages) or bad > n_cjk


def has_images(data: bytes) -> bool:
    """Does any page hold an image (a scan to OCR)?"""
    import pypdfium2.raw as raw

    pdf = _open_pdfium(data)
    try:
        for i in range(min(len(pdf), MAX_PAGES)):
            if next(iter(pdf[i].get_objects(filter=[raw.FPDF_PAGEOBJ_IMAGE], max_depth=3)), None) is not None:
                return True
        return False
    finally:
        pdf.close()


def _inside(obj: dict, boxes: list[tuple[float, float, float, float]]) -> bool:
    cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
    return any(x0 <= cx <= x1 and t <= cy <= b for x0, t, x1, b in boxes)


def read_pdf_text(data: bytes, limits: Limits | None = None) -> Doc:
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    doc = Doc(fmt="pdf")
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PDFSyntaxError, Exception) as e:
        raise ParseError(f"unreadable PDF: {type(e).__name__}: {e}") from e
    with pdf:
        for page in pdf.pages[:MAX_PAGES]:
            items: list[tuple[float, str, object]] = []
            tables = page.find_tables() if _few_rulings(page, limits or Limits(), doc) else []
            boxes = [t.bbox for t in tables]
            for t in tables:
                rows = t.extract()
                items.append(
                    (t.bbox[1], "table", [[re.sub(r"\s+", "", c) if c else c for c in r] for r in rows])
                )
            outside = page.filter(lambda o, b=boxes: not _inside(o, b)) if boxes else page
            for line in outside.extract_text_lines(return_chars=False):
                items.append((line["top"], "p", line["text"]))
            for _, kind, val in sorted(items, key=lambda x: x[0]):
                if kind == "table":
                    for row in val:
                        doc.row(row)
                else:
                    doc.para(val)
            page.close()  # pdfplumber keeps every page's layout objects otherwise (~5 MB a page)
    return doc


def _few_rulings(page, limits: Limits, doc: Doc) -> bool:
    """Has the pdfplumber page rulings to look for tables in, and not more than the bound?"""
    n = len(page.lines) + 4 * len(page.rects)
    if n > limits.max_rulings:
        doc.meta.setdefault("tables_skipped", []).append(page.page_number)
    return 0 < n <= limits.max_rulings


# -- the fast path: pypdfium2 ruling lines + text in rectangles ---------------------------------

_TOL = 2.0


def _segments(page) -> tuple[list, list]:
    """Horizontal (x0, x1, y) and vertical (y0, y1, x) rulings, from path objects' bounds."""
    import pypdfium2.raw as raw

    hs, vs = [], []
    for obj in page.get_objects(filter=[raw.FPDF_PAGEOBJ_PATH], max_depth=3):
        left, bottom, right, top = obj.get_bounds()
        w, h = right - left, top - bottom
        if h <= 2.5 and w > 3:
            hs.append((left, right, (bottom + top) / 2))
        elif w <= 2.5 and h > 3:
            vs.append((bottom, top, (left + right) / 2))
        elif w > 3 and h > 3 and raw.FPDFPath_CountSegments(obj.raw) <= 6:
            # A rectangle (a cell border drawn with 're'): its four edges.
            hs += [(left, right, bottom), (left, right, top)]
            vs += [(bottom, top, left), (bottom, top, right)]
    return hs, vs


def _cluster(values: list[float]) -> list[float]:
    out: list[float] = []
    for v in sorted(values):
        if out and v - out[-1] <= _TOL:
            continue
        out.append(v)
    return out


def _tables(hs: list, vs: list) -> list[tuple[list, list]]:
    """Group rulings that touch each other into tables."""
    n = len(hs) + len(vs)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (x0, x1, y) in enumerate(hs):
        for j, (y0, y1, x) in enumerate(vs):
            if x0 - _TOL <= x <= x1 + _TOL and y0 - _TOL <= y <= y1 + _TOL:
                parent[find(i)] = find(len(hs) + j)
    groups: dict[int, tuple[list, list]] = {}
    for i, s in enumerate(hs):
        groups.setdefault(find(i), ([], []))[0].append(s)
    for j, s in enumerate(vs):
        groups.setdefault(find(len(hs) + j), ([], []))[1].append(s)
    return [g for g in groups.values() if len(g[0]) >= 2 and len(g[1]) >= 2]


def page_chars(textpage) -> list[tuple[float, float, str]]:
    """Every drawn character of a page as (x, y, char) at the centre of its glyph box."""
    import pypdfium2.raw as raw

    out = []
    for i in range(textpage.count_chars()):
        ch = chr(raw.FPDFText_GetUnicode(textpage.raw, i))
        if ch.isspace() or ch == "\x00":  # generated spaces and line ends carry no box
            continue
        left, bottom, right, top = textpage.get_charbox(i)
        out.append(((left + right) / 2, (bottom + top) / 2, ch))
    return out


def _lattice(
    hs: list, vs: list, chars: list[tuple[float, float, str]]
) -> tuple[tuple[float, float, float, float], list[list[str | None]]]:
    """The table's grid: each character goes to the one cell its glyph centre lies in (a
    glyph that reaches over a ruling line, as spaced-apart digits do, stays in its own cell);
    merged slots are None."""
    xs = _cluster([x for _, _, x in vs])
    ys = _cluster([y for _, _, y in hs])[::-1]  # top to bottom (PDF y grows upwards)

    # Rulings by grid line, so a border test looks at one line's segments only.
    v_at: dict[int, list[tuple[float, float]]] = {}
    for y0, y1, x in vs:
        k = min(range(len(xs)), key=lambda i: abs(xs[i] - x))
        v_at.setdefault(k, []).append((y0 - _TOL, y1 + _TOL))
    h_at: dict[int, list[tuple[float, float]]] = {}
    for x0, x1, y in hs:
        k = min(range(len(ys)), key=lambda i: abs(ys[i] - y))
        h_at.setdefault(k, []).append((x0 - _TOL, x1 + _TOL))

    def has_v(k: int, y: float) -> bool:
        return any(a <= y <= b for a, b in v_at.get(k, ()))

    def has_h(k: int, x: float) -> bool:
        return any(a <= x <= b for a, b in h_at.get(k, ()))

    nr, nc = len(ys) - 1, len(xs) - 1
    owner = [[(r, c) for c in range(nc)] for r in range(nr)]
    for r in range(nr):
        ym = (ys[r] + ys[r + 1]) / 2
        for c in range(nc):
            xm = (xs[c] + xs[c + 1]) / 2
            if c > 0 and not has_v(c, ym):
                owner[r][c] = owner[r][c - 1]
            elif r > 0 and not has_h(r, xm):
                owner[r][c] = owner[r - 1][c]
    extent: dict[tuple[int, int], list[int]] = {}
    for r in range(nr):
        for c in range(nc):
            e = extent.setdefault(owner[r][c], [r, c, r, c])
            e[2], e[3] = max(e[2], r), max(e[3], c)
    grid: list[list[str | None]] = [[None] * nc for _ in range(nr)]
    for r0, c0, _r1, _c1 in extent.values():
        grid[r0][c0] = ""
    down = [-y for y in ys]  # ascending, for bisect
    for x, y, ch in chars:
        c = bisect.bisect_right(xs, x) - 1
        r = bisect.bisect_right(down, -y) - 1
        if 0 <= c < nc and 0 <= r < nr:
            r0, c0 = owner[r][c]
            grid[r0][c0] += ch
    return (xs[0], ys[-1], xs[-1], ys[0]), grid


def _bounded(
    groups: list[tuple[list, list]], limits: Limits, page_no: int, doc: Doc
) -> list[tuple[list, list]]:
    """The ruling groups whose grid has at most ``limits.max_cells`` cells: a bigger grid is no
    report table, and assembling it costs memory and time in its number of cells."""
    out = []
    for hs, vs in groups:
        cells = (len(_cluster([x for *_, x in vs])) - 1) * (len(_cluster([y for *_, y in hs])) - 1)
        if cells <= limits.max_cells:
            out.append((hs, vs))
        else:
            doc.meta.setdefault("tables_skipped", []).append(page_no)
    return out


def _rulings(page, limits: Limits, page_no: int, doc: Doc) -> tuple[list, list]:
    """The page's rulings, or none when there are more than ``limits.max_rulings`` of them
    (grouping them is quadratic in their number; the page's text is still read)."""
    hs, vs = _segments(page)
    if len(hs) + len(vs) > limits.max_rulings:
        doc.meta.setdefault("tables_skipped", []).append(page_no)
        return [], []
    return hs, vs


def read_pdf_fast(data: bytes, limits: Limits | None = None) -> Doc:
    """Tables from ruling lines (pypdfium2 path objects) and text by rectangle: ~10x faster than
    pdfplumber on born-digital reports; api falls back to pdfplumber when this finds no tables.
    Pages with more rulings or cells than ``limits`` allows are read as text only."""
    limits = limits or Limits()
    pdf = _open_pdfium(data)
    doc = Doc(fmt="pdf")
    try:
        if len(pdf) == 0:
            raise ParseError("PDF has no pages")
        doc.meta["pages"] = min(len(pdf), MAX_PAGES)
        for i in range(min(len(pdf), MAX_PAGES)):
            page = pdf[i]
            width, height = page.get_size()
            textpage = page.get_textpage()
            groups = _bounded(_tables(*_rulings(page, limits, i + 1, doc)), limits, i + 1, doc)
            chars = page_chars(textpage) if groups else []
            found = [_lattice(h, v, chars) for h, v in groups]
            found.sort(key=lambda t: -t[0][3])  # top of the page first
            top = height
            for (_x0, y0, _x1, y1), grid in found:
                _band(doc, textpage, width, top, y1)
                for row in grid:
                    doc.row(row)
                top = y0
            _band(doc, textpage, width, top, 0)
    finally:
        pdf.close()
    return doc


def _band(doc: Doc, textpage, width: float, top: float, bottom: float) -> None:
    if top - bottom < 1:
        return
    text = textpage.get_text_bounded(left=0, bottom=bottom, right=width, top=top)
    for line in text.replace("\r", "\n").split("\n"):
        doc.para(line)
