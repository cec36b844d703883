"""The publication date a page states about itself, and no other date on it.

A portal page carries several dates.  Its own are the 政府网站发展指引 ``PubDate`` meta (some CMSs
write ``publishtime`` or ``publishdate``) and the visible field of its metadata block or info line:
公开日期 / 发布日期 / 发布时间 / 发文日期 …, or a bare "时间：…" on an info line ("来源：… 时间：…").
The others are not publication dates and are never taken:

- the visitor's clock in the header: "今天是2026年11月30日 星期一", "当前时间：2026-11-30 10:05";
- footer dates: "网站更新时间：…", "最后更新日期：…";
- what a saving tool wrote into a copy: "页面保存于 …", "保存时间：…", "<!-- saved from url=… -->",
  SingleFile's "saved date: …", an MHTML "Date:" header.  Comments and English headers never match
  (the field must be labelled in Chinese); a Chinese label is refused when a word such as
  今天/当前/更新/保存/打印/访问 qualifies it, or when a weekday follows the date (a clock).

A labelled publication field anywhere on the page outranks a bare "时间：" / "日期：" line, so a
header clock printed above the field cannot win by coming first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

# Meta names (lower case) that hold the page's own publication date, in order of preference.
PUB_META = ("pubdate", "publishtime", "publishdate")

_DATE = r"((?:19|20)\d\d)\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)"
# Labels that name the publication itself; a table row may separate label and value with "|".
_OWN = re.compile(
    r"(?:发布日期|发布时间|公开日期|公开时间|发文日期|发稿时间|发表日期|发表时间|上网日期|上网时间|印发日期)"
    rf"\s*[:：|]?\s*\|?\s*{_DATE}"
)
# A bare label: a publication date only on an info line, never when a word qualifies it.
_BARE = re.compile(rf"(?:日期|时间)\s*[:：]\s*{_DATE}")
_QUALIFIED = re.compile(
    r"(?:今天|今日|当前|现在|北京|系统|更新|修改|保存|下载|打印|访问|抓取|采集|截图|浏览|登录|成文|生成"
    r"|实施|施行|截止|办公|工作|受理|服务|开放|报名|活动|会议|开始|结束|咨询|投诉|办理|营业|星期)"
    r"[\s:：]*(?:日期|时间)$"
)
_CLOCK = re.compile(r"\s*日?\s*(?:\d{1,2}:\d{2}(?::\d{2})?\s*)?(?:星期|礼拜|周)[一二三四五六日天]")


def _iso(m: re.Match[str]) -> str | None:
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


def field_date(text: str | None) -> str | None:
    """The date (ISO 8601) of the page's own publication field in ``text``, if it has one.

    The first labelled field (发布日期/发布时间/公开日期/发文日期 …) wins; else the first bare
    "时间："/"日期：" that no word qualifies and no weekday follows.
    """
    if not text:
        return None
    for m in _OWN.finditer(text):
        d = _iso(m)
        if d:
            return d
    # A bare label qualified by a word is that word's date (更新时间, 保存时间).  Portal text often
    # glues an info line's fields together ("来源：X局时间：…"), so only known qualifiers refuse.
    for m in _BARE.finditer(text):
        if _QUALIFIED.search(text, max(0, m.start() - 8), m.start() + 2) or _CLOCK.match(text, m.end()):
            continue
        d = _iso(m)
        if d:
            return d
    return None


def meta_date(meta: Mapping[str, object] | None) -> str | None:
    """The date (ISO 8601) of the page's PubDate / publishtime / publishdate meta, if any."""
    if not meta:
        return None
    lower = {str(k).lower(): v for k, v in meta.items()}
    for name in PUB_META:
        value = lower.get(name)
        m = re.search(_DATE, str(value)) if value else None
        d = _iso(m) if m else None
        if d:
            return d
    return None
