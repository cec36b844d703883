"""TRS WCM ("t-date") portals: static list pages paged by a script.

A TRS column is ``index.html`` followed by ``index_N.html`` pages whose pager is written at run
time by ``createPageHTML(...)`` or from ``var countPage = N``.  Two conventions exist
(docs/portals.md §3):

- classic: ``createPageHTML(count, current, "index", "html")`` / ``countPage`` with a 0-based
  current page, so page 2 is ``index_1.html``;
- newer: ``createPageHTML('page_div', count, current, 'index', 'shtml', records)`` with a 1-based
  current page, so page 2 is ``index_2.shtml``.

The convention is read from the first page's own script: its current page is 0 or 1.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from scrapy.http import Response

from spiders.base import PortalSpider

_CREATE_PAGE = re.compile(r"createPageHTML\s*\(([^)]*)\)")
_COUNT_PAGE = re.compile(r"var\s+countPage\s*=\s*(\d+)")
_CURRENT_PAGE = re.compile(r"var\s+currentPage\s*=\s*(\d+)")
_PAGE_NAME = re.compile(r"/(?P<prefix>[A-Za-z][\w-]*?)(?:_(?P<n>\d+))?\.(?P<ext>s?html?)$")


@dataclass
class Pager:
    """What a TRS list page says about its column's pages."""

    count: int
    current: int
    prefix: str
    ext: str
    zero_based: bool

    @property
    def first(self) -> int:
        return 0 if self.zero_based else 1

    def name(self, i: int) -> str:
        """The relative name of page ``i`` (``first`` is the column's first page)."""
        return f"{self.prefix}.{self.ext}" if i == self.first else f"{self.prefix}_{i}.{self.ext}"

    def index(self, name: str) -> int | None:
        """Which page ``name`` is, or None when it is none of the column's pages."""
        if name == self.name(self.first):
            return self.first
        m = re.fullmatch(rf"{re.escape(self.prefix)}_(\d+)\.{re.escape(self.ext)}", name)
        i = int(m.group(1)) if m else None
        return i if i is not None and self.first < i < self.first + self.count else None

    def following(self, name: str) -> Iterator[str]:
        """Names of the pages after ``name``, made one at a time (a pager may announce millions)."""
        i = self.index(name)
        return iter(()) if i is None else (self.name(k) for k in range(i + 1, self.first + self.count))

    def urls(self) -> list[str]:
        """Relative names of every page of the column, first page first."""
        return [self.name(i) for i in range(self.first, self.first + self.count)]


def read_pager(html: str, url: str) -> Pager | None:
    """The pager of a TRS list page, or None when the page has none."""
    name = _PAGE_NAME.search(urlsplit(url).path)
    prefix, ext = (name["prefix"], name["ext"]) if name else ("index", "html")
    on_first_page = not (name and name["n"])
    # The page may define createPageHTML itself before calling it: take the first call whose
    # arguments are numbers.
    for m in _CREATE_PAGE.finditer(html):
        args = [a.strip().strip("'\"") for a in m.group(1).split(",")]
        try:
            if (
                args and not args[0].lstrip("-").isdigit()
            ):  # ('page_div', count, current, prefix, ext, records)
                count, current = int(args[1]), int(args[2])
                prefix, ext = (args[3] or prefix), (args[4] if len(args) > 4 else ext)
                zero_based = current == 0 if on_first_page else False
            else:  # (count, current, prefix, ext)
                count, current = int(args[0]), int(args[1])
                if len(args) > 3:
                    prefix, ext = args[2] or prefix, args[3] or ext
                zero_based = current == 0 if on_first_page else True
            return Pager(count, current, prefix, ext, zero_based)
        except (ValueError, IndexError):
            continue  # a definition, or variables instead of numbers
    m = _COUNT_PAGE.search(html)
    if m:
        cur = _CURRENT_PAGE.search(html)
        current = int(cur.group(1)) if cur else 0
        zero_based = current == 0 if on_first_page else True
        return Pager(int(m.group(1)), current, prefix, ext, zero_based)
    return None


class TrsSpider(PortalSpider):
    """A TRS column: every page the pager announces, from the first page's script."""

    name = "trs"
    family = "trs"

    def next_pages(self, response: Response) -> Iterable[str]:
        if not hasattr(response, "text"):
            return []
        pager = read_pager(response.text, response.url)
        if pager is None or pager.count <= 1:
            return []
        current = urlsplit(response.url).path.rsplit("/", 1)[-1] or pager.name(pager.first)
        following = pager.following(current)
        # An incremental walk goes page by page so it can stop at the first page that holds only
        # known reports; a full walk asks for every page, from the first page, as far as the
        # source's list-page budget goes (spiders.budget).
        if self.known and not self.revalidate:
            return list(itertools.islice(following, 1))
        return following if pager.index(current) == pager.first else []
