"""``nianbao check``: one request per source's start URL, and what it says about the coming crawl.

For each enabled source :func:`probe_source` fetches robots.txt and the start URL once, with the
configured User-Agent and timeout, and reads the answer as a crawl would: robots.txt through
Protego (Scrapy's own parser; an unreachable or non-2xx robots.txt allows everything, as in a
crawl), barriers through :func:`crawler.barriers.challenge_reason` and ``is_soft_404``, the CMS
family through :func:`spiders.detect.detect_family`.  Containment holds: only http(s), and a
redirect out of the source's scope (:class:`crawler.containment.Scope`) is refused, not followed.
No cookie is kept and no script runs, so a challenge a browser would pass is reported as such.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from config import Config
from crawler.containment import Scope
from reports.decode import decode_html

MAX_PAGE_BYTES = 8 * 2**20  # a start page; more is not a page worth reading for this
MAX_ROBOTS_BYTES = 512 * 1024  # what Google reads of a robots.txt
WORKERS = 4

FAMILY_NAMES = {
    "trs": "TRS（拓尔思）",
    "hanweb": "Hanweb（大汉）",
    "gkmlpt": "gkmlpt（广东政务公开目录）",
    "ucap": "UCAP（开普云）",
    "jsonly": "列表由脚本生成（需浏览器）",
    "generic": "通用",
}


class ProbeRefused(Exception):
    """The fetch would leave the source's scope (a redirect elsewhere, or to another scheme)."""


@dataclass
class Finding:
    """What one source's start URL said; ``problems`` empty means the crawl should go ahead."""

    source: str
    name: str
    start_url: str
    enabled: bool = True
    status: int | None = None
    final_url: str | None = None
    family: str | None = None
    robots: str | None = None  # allowed / forbidden / absent / unreachable
    barrier: str | None = None
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class Fetched:
    status: int
    url: str
    headers: dict[str, str]
    body: bytes


class _ScopedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only inside the source's scope (containment, as in a crawl)."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        refusal = self.scope.refusal(newurl)
        if refusal:
            raise ProbeRefused(f"重定向到抓取范围以外（{refusal}）：{newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(url: str, *, scope: Scope, user_agent: str, timeout: float, max_bytes: int) -> Fetched:
    """GET ``url`` (an HTTP error status is an answer, not an exception); raises OSError or ProbeRefused."""
    refusal = scope.refusal(url)
    if refusal:
        raise ProbeRefused(f"不在抓取范围内（{refusal}）：{url}")
    # Like Scrapy, which the crawl uses, certificates are not verified: many portals' are broken.
    context = ssl._create_unverified_context()  # noqa: S323 - read-only probe, same as the crawl
    opener = urllib.request.build_opener(
        _ScopedRedirects(scope), urllib.request.HTTPSHandler(context=context)
    )
    request = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept": "*/*"})
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        response = exc
    with response:
        body = response.read(max_bytes + 1)[:max_bytes]
        return Fetched(response.status, response.geturl(), dict(response.headers.items()), body)


def _decode(fetched: Fetched) -> str:
    return decode_html(fetched.body, fetched.headers.get("Content-Type", ""))


def robots_allows(robots_txt: str, url: str, user_agent: str) -> bool:
    """Whether robots.txt lets ``user_agent`` fetch ``url`` (Protego, as Scrapy reads it)."""
    from protego import Protego

    return Protego.parse(robots_txt).can_fetch(url, user_agent)


def probe_source(source: dict[str, Any], crawl: dict[str, Any]) -> Finding:
    """Fetch robots.txt and the start URL of ``source`` once; see the module docstring."""
    from crawler.barriers import challenge_reason, is_soft_404
    from spiders.detect import detect_family

    url = source["start_url"]
    found = Finding(source["id"], source["name"], url, enabled=bool(source.get("enabled", True)))
    if not found.enabled:
        found.notes.append("已停用（enabled: false），未访问")
        return found
    scope = Scope.of(url, [*source.get("allowed_hosts", []), *crawl.get("allowed_hosts", [])])
    agent, timeout = crawl["user_agent"], float(crawl["timeout"])
    parts = urlsplit(url)
    obey = bool(source.get("obey_robots", crawl.get("obey_robots", True)))
    try:
        robots = fetch(
            f"{parts.scheme}://{parts.netloc}/robots.txt",
            scope=scope,
            user_agent=agent,
            timeout=timeout,
            max_bytes=MAX_ROBOTS_BYTES,
        )
    except (OSError, ProbeRefused, ValueError):
        found.robots = "unreachable"  # the crawl reads an unreachable robots.txt as "allowed"
    else:
        if 200 <= robots.status < 300:
            allowed = robots_allows(_decode(robots), url, agent)
            found.robots = "allowed" if allowed else "forbidden"
        else:
            found.robots = "absent"
    if found.robots == "forbidden":
        if obey:
            found.problems.append("robots.txt 禁止抓取起始页（抓取时会被跳过，报告记为无法核查）")
            return found  # a page robots.txt forbids is not requested, here either
        else:
            found.notes.append("robots.txt 禁止抓取起始页，但此来源设置了 obey_robots: false")
    try:
        page = fetch(url, scope=scope, user_agent=agent, timeout=timeout, max_bytes=MAX_PAGE_BYTES)
    except ProbeRefused as exc:
        found.error = str(exc)
        found.problems.append(found.error)
        return found
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        found.error = f"无法访问：{reason}"
        found.problems.append(found.error)
        return found
    found.status, found.final_url = page.status, page.url
    text = _decode(page)
    found.barrier = challenge_reason(page.status, text, page.headers)
    if found.barrier:
        if source.get("browser"):
            found.notes.append(f"访问障碍：{found.barrier}；此来源允许浏览器，抓取时会尝试用 Chromium 通过")
        else:
            found.problems.append(f"访问障碍：{found.barrier}（可设置 browser: true 用浏览器通过）")
        return found
    if 300 <= page.status < 400:  # urllib follows none but http(s) and ftp; ours none out of scope
        where = page.headers.get("Location") or page.headers.get("location") or "?"
        found.problems.append(f"起始页重定向到 {where}，未跟随（只跟随范围内的 http(s) 地址）")
        return found
    if page.status >= 400:
        found.problems.append(f"起始页返回 HTTP {page.status}")
        return found
    if is_soft_404(page.status, text):
        found.problems.append("起始页显示“页面不存在”（HTTP 200 的 404 页）")
        return found
    found.family = detect_family(page.url, text)
    configured = source.get("family")
    if found.family == "jsonly" and not source.get("browser") and configured in (None, "jsonly"):
        found.problems.append("列表由脚本生成，只有浏览器能看到：请设置 browser: true")
    if configured and found.family and configured != found.family:
        found.notes.append(f"配置的 family 是 {configured}，页面看起来是 {found.family}")
    return found


def probe_sources(config: Config, source_ids: list[str] | None = None) -> list[Finding]:
    """One Finding per source (all of them, or those named), in the configuration's order."""
    sources = [config.source(sid) for sid in source_ids] if source_ids else config.sources
    crawl = config.section("crawl")
    with ThreadPoolExecutor(max_workers=max(1, min(WORKERS, len(sources)))) as pool:
        return list(pool.map(lambda s: probe_source(s, crawl), sources))


def describe(found: Finding) -> str:
    """One source's finding in plain Chinese, a few lines."""
    head = f"{'正常' if found.ok else '有问题'}  {found.source}  {found.name}  {found.start_url}"
    if not found.enabled:
        return head.replace("正常", "跳过", 1) + "\n    " + "；".join(found.notes)
    facts = []
    if found.status is not None:
        facts.append(f"HTTP {found.status}")
        if found.final_url and found.final_url != found.start_url:
            facts.append(f"重定向到 {found.final_url}")
    if found.status is not None and not found.barrier and found.status < 400:
        facts.append(
            f"识别为 {FAMILY_NAMES.get(found.family, found.family)}"
            if found.family
            else "未识别 CMS 类型（按通用方式发现栏目）"
        )
    facts.append(
        {
            "allowed": "robots.txt 允许",
            "forbidden": "robots.txt 禁止",
            "absent": "没有 robots.txt（视为允许）",
            "unreachable": "robots.txt 无法获取（视为允许）",
        }.get(found.robots or "", "robots.txt 未检查")
    )
    lines = [head, "    " + "，".join(facts)]
    lines += [f"    问题：{p}" for p in found.problems]
    lines += [f"    注意：{n}" for n in found.notes]
    return "\n".join(lines)
