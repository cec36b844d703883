"""Registers the non-TRS families with :mod:`simulator.portal` on import.

    import simulator.families  # noqa: F401  (then SimulatedPortal(family="hanweb", ...) works)

Every family registered here also takes the barrier options of :mod:`simulator.barriers`
(``challenge``, ``browser_only``, ``challenge_delay_ms``); "trs" is re-registered the same way
(without barrier options the factory returns a plain TrsSite, so nothing changes for TRS users).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.barriers import guard
from simulator.gkmlpt import GkmlptSite
from simulator.hanweb import HanwebSite
from simulator.jsonly import JsOnlySite
from simulator.model import Region
from simulator.portal import register_family
from simulator.trs import TrsSite
from simulator.ucap import UcapSite

FAMILY_CLASSES: dict[str, type] = {
    "hanweb": HanwebSite,
    "gkmlpt": GkmlptSite,
    "ucap": UcapSite,
    "jsonly": JsOnlySite,
}


def with_barriers(cls: Callable[..., Any]) -> Callable[..., Any]:
    """A family factory that also understands the barrier options."""

    def factory(
        region: Region,
        *,
        challenge: bool = False,
        browser_only: bool = False,
        challenge_delay_ms: int = 300,
        **options: Any,
    ) -> Any:
        site = cls(region, **options)
        return guard(
            site, challenge=challenge, browser_only=browser_only, challenge_delay_ms=challenge_delay_ms
        )

    factory.__name__ = f"{getattr(cls, '__name__', 'site')}_factory"
    return factory


for _name, _cls in FAMILY_CLASSES.items():
    register_family(_name, with_barriers(_cls))
# TRS too (Rivers challenges are met on TRS portals); without barrier options this is TrsSite itself.
register_family("trs", with_barriers(TrsSite))
