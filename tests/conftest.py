"""Shared fixtures: real SQLite files and real config files in a temporary directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Tests must never reach the network: keep tldextract and friends on their bundled data.
os.environ.setdefault("TLDEXTRACT_CACHE", str(Path(tempfile.gettempdir()) / "nianbao-tldextract-cache"))
# Rendered simulator documents (DOCX takes ~1 s each) are shared by every test session.
os.environ.setdefault("NIANBAO_SIM_CACHE", str(Path(tempfile.gettempdir()) / "nianbao-sim-cache"))

# Copies of real texts and pages from shared/ (seeds, samples), so the suite stands on its own.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = FIXTURES / "seeds"


@pytest.fixture
def store(tmp_path):
    from storage import Store

    s = Store(tmp_path / "nianbao.db")
    yield s
    s.close()
