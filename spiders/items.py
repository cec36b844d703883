"""What spiders yield and the storage pipeline stores.

Spiders only find and yield these; they never touch the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DocumentItem:
    """A fetched article page or attachment, with what the portal told us about it."""

    url: str
    body: bytes
    http_status: int
    headers: dict[str, str]
    content_type: str
    kind: str = "page"  # page | attachment
    parent_url: str | None = None
    title: str | None = None
    column_name: str | None = None
    published_at: str | None = None  # ISO date
    date_source: str | None = None  # meta | visible | list | parent:<source>
    list_date: str | None = None
    url_date: str | None = None
    filename: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    content_key: str | None = None  # an article page's title + body hash (spiders.fingerprint.content_key)
    # What the document is, chrome aside: a page's title, body text and files; a file's sha256
    # (spiders.fingerprint).  Storage makes a new version only when it changes.
    fingerprint: str | None = None


@dataclass
class NotModifiedItem:
    """A conditional GET answered 304: the stored version is still current."""

    url: str
    http_status: int = 304


@dataclass
class GoneItem:
    """A known document answered 404/410, or left its column."""

    url: str
    http_status: int
    reason: str


@dataclass
class BlockedItem:
    """The portal refused us (challenge page, 403 to non-browsers, robots.txt)."""

    url: str
    reason: str
    http_status: int = 0
