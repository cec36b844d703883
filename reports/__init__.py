"""Reading annual reports: any document format in, the national data model out."""

from reports.api import (
    PARSER_VERSION,
    format_table,
    parse_bytes,
    parse_doc,
    parse_file,
    read_document,
    read_file,
)
from reports.errors import LimitError, ParseError, ParserFailure
from reports.isolate import Isolated
from reports.limits import Limits

__all__ = [
    "PARSER_VERSION",
    "Isolated",
    "LimitError",
    "Limits",
    "ParseError",
    "ParserFailure",
    "format_table",
    "parse_bytes",
    "parse_doc",
    "parse_file",
    "read_document",
    "read_file",
]
