"""Fuzz `nianbao parse` with mutated real and generated documents of every cheap format.

Invariant: every input gives a report or a clean error (ParseError in the library, an
``{"path", "error"}`` line from the CLI), never a traceback, within the parser's bounds.  The
example counts keep the whole file near 30 s on a busy 2-core machine.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import reports
from simulator import render
from simulator.model import Agency, generate_report
from tests.conftest import FIXTURES
from tests.fixtures.hostile import make

KEYS = {"agency", "year", "template", "table1", "table2", "table3", "issues"}
SECONDS = 20  # per document in the library: far above any real one (a few hundred ms)


def _seeds() -> dict[str, bytes]:
    rep = generate_report(
        random.Random(4), Agency("青山县民政局", "department", "mzj"), 2023, date(2024, 1, 20)
    )
    docs = {
        "html-page": render.render_html_page(rep).encode("gb18030"),
        "html-fragment": render.render_html_fragment(rep, title=True).encode("utf-16"),
        "text-tabs": render.render_text(rep, "tabs", title=True).encode(),
        "text-cells": render.render_text(rep, "cells", title=True).encode("gb18030"),
        "docx": render.render_docx(rep, title=True),
        "pdf": render.render_pdf(rep, title=True),
        "p-lines": make.p_lines_html(),
    }
    for path in sorted(FIXTURES.glob("seeds/*.txt")) + sorted(FIXTURES.glob("excerpts/*.txt")):
        docs[path.name] = path.read_bytes()
    docs["handan"] = (FIXTURES / "handan-article-page.html").read_bytes()
    return docs


SEEDS = _seeds()
MAGIC = [b"%PDF-1.4\n", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"{\\rtf1", b"\x89PNG\r\n\x1a\n",
         b"<html><body>", b"\xff\xfe", b"\xef\xbb\xbf", b""]  # fmt: skip


@st.composite
def mutated(draw) -> bytes:
    """A seed document with a few byte-level edits, or random bytes behind a format's magic."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=4000))
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "splice", "zero"]))
        n = len(data)
        at = draw(st.integers(0, max(0, n - 1)))
        if op == "truncate":
            data = data[:at]
        elif op == "flip" and n:
            for _ in range(draw(st.integers(1, 16))):
                data[draw(st.integers(0, n - 1))] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 4096))]
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 4096))] * draw(st.integers(1, 8))
        elif op == "splice":
            other = SEEDS[draw(st.sampled_from(sorted(SEEDS)))]
            data = data[:at] + other[draw(st.integers(0, len(other) - 1)) :]
        elif op == "zero":
            data[at : at + 512] = bytes(len(data[at : at + 512]))
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_library_gives_a_report_or_a_parse_error(data):
    start = time.monotonic()
    try:
        got = reports.parse_bytes(data)
    except reports.ParseError as e:
        assert str(e)
        event(f"error: {str(e)[:30]}")
    else:
        assert set(got) >= KEYS
        event(f"report: {got['template']}")
        json.dumps(got, ensure_ascii=False)  # the data model is plain JSON
    assert time.monotonic() - start < SECONDS


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(mutated(), min_size=4, max_size=8))
def test_cli_gives_one_line_per_file_and_never_a_traceback(batch_dir, docs):
    paths = []
    for i, data in enumerate(docs):
        p = batch_dir / f"doc{i}.bin"
        p.write_bytes(data)
        paths.append(str(p))
    proc = subprocess.run(
        [sys.executable, "-m", "nianbao", "parse", "--timeout", "60", *paths],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["path"] for line in lines] == paths
    for line in lines:
        assert (set(line) == {"path", "error"} and line["error"]) or set(line) >= KEYS
    assert proc.returncode == (1 if any("error" in line for line in lines) else 0)
