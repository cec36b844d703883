"""Access barriers real portals put in front of their pages (docs/portals.md §7).

:class:`GuardedSite` wraps any site (TRS, Hanweb, gkmlpt, Ucap, JS-only) and adds:

- ``challenge``: a 瑞数 Rivers-like JS challenge.  A request without the right cookies gets
  **HTTP 412**, ``Set-Cookie: FSSBBIl1UgzbN7N80S=<signed nonce>; HttpOnly`` and a small page with
  ``<meta id="9DhefwqGPrzGxEp9hPaoag" content="<token>" r="m">``, a ``$_ts`` variable and a
  ``<script r="m">`` that computes ``FSSBBIl1UgzbN7N80T`` from the token and ``$_ts.nsd``, sets it
  with ``document.cookie`` and reloads after ``challenge_delay_ms``.  With both cookies the real
  page is served.  A browser passes; a plain HTTP client, which runs no script, never does.
- ``browser_only``: 403 to any User-Agent without "Mozilla" or "Chrome" (工信部 / 无锡 style WAF).

The other barriers are options elsewhere; :data:`PRESETS` names them for SimulatedPortal:
burst throttling with 0-byte bodies and robots.txt are :class:`simulator.server.Behaviour`
(``burst_limit``, ``robots_txt``, ``robots_status``); soft 404 and GBK pages are site options
(``soft_404``, ``charset``) on every family.

    SimulatedPortal(family="hanweb", **PRESETS["rivers"], **PRESETS["robots_disallow"])
"""

from __future__ import annotations

import hashlib
import secrets
from http.cookies import CookieError, SimpleCookie
from typing import Any

from simulator.site import Request, Response

COOKIE_S = "FSSBBIl1UgzbN7N80S"  # set by the server with the 412
COOKIE_T = "FSSBBIl1UgzbN7N80T"  # computed by the challenge script
META_ID = "9DhefwqGPrzGxEp9hPaoag"
ROBOTS_DISALLOW_ALL = "User-agent: *\nDisallow: /\n"

PRESETS: dict[str, dict[str, Any]] = {
    "rivers": {"challenge": True},
    "browser_only": {"browser_only": True},
    "burst": {"burst_limit": 5, "burst_window": 1.0},  # 苏州: 0-byte 200s after quick requests
    "robots_disallow": {"robots_txt": ROBOTS_DISALLOW_ALL},  # 北京顺义
    "robots_403": {"robots_txt": "<html><body>403 Forbidden</body></html>", "robots_status": 403},  # 工信部
    "soft_404": {"soft_404": True},
    "gbk": {"charset": "gbk"},
}

BLOCKED_PAGE = "<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>"


def checksum(text: str) -> str:
    """The challenge script's hash, written so JavaScript's Math.imul loop gives the same value."""
    h = 0
    for ch in text:
        h = (h * 31 + ord(ch)) & 0xFFFFFFFF
    return f"{h:08x}"


class GuardedSite:
    """A site behind barriers; everything but ``handle`` is the wrapped site's (ground truth too)."""

    _own = ("inner", "challenge", "browser_only", "challenge_delay_ms", "_secret", "challenges")

    def __init__(
        self,
        inner: Any,
        *,
        challenge: bool = False,
        browser_only: bool = False,
        challenge_delay_ms: int = 300,
    ) -> None:
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "challenge", challenge)
        object.__setattr__(self, "browser_only", browser_only)
        object.__setattr__(self, "challenge_delay_ms", challenge_delay_ms)
        object.__setattr__(self, "_secret", secrets.token_hex(8))
        object.__setattr__(self, "challenges", 0)  # how many 412s were served

    # Attribute reads and writes go to the wrapped site (SimulatedPortal sets ``site.today``).
    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._own:
            object.__setattr__(self, name, value)
        else:
            setattr(self.inner, name, value)

    def bind(self, base_url: str) -> None:
        self.inner.bind(base_url)

    def handle(self, request: Request) -> Response:
        if self.browser_only:
            ua = request.header("user-agent").lower()
            if "mozilla" not in ua and "chrome" not in ua:
                return Response(403, BLOCKED_PAGE)
        if self.challenge and not self.passed(request):
            return self.challenge_response(request)
        return self.inner.handle(request)

    # -- the challenge -------------------------------------------------------------------------

    def _sign(self, nonce: str) -> str:
        return nonce + hashlib.sha1((self._secret + nonce).encode()).hexdigest()[:8]

    def _token(self, s_value: str) -> str:
        return hashlib.sha256((self._secret + "|" + s_value).encode()).hexdigest()

    @staticmethod
    def _nsd(s_value: str) -> int:
        return int(s_value[-8:], 16) % 100_000 if len(s_value) >= 8 else 0

    def expected_t(self, s_value: str) -> str:
        return checksum(self._token(s_value) + str(self._nsd(s_value)))

    @staticmethod
    def _cookies(request: Request) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(request.header("cookie"))
        except CookieError:
            return {}
        return {k: m.value for k, m in jar.items()}

    def _valid_s(self, request: Request) -> str | None:
        s = self._cookies(request).get(COOKIE_S, "")
        return s if len(s) == 24 and self._sign(s[:16]) == s else None

    def passed(self, request: Request) -> bool:
        s = self._valid_s(request)
        return s is not None and self._cookies(request).get(COOKIE_T) == self.expected_t(s)

    def challenge_response(self, request: Request) -> Response:
        object.__setattr__(self, "challenges", self.challenges + 1)
        # Keep a valid first cookie: a parallel request (favicon.ico) must not invalidate the
        # one the page's script is computing its answer from.
        s = self._valid_s(request) or self._sign(secrets.token_hex(8))
        token, nsd = self._token(s), self._nsd(s)
        page = (
            "<!DOCTYPE html>\n<html><head>\n"
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
            f'<meta id="{META_ID}" content="{token}" r="m">\n'
            '<script type="text/javascript" r="m">'
            f"var $_ts=window['$_ts'];if(!$_ts)$_ts={{}};$_ts.nsd={nsd};"
            f'$_ts.cd="{hashlib.md5(token.encode()).hexdigest()}";</script>\n'
            '<script type="text/javascript" r="m">(function(){'
            f"var c=document.getElementById('{META_ID}').content+$_ts.nsd;var h=0;"
            "for(var i=0;i<c.length;i++){h=(Math.imul(h,31)+c.charCodeAt(i))>>>0;}"
            "var v=('00000000'+h.toString(16)).slice(-8);"
            f"setTimeout(function(){{document.cookie='{COOKIE_T}='+v+'; path=/';location.reload();}},"
            f"{self.challenge_delay_ms});"
            "})();</script>\n</head><body></body></html>\n"
        )
        # The body is always UTF-8 text; bytes keep the server from re-encoding it for a GBK site.
        return Response(
            412,
            page.encode("utf-8"),
            "text/html; charset=utf-8",
            headers={"Set-Cookie": f"{COOKIE_S}={s}; Path=/; HttpOnly"},
        )


def guard(
    site: Any, *, challenge: bool = False, browser_only: bool = False, challenge_delay_ms: int = 300
) -> Any:
    """Wrap ``site`` only when a barrier is asked for (plain sites stay plain)."""
    if not (challenge or browser_only):
        return site
    return GuardedSite(
        site, challenge=challenge, browser_only=browser_only, challenge_delay_ms=challenge_delay_ms
    )
