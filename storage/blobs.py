"""Content-addressed, compressed blobs: identical bytes are stored once."""

from __future__ import annotations

import hashlib
import zlib

import sqlite_utils


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Level 3 is twice as fast as the default 6 on report pages, for ~9% more bytes.
COMPRESSION_LEVEL = 3


def put_blob(db: sqlite_utils.Database, data: bytes, digest: str | None = None) -> str:
    """Store ``data`` (if new) and return its sha256.  Must run inside the caller's transaction."""
    digest = digest or sha256(data)
    if db.conn.execute("SELECT 1 FROM blobs WHERE sha256 = ?", [digest]).fetchone():
        return digest  # stored already: do not compress it again
    packed = zlib.compress(data, COMPRESSION_LEVEL)
    compression = "zlib"
    if len(packed) >= len(data):  # already-compressed formats (PDF, DOCX) gain nothing
        packed, compression = data, "none"
    db.execute(
        "INSERT OR IGNORE INTO blobs (sha256, size, compression, data) VALUES (?, ?, ?, ?)",
        [digest, len(data), compression, packed],
    )
    return digest


def get_blob(db: sqlite_utils.Database, digest: str) -> bytes:
    """The original bytes of the blob ``digest``; KeyError when it is not stored."""
    row = db.execute("SELECT compression, data FROM blobs WHERE sha256 = ?", [digest]).fetchone()
    if row is None:
        raise KeyError(digest)
    compression, data = row
    return zlib.decompress(data) if compression == "zlib" else bytes(data)
