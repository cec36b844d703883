"""Crafted inputs (tests/fixtures/hostile/make.py): each is read correctly or refused with a
ParseError that names the bound, within bounded time and memory."""

from __future__ import annotations

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
