"""DOCX: paragraphs and tables in document order; merged cells read from their origin only."""

from __future__ import annotations

import io
import zipfile

from reports.doc import Doc
from reports.errors import ParseError

# A report DOCX unpacks to a few MB; anything far beyond is a zip bomb.
MAX_UNPACKED = 300 * 2**20
MAX_RATIO = 200


def check_zip(data: bytes) -> zipfile.ZipFile:
    """Open the zip and refuse corrupt archives, zip bombs and zips that are not Word files."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ParseError(f"corrupt DOCX (bad zip archive): {e}") from e
    names = {i.filename for i in infos}
    if "word/document.xml" not in names:
        raise ParseError("zip archive is not a Word document (no word/document.xml)")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNPACKED or total / packed > MAX_RATIO and total > 20 * 2**20:
        raise ParseError(f"DOCX refused as a zip bomb: {total} bytes unpacked from {packed}")
    bad = zf.testzip()
    if bad:
        raise ParseError(f"corrupt DOCX: CRC error in {bad}")
    return zf


def _grid(table) -> list[list[str | None]]:
    grid: list[list[str | None]] = []
    prev: list = []
    for r, row in enumerate(table.rows):
        cells = row.cells  # one per grid column; a merged cell repeats the same _tc
        out: list[str | None] = []
        for j, c in enumerate(cells):
            origin = (j == 0 or cells[j - 1]._tc is not c._tc) and (
                r == 0 or j >= len(prev) or prev[j] is not c._tc
            )
            out.append("".join(c.text.split()) if origin else None)
        prev = [c._tc for c in cells]
        grid.append(out)
    return grid


def read_docx(data: bytes) -> Doc:
    check_zip(data)
    from docx import Document
    from docx.table import Table

    try:
        document = Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises many kinds on broken parts
        raise ParseError(f"corrupt DOCX: {type(e).__name__}: {e}") from e
    doc = Doc(fmt="docx")
    try:
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in _grid(block):
                    doc.row(row)
            else:
                doc.para(block.text)
    except Exception as e:
        raise ParseError(f"corrupt DOCX content: {type(e).__name__}: {e}") from e
    return doc
