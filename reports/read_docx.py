"""DOCX: paragraphs and tables in document order, read straight from word/document.xml.

Merged cells (gridSpan across, vMerge down) are taken from their origin cell only; the other
grid slots they cover are None.  Reading the XML with lxml directly is ~10x faster than going
through python-docx objects.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from lxml import etree

from reports.doc import Doc
from reports.errors import ParseError
from reports.limits import LimitError, Limits

# A report DOCX unpacks to a few MB; anything far beyond is a zip bomb.  The XML parts are
# bounded more tightly (Limits.max_xml_bytes): a tree costs ~20x its XML in memory.
MAX_UNPACKED = 300 * 2**20
MAX_RATIO = 200
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def check_zip(data: bytes, max_xml_bytes: int = Limits.max_xml_bytes) -> zipfile.ZipFile:
    """Open the zip and refuse corrupt archives, zip bombs, zips that are not Word files and
    XML parts that unpack to more than ``max_xml_bytes`` in all (as their headers declare)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ParseError(f"corrupt DOCX (bad zip archive): {e}") from e
    names = {i.filename for i in infos}
    if "xl/workbook.xml" in names:
        raise ParseError("a spreadsheet (XLSX), not a report document")
    if "word/document.xml" not in names:
        raise ParseError("zip archive is not a Word document (no word/document.xml)")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNPACKED or (total / packed > MAX_RATIO and total > 20 * 2**20):
        raise ParseError(f"DOCX refused as a zip bomb: {total} bytes unpacked from {packed}")
    xml = sum(i.file_size for i in infos if i.filename.lower().endswith((".xml", ".rels")))
    if xml > max_xml_bytes:
        raise LimitError(_xml_message(xml, max_xml_bytes))
    try:
        bad = zf.testzip()  # every member's CRC: a damaged part means a damaged file
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as e:
        raise ParseError(f"corrupt DOCX: {e}") from e
    if bad:
        raise ParseError(f"corrupt DOCX: CRC error in {bad}")
    return zf


def _text(el: etree._Element) -> str:
    out = []
    for node in el.iter(f"{W}t", f"{W}tab", f"{W}br", f"{W}cr"):
        if node.tag == f"{W}t":
            out.append(node.text or "")
        else:
            out.append(" ")
    return "".join(out)


def _cell_text(tc: etree._Element) -> str:
    return "".join(_text(tc).split())


def _grid(tbl: etree._Element) -> list[list[str | None]]:
    grid: list[list[str | None]] = []
    for tr in tbl.iterchildren(f"{W}tr"):
        row: list[str | None] = []
        before = tr.find(f"{W}trPr/{W}gridBefore")  # grid columns skipped at the row start
        if before is not None and (before.get(f"{W}val") or "").isdigit():
            row.extend([None] * min(int(before.get(f"{W}val")), 64))
        for tc in tr.iterchildren(f"{W}tc"):
            pr = tc.find(f"{W}tcPr")
            span, cont = 1, False
            if pr is not None:
                gs = pr.find(f"{W}gridSpan")
                if gs is not None:
                    try:
                        span = max(1, min(int(gs.get(f"{W}val") or 1), 64))
                    except ValueError:
                        span = 1
                vm = pr.find(f"{W}vMerge")
                cont = vm is not None and (vm.get(f"{W}val") or "continue") == "continue"
            row.append(None if cont else _cell_text(tc))
            row.extend([None] * (span - 1))
        grid.append(row)
    return grid


def _walk(parent: etree._Element, doc: Doc) -> None:
    for el in parent.iterchildren():
        tag = el.tag
        if tag == f"{W}p":
            doc.para(_text(el))
        elif tag == f"{W}tbl":
            for row in _grid(el):
                doc.row(row)
        elif tag in (f"{W}sdt", f"{W}customXml", f"{W}sdtContent", f"{W}smartTag"):
            _walk(el if tag != f"{W}sdt" else (el.find(f"{W}sdtContent") or el), doc)


def _xml_message(size: int, cap: int) -> str:
    return f"DOCX's XML unpacks to {size} bytes, over the {cap}-byte bound (parse.max_xml_mb)"


def read_docx(data: bytes, limits: Limits | None = None) -> Doc:
    cap = (limits or Limits()).max_xml_bytes
    zf = check_zip(data, cap)
    try:
        # Read one byte past the bound: a header that understates the size is not believed.
        with zf.open("word/document.xml") as f:
            xml = f.read(cap + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as e:
        raise ParseError(f"corrupt DOCX (cannot unpack word/document.xml): {e}") from e
    if len(xml) > cap:
        raise LimitError(_xml_message(len(xml), cap))
    try:
        root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, huge_tree=True))
    except etree.XMLSyntaxError as e:
        raise ParseError(f"corrupt DOCX (word/document.xml is not XML): {e}") from e
    body = root.find(f"{W}body")
    if body is None:
        raise ParseError("corrupt DOCX (no document body)")
    doc = Doc(fmt="docx")
    _walk(body, doc)
    return doc
