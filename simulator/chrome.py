"""Page chrome that differs on every request, as real portals render it.

Real portal pages are rarely byte-stable: a visit counter, today's date and time, a per-request
token in a script, a rotating 相关链接 list, a notice banner, and (on Java CMSs) ``;jsessionid=``
in links.  A family site asks its :class:`Chrome` for these pieces while it builds a page; with
``enabled=False`` every piece is empty and pages are byte-stable again (for tests that compare
bytes or ETags).  Nothing here changes what a report says.
"""

from __future__ import annotations

import html
import itertools
import random
import secrets
import threading
from datetime import datetime, timedelta, timezone

_CST = timezone(timedelta(hours=8))
_WEEKDAYS = "一二三四五六日"
# Related items that are never annual reports (a spider must not take them for one).
RELATED_TITLES = (
    "县政府召开常务会议研究部署近期重点工作",
    "关于做好政务公开重点工作的通知",
    "全县优化营商环境工作推进会召开",
    "县领导调研乡村振兴工作",
    "政府信息公开指南",
    "依申请公开办理流程",
    "县政府门户网站工作年度报表",
    "政务服务“一网通办”事项清单",
    "县人民政府办公室关于开展安全生产检查的通知",
    "2025年度政务公开工作要点解读",
)
BANNERS = (
    "学习贯彻党的二十届四中全会精神",
    "优化营商环境 我们在行动",
    "弘扬法治精神 建设法治政府",
    "政务服务便民热线 12345",
)


class Chrome:
    """The per-request chrome of one site (counter, clock, token, related links, session id)."""

    def __init__(self, enabled: bool = True, seed: int = 0) -> None:
        self.enabled = enabled
        self._visits = itertools.count(100_000 + seed % 900_000)
        self._lock = threading.Lock()
        self._rng = random.Random()  # per request on purpose: unseeded

    def visits(self) -> int:
        with self._lock:
            return next(self._visits)

    def clock(self) -> str:
        """ "今天是2026年11月30日 星期一 10:31:07" in a header bar."""
        if not self.enabled:
            return ""
        now = datetime.now(_CST)
        return (
            f'<div class="top-bar"><span class="clock">今天是{now:%Y年%m月%d日} 星期{_WEEKDAYS[now.weekday()]} '
            f'{now:%H:%M:%S}</span> <a href="javascript:;">登录</a> <a href="javascript:;">注册</a></div>\n'
        )

    def banner(self) -> str:
        if not self.enabled:
            return ""
        with self._lock:
            text = self._rng.choice(BANNERS)
        return f'<div class="banner"><p>{html.escape(text)}</p></div>\n'

    def counter(self, label: str = "浏览次数") -> str:
        """A counter as an article's info line shows it: "浏览次数：12345"."""
        return f"{label}：{self.visits()}" if self.enabled else ""

    def footer_counter(self) -> str:
        if not self.enabled:
            return ""
        return f'<p class="visit">您是本站第{self.visits()}位访问者 总访问量：{self.visits() * 7}</p>\n'

    def token_script(self) -> str:
        """A per-request token and an anti-bot blob in scripts (their contents never matter)."""
        if not self.enabled:
            return ""
        return (
            f'<script>var _tk="{secrets.token_hex(16)}";var _ts={int(datetime.now().timestamp() * 1000)};</script>\n'
            f'<script type="text/javascript">window.__sg="{secrets.token_urlsafe(48)}";</script>\n'
        )

    def related(self, links: list[tuple[str, str]] | None = None, cls: str = "xglj") -> str:
        """A 相关链接 list whose order and content change per request."""
        if not self.enabled:
            return ""
        pool = list(links or []) + [("javascript:;", t) for t in RELATED_TITLES]
        with self._lock:
            picked = self._rng.sample(pool, k=min(5, len(pool)))
        items = "".join(f'<li><a href="{html.escape(h)}">{html.escape(t)}</a></li>' for h, t in picked)
        return f'<div class="{cls}"><h4>相关链接</h4><ul>{items}</ul></div>\n'

    def session(self) -> str:
        """A ``;jsessionid=…`` path parameter, as Java CMSs write into links for a new session."""
        return f";jsessionid={secrets.token_hex(16).upper()}" if self.enabled else ""
