"""The one exception the parser raises for input it cannot treat as a report."""


class ParseError(Exception):
    """Not a report document at all, or one that cannot be read (the message says why)."""
