"""Reading annual reports: any document format in, the national data model out."""

from reports.api import PARSER_VERSION, format_table, parse_bytes, parse_doc, parse_file, read_document
from reports.errors import ParseError

__all__ = [
    "PARSER_VERSION",
    "ParseError",
    "format_table",
    "parse_bytes",
    "parse_doc",
    "parse_file",
    "read_document",
]
