"""Parser throughput per format on one core, and peak memory.

    .venv/bin/python bench/parse.py [--n 60] [--ocr 1] [--doc 2]

Documents are rendered first (not timed) from generated reports; then each format is parsed
``n`` times.  Prints reports/s (and pages/s for PDF) and the peak RSS of the process
(resource.getrusage).  Targets: HTML and text >= 100/s, DOCX >= 50/s, text PDF >= 50 pages/s.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pypdfium2 as pdfium  # noqa: E402

import reports  # noqa: E402
from simulator import render  # noqa: E402
from simulator.model import generate_region  # noqa: E402


def pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="documents per cheap format")
    ap.add_argument("--ocr", type=int, default=1, help="scanned PDFs to OCR (slow: seconds each)")
    ap.add_argument("--doc", type=int, default=2, help=".doc files (LibreOffice: ~2 s each)")
    args = ap.parse_args()
    pin_one_core()
    reps = [r.report for r in generate_region(seed=5, departments=35, townships=5).reports]
    reps = (reps * (args.n // len(reps) + 1))[: args.n]
    makers = {
        "html": lambda r: render.render_html_fragment(r, title=True).encode(),
        "text (tabs)": lambda r: render.render_text(r, "tabs", title=True).encode(),
        "text (cells)": lambda r: render.render_text(r, "cells", title=True).encode(),
        "docx": lambda r: render.render_docx(r, title=True),
        "pdf (text)": lambda r: render.render_pdf(r, title=True),
    }
    counts = {k: len(reps) for k in makers}
    counts["pdf (scanned, OCR)"] = args.ocr
    counts["doc (LibreOffice)"] = args.doc
    # An office-suite export embeds its fonts (reportlab's STSong-Light is not embedded, which
    # makes pdfium ~3x slower to open pages): one LibreOffice PDF, parsed n times.
    office = render.render_pdf_office(reps[0], title=True) if args.doc else None
    makers["pdf (office export)"] = lambda r: office
    counts["pdf (office export)"] = len(reps) if office else 0
    makers["pdf (scanned, OCR)"] = lambda r: render.render_scanned_pdf(r, title=True)
    makers["doc (LibreOffice)"] = lambda r: render.render_doc(r, title=True)
    print(f"{'format':<20} {'docs':>5} {'reports/s':>10} {'pages/s':>9} {'ms/report':>10}")
    for name, make in makers.items():
        docs = [make(r) for r in reps[: counts[name]]]
        if not docs:
            continue
        pages = 0
        if name.startswith("pdf"):
            for d in docs:
                pdf = pdfium.PdfDocument(d)
                pages += len(pdf)
                pdf.close()
        if name.startswith(("html", "text", "docx", "pdf (text)", "pdf (office")):
            reports.parse_bytes(docs[0])  # warm up: imports and caches are not throughput
        t = time.perf_counter()
        for d in docs:
            reports.parse_bytes(d)
        dt = time.perf_counter() - t
        rate = len(docs) / dt
        prate = f"{pages / dt:9.1f}" if pages else f"{'':>9}"
        print(f"{name:<20} {len(docs):>5} {rate:>10.1f} {prate} {1000 * dt / len(docs):>10.1f}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB (rendering included); load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
