"""Columns only a browser can read, through scrapy-playwright driving Debian's Chromium.

The browser is used only where a plain request cannot see the list: a list page is first
fetched plainly, and rendered only when it is an empty container plus a fetching script
(``spiders.detect.needs_browser``).  Articles and files are always plain requests (Chromium
turns a PDF into a 271-byte viewer shell; docs/portals.md §8).  The same settings let
``crawler.barriers`` pass a challenge page in the browser for a source with ``browser: true``.
"""

from __future__ import annotations

from typing import Any

from spiders.adapters import AdapterSpider
from spiders.generic import ALL_ADAPTERS

CHROMIUM = "/usr/bin/chromium"
HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
NAVIGATION_TIMEOUT_MS = 45_000  # a 瑞数 challenge needs 30–45 s on real portals (docs/portals.md §7)
# A page has passed its challenge (or finished filling its list) once it shows real text and no
# challenge markers: check for positive evidence, never only for the markers' absence.
PAGE_READY = """() => {
  const b = document.body;
  if (!b) return false;
  if (document.querySelector('meta[id="9DhefwqGPrzGxEp9hPaoag"], script[r="m"]')) return false;
  return b.innerText.replace(/\\s+/g, '').length > 20;
}"""
LINKS_ADDED = "() => document.querySelectorAll('a[href]').length > %d"


def playwright_settings(
    executable: str = CHROMIUM, timeout_ms: int = NAVIGATION_TIMEOUT_MS
) -> dict[str, Any]:
    """Scrapy settings that route ``meta["playwright"]`` requests through Chromium."""
    return {
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {"executable_path": executable, "headless": True, "timeout": 30_000},
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_ms,
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 4,
        # The browser sends its own headers: a WAF that refuses non-browsers must see a browser.
        "PLAYWRIGHT_PROCESS_REQUEST_HEADERS": None,
    }


def browser_timeout_ms(settings: Any) -> int:
    """How long the browser may take over a page (PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT)."""
    return (
        settings.getint("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", NAVIGATION_TIMEOUT_MS)
        or NAVIGATION_TIMEOUT_MS
    )


def render_meta(
    timeout_ms: int = NAVIGATION_TIMEOUT_MS, include_page: bool = False, links_over: int | None = None
) -> dict[str, Any]:
    """Request meta that renders a page and waits until its scripts have filled it in.

    ``links_over``: the number of links the plain page had; a script-filled list is there once
    the rendered page has more.  Without it, wait for real text and no challenge markers.
    """
    from scrapy_playwright.page import PageMethod

    ready = PAGE_READY if links_over is None else LINKS_ADDED % int(links_over)
    return {
        "playwright": True,
        "playwright_include_page": include_page,
        "playwright_page_methods": [
            PageMethod("wait_for_load_state", "networkidle", timeout=timeout_ms),
            PageMethod("wait_for_function", ready, timeout=timeout_ms),
        ],
    }


class BrowserSpider(AdapterSpider):
    """The JS-only family: like the generic walk, but script-filled lists are rendered."""

    name = "jsonly"
    family = "jsonly"
    adapters = ALL_ADAPTERS
    family_settings = playwright_settings()


def with_browser(spider_cls: type[AdapterSpider]) -> type[AdapterSpider]:
    """``spider_cls`` able to use Chromium (for a source with ``browser: true``)."""
    if spider_cls.family_settings.get("DOWNLOAD_HANDLERS", {}).get("http") == HANDLER:
        return spider_cls
    return type(
        f"Browser{spider_cls.__name__}",
        (spider_cls,),
        {"family_settings": {**spider_cls.family_settings, **playwright_settings()}},
    )
