"""The parse step: read every stored version not yet parsed by this parser version.

Re-running it does nothing new (idempotent per version and parser version); a new parser
version re-reads everything, keeping the older parses beside the new ones.  Documents are
parsed in a child process under the ``parse:`` config bounds (reports.Isolated): one over its
time or memory budget is saved as an error and the next one is parsed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from config import Config
from storage import Store


@dataclass
class ParseStats:
    parsed: int = 0
    reports: int = 0
    not_reports: int = 0
    errors: int = 0


def parse_stored(store: Store, config: Config, source_id: str | None = None) -> ParseStats:
    """Parse the stored versions that lack a report row from the current parser."""
    from reports import Isolated, Limits

    with Isolated(Limits.from_config(config.section("parse"))) as parser:
        return _parse_versions(store, parser, source_id)


def _parse_versions(store: Store, parser, source_id: str | None) -> ParseStats:
    from reports import PARSER_VERSION, ParseError, ParserFailure

    stats = ParseStats()
    for row in list(store.versions_to_parse(PARSER_VERSION, source_id)):
        body = store.version_body(row["version_id"])
        meta = json.loads(row["meta_json"]) if row.get("meta_json") else {}
        meta.update(
            title=row["title"] or row["parent_title"],
            published_at=row["published_at"] or row["parent_published_at"],
            date_source=row["date_source"] or row["parent_date_source"],
            list_date=row["list_date"],
        )
        stats.parsed += 1
        try:
            report = parser.parse_bytes(body, content_type=row["content_type"], url=row["url"], meta=meta)
        except ParseError as exc:
            store.save_report(row["version_id"], PARSER_VERSION, None, error=str(exc))
            stats.not_reports += 1
            continue
        except ParserFailure as exc:  # a parser bug or crash must not stop the other documents
            store.save_report(row["version_id"], PARSER_VERSION, None, error=str(exc))
            stats.errors += 1
            continue
        # The page's own dates (PubDate meta, 发布日期 line, list date) outrank a date written at
        # the end of the report body (domain notes, "Where the date comes from").
        if meta.get("published_at"):
            report["published_at"] = meta["published_at"]
            report["published_at_source"] = meta.get("date_source")
        store.save_report(row["version_id"], PARSER_VERSION, report)
        stats.reports += 1
    return stats
