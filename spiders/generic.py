"""Generic discovery: a source known only by its home page or its 政府信息公开 page.

The shared walk already follows 政府信息公开 / 年报 links towards the report column
(``spiders.base``); this spider reads every page it reaches with the adapter its fingerprints
point to (``spiders.detect``): Hanweb datastores and dataproxy paging, the gkmlpt API, Ucap's
queryList, a TRS pager, or plain links.  A source whose ``family`` is not set is crawled so.
"""

from __future__ import annotations

from spiders.adapters import AdapterSpider, ListAdapter
from spiders.gkmlpt import GkmlptAdapter
from spiders.hanweb import HanwebAdapter
from spiders.ucap import UcapAdapter

ALL_ADAPTERS: tuple[ListAdapter, ...] = (HanwebAdapter(), GkmlptAdapter(), UcapAdapter(), ListAdapter())


class GenericSpider(AdapterSpider):
    """Any portal: each list page is read by the family its fingerprints name."""

    name = "generic"
    family = "generic"
    adapters = ALL_ADAPTERS


class TrsAdapterSpider(AdapterSpider):
    """The TRS walk as an adapter spider (used where TRS needs the browser's challenge pass)."""

    name = "trs"
    family = "trs"
    adapters = (ListAdapter(),)
