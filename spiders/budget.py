"""Bounds on one run's requests: list pages per source, documents per run.

A budget admits at most ``limit`` distinct requests (by Scrapy request fingerprint, so a page
asked for twice — a pager repeated on every page, a page rendered again in the browser — is
counted once).  It is spent when a request is *scheduled*, not when its answer is read: a pager
that announces a million pages gets ``limit`` requests, however many it names at once.
"""

from __future__ import annotations


class Budget:
    """At most ``limit`` distinct requests of one kind; ``setting`` names the config key."""

    def __init__(self, setting: str, limit: int):
        self.setting = setting
        self.limit = max(0, int(limit))
        self.admitted: set[bytes] = set()
        self.refused = 0

    @property
    def reason(self) -> str:
        """How a capped run says why: ``max_pages_per_source=30``."""
        return f"{self.setting}={self.limit}"

    def admit(self, key: bytes) -> bool:
        """Whether the request with fingerprint ``key`` may be scheduled (a repeat always may)."""
        if key in self.admitted:
            return True
        if len(self.admitted) < self.limit:
            self.admitted.add(key)
            return True
        self.refused += 1
        return False
