"""PDF: ruled tables with pdfplumber, the text around them in reading order; scans go to OCR."""

from __future__ import annotations

import io
import re

from reports.doc import Doc
from reports.errors import ParseError

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


def page_texts(data: bytes) -> list[str]:
    """Fast text of every page (pypdfium2): used to tell text PDFs from scans."""
    pdf = _open_pdfium(data)
    try:
        if len(pdf) == 0:
            raise ParseError("PDF has no pages")
        return [pdf[i].get_textpage().get_text_range() for i in range(min(len(pdf), MAX_PAGES))]
    finally:
        pdf.close()


def looks_scanned(texts: list[str]) -> bool:
    """Too few readable CJK characters for a report: a scan, or a text layer without ToUnicode."""
    text = "".join(texts)
    n_cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in text)
    bad = text.count("(cid:") + sum(ch < " " and ch not in "\r\n\t" for ch in text)
    return n_cjk < 20 * max(1, len(texts)) // 2 or bad > n_cjk


def _inside(obj: dict, boxes: list[tuple[float, float, float, float]]) -> bool:
    cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
    return any(x0 <= cx <= x1 and t <= cy <= b for x0, t, x1, b in boxes)


def read_pdf_text(data: bytes) -> Doc:
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
            tables = page.find_tables() if (page.rects or page.lines) else []
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
    return doc
