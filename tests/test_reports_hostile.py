"""Crafted inputs (tests/fixtures/hostile/make.py): each is read correctly or refused with a
ParseError that names the bound, within bounded time and memory."""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

import reports
from reports.sniff import sniff
from tests.fixtures.hostile import make


@pytest.fixture(scope="module")
def text_report() -> str:
    return make.report_text()


# -- sniffing: text at any size and byte alignment, UTF-16 markup --------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
@pytest.mark.parametrize("size", [70_000, 140_000, 300_000])
def test_big_text_is_text_at_every_alignment(encoding, size):
    for shift in range(4):
        data = make.big_text(size, encoding, shift)
        assert len(data) > 65536
        assert sniff(data) == "text", (encoding, size, shift)


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_big_text_report_parses_at_every_alignment(encoding):
    for shift in range(3):
        got = reports.parse_bytes(make.big_text(70_000, encoding, shift))
        assert (got["agency"], got["year"], got["template"]) == ("青山县教育局", 2023, "2021")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_html_with_and_without_bom(encoding):
    data = make.utf16_html(encoding)
    assert sniff(data) == "html"
    got = reports.parse_bytes(data)
    assert (got["agency"], got["year"], got["template"]) == ("青山县教育局", 2023, "2021")
    assert got["table2"] == reports.parse_bytes(make.p_lines_html())["table2"]


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_character_cut_at_the_sample_end_is_not_binary(text_report, encoding):
    # Every cut of a CJK character at the 64 KB sample boundary, for 2-, 3- and 4-byte forms.
    body = (text_report + "𠀀") * 40
    for cut in range(1, 5):
        data = (b"a" * (65536 - cut)) + body.encode(encoding)
        assert sniff(data) == "text", cut


# -- reading: <p> lines directly in <body>, then loose text --------------------------------------


@pytest.mark.parametrize("trailer", ["（此件公开发布）", "附件：无", ""])
def test_p_lines_in_body_with_trailing_text(trailer):
    got = reports.parse_bytes(make.p_lines_html(trailer))
    assert (got["agency"], got["year"], got["template"]) == ("青山县教育局", 2023, "2021")
    assert got["table2"]["new_received"] is not None


# -- bounds: each crafted input is refused or read within its bound ------------------------------


def test_docx_xml_over_the_bound_is_refused_before_it_is_parsed():
    data = make.docx_xml_bomb(48 * 2**20)
    assert len(data) < 1 * 2**20  # passes the zip-bomb ratio check: only the XML bound stops it
    with pytest.raises(reports.LimitError, match=r"parse\.max_xml_mb"):
        reports.parse_bytes(data)
    small = make.docx_xml_bomb(2 * 2**20)
    with pytest.raises(reports.LimitError, match=r"over the 1048576-byte bound"):
        reports.parse_bytes(small, limits=reports.Limits(max_xml_bytes=2**20))


def test_docx_under_the_xml_bound_is_read():
    from simulator import render
    from simulator.model import Agency, generate_report

    rep = generate_report(
        random.Random(1), Agency("青山县教育局", "department", "jyj"), 2023, date(2024, 1, 10)
    )
    got = reports.parse_bytes(render.render_docx(rep, title=True), limits=reports.Limits(max_xml_bytes=2**20))
    assert (got["agency"], got["template"]) == ("青山县教育局", "2021")


@pytest.mark.parametrize("data", [make.p_lines_html(), make.big_text(100_000)], ids=["html", "text"])
def test_html_and_text_over_the_bound_are_refused(data):
    with pytest.raises(reports.LimitError, match=r"parse\.max_text_mb"):
        reports.parse_bytes(data, limits=reports.Limits(max_text_bytes=len(data) - 1))
    assert reports.parse_bytes(data, limits=reports.Limits(max_text_bytes=len(data)))["year"] == 2023


def test_a_text_file_of_cells_over_the_default_bound_is_refused():
    data = b"\t1\n" * (9 * 2**20 // 3)  # 30x its size in memory as lines: 1.6 GB at 50 MB
    with pytest.raises(reports.LimitError, match=r"text is 9437184 bytes, over the 8388608-byte bound"):
        reports.parse_bytes(data)


def test_a_poster_sized_page_is_rendered_within_the_pixel_bound():
    from reports.read_ocr import DPI, render_scale

    limit = reports.Limits().max_ocr_pixels
    scale = render_scale(14400, 14400, limit)
    assert (14400 * scale) ** 2 <= limit
    assert render_scale(595, 842, limit) == DPI / 72  # an A4 page keeps the full resolution


def test_an_image_over_the_pixel_bound_is_refused_before_decoding():
    data = make.png_pixel_bomb(8000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(reports.LimitError, match=r"8000x8000 pixels.*parse\.max_ocr_megapixels"):
        reports.parse_bytes(data)
    # Decoding it would take 192 MB; the high-water mark of this process stays where it was.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024


def test_ocr_off_refuses_scans():
    with pytest.raises(reports.ParseError, match=r"parse\.ocr: false"):
        reports.parse_bytes(make.huge_page_pdf(600), limits=reports.Limits(ocr=False))


def test_a_page_over_the_ruling_bound_is_read_as_text_only():
    from reports.read_pdf import read_pdf_fast, read_pdf_text

    data = make.ruling_pdf(2000)
    assert len(data) < 40_000
    doc = read_pdf_fast(data)
    assert doc.meta["tables_skipped"] == [1] and doc.rows() == []
    assert any("青山县教育局" in p for p in doc.paragraphs())
    slow = read_pdf_text(data)  # the pdfplumber fallback skips the page's tables too
    assert slow.meta["tables_skipped"] == [1] and slow.rows() == []


def test_a_grid_over_the_cell_bound_is_not_assembled():
    from reports.read_pdf import read_pdf_fast

    data = make.ruling_pdf(120)  # 240 rulings, under their bound; 119 x 119 cells
    assert read_pdf_fast(data).meta["tables_skipped"] == [1]
    doc = read_pdf_fast(data, reports.Limits(max_cells=119 * 119))
    assert "tables_skipped" not in doc.meta and len(doc.rows()) == 119


def test_parse_file_checks_the_size_before_reading(tmp_path):
    big = make.sparse_file(tmp_path / "big.pdf", 2 * 2**30)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(reports.LimitError, match=r"2147483648 bytes, over the 52428800-byte cap"):
        reports.parse_file(big)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024


# -- the CLI: every crafted input under 1 GB, each an error line, later files still parsed -------


def _nianbao_parse(tmp: Path, *args: str, memory: int = 3 * 2**30) -> tuple[int, list[dict], int]:
    """Run `nianbao parse` under an address-space limit: (exit code, its JSON lines, the peak
    RSS in bytes of the command and its parser process, from wait4)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    out, err = tmp / "stdout", tmp / "stderr"
    with out.open("wb") as o, err.open("wb") as e:
        pid = subprocess.Popen(
            [sys.executable, "-m", "nianbao", "parse", *args], stdout=o, stderr=e, preexec_fn=limit
        ).pid
        _, status, usage = os.wait4(pid, 0)  # counts the children it waited for (the parser)
    assert b"Traceback" not in err.read_bytes(), err.read_text()[-3000:]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return os.waitstatus_to_exitcode(status), lines, usage.ru_maxrss * 1024


def test_cli_bounds_every_crafted_input_and_goes_on(tmp_path):
    files = {
        "bomb.docx": make.docx_xml_bomb(250 * 2**20),
        "ruling.pdf": make.ruling_pdf(2000),
        "pixels.png": make.png_pixel_bomb(13000),
    }
    paths = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    paths.append(str(make.sparse_file(tmp_path / "huge.pdf", 2 * 2**30)))
    good = tmp_path / "good.html"
    good.write_bytes(make.p_lines_html())
    paths.append(str(good))
    # 1.5 GB of address space: reading the 2 GB file into memory was a MemoryError traceback.
    code, lines, peak = _nianbao_parse(tmp_path, *paths, memory=1536 * 2**20)
    assert code == 1
    assert [line["path"] for line in lines] == paths
    bomb, ruling, pixels, huge, report = lines
    assert "parse.max_xml_mb" in bomb["error"]
    assert "no annual report found" in ruling["error"]  # read as text, in bounded time
    assert "parse.max_ocr_megapixels" in pixels["error"]
    assert "over the 52428800-byte cap" in huge["error"]
    assert (report["agency"], report["year"]) == ("青山县教育局", 2023)
    assert peak < 1 * 2**30, peak


@pytest.mark.slow
def test_cli_ocr_of_a_poster_sized_page_stays_under_1_gb(tmp_path):
    page = tmp_path / "poster.pdf"
    page.write_bytes(make.huge_page_pdf(14400))
    code, lines, peak = _nianbao_parse(tmp_path, str(page))
    assert code == 1 and "no annual report found" in lines[0]["error"]  # OCR ran, found no report
    assert peak < 1 * 2**30, peak


def test_cli_a_document_over_the_time_budget_is_an_error_and_the_next_is_parsed(tmp_path):
    slow = tmp_path / "many-pages.pdf"
    slow.write_bytes(make.many_pages_pdf(200))
    good = tmp_path / "good.html"
    good.write_bytes(make.p_lines_html())
    code, lines, _ = _nianbao_parse(tmp_path, "--timeout", "4", str(slow), str(good))
    assert code == 1
    assert lines[0] == {"path": str(slow), "error": "parsing took longer than 4 s (parse.timeout)"}
    assert (lines[1]["agency"], lines[1]["year"]) == ("青山县教育局", 2023)


def test_isolated_parser_is_killed_over_its_memory_bound_and_restarts():
    heavy = make.docx_xml_bomb(12 * 2**20)  # a tree of ~250 MB, under the XML bound
    with reports.Isolated(reports.Limits(max_memory=200 * 2**20)) as parser:
        with pytest.raises(reports.LimitError, match=r"over the 200 MB bound \(parse\.max_memory_mb\)"):
            parser.parse_bytes(heavy)
        got = parser.parse_bytes(make.p_lines_html())  # a fresh child reads the next document
        assert (got["agency"], got["year"]) == ("青山县教育局", 2023)
        with pytest.raises(reports.ParseError, match="empty document"):
            parser.parse_bytes(b"")


def test_config_defaults_are_the_parser_defaults_and_every_key_is_read():
    from config import DEFAULTS, SCHEMA

    assert reports.Limits.from_config(DEFAULTS["parse"]) == reports.Limits()
    keys = {k.rstrip("?") for k in SCHEMA["parse?"]}
    assert keys == set(DEFAULTS["parse"])
    changed = reports.Limits.from_config({k: 1 for k in keys} | {"ocr": False})
    assert all(getattr(changed, f) != getattr(reports.Limits(), f) for f in vars(changed))


def test_parse_stored_saves_an_over_budget_document_as_an_error_and_parses_the_rest(tmp_path):
    from config import parse_config
    from reports.stored import parse_stored
    from storage import Fetched, Store

    config = parse_config(
        "storage:\n  path: n.db\nparse:\n  timeout: 4\nsources:\n"
        "  - id: src\n    name: 青山县人民政府\n    start_url: http://127.0.0.1:9/\n",
        tmp_path / "config.yaml",
    )
    bodies = {
        "http://127.0.0.1:9/slow.pdf": (make.many_pages_pdf(200), "application/pdf"),
        "http://127.0.0.1:9/bomb.docx": (make.docx_xml_bomb(48 * 2**20), "application/octet-stream"),
        "http://127.0.0.1:9/report.html": (make.p_lines_html(), "text/html"),
    }
    with Store(tmp_path / "n.db") as store:
        store.upsert_source("src", "青山县人民政府", "http://127.0.0.1:9/", "trs", {})
        for url, (body, ctype) in bodies.items():
            store.record_fetch(Fetched(source_id="src", url=url, body=body, content_type=ctype))
        stats = parse_stored(store, config)
        rows = {
            r["url"]: r
            for r in store.db.query(
                "SELECT d.url, r.* FROM reports r JOIN documents d ON d.id = r.document_id"
            )
        }
    assert (stats.parsed, stats.reports, stats.not_reports, stats.errors) == (3, 1, 2, 0)
    assert rows["http://127.0.0.1:9/slow.pdf"]["error"] == "parsing took longer than 4 s (parse.timeout)"
    assert "parse.max_xml_mb" in rows["http://127.0.0.1:9/bomb.docx"]["error"]
    assert rows["http://127.0.0.1:9/report.html"]["agency"] == "青山县教育局"


def test_parse_stored_in_two_processes_saves_what_one_process_saves(tmp_path):
    """``parse.processes: 2`` parses two documents at once and saves the same rows, in the same
    order (report ids), as one process: reports, a document that is no report, an error."""
    from config import parse_config
    from reports.stored import parse_stored
    from storage import Fetched, Store

    seeds = sorted((Path(__file__).parents[1] / "tests" / "fixtures" / "seeds").glob("*.txt"))
    bodies = [(f"http://127.0.0.1:9/{i}.txt", s.read_bytes(), "text/plain") for i, s in enumerate(seeds)]
    bodies += [
        ("http://127.0.0.1:9/report.html", make.p_lines_html(), "text/html"),
        ("http://127.0.0.1:9/empty.html", b"", "text/html"),
        ("http://127.0.0.1:9/bomb.docx", make.docx_xml_bomb(48 * 2**20), "application/octet-stream"),
    ]
    saved = {}
    for processes in (1, 2):
        folder = tmp_path / str(processes)
        config = parse_config(
            f"storage:\n  path: n.db\nparse:\n  processes: {processes}\nsources:\n"
            "  - id: src\n    name: 青山县人民政府\n    start_url: http://127.0.0.1:9/\n",
            folder / "config.yaml",
        )
        with Store(folder / "n.db") as store:
            store.upsert_source("src", "青山县人民政府", "http://127.0.0.1:9/", "trs", {})
            for url, body, ctype in bodies:
                store.record_fetch(Fetched(source_id="src", url=url, body=body, content_type=ctype))
            stats = parse_stored(store, config)
            saved[processes] = (
                vars(stats),
                list(
                    store.db.execute(
                        "SELECT r.id, d.url, r.agency, r.year, r.error, r.data_json FROM reports r "
                        "JOIN documents d ON d.id = r.document_id ORDER BY r.id"
                    )
                ),
            )
    assert saved[1] == saved[2]
    stats, rows = saved[2]
    assert stats["parsed"] == len(bodies) and stats["reports"] >= len(seeds) + 1 and stats["not_reports"] == 2
    assert [r[1] for r in rows] == [url for url, _b, _c in bodies]  # saved in the order read


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_text_with_a_bom(text_report, encoding):
    data = ("\ufeff" if encoding == "utf-16-be" else "") + text_report
    raw = data.encode(encoding)
    assert raw[:2] in (b"\xff\xfe", b"\xfe\xff") and sniff(raw) == "text"
    got = reports.parse_bytes(raw)
    assert (got["agency"], got["year"], got["template"]) == ("青山县教育局", 2023, "2021")
