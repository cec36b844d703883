"""Plain text in the two flattened table layouts real corpora use.

``tabs``: a table row per line, cells separated by TABs.  ``cells``: one cell per line, each
line starting with a TAB, a blank line after every row; a line without a TAB right after a cell
continues that cell (a wrapped label).
"""

from __future__ import annotations

from reports.doc import Doc


def decode_text(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def read_text(raw: bytes | str) -> Doc:
    text = decode_text(raw) if isinstance(raw, bytes) else raw
    doc = Doc(fmt="text")
    cells: list[str] | None = None  # the row being collected in the cells layout

    def end_row() -> None:
        nonlocal cells
        if cells is not None:
            doc.row(list(cells))
        cells = None

    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        body = line.rstrip("\n")
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
            doc.para(body)
    end_row()
    return doc
