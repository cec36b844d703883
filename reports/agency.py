"""Which body published a report, read off a noisy page.

Three witnesses:

1. the **title line** — from the page's metadata (ArticleTitle, <title>, <h1>), the report's first
   paragraphs, or the page text above the report — once the chrome glued to it is gone: login and
   register links, breadcrumbs and column names, "现公布"/"关于…印发", fragments of dates ("…日",
   "年度"), lone words ("政府", "打印");
2. the report's **own sentences**: "本报告由X根据…编制", "本报告根据…要求，由X编制", "X根据…编制本报告";
3. the page's **fields**: 发布机构, 发布单位, 发文机关, 信息来源, 来源, and the ContentSource meta.

The title names the agency; the others confirm it (a title that is chrome glued before a name the
page gives becomes that name) or complete it (a relative name — 教育局, 市农业农村局 — becomes the
full name the page gives).  Without a title, the report's compiler or the page's field names it.

A title naming only a place is that place's government: X县 → X县人民政府, X市 → X市人民政府,
X区 → X区人民政府, X省 → X省人民政府, and X县政府 → X县人民政府.  This is a rule, applied whether
or not the page writes the government's name out ("由福州市晋安区人民政府信息公开办编制"): only a
people's government reports under its place's name, and with the rule a government's report never
becomes a separate agency "X县" beside X县人民政府 (monitor.names keeps those apart).  The title's
place is kept as the title writes it, not lengthened from a field (湖北省青山县…), so that the
name stays the one the agency reports under.  A township's name (马集镇) is kept unless the page
writes 马集镇人民政府 or the title 马集镇政府: townships report under that name, and monitor.names
matches 马集镇 with 马集镇人民政府.  Zones (…开发区, …新区, 社区) are never completed: a 开发区 is
governed by a 管委会, which only the page can name.

Never returns a lone word, a relative name made of a level and an office (县政府, 本局, 我局), or a
chrome fragment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from reports.text import norm

_N = r"[\u4e00-\u9fff（）()·]"  # a character of an agency name
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_REPORT = r"\s*(?:政府|政务)?\s*信息\s*公开\s*(?:工作)?\s*(?:年度)?\s*(?:工作)?\s*(?:报告|年报)"
_TITLES = (
    # 金乡县科学技术局2023年政府信息公开工作年度报告
    re.compile(rf"(?P<agency>{_N}{{2,40}}?)\s*[（(]?\s*{_YEAR}\s*年\s*度?\s*[）)]?(?:度)?{_REPORT}"),
    # 2022年度螅镇政府信息公开工作年度报告
    re.compile(rf"{_YEAR}\s*年\s*度?\s*(?P<agency>{_N}{{2,30}}?){_REPORT}"),
    # 连云区教育局政府信息公开工作2024年度报告
    re.compile(
        rf"(?P<agency>{_N}{{2,40}}?)\s*(?:政府|政务)?信息公开(?:工作)?\s*{_YEAR}\s*年\s*度?\s*(?:工作)?\s*(?:年度)?报告"
    ),
)
# A title cited inside a sentence: "关于做好2012年政府信息公开工作年度报告有关事项的通知".
_CITED = re.compile(r"[》>\s]*(?:的)?(?:有关|相关|编制|发布工作|报送|的通知|工作的通知|通知|填报)")
# Everything up to the last of these is not the agency ("…办公室关于印发青山县2023年…").
_LEAD = re.compile(r"^.*(?:关于|印发|转发|现将|现予以?公布|现公布|现发布|特发布|予以公布)")
# Page chrome glued onto a title line once whitespace is gone.  Words never found inside a name
# split the run (the name is what follows the last); the others are taken off its front only.
_CHROME_WORDS = re.compile(
    r"登录|注册|个人中心|首页|当前位置|您的位置|您现在的位置|您当前的位置|所在位置|打印|关闭|字体|分享|收藏"
    r"|无障碍|长者助手|适老化|繁体|简体|繁體|搜索|检索|加入收藏|今天是|星期[一二三四五六日天]|浏览次数"
    r"|阅读次数|大中小"
)
_CHROME = re.compile(
    r"^(?:退出|用户|主页|位置|正文|返回|政府信息公开|政务公开|信息公开|政府信息|公开年报|年度报告|部门年报"
    r"|乡镇年报|政府年报|年报|专栏|专区|通知公告)+"
)
_DATE_TAIL = re.compile(r"^(?:年度?|月份?|日|号)")  # what a date leaves before the name ("…26日")
ORG_END = re.compile(
    r"(局|委|委员会|办|办公室|政府|院|镇|乡|街道|办事处|中心|会|室|馆|所|队|厅|部|处|站|区|县|市|省|旗|盟|州|署|社)$"
)
# A name that stands for no agency by itself.
_LONE = re.compile(
    r"^(?:本|我|该|各|全)(?:局|委|办|厅|部|院|所|站|中心|单位|机关|部门|级|省|市|县|区|镇|乡|街道)"  # not 本溪市
    r"|^(?:上级|下级|市级|县级|区级)|^(?:省|市|县|区|镇|乡|街道)?(?:人民)?政府(?:办公室|办)?$"
    r"|^(?:办公室|办|局|委|部门|单位|机关|政府部门)$"
)
_PLACE = re.compile(r"(?:省|自治区|市|县|区|旗|自治州|自治县|盟)$")
_ZONE = re.compile(
    r"(?:社区|开发区|高新区|园区|示范区|管理区|试验区|实验区|保税区|合作区|新区|景区|林区|矿区|片区|辖区)$"
)
_TOWNSHIP = re.compile(r"(?:镇|乡)$")
# Begins with a place (连云区教育局, 衢州市农业农村局), not with a bare level (市农业农村局) or an office.
_ABSOLUTE = re.compile(r"^[^省市县区旗州盟镇乡]{1,12}?(?:省|自治区|市|县|区|旗|州|盟|镇|乡)")
_NATIONAL = re.compile(r"^(?:国家|国务院|中华人民共和国|中国)|^[\u4e00-\u9fff]{2,8}(?:部|署|总局)$")
_DIVISION_END = re.compile(r"(?:省|市|县|区|旗|州|盟|镇|乡|街道)$")

_NAME = r"(?P<agency>[\u4e00-\u9fff（）()]{2,40}?)"
_COMPILERS = (
    re.compile(rf"本(?:年度)?报告(?:是)?由{_NAME}(?:根据|按照|依据|依照|遵照|编制|制作)"),
    re.compile(rf"本(?:年度)?报告[^。]{{0,200}}?由{_NAME}(?:负责)?(?:编制|制作|汇总|起草)"),
    re.compile(rf"(?:^|[。；;]){_NAME}(?:根据|按照|依据|依照)[^。]{{0,200}}?编制(?:了|完成)?本(?:年度)?报告"),
)
# The government's disclosure office compiles the government's report.
_GOV_OFFICE = re.compile(r"^(?P<gov>.+?人民政府)(?:政府)?(?:信息公开|政务公开)\S*?(?:办公室|办)$")

_FIELD_LABELS = "发布机构|发布单位|发布部门|发文机关|发文单位|公开主体|信息来源|来源"
_FIELD = re.compile(rf"(?P<label>{_FIELD_LABELS})\s*[:：|]?\s*\|?\s*(?P<value>[\u4e00-\u9fff（）()]{{2,40}})")
_FIELD_STOP = re.compile(
    r"名称|标题|文号|发布日期|发布时间|成文日期|公开日期|发文日期|主题|分类|索引号|时间|日期|浏览|点击|字体|分享"
    r"|打印|作者|责任编辑|编辑|来源|发布机构|信息来源"
)
_FIELD_RANK = {"信息来源": 2, "来源": 3}  # the issuing-body labels (发布机构 …) come first


def title_match(text: str | None) -> tuple[str | None, int | None]:
    """(agency, year) from a title line such as 金乡县科学技术局2023年政府信息公开工作年度报告.

    The agency is what the title itself names, chrome removed; None when what is left is no
    agency (a lone word, a fragment).  Whitespace separates chrome from the title, so the line is
    read with it first, then without it (a name wrapped over two lines).
    """
    if not text:
        return None, None
    spaced = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(text)))
    found: list[tuple[str | None, int]] = []
    for line in (spaced, norm(text)):
        m = _title_in(line)
        if m:
            found.append((_clean(m.group("agency"), line[: m.start("agency")]), int(m.group("year"))))
            if found[0][0] and absolute(found[0][0]):
                break  # "登录 注册 青山县教育局…": the spaces parted chrome from the name
    # A name split by a space ("青山县 教育局") is whole without the spaces.
    named = [f for f in found if f[0]]
    best = next((f for f in named if absolute(f[0] or "")), named[0] if named else None)
    if best:
        return best
    return None, (found[0][1] if found else None)


def _title_in(line: str) -> re.Match[str] | None:
    """The earliest title in ``line`` that is not a cited document's name."""
    best = None
    for i, pattern in enumerate(_TITLES):
        for m in pattern.finditer(line[:600]):
            if i == 1 and m.start() > 30:
                break  # a year-first title opens its line
            if _CITED.match(line, m.end()):
                continue
            if best is None or m.start() < best.start():
                best = m
            break
    return best


def _clean(raw: str, before: str) -> str | None:
    """The agency in a title's name run, chrome and date fragments removed; None if none is left."""
    a = re.sub(r"(关于|的)$", "", raw)
    cut = _LEAD.sub("", a)
    if cut != a:
        a = cut
    elif before[-1:].isdigit():  # "…2024年1月26日青山县…": the run starts inside a date
        a = _DATE_TAIL.sub("", a)
    a = _CHROME_WORDS.split(a)[-1]
    for _ in range(2):  # chrome, then the bracket it hid, then chrome again
        a = _CHROME.sub("", a).lstrip("（）()·")
    a = a.rstrip("（(·")
    if a.endswith("人民"):  # "青山县人民|政府信息公开…": the title's 政府 belongs to the name
        a += "政府"
    return a if is_name(a) else None


def is_name(a: str | None) -> bool:
    """Could ``a`` name an agency: ends like a body or a place, and is no lone word (政府, 本局)?"""
    if not a or len(a) < 2 or len(a) == 2 and not _DIVISION_END.search(a):  # 螅镇, 沛县; never 中心
        return False
    return bool(ORG_END.search(a)) and not _LONE.search(a)


def compiler(text: str) -> str | None:
    """The body a report says compiled it: "本报告由X根据…编制", "X根据…编制本报告" (normalised text)."""
    for pattern in _COMPILERS:
        for m in pattern.finditer(text):
            name = _LEAD.sub("", m.group("agency")) or m.group("agency")
            if is_name(name):
                return name
    return None


def field_names(page_text: str, meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, name) for the agency names the page's fields give: 发布机构/发布单位/发文机关 …, the
    ContentSource meta, then 信息来源 and 来源; each value cut at the next field's label, lone words
    and non-names left out."""
    found: list[tuple[int, int, str, str]] = []
    for m in _FIELD.finditer(page_text or ""):
        value = m.group("value")
        stop = _FIELD_STOP.search(value, 2)
        if stop:
            value = value[: stop.start()]
        end = re.match(rf".*{ORG_END.pattern[:-1]}", value)  # the longest name-like prefix
        if end and is_name(end.group(0)):
            label = m.group("label")
            found.append((_FIELD_RANK.get(label, 0), m.start(), label, end.group(0)))
    for key in ("content_source", "ContentSource"):
        value = norm(str(meta.get(key) or ""))
        if is_name(value):
            found.append((1, 0, "ContentSource", value))
    out: list[tuple[str, str]] = []
    for _, _, label, name in sorted(found):
        if name not in (n for _, n in out):
            out.append((label, name))
    return out


def settle(title: str | None, compiled: str | None, fields: list[tuple[str, str]], text: str) -> str | None:
    """The agency from the title's name, the compiler's name and the page's field names (see the
    module docstring); ``text`` is where a place's government may be written out in full."""
    names = [n for _, n in fields]
    witnesses = [n for n in (compiled, *names) if n]
    if title:
        agency = _pick(title, compiled)
    else:
        agency = _gov_of(compiled) or compiled or next((n for n in names if absolute(n)), None)
        # A national body has no place in its name (生态环境部): only an issuing field names it.
        agency = agency or next(
            (n for label, n in fields if label not in _FIELD_RANK and _NATIONAL.search(n)), None
        )
    if agency is None:
        return None
    # Chrome glued before a name the page gives ("信息公开年报专栏青山县教育局"): that name.  The part
    # cut off must not end in a division word: 连云区|教育局 is a place and its bureau.
    for n in witnesses:
        cut = agency[: -len(n)] if agency.endswith(n) else ""
        if cut and absolute(n) and not _DIVISION_END.search(cut):
            agency = n
            break
    place = re.fullmatch(r"(.+?(?:省|自治区|市|县|区|旗|自治州|自治县|盟|镇|乡))政府", agency)
    if place:  # 青山县政府 is 青山县人民政府
        agency = place.group(1)
    if _ZONE.search(agency):  # 青山经济开发区: its 管委会 when the page names it
        return next((n for n in witnesses if n.startswith(agency) and len(n) > len(agency)), agency)
    if _PLACE.search(agency):
        return agency + "人民政府"
    if _TOWNSHIP.search(agency):
        confirmed = place or any(agency + "人民政府" in n for n in (*witnesses, text))
        return agency + "人民政府" if confirmed else agency
    if not absolute(agency):  # 教育局, 市农业农村局: the full name the page gives
        fuller = next((n for n in witnesses if n.endswith(agency) and absolute(n)), None)
        return fuller or agency
    return agency


def absolute(name: str) -> bool:
    """Does the name begin with a place (连云区教育局), not with a bare level (市农业农村局)?"""
    return bool(_ABSOLUTE.match(name))


def _gov_of(compiled: str | None) -> str | None:
    m = _GOV_OFFICE.match(compiled or "")
    return m.group("gov") if m else None


def _pick(title: str | None, compiled: str | None) -> str | None:
    """The title's agency, unless it is a short form of the full name in "本报告由…编制"
    (科技局 for 科学技术局).  A government's report is often compiled by its 办公室: keep the
    government then."""
    if not title or not compiled or title == compiled:
        return title or compiled
    if compiled.startswith(title):
        return title
    if len(compiled) > len(title) and compiled[:2] == title[:2] and compiled[-1] == title[-1]:
        return compiled
    return title
