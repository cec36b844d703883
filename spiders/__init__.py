"""One spider per portal family; ``spider_for`` picks the one a source needs."""

from __future__ import annotations

from spiders.adapters import AdapterSpider
from spiders.base import PortalSpider
from spiders.browser import BrowserSpider, with_browser
from spiders.generic import GenericSpider, TrsAdapterSpider
from spiders.gkmlpt import GkmlptSpider
from spiders.hanweb import HanwebSpider
from spiders.trs import TrsSpider
from spiders.ucap import UcapSpider

FAMILIES: dict[str, type[PortalSpider]] = {
    "trs": TrsSpider,
    "hanweb": HanwebSpider,
    "gkmlpt": GkmlptSpider,
    "ucap": UcapSpider,
    "jsonly": BrowserSpider,
    "generic": GenericSpider,
}


def spider_for(source: dict) -> type[PortalSpider]:
    """The spider class for a configured source (its ``family``, else generic discovery).

    A source with ``browser: true`` gets a spider that can pass challenges in Chromium.
    """
    spider_cls = FAMILIES.get(source.get("family") or "generic", GenericSpider)
    if not source.get("browser"):
        return spider_cls
    if spider_cls is TrsSpider:  # the same TRS walk, with the barrier middleware's browser pass
        spider_cls = TrsAdapterSpider
    return with_browser(spider_cls) if issubclass(spider_cls, AdapterSpider) else spider_cls
