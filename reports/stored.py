"""The parse step: read every stored version not yet parsed by this parser version.

Re-running it does nothing new (idempotent per version and parser version); a new parser
version re-reads everything, keeping the older parses beside the new ones.  Documents are
parsed in child processes under the ``parse:`` config bounds (reports.Isolated), ``parse.processes``
of them at once; one over its time or memory budget is saved as an error and the next one is
parsed.  Results are saved by this process, one at a time, in the order the versions were read.
"""

from __future__ import annotations

import contextlib
import json
import queue
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from config import Config
from storage import Store


@dataclass
class ParseStats:
    parsed: int = 0
    reports: int = 0
    not_reports: int = 0
    errors: int = 0


def parse_stored(
    store: Store, config: Config, source_id: str | None = None, *, never_parsed: bool = False
) -> ParseStats:
    """Parse the stored versions that lack a report row from the current parser.

    ``never_parsed``: only those no parser has read yet (what a crawl just left), not those an
    older parser read (``monitor`` parses the former first; re-reading is ``parse --stored``'s job).
    """
    from reports import Isolated, Limits

    section = config.section("parse")
    limits = Limits.from_config(section)
    with contextlib.ExitStack() as stack:
        parsers = [stack.enter_context(Isolated(limits)) for _ in range(int(section.get("processes", 1)))]
        return _parse_versions(store, parsers, source_id, never_parsed)


def _parse_versions(
    store: Store, parsers: list[Any], source_id: str | None, never_parsed: bool = False
) -> ParseStats:
    from reports import PARSER_VERSION

    stats = ParseStats()
    wanted = None if never_parsed else PARSER_VERSION
    idle: queue.SimpleQueue = queue.SimpleQueue()  # a parser is used by one thread at a time
    for parser in parsers:
        idle.put(parser)

    def parse(body: bytes, row: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
        parser = idle.get()
        try:
            return parser.parse_bytes(body, content_type=row["content_type"], url=row["url"], meta=meta)
        finally:
            idle.put(parser)

    # Threads only wait on the parsers' child processes; a few documents are read ahead.
    with ThreadPoolExecutor(len(parsers)) as pool:
        ahead: deque[tuple[dict[str, Any], dict[str, Any], Future]] = deque()
        for row in list(store.versions_to_parse(wanted, source_id)):
            body = store.version_body(row["version_id"])
            meta = json.loads(row["meta_json"]) if row.get("meta_json") else {}
            meta.update(
                title=row["title"] or row["parent_title"],
                published_at=row["published_at"] or row["parent_published_at"],
                date_source=row["date_source"] or row["parent_date_source"],
                list_date=row["list_date"],
            )
            ahead.append((row, meta, pool.submit(parse, body, row, meta)))
            if len(ahead) > 2 * len(parsers):
                _save(store, stats, *ahead.popleft())
        while ahead:
            _save(store, stats, *ahead.popleft())
    return stats


def _save(store: Store, stats: ParseStats, row: dict[str, Any], meta: dict[str, Any], parsed: Future) -> None:
    """Save one version's parse (or why it is not a report) when it is done."""
    from reports import PARSER_VERSION, ParseError, ParserFailure

    stats.parsed += 1
    try:
        report = parsed.result()
    except ParseError as exc:
        store.save_report(row["version_id"], PARSER_VERSION, None, error=str(exc))
        stats.not_reports += 1
        return
    except ParserFailure as exc:  # a parser bug or crash must not stop the other documents
        store.save_report(row["version_id"], PARSER_VERSION, None, error=str(exc))
        stats.errors += 1
        return
    # The page's own dates (PubDate meta, 发布日期 line, list date) outrank a date written at
    # the end of the report body (domain notes, "Where the date comes from").
    if meta.get("published_at"):
        report["published_at"] = meta["published_at"]
        report["published_at_source"] = meta.get("date_source")
    store.save_report(row["version_id"], PARSER_VERSION, report)
    stats.reports += 1
