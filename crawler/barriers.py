"""Access barriers: challenge pages, refusals, soft 404s, and back-off on overload signs.

A downloader middleware, so no spider ever sees a barrier as a page (a challenge page must
never be stored as a report).  What it recognises (docs/portals.md §7):

- 瑞数 Rivers Security: HTTP 412 with a ``$_ts`` script / ``meta#9DhefwqGPrzGxEp9hPaoag``;
- tiny JS shells that set ``document.cookie`` and reload (chinatax C3VK, 加速乐 ``__jsluid``);
- 403 (or 412/521) refusals of non-browser clients, and 200 "访问异常"/verification pages;
- soft 404s: status 200 but a body that says the page does not exist.

A challenge is passed in Chromium when the source allows the browser (``browser: true``): the
page is re-requested through scrapy-playwright, and the cookies the browser earns are sent with
the plain requests that follow.  Otherwise the source is reported blocked with the reason (the
stats ``nianbao/blocked`` and ``nianbao/blocked_reasons`` the runner reads, exactly as the
pipeline records a ``BlockedItem``).  A soft 404 becomes a 404 (the walk records a known
document as gone).  0-byte bodies, 429 and 5xx slow that host down (15/45/120 s by default,
``NIANBAO_BACKOFF_BASE`` scales it) and retry.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

from spiders.pages import is_attachment_url, is_report_title

logger = logging.getLogger(__name__)

BACKOFF_STEPS = (1, 3, 8)  # × NIANBAO_BACKOFF_BASE (15 s): 15 s, 45 s, 120 s
DEFAULT_BACKOFF_BASE = 15.0
MAX_RETRY_AFTER = 300.0
# 瑞数 (Rivers) shells: separate patterns, because one alternation defeats the regex engine's
# literal search and costs ~0.1 ms on every 30 KB page.
_RS_MARKERS = (
    re.compile(r"\$_ts\s*="),
    re.compile(r"9DhefwqGPrzGxEp9hPaoag"),
    re.compile(r"<script[^>]*\br=['\"]m['\"]", re.I),
)
_COOKIE_SHELL = re.compile(r"document\.cookie\s*=", re.I)
_RELOAD = re.compile(
    r"location\.(?:reload|replace|assign)\s*\(|(?:window\.|document\.|self\.)?location(?:\.href)?\s*=", re.I
)
_JSL = re.compile(r"__jsluid|__jsl_clearance", re.I)
_BLOCK_PAGE = re.compile(
    r"访问异常|访问被拒绝|访问受限|人机验证|安全验证|请开启JavaScript|请启用JavaScript|"
    r"yunsuo_session_verify|safedog|创宇|WAF拦截|您的访问请求可能对网站造成安全威胁",
    re.I,
)
_NOT_FOUND = re.compile(
    r"页面不存在|找不到(?:该|您要访问的|此)?页面|页面(?:未|没有)找到|您访问的页面(?:不存在|已删除)|"
    r"页面已删除|\b404\b|Not\s+Found|信息不存在|文章不存在",
    re.I,
)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.I | re.S)
_TAGS = re.compile(r"<script\b.*?</script>|<style\b.*?</style>|<[^>]+>", re.I | re.S)
SHELL_MAX_BYTES = 6000  # challenge shells are a few hundred bytes to a few KB
SOFT404_MAX_TEXT = 600


def visible_text(html: str) -> str:
    return re.sub(r"\s+", "", _TAGS.sub(" ", html))


def challenge_reason(status: int, body: str, headers: dict[str, str] | None = None) -> str | None:
    """Why a response is a challenge or a refusal rather than the page, or None."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    # A shell is small; only a small body is measured in bytes and stripped to its text.
    small = len(body) <= SHELL_MAX_BYTES and len(body.encode("utf-8", "ignore")) <= SHELL_MAX_BYTES
    if any(marker.search(body) for marker in _RS_MARKERS):
        return f"瑞数 challenge (HTTP {status} with a $_ts script)"
    if status == 412:
        return "HTTP 412 challenge (WAF)"
    if small and _COOKIE_SHELL.search(body) and _RELOAD.search(body) and len(visible_text(body)) < 200:
        name = re.search(r"document\.cookie\s*=\s*['\"]?\s*([\w-]+)=", body)
        return f"JS cookie challenge ({name.group(1) if name else 'cookie'} set by script, then reload)"
    if status == 521 or (small and _JSL.search(body)):
        return f"加速乐 JS challenge (HTTP {status})"
    if status == 403:
        return "HTTP 403: the portal refuses non-browser clients"
    if status == 200 and small and _BLOCK_PAGE.search(body):
        return "access-denied page (HTTP 200)"
    return None


def is_soft_404(status: int, body: str) -> bool:
    """A 200 page that says it does not exist and carries no report."""
    if status != 200 or not body:
        return False
    title = " ".join(_TAGS.sub(" ", m) for m in _TITLE.findall(body) + _H1.findall(body))
    if is_report_title(title):
        return False
    text = visible_text(body)
    if _NOT_FOUND.search(title):
        return len(text) < 4 * SOFT404_MAX_TEXT
    return len(text) < SOFT404_MAX_TEXT and bool(_NOT_FOUND.search(text))


class BarrierMiddleware:
    """Recognises barriers, passes them with the browser where allowed, backs off on overload."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        # The setting, else the environment (a test or an operator can shorten it without a
        # config key), else 15 s.
        default = float(os.environ.get("NIANBAO_BACKOFF_BASE") or DEFAULT_BACKOFF_BASE)
        base = crawler.settings.getfloat("NIANBAO_BACKOFF_BASE", default)
        self.backoff = [base * step for step in BACKOFF_STEPS]
        self.browser = (
            crawler.settings.getdict("DOWNLOAD_HANDLERS")
            .get("http", "")
            .endswith("ScrapyPlaywrightDownloadHandler")
        )
        self.earned: dict[str, dict[str, str]] = {}  # host -> cookies the browser earned
        self.agents: dict[str, str] = {}  # host -> the User-Agent those cookies were earned with
        self.base_delay: dict[str, float] = {}  # slot -> its delay before we raised it

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BarrierMiddleware:
        return cls(crawler)

    # -- requests: browser-earned cookies for plain requests --------------------------------

    def process_request(self, request: Request, spider: Any = None) -> None:
        host = urlsplit(request.url).netloc
        if host in self.earned and not request.meta.get("playwright"):
            cookies = request.cookies if isinstance(request.cookies, dict) else {}
            request.cookies = {**self.earned[host], **cookies}
            # Challenge cookies are tied to the client that earned them, and a WAF that refuses
            # non-browsers refuses our own User-Agent: speak as the browser did on this host.
            request.headers["User-Agent"] = self.agents[host]
        return None

    # -- responses --------------------------------------------------------------------------

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        page = response.meta.get("playwright_page") if request.meta.get("nianbao_challenge") else None
        if page is not None:
            await self._take_cookies(request, page)
        retry = self._backoff(request, response)
        if retry is not None:
            return retry
        if urlsplit(request.url).path == "/robots.txt":
            return response  # the robots middleware reads any failure as "allowed"; never render it
        body = response.text if isinstance(response, TextResponse) else ""
        passing = request.meta.get("nianbao_challenge") and request.meta.get("playwright")
        # The browser's status is its first answer's (the 412); judge what it ended up showing.
        if passing and body and not challenge_reason(200, body) and visible_text(body):
            self.stats.inc_value("nianbao/challenges_passed")
            return response.replace(status=200)
        reason = (
            challenge_reason(response.status, body, _headers(response))
            if body
            or response.status
            in (
                403,
                412,
                521,
            )
            else None
        )
        if reason:
            return self._challenged(request, response, reason)
        if is_soft_404(response.status, body):
            self.stats.inc_value("nianbao/soft_404")
            logger.info("soft 404 (200 saying the page does not exist): %s", response.url)
            return response.replace(status=404)
        self._recover(request)
        return response

    def _challenged(self, request: Request, response: Response, reason: str) -> Any:
        spider = self.crawler.spider
        source = getattr(spider, "source", {}) or {}
        attachment = is_attachment_url(request.url)
        if (
            source.get("browser")
            and self.browser
            and not request.meta.get("playwright")
            and not request.meta.get("nianbao_challenge")
            and not attachment  # a PDF through the browser is a viewer shell, not the file
        ):
            logger.info("%s: %s — passing it in the browser", request.url, reason)
            self.stats.inc_value("nianbao/challenges_passed_with_browser")
            from spiders.browser import browser_timeout_ms, render_meta

            timeout = browser_timeout_ms(self.crawler.settings)
            meta = {**request.meta, **render_meta(timeout, include_page=True), "nianbao_challenge": reason}
            return request.replace(meta=meta, dont_filter=True)
        if request.meta.get("nianbao_challenge") and request.meta.get("playwright"):
            reason = f"{reason}; still there after the browser"
        self.block(request, reason, response.status)
        raise IgnoreRequest(f"{reason}: {request.url}")

    def block(self, request: Request, reason: str, status: int) -> None:
        """Record the source as blocked (the same stats a ``BlockedItem`` sets)."""
        logger.warning("blocked: %s (%s)", request.url, reason)
        self.stats.inc_value("nianbao/blocked")
        reasons = self.stats.get_value("nianbao/blocked_reasons") or []
        if reason not in reasons:
            self.stats.set_value("nianbao/blocked_reasons", [*reasons, reason])

    async def _take_cookies(self, request: Request, page: Any) -> None:
        try:
            cookies = await page.context.cookies()
            host = urlsplit(request.url).netloc
            hostname = urlsplit(request.url).hostname or ""
            jar = self.earned.setdefault(host, {})
            self.agents[host] = await page.evaluate("navigator.userAgent")
            for c in cookies:
                if hostname.endswith(c.get("domain", "").lstrip(".")):
                    jar[c["name"]] = c["value"]
            logger.info("browser earned %d cookies for %s", len(jar), host)
        finally:
            await page.close()

    # -- back-off ---------------------------------------------------------------------------

    def _backoff(self, request: Request, response: Response) -> Request | None:
        status = response.status
        empty = status == 200 and not response.body and request.method != "HEAD"
        if not (empty or status == 429 or 500 <= status < 600) or status == 501:
            return None
        tries = request.meta.get("nianbao_backoff", 0)
        why = "0-byte body" if empty else f"HTTP {status}"
        if tries >= len(self.backoff):
            self.stats.inc_value("nianbao/backoff_gave_up")
            request.meta["dont_retry"] = True  # our retries were the retries
            if empty:
                raise IgnoreRequest(f"{why} after {tries} back-offs: {request.url}")
            return None
        delay = self.backoff[tries]
        retry_after = response.headers.get("Retry-After")
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER))
        self._slow_down(request, delay)
        self.stats.inc_value("nianbao/backoff")
        logger.info("%s from %s: waiting %.1f s before retrying", why, request.url, delay)
        meta = {**request.meta, "nianbao_backoff": tries + 1}
        return request.replace(meta=meta, dont_filter=True)

    def _slot(self, request: Request) -> tuple[str, Any] | None:
        engine = getattr(self.crawler, "engine", None)
        downloader = getattr(engine, "downloader", None)
        if downloader is None:
            return None
        key = downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        return (key, slot) if slot is not None else None

    def _slow_down(self, request: Request, delay: float) -> None:
        found = self._slot(request)
        if found:
            key, slot = found
            self.base_delay.setdefault(key, slot.delay)
            slot.delay = max(slot.delay, delay)

    def _recover(self, request: Request) -> None:
        """A good answer: let the host's delay fall back towards its configured value."""
        found = self._slot(request)
        if found and found[0] in self.base_delay:
            key, slot = found
            # Slowly: a host that throttles bursts throttles again at the old pace.
            slot.delay = max(self.base_delay[key], slot.delay * 0.9 - 0.01)
            if slot.delay == self.base_delay[key]:
                del self.base_delay[key]


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}
