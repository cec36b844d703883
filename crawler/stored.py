"""Stored bytes seen as the crawl saw them: the page parsed with the crawl's charset policy, and
the fingerprint the crawl gives a document (``spiders.fingerprint``), for versions stored before
fingerprints existed (``Store.backfill_fingerprints``)."""

from __future__ import annotations

from parsel import Selector

from crawler.middlewares import pick_encoding
from reports.sniff import FILE_FORMATS, sniff
from spiders.fingerprint import file_fingerprint, page_fingerprint
from spiders.pages import page_meta, page_title


def stored_page(body: bytes, content_type: str) -> Selector | None:
    """A stored page parsed as the crawl parsed it (same charset policy), or None for a file."""
    if sniff(body[:65536]) in FILE_FORMATS:
        return None
    ctype = content_type.lower()
    text_type = ctype.startswith("text/") or any(t in ctype for t in ("html", "xml", "json"))
    if not text_type and sniff(body[:65536], content_type) not in ("html", "text"):
        return None
    return Selector(text=body.decode(pick_encoding(body, content_type) or "utf-8", errors="replace"))


def stored_fingerprint(body: bytes, content_type: str, url: str) -> str:
    """The fingerprint the crawl gives a document (``spiders.fingerprint``), from stored bytes:
    for ``Store.backfill_fingerprints``."""
    sel = stored_page(body, content_type)
    if sel is None:
        return file_fingerprint(body)
    return page_fingerprint(sel.root, page_title(sel, page_meta(sel)), url)
