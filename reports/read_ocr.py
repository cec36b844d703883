"""Scanned PDFs and images: render pages with pypdfium2, recognise with rapidocr (offline).

Recognised boxes are grouped into lines by their vertical position; a line with numbers becomes
a table row (label boxes, then value boxes, left to right), any other line a paragraph.  Label
text that wrapped above or below a row of numbers inside its cell is joined to that row.
"""

from __future__ import annotations

import io
import threading
import warnings

from reports.doc import Doc
from reports.errors import ParseError
from reports.limits import LimitError, Limits
from reports.text import is_value, norm

DPI = 150
_ENGINE = None
_LOCK = threading.Lock()


def engine():
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            from rapidocr import RapidOCR

            # Report pages are never rotated: skip the angle classifier (a model run per box).
            _ENGINE = RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False})
    return _ENGINE


def _lines(
    boxes: list[tuple[float, float, float, float, str]],
) -> list[list[tuple[float, float, float, float, str]]]:
    """Group (x0, y0, x1, y1, text) boxes into lines by vertical overlap."""
    lines: list[list] = []
    for b in sorted(boxes, key=lambda b: (b[1] + b[3]) / 2):
        cy, h = (b[1] + b[3]) / 2, b[3] - b[1]
        if lines:
            last = lines[-1]
            ly = sum((x[1] + x[3]) / 2 for x in last) / len(last)
            lh = sum(x[3] - x[1] for x in last) / len(last)
            if abs(cy - ly) < 0.45 * min(h, lh) + 1:
                last.append(b)
                continue
        lines.append([b])
    return [sorted(line, key=lambda b: b[0]) for line in lines]


def _page_items(boxes: list[tuple[float, float, float, float, str]], doc: Doc) -> None:
    lines = _lines(boxes)

    def cy(line: list) -> float:
        return sum((b[1] + b[3]) / 2 for b in line) / len(line)

    def height(line: list) -> float:
        return sum(b[3] - b[1] for b in line) / len(line)

    rows = []
    for i, line in enumerate(lines):
        n_val = sum(1 for b in line if norm(b[4]) and is_value(b[4]))
        if n_val and (len(line) > 1 or n_val >= 2):
            rows.append(i)
    # Each short text line in the label area joins the nearest row of numbers, when it is close
    # enough to be a wrapped line of that row's label cell.
    attached: dict[int, list[int]] = {i: [] for i in rows}
    taken: set[int] = set()
    for j, line in enumerate(lines):
        if j in attached or not rows:
            continue
        nearest = min(rows, key=lambda i: abs(cy(lines[i]) - cy(line)))
        row = lines[nearest]
        x_first_val = min((b[0] for b in row if is_value(b[4])), default=1e9)
        close = abs(cy(row) - cy(line)) < 1.7 * min(height(row), height(line))
        if close and max(b[2] for b in line) < x_first_val and len("".join(b[4] for b in line)) < 60:
            attached[nearest].append(j)
            taken.add(j)
    for i, line in enumerate(lines):
        if i in attached:
            parts = [(cy(line), "".join(b[4] for b in line if not is_value(b[4])))]
            parts += [(cy(lines[j]), "".join(b[4] for b in lines[j])) for j in attached[i]]
            label = "".join(t for _, t in sorted(parts))
            vals = [b[4] for b in line if is_value(b[4])]
            doc.row([label, *vals] if label else vals)
        elif i not in taken:
            doc.para("".join(b[4] for b in line))


def _ocr_page(img, doc: Doc) -> None:
    import numpy as np

    res = engine()(np.array(img.convert("RGB")))
    boxes = []
    if res is not None and res.boxes is not None:
        for pts, txt in zip(res.boxes, res.txts, strict=False):
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            boxes.append((min(xs), min(ys), max(xs), max(ys), txt))
    _page_items(boxes, doc)


def read_images(images: list) -> Doc:
    doc = Doc(fmt="ocr")
    for img in images:
        _ocr_page(img, doc)
    return doc


def render_scale(width: float, height: float, max_pixels: int) -> float:
    """Pixels per point for a page of ``width`` × ``height`` points: DPI, or less when that
    would make more than ``max_pixels`` pixels (a poster-sized page is shrunk, not refused)."""
    scale = DPI / 72
    area = max(width, 1.0) * max(height, 1.0)
    if area * scale * scale > max_pixels:
        scale = (max_pixels / area) ** 0.5
    return scale


def read_scanned_pdf(data: bytes, max_pages: int = 20, limits: Limits | None = None) -> Doc:
    """OCR the first ``max_pages`` pages (~5-10 s each on one core; reports are rarely longer),
    one page rendered at a time, each at most ``limits.max_ocr_pixels`` pixels."""
    import pypdfium2 as pdfium

    limits = limits or Limits()
    _check_ocr(limits)
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise ParseError(f"unreadable PDF: {e}") from e
    doc = Doc(fmt="ocr")
    try:
        for i in range(min(len(pdf), max_pages)):
            page = pdf[i]
            scale = render_scale(*page.get_size(), limits.max_ocr_pixels)
            img = page.render(scale=scale, grayscale=True).to_pil()
            page.close()
            _ocr_page(img, doc)
    finally:
        pdf.close()
    return doc


def read_image(data: bytes, limits: Limits | None = None) -> Doc:
    """OCR an image file; one over ``limits.max_ocr_pixels`` is refused before it is decoded."""
    from PIL import Image, UnidentifiedImageError

    limits = limits or Limits()
    _check_ocr(limits)
    try:
        with warnings.catch_warnings():  # the pixel bound below is tighter than Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
        if img.width * img.height > limits.max_ocr_pixels:
            raise LimitError(
                f"image is {img.width}x{img.height} pixels, over the {limits.max_ocr_pixels}-pixel "
                "bound for OCR (parse.max_ocr_megapixels)"
            )
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise ParseError(f"unreadable image: {e}") from e
    return read_images([img])


def _check_ocr(limits: Limits) -> None:
    if not limits.ocr:
        raise ParseError("a scanned document or image, and OCR is off (parse.ocr: false)")
