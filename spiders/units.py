"""Links from a report column or a 政府信息公开 page to the columns of the agencies under it.

Portals file a department's or a township's reports in that body's own column, often linked from
the main report column only by the body's name ("县教育局", "城关镇") or through a hub named
"部门年报" / "乡镇（街道）信息公开" (docs/portals.md §2: 硚口 bmjdhz/…/qjyj/, 青山 qzfbm/…/jyj/, 重庆
bm/…/zfxxgknb/).  Pure functions over link texts; the walk that follows them is in spiders.base.

The agency-name knowledge in monitor.names (abbreviations, division prefixes) matches *report*
names to each other; spiders may not import monitor, and a link text needs a different test —
whether it names a body at all, not which one — so it is written here.
"""

from __future__ import annotations

import re
import unicodedata

# How a body's name ends (…局, …委员会, …办公室, …人民政府, …镇, …街道办事处, …中心, …).
_BODY_END = re.compile(
    r"(?:局|分局|委员会|管委会|委|办公室|政府办|办|人民政府|政府|镇|乡|街道|街道办事处|办事处|中心|"
    r"院|馆|站|所|队|厅|署|社|联合会|协会)$"
)
# Link texts that end like a body but are a portal's navigation, not a body.
_NOT_BODY = re.compile(
    r"(新闻|下载|帮助|个人|用户|消息|数据|资料|视频|图片|会员|搜索|咨询)中心$|网站$|服务站$|办事$|"
    r"首页|更多|返回|登录|注册|信箱|留言|投诉|指南|制度|目录|公告|通知|报告|报表|要闻|动态|专题|政策|"
    r"解读|互动|办事大厅|导航|地图|^(部门|乡镇|街道|乡|镇|政府|中心|单位)$"
)
# A hub of unit columns: 部门/乡镇/街道 + 年报/信息公开 ("部门年报", "乡镇（街道）政府信息公开年报").
_HUB = re.compile(r"(部门|乡镇|街道|镇街|单位|直属机构|县直|市直|区直).{0,8}(年报|年度报告|信息公开)")
MAX_NAME = 30  # characters: a body's full name; longer link texts are titles or sentences


def clean_text(text: str) -> str:
    """NFKC (full-width → half-width) without whitespace: the form link texts are tested in."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def is_body_name(text: str) -> bool:
    """True when a link text is a body's name: 县教育局, 青山县人民政府办公室, 城关镇, 新华街道, 县融媒体中心.

    Navigation that happens to end like a body (新闻中心, 政府网站, 网上办事) and anything with
    a digit (a report title, a date) is not one.
    """
    t = clean_text(text)
    if not 3 <= len(t) <= MAX_NAME or re.search(r"[\d:|>/（）()《》“”\"]", t):
        return False
    return bool(_BODY_END.search(t)) and not _NOT_BODY.search(t)


def is_unit_hub(text: str) -> bool:
    """True when a link text names the column of several bodies' reports (部门年报, 乡镇信息公开)."""
    t = clean_text(text)
    return len(t) <= 20 and not re.search(r"\d", t) and bool(_HUB.search(t))
