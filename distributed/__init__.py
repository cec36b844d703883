"""Crawls on other machines: Celery workers with a Redis broker, one coordinator keeping SQLite.

``app`` builds the Celery app from config's ``distributed`` section; ``coordinator`` sends a
batch's sources as tasks and ingests what comes back; ``worker`` (the task) crawls a batch into
a spool and delivers it; ``delivery`` is the signed result stream between them.  Without the
``distributed`` section none of this is used.  See docs/distributed.md.
"""


class BrokerError(Exception):
    """The broker cannot be used (unreachable, wrong password, TLS refused); the message names
    the broker URL (without its password) and the reason."""
