"""How much reading one document may cost, and the one error for going over a bound.

The defaults keep the worst crafted input of each kind under 1 GB of memory (see
tests/fixtures/hostile/make.py); real reports are far below every one of them.  The crawler
builds a Limits from its ``parse:`` config section with ``Limits.from_config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reports.errors import LimitError

__all__ = ["LimitError", "Limits"]

MB = 2**20


@dataclass(frozen=True)
class Limits:
    """Bounds on one document; each field names its config key."""

    max_bytes: int = 50 * MB  # parse.max_file_mb: the file itself, checked before reading it
    max_xml_bytes: int = 40 * MB  # parse.max_xml_mb: an archive's XML parts, unpacked
    max_text_bytes: int = 8 * MB  # parse.max_text_mb: an HTML page or a text file
    # A4 at 150 dpi is 2.2 MP; a larger page is rendered at a lower resolution.
    max_ocr_pixels: int = 3_000_000  # parse.max_ocr_megapixels: one page rendered for OCR
    max_rulings: int = 1500  # parse.max_rulings: ruling-line segments on one PDF page
    max_cells: int = 5000  # parse.max_table_cells: grid cells of one ruled table
    seconds: float = 300.0  # parse.timeout: wall time for one document (child process)
    max_memory: int = 1024 * MB  # parse.max_memory_mb: the parsing process's resident memory
    ocr: bool = True  # parse.ocr: scanned pages and images are recognised at all

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Limits:
        """From the ``parse:`` config section (keys missing there keep their default)."""
        keys = {
            "max_file_mb": ("max_bytes", lambda v: int(float(v) * MB)),
            "max_xml_mb": ("max_xml_bytes", lambda v: int(float(v) * MB)),
            "max_text_mb": ("max_text_bytes", lambda v: int(float(v) * MB)),
            "max_ocr_megapixels": ("max_ocr_pixels", lambda v: int(float(v) * 1_000_000)),
            "max_rulings": ("max_rulings", int),
            "max_table_cells": ("max_cells", int),
            "timeout": ("seconds", float),
            "max_memory_mb": ("max_memory", lambda v: int(float(v) * MB)),
            "ocr": ("ocr", bool),
        }
        return cls(**{keys[k][0]: keys[k][1](v) for k, v in section.items() if k in keys})
