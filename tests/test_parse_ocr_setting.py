"""``parse.ocr`` is read: with ``false`` a scanned PDF or an image is recorded unread, never OCR'd."""

from __future__ import annotations

import io
import random
from datetime import date

from config import parse_config
from reports.stored import parse_stored
from simulator import render
from simulator.model import Agency, generate_report
from storage.store import Fetched, Store


def _scanned_pdf_and_page_image() -> tuple[bytes, bytes]:
    import pypdfium2 as pdfium

    report = generate_report(
        random.Random(17), Agency("青山县科学技术局", "department", "kj"), 2023, date(2024, 1, 20)
    )
    scanned = render.render_scanned_pdf(report, title=True)
    pdf = pdfium.PdfDocument(render.render_pdf(report, title=True))
    image = pdf[0].render(scale=100 / 72, grayscale=True).to_pil()
    pdf.close()
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return scanned, buf.getvalue()


def test_ocr_off_leaves_scans_and_images_unread(tmp_path):
    text = (
        f"storage:\n  path: {tmp_path / 'nianbao.db'}\n"
        "parse:\n  ocr: false\n"
        "sources:\n  - id: qingshan\n    name: 青山县人民政府\n    start_url: http://127.0.0.1:1/\n"
    )
    config = parse_config(text, tmp_path / "config.yaml")
    scanned, image = _scanned_pdf_and_page_image()
    with Store(config.storage_path) as store:
        store.upsert_source("qingshan", "青山县人民政府", "http://127.0.0.1:1/", "trs", {})
        for name, body, ctype in (("scan.pdf", scanned, "application/pdf"), ("page.png", image, "image/png")):
            store.record_fetch(
                Fetched("qingshan", f"http://127.0.0.1:1/{name}", body, content_type=ctype, kind="attachment")
            )
        stats = parse_stored(store, config)
        errors = [r[0] for r in store.db.execute("SELECT error FROM reports ORDER BY id")]
    assert (stats.parsed, stats.reports, stats.not_reports) == (2, 0, 2)
    assert len(errors) == 2 and all("OCR is off (parse.ocr: false)" in e for e in errors), errors
