"""Which CMS family a portal page belongs to, from its fingerprints (docs/portals.md §1).

Detection is on signals, not vendor names: the same Hanweb pages are called "TRS" or "jpaas"
by other crawlers.  A page can carry several families' traces (a TRS home page linking a
gkmlpt catalogue); the strongest list-bearing signal wins.
"""

from __future__ import annotations

import re

# (family, pattern, weight): weights add up per family; list machinery outweighs URL shapes.
_SIGNALS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("hanweb", re.compile(r"/module/(?:web/|jslib/jquery/)?jpage/dataproxy\.jsp"), 5),
    ("hanweb", re.compile(r"<datastore>", re.I), 5),
    ("hanweb", re.compile(r"大汉网络|大汉版通|Hanweb", re.I), 3),
    ("hanweb", re.compile(r"ZJEG_RSS"), 3),
    ("hanweb", re.compile(r"/col/col\d+/"), 2),
    ("hanweb", re.compile(r"/art/(?:19|20)\d\d/\d{1,2}/\d{1,2}/art_\d+_\d+\.html"), 2),
    ("hanweb", re.compile(r"/module/download/downfile\.jsp"), 1),
    ("gkmlpt", re.compile(r"window\._CONFIG\s*="), 3),
    ("gkmlpt", re.compile(r"/gkmlpt/"), 3),
    ("gkmlpt", re.compile(r"/gkmlpt/api/"), 2),
    ("ucap", re.compile(r"queryList"), 4),
    ("ucap", re.compile(r"UCAP-CONTENT"), 3),
    ("ucap", re.compile(r"content_\d{19}\.html"), 3),
    ("ucap", re.compile(r"/doc/ucap/"), 2),
    ("ucap", re.compile(r"webSiteCode"), 2),
    ("ucap", re.compile(r"/pc/list\.html"), 2),
    ("trs", re.compile(r"createPageHTML\s*\("), 5),
    ("trs", re.compile(r"var\s+countPage\s*="), 5),
    ("trs", re.compile(r"/t(?:19|20)\d{6}_\d+(?:_wap)?\.s?html?"), 3),
    ("trs", re.compile(r"TRS_(?:Editor|UEDITOR)|trs_editor_view"), 2),
)
_MIN_SCORE = 2

# A list container left empty for a script to fill, and a script that fetches the list.
_EMPTY_CONTAINER = re.compile(
    r"<(ul|ol|div|tbody|table)\b[^>]*(?:id|class)=[\"'][^\"']*(list|items|content|data)[^\"']*[\"'][^>]*>\s*</\1>",
    re.I,
)
_XHR = re.compile(r"\bfetch\s*\(|XMLHttpRequest|\$\.(?:ajax|get|post|getJSON)\s*\(|axios\.|\.load\s*\(", re.I)


def family_scores(url: str, html: str) -> dict[str, int]:
    """Each family's fingerprint score for a page (URL and body together)."""
    text = f"{url}\n{html}"
    scores: dict[str, int] = {}
    for family, pattern, weight in _SIGNALS:
        if pattern.search(text):
            scores[family] = scores.get(family, 0) + weight
    return scores


def detect_family(url: str, html: str) -> str | None:
    """The CMS family a page belongs to ("trs", "hanweb", "gkmlpt", "ucap"), or None.

    "jsonly" is returned for a page whose list is only filled in by a script, when no family's
    list machinery is on the page.
    """
    scores = family_scores(url, html)
    if scores:
        family, score = max(scores.items(), key=lambda kv: kv[1])
        if score >= _MIN_SCORE:
            return family
    if needs_browser(html):
        return "jsonly"
    return None


def needs_browser(html: str) -> bool:
    """An empty list container plus a script that fetches data: only a browser sees the list."""
    return bool(_EMPTY_CONTAINER.search(html) and _XHR.search(html))
