"""The cost of a document's fingerprint (and content key), as the crawl pays it per page.

    .venv/bin/python bench/fingerprint.py

Fetches report article pages (HTML reports and "详见附件" pages) from a simulated portal of
every family, with their per-request chrome, and times ``spiders.fingerprint`` on each parsed
page: the best of several repeats, in ms, beside the cost of parsing the page at all.
"""

from __future__ import annotations

import sys
import timeit
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsel import Selector  # noqa: E402

import simulator.families  # noqa: E402, F401  (registers the families)
from simulator.model import generate_region  # noqa: E402
from simulator.portal import SimulatedPortal  # noqa: E402
from spiders.fingerprint import PageBody, content_key, page_fingerprint  # noqa: E402
from spiders.pages import page_meta, page_title  # noqa: E402

FAMILIES = ("trs", "hanweb", "gkmlpt", "ucap", "jsonly")


def best_ms(fn, number: int = 20, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1000


def main() -> None:
    region = generate_region(11, departments=6, townships=1)
    worst = 0.0
    for family in FAMILIES:
        with SimulatedPortal(region=region, family=family) as portal:
            pages = [d["url"] for d in portal.documents() if d["kind"] == "article"][:8]
            bodies = [urllib.request.urlopen(url, timeout=30).read() for url in pages]
        costs, parses = [], []
        for url, raw in zip(pages, bodies, strict=True):
            text = raw.decode("utf-8")
            sel = Selector(text=text)
            title = page_title(sel, page_meta(sel))

            def both(root=sel.root, title=title, url=url) -> str:
                body = PageBody(root)
                content_key(root, title, [], body)
                return page_fingerprint(root, title, url, body)

            costs.append(best_ms(both))
            parses.append(best_ms(lambda text=text: Selector(text=text).root, number=5, repeat=5))
        worst = max(worst, *costs)
        print(
            f"{family:7} {len(pages)} pages: fingerprint + content key {min(costs):.2f}–{max(costs):.2f} ms a page"
            f" (parsing the page: {min(parses):.2f}–{max(parses):.2f} ms)"
        )
    print(f"worst page: {worst:.2f} ms (target ≤ 1 ms)")


if __name__ == "__main__":
    main()
