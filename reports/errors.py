"""The exceptions the parser raises for input it cannot treat as a report."""


class ParseError(Exception):
    """Not a report document at all, or one that cannot be read (the message says why)."""


class LimitError(ParseError):
    """The document is over one of the bounds in reports.limits.Limits (the message names the
    bound and its config key): too big, too many pixels, rulings or seconds to read."""


class ParserFailure(Exception):
    """The parser failed on a document by a bug or a crash of its process: no verdict on the
    document (reports.isolate raises it; the message says what happened)."""
