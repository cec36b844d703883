"""The parser's public entry points: bytes or a file in, the data-model dict out."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from reports import about, checks, template
from reports.doc import Doc
from reports.errors import ParseError
from reports.limits import LimitError, Limits
from reports.model import (
    TABLE2_COLUMN_LABELS,
    TABLE2_ROWS,
    TABLE3_FIELD_LABELS,
    TABLE3_GROUP_LABELS,
    TABLE3_GROUPS,
    empty_report,
    issue,
)
from reports.sniff import sniff
from reports.text import cjk

PARSER_VERSION = "1.1.0"  # agencies and dates from noisy pages, real layouts, bounds
MAX_BYTES = Limits.max_bytes


def read_document(data: bytes, content_type: str | None = None, limits: Limits | None = None) -> Doc:
    """Any supported format to a Doc (paragraphs and table rows in reading order), within
    ``limits`` (a document over one of them raises LimitError, a ParseError)."""
    try:
        return _read(data, content_type, limits or Limits())
    except ParseError:
        raise
    except Exception as e:
        # Libraries (zlib, pdfium, pdfminer, lxml, olefile) fail in many ways on damaged files;
        # the caller gets one kind of error, naming the original one.
        raise ParseError(f"cannot read the document (damaged?): {type(e).__name__}: {e}") from e


def _read(data: bytes, content_type: str | None, limits: Limits) -> Doc:
    kind = sniff(data, content_type)
    if kind == "pdf":
        from reports import read_pdf

        doc = read_pdf.read_pdf_fast(data, limits)
        text = "".join(doc.paragraphs()) + "".join(c or "" for r in doc.rows() for c in r)
        if read_pdf.looks_scanned(text, doc.meta.get("pages", 1)):
            from reports.read_ocr import read_scanned_pdf

            if not read_pdf.has_images(data):
                raise ParseError("PDF has no readable text layer and no page images to OCR")
            return read_scanned_pdf(data, limits=limits)
        return doc
    if kind in ("docx", "zip"):  # a zip whose Word parts come late in the archive is still a DOCX
        from reports.read_docx import read_docx

        return read_docx(data, limits)  # raises for a zip that is not a Word document
    if kind in ("ole", "rtf"):
        from reports import read_office
        from reports.read_docx import read_docx

        if kind == "ole":
            read_office.check_ole(data)
        doc = read_docx(read_office.to_docx(data, ".doc" if kind == "ole" else ".rtf"), limits)
        doc.fmt = kind
        return doc
    if kind in ("html", "text") and len(data) > limits.max_text_bytes:
        # A page tree and its walk cost ~80x the markup in memory, text lines ~30x the text.
        raise LimitError(
            f"{kind.upper() if kind == 'html' else 'text'} is {len(data)} bytes, over the "
            f"{limits.max_text_bytes}-byte bound (parse.max_text_mb)"
        )
    if kind == "html":
        from reports.read_html import read_html

        return read_html(data, content_type)
    if kind == "text":
        from reports.read_text import read_text

        return read_text(data)
    if kind == "image":
        from reports.read_ocr import read_image

        return read_image(data, limits)
    raise ParseError(f"not a report document: unrecognised binary content (starts {data[:8]!r})")


def _table_zone(paras: list[str]) -> list[str]:
    start = end = None
    for i, p in enumerate(paras):
        part = about.part_of(p)
        if part == "table1" and start is None:
            start = i + 1
        elif part in ("problems", "other") and start is not None:
            end = i
            break
    return paras[start:end] if start is not None else []


def _is_report(doc: Doc, report: dict[str, Any], n_parts: int) -> bool:
    if report["template"] in ("2021", "2019-trial"):
        return True
    if n_parts >= 3:
        return True
    text = "".join(doc.paragraphs())
    long_paras = sum(len(cjk(p)) for p in doc.paragraphs() if len(cjk(p)) >= 40)
    return bool(report["year"] and ("报告" in text[:2000] or doc.meta.get("title")) and long_paras >= 400)


def parse_doc(doc: Doc, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The data model from an already-read document."""
    meta = {**doc.meta, **{k: v for k, v in (meta or {}).items() if v}}
    if "title" in doc.meta and (meta or {}).get("title"):
        meta["page_title"] = doc.meta["title"]
    report = empty_report()
    paras = doc.paragraphs()
    tables = template.read_tables(template.table_rows(doc.items))
    if tables["template"] is None:
        # Tables flattened to one paragraph per cell: read the paragraphs between the part 二
        # heading and the part 五 heading as single-cell rows.
        zone = _table_zone(paras)
        if zone:
            tables = template.read_tables([[p] for p in zone], allow_empty=True)
    who = about.who_and_when(paras, meta, doc.page_text or doc.head_text())
    report.update({k: who[k] for k in ("agency", "year", "kind", "published_at", "published_at_source")})
    n_parts = len({about.part_of(p) for p in paras} - {None})
    if tables["template"] is None:
        report["template"] = "legacy"
    else:
        report.update({k: tables[k] for k in ("template", "table1", "table2", "table3")})
    if not _is_report(doc, report, n_parts):
        raise ParseError("no annual report found in the document (no report tables, title or part headings)")
    report["sections"] = about.sections(paras, report["agency"])
    if report["template"] == "legacy":
        report["sections"]["text"] = "\n".join(paras)
        report["issues"].append(
            issue("template_not_found", "none of the three tables could be located", "tables")
        )
    report["issues"] += who["issues"] + tables["issues"] + checks.check(report)
    return report


def parse_bytes(
    data: bytes,
    *,
    content_type: str | None = None,
    url: str | None = None,
    meta: dict | None = None,
    max_bytes: int | None = None,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """Read a report document of any supported format into the data model.

    The format is sniffed from the content.  ``meta`` carries what the crawler knows about the
    page (title, published_at, date_source, list_date, site_name, content_source).  ``limits``
    bounds the cost of reading (``max_bytes`` overrides its file size).  Raises ParseError for
    input that is not a readable report document, LimitError (a ParseError) for one over a bound.
    Wall time and memory are bounded from outside, by parsing in a child process
    (reports.isolate).
    """
    limits = _limits(limits, max_bytes)
    if data is None or len(data) == 0:
        raise ParseError("empty document (0 bytes)")
    if len(data) > limits.max_bytes:
        raise LimitError(f"document is {len(data)} bytes, over the {limits.max_bytes}-byte cap")
    doc = read_document(bytes(data), content_type, limits)
    try:
        report = parse_doc(doc, meta)
    except ParseError:
        if doc.fmt != "pdf":
            raise
        report = None
    if doc.fmt == "pdf" and (report is None or report["template"] == "legacy"):
        # The fast ruling-line reader found no tables: pdfplumber's finder is slower but
        # copes with more ways of drawing a table.
        from reports.read_pdf import read_pdf_text

        try:
            slow = read_pdf_text(bytes(data), limits)
        except ParseError:
            raise
        except Exception as e:
            raise ParseError(f"cannot read the PDF (damaged?): {type(e).__name__}: {e}") from e
        return parse_doc(slow, meta)
    return report


def _limits(limits: Limits | None, max_bytes: int | None) -> Limits:
    limits = limits or Limits()
    return limits if max_bytes is None else dataclasses.replace(limits, max_bytes=max_bytes)


def read_file(path: str | Path, max_bytes: int = MAX_BYTES) -> bytes:
    """A file's bytes, its size checked with stat before reading (a file over the cap is never
    read into memory); at most ``max_bytes`` are read even if the file grows meanwhile."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                raise LimitError(f"{p} is {size} bytes, over the {max_bytes}-byte cap (parse.max_file_mb)")
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise ParseError(f"cannot read {p}: {e.strerror or e}") from e
    if len(data) > max_bytes:
        raise LimitError(f"{p} is over the {max_bytes}-byte cap (parse.max_file_mb)")
    return data


def parse_file(path: str | Path, **kwargs: Any) -> dict[str, Any]:
    """parse_bytes on a file's content (the name and extension are not trusted)."""
    limits = _limits(kwargs.get("limits"), kwargs.get("max_bytes"))
    return parse_bytes(read_file(path, limits.max_bytes), **kwargs)


def _v(x: Any) -> str:
    return "·" if x is None else (f"{x:g}" if isinstance(x, float) else str(x))


def format_table(report: dict[str, Any]) -> str:
    """A human-readable rendering of the three tables and the issues."""
    lines = [
        f"{report.get('agency') or '?'} {report.get('year') or '?'}  template={report.get('template')}  "
        f"kind={report.get('kind')}  published_at={report.get('published_at')} ({report.get('published_at_source')})",
        "",
        "表1 主动公开",
    ]
    for key, val in (report.get("table1") or {}).items():
        if isinstance(val, dict):
            lines.append(f"  {key:<16} " + "  ".join(f"{f}={_v(v)}" for f, v in val.items()))
        else:
            lines.append(f"  {key:<16} {_v(val)}")
    t2 = report.get("table2") or {}
    if t2:
        lines += ["", "表2 申请 (" + " | ".join(TABLE2_COLUMN_LABELS) + ")"]
        labels = dict(TABLE2_ROWS) | {"other_processing": "（六）其他处理"}
        for key, vals in t2.items():
            lab = labels.get(key, key)
            lab = lab if len(lab) <= 14 else lab[:13] + "…"
            lines.append(f"  {key:<27} {' '.join(f'{_v(v):>4}' for v in vals)}  {lab}")
    t3 = report.get("table3") or {}
    if t3:
        lines += ["", "表3 复议诉讼 (" + " | ".join(TABLE3_FIELD_LABELS) + ")"]
        for g, lab in zip(TABLE3_GROUPS, TABLE3_GROUP_LABELS, strict=True):
            if g in t3:
                lines.append(f"  {lab:<10} " + " ".join(f"{_v(v):>4}" for v in t3[g].values()))
    issues = report.get("issues") or []
    lines += ["", f"issues ({len(issues)})"]
    lines += [f"  {i['code']:<16} {i['where']:<40} {i['message']}" for i in issues]
    return "\n".join(lines) + "\n"
