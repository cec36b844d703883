"""Storage: sources, documents, every version of every document, blobs, reports, runs, events."""

from storage.store import Fetched, Recorded, StorageError, Store, now_iso

__all__ = ["Fetched", "Recorded", "StorageError", "Store", "now_iso"]
