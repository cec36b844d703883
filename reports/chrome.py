"""Page chrome by name: the id and class words portals give their related-link lists, visit
counters, clocks, share bars and banners (and, outside a report's body, their navigation and
footers).  Used by the crawl's fingerprint (``spiders.fingerprint``) and by the readable text of a
stored page (``reports.decode.version_text``), so both leave out the same chrome.
"""

from __future__ import annotations

import re

# id / class words that name chrome: related links, recommendations, share bars, counters,
# clocks, banners (substrings of an id or a class; the frame words only as whole words).
_CHROME_WORDS = (
    "related",
    "relate",
    "xglj",
    "xgwz",
    "xgxx",
    "xgwj",
    "tuijian",
    "recommend",
    "share",
    "fenxiang",
    "counter",
    "visit",
    "clock",
    "hits",
    "weather",
    "login",
    "banner",
    "toolbar",
)
_FRAME_WORDS = ("nav", "menu", "header", "footer", "breadcrumb", "crumb", "position", "sidebar", "copyright")
_CHROME_NAME = re.compile("|".join(_CHROME_WORDS), re.I)
_FRAME_NAME = re.compile(r"(?:^|[\s_-])(?:" + "|".join(_FRAME_WORDS) + r")(?:$|[\s_\d-])", re.I)


_NAME_CACHE: dict[tuple[str | None, str | None, bool], bool] = {}


def chrome_name(cls: str | None, ident: str | None, frame: bool) -> bool:
    """Whether an element's class or id names page chrome (related links, counters, clocks,
    share bars, …); with ``frame``, page furniture too (nav, menu, header, footer, …)."""
    key = (cls, ident, frame)
    found = _NAME_CACHE.get(key)
    if found is None:
        text = f"{cls or ''} {ident or ''}"
        found = bool(_CHROME_NAME.search(text) or (frame and _FRAME_NAME.search(text)))
        if len(_NAME_CACHE) < 10_000:
            _NAME_CACHE[key] = found
    return found
