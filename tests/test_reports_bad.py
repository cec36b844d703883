"""Input that is not a readable report gives ParseError with a message that says why."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date

import pytest

import reports
from reports import ParseError
from simulator import render
from simulator.model import Agency, generate_report


@pytest.fixture(scope="module")
def rep():
    return generate_report(
        random.Random(1), Agency("青山县教育局", "department", "jyj"), 2023, date(2024, 1, 10)
    )


def _raises(data: bytes, pattern: str, **kw) -> str:
    with pytest.raises(ParseError, match=pattern) as ei:
        reports.parse_bytes(data, **kw)
    return str(ei.value)


def test_empty():
    _raises(b"", "empty document")


def test_truncated_pdf(rep):
    pdf = render.render_pdf(rep)
    _raises(pdf[: len(pdf) // 3], "unreadable PDF")


def test_corrupt_docx(rep):
    data = bytearray(render.render_docx(rep))
    data[len(data) // 2 : len(data) // 2 + 400] = b"\x00" * 400
    _raises(bytes(data), "corrupt DOCX")


def test_truncated_docx(rep):
    data = render.render_docx(rep)
    _raises(data[: len(data) // 2], "corrupt DOCX")


def test_zip_bomb_docx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document>" + b" " * (40 * 2**20) + b"</w:document>")
    assert len(buf.getvalue()) < 2 * 2**20
    _raises(buf.getvalue(), "zip bomb")


def test_zip_that_is_not_word():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    _raises(buf.getvalue(), "not a Word document")


def test_binary_garbage():
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(20000))
    _raises(data, "unrecognised binary content")


def test_oversize(rep):
    data = render.render_html_fragment(rep).encode()
    msg = _raises(data, "over the 1000-byte cap", max_bytes=1000)
    assert str(len(data)) in msg


def test_oversize_file(tmp_path):
    p = tmp_path / "big.bin"
    p.write_bytes(b"x" * 5000)
    with pytest.raises(ParseError, match="over the 100-byte cap"):
        reports.parse_file(p, max_bytes=100)


def test_unreadable_file(tmp_path):
    with pytest.raises(ParseError, match="cannot read"):
        reports.parse_file(tmp_path / "nope.pdf")


def test_page_without_report():
    page = (
        "<html><head><meta charset='utf-8'><title>青山县人民政府 政务公开</title></head><body>"
        "<ul><li><a href='/a'>青山县教育局2023年政府信息公开工作年度报告</a> 2024-01-20</li>"
        "<li><a href='/b'>青山县民政局2023年政府信息公开工作年度报告</a> 2024-01-22</li></ul>"
        "<div class='footer'>主办：青山县人民政府办公室</div></body></html>"
    )
    _raises(page.encode(), "no annual report found")


def test_plain_text_without_report():
    _raises("今天天气很好。\n我们去公园散步。\n".encode(), "no annual report found")


def test_encrypted_ole():
    # Office writes a password-protected .docx as an OLE compound file with an EncryptedPackage stream.
    data = _cfb_with_stream("EncryptedPackage", b"\x00" * 5000)
    _raises(data, "encrypted")


def test_ole_that_is_not_word():
    _raises(_cfb_with_stream("PowerPoint Document", b"\x00" * 5000), "not a Word document")


def test_spreadsheets_are_named_as_such():
    # statistical tables attached beside a report, as .xls (OLE Workbook) or .xlsx
    _raises(_cfb_with_stream("Workbook", b"\x00" * 5000), r"a spreadsheet \(XLS\)")
    from simulator.model import generate_region
    from simulator.render import render_tables_xlsx

    _raises(render_tables_xlsx(generate_region(2024).reports[0].report), r"a spreadsheet \(XLSX\)")


def _cfb_with_stream(name: str, payload: bytes) -> bytes:
    """A minimal version-3 compound file (512-byte sectors) with one stream in the root."""
    import struct

    sector = 512
    n_data = (len(payload) + sector - 1) // sector  # stream >= 4096 bytes: regular sectors
    payload = payload.ljust(n_data * sector, b"\x00")
    # Layout: sector 0 = FAT, sector 1 = directory, sectors 2.. = data.
    fat = [0xFFFFFFFD, 0xFFFFFFFE]
    for i in range(n_data):
        fat.append(3 + i if i < n_data - 1 else 0xFFFFFFFE)
    fat += [0xFFFFFFFF] * (sector // 4 - len(fat))
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<I", header, 44, 1)  # number of FAT sectors
    struct.pack_into("<I", header, 48, 1)  # first directory sector
    struct.pack_into("<I", header, 56, 4096)  # mini stream cutoff
    struct.pack_into("<I", header, 60, 0xFFFFFFFE)  # first mini FAT sector
    struct.pack_into("<I", header, 68, 0xFFFFFFFE)  # first DIFAT sector
    difat = [0] + [0xFFFFFFFF] * 108
    struct.pack_into("<109I", header, 76, *difat)

    def entry(nm: str, typ: int, child: int, start: int, size: int) -> bytes:
        e = bytearray(128)
        raw = (nm + "\x00").encode("utf-16-le")
        e[0 : len(raw)] = raw
        struct.pack_into("<H", e, 64, len(raw))
        e[66] = typ
        e[67] = 1  # black
        struct.pack_into("<III", e, 68, 0xFFFFFFFF, 0xFFFFFFFF, child)
        struct.pack_into("<I", e, 116, start)
        struct.pack_into("<I", e, 120, size)
        return bytes(e)

    dir_sector = entry("Root Entry", 5, 1, 0xFFFFFFFE, 0) + entry(name, 2, 0xFFFFFFFF, 2, len(payload))
    dir_sector = dir_sector.ljust(sector, b"\x00")
    fat_bytes = struct.pack(f"<{sector // 4}I", *fat)
    return bytes(header) + fat_bytes + dir_sector + payload


def test_encrypted_pdf():
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt="secret")
    c.drawString(100, 700, "hello")
    c.save()
    _raises(buf.getvalue(), "encrypted")


def test_damaged_documents_give_a_report_or_parse_error(rep):
    """Truncated, bit-flipped, zeroed documents of every kind: a dict or ParseError, nothing else."""
    rng = random.Random(5)
    docs = {
        "html": render.render_html_page(rep).encode("gb18030"),
        "docx": render.render_docx(rep),
        "pdf": render.render_pdf(rep),
        "text": render.render_text(rep, "cells").encode(),
    }
    outcomes = set()
    for _ in range(80):
        name = rng.choice(sorted(docs))
        d = bytearray(docs[name])
        op = rng.choice(["trunc", "flip", "zero"])
        if op == "trunc":
            d = d[: rng.randrange(1, len(d))]
        elif op == "flip":
            for _ in range(rng.randint(1, 30)):
                d[rng.randrange(len(d))] = rng.randrange(256)
        else:
            a = rng.randrange(len(d))
            d[a : a + 2000] = b"\0" * len(d[a : a + 2000])
        try:
            got = reports.parse_bytes(bytes(d))
        except ParseError as e:
            assert str(e)
            outcomes.add("error")
        else:
            assert set(got) >= {"agency", "year", "table1", "table2", "table3", "issues"}
            outcomes.add("report")
    assert outcomes == {"error", "report"}
