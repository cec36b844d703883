"""Plain text in the flattened table layouts real corpora use.

``tabs``: a table row per line, cells separated by TABs (or by "|").  ``cells``: one cell per
line, each line starting with a TAB, a blank line after every row; a line without a TAB right
after a cell continues that cell (a wrapped label).  ``bars``: one cell per line with a line
holding a single "|" between cells and no row ends; rows are rebuilt by starting a new row at
each label that follows a number.  ``markdown`` (PDF-to-Markdown converters): ``| a | b |``
rows, ``|---|---|`` rule lines (skipped), ``<br>`` line breaks inside cells (removed) and
``#`` heading marks (removed).
"""

from __future__ import annotations

import re

from reports.decode import decode_html
from reports.doc import Doc
from reports.text import is_value

_MD_RULE = re.compile(r"^\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?\s*)?$")
_MD_BREAK = re.compile(r"<br\s*/?>", re.I)
_MD_HEADING = re.compile(r"^#{1,6}\s+")


def _rows_from_stream(cells: list[str]) -> list[list[str]]:
    rows: list[list[str]] = []
    row: list[str] = []
    for cell in cells:
        if row and not is_value(cell) and is_value(row[-1]) and any(is_value(c) for c in row):
            rows.append(row)
            row = []
        row.append(cell)
    if row:
        rows.append(row)
    return rows


def read_text(raw: bytes | str) -> Doc:
    text = decode_html(raw) if isinstance(raw, bytes) else raw
    doc = Doc(fmt="text")
    cells: list[str] | None = None  # the row being collected in the cells layout
    stream: list[str] | None = None  # cells of the bars layout
    after_bar = False

    def end_row() -> None:
        nonlocal cells
        if cells is not None:
            doc.row(list(cells))
        cells = None

    def end_stream() -> None:
        nonlocal stream
        if stream:
            for row in _rows_from_stream(stream):
                doc.row(row)
        stream = None

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        body = line.rstrip("\n")
        bare = body.strip()
        if bare == "|":  # a cell boundary of the bars layout
            if stream is None:
                last = doc.items[-1] if doc.items else None
                stream = [doc.items.pop()[1]] if last and last[0] == "p" else []
            after_bar = True
            continue
        if bare and set(bare) == {"|"}:
            continue  # a run of empty layout-table cells
        if stream is not None:
            if after_bar and bare:
                stream.append(bare)
                after_bar = False
                continue
            if not bare:
                continue
            end_stream()
        after_bar = False
        if "|" in bare and bare.count("|") >= 2 and "\t" not in body:
            end_row()
            if not _MD_RULE.match(bare):
                doc.row([_MD_BREAK.sub("", c).strip() for c in bare.strip("|").split("|")])
            continue
        if body.startswith("\t") and "\t" not in body[1:]:
            cells = [] if cells is None else cells
            cells.append(body[1:].strip())
        elif "\t" in body:  # a row of cells (a line of TABs only is a row of blank cells)
            end_row()
            doc.row([c.strip() for c in body.split("\t")])
        elif not body.strip():
            end_row()
        elif cells:
            cells[-1] += body.strip()  # a label wrapped onto the next line
        else:
            doc.para(_MD_HEADING.sub("", body.strip()))
    end_row()
    end_stream()
    return doc
