"""One spider per portal family; ``spider_for`` picks the one a source needs."""

from __future__ import annotations

from spiders.base import PortalSpider
from spiders.trs import TrsSpider

FAMILIES: dict[str, type[PortalSpider]] = {"trs": TrsSpider}


def spider_for(source: dict) -> type[PortalSpider]:
    """The spider class for a configured source (its ``family``, else generic discovery)."""
    family = source.get("family") or "generic"
    if family not in FAMILIES:
        # Until a family has its own spider, the TRS walk is the generic one: it follows report
        # links and sub-columns on any page and reads a pager only where one exists.
        return TrsSpider
    return FAMILIES[family]
