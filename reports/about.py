"""Who published the report, for which year, when, and the prose parts (一, 五, 六)."""

from __future__ import annotations

import re
from typing import Any

from reports.model import issue
from reports.text import norm

_TITLE = re.compile(
    r"(?P<agency>[\u4e00-\u9fff（）()·]{2,40}?)[（(]?(?P<year>(?:19|20)\d{2})年度?[）)]?(?:度)?"
    r"(?:政府|政务)?信息公开(?:工作)?(?:年度)?(?:工作)?报告"
)
_TITLE_YEAR_FIRST = re.compile(
    r"(?P<year>(?:19|20)\d{2})年度?(?P<agency>[\u4e00-\u9fff（）()]{2,30}?)(?:政府|政务)?信息公开(?:工作)?(?:年度)?(?:工作)?报告"
)
_BY = re.compile(
    r"本(?:年度)?报告(?:是)?由(?P<agency>[\u4e00-\u9fff（）()]{2,40}?)(?:根据|按照|依据|依照|遵照|编制|制作)"
)
_PERIOD = re.compile(
    r"统计期限(?:为|是)?(?:自|从)?(?P<y1>(?:19|20)\d{2})年1月1日起?(?:至|到|-|—)(?P<y2>(?:19|20)\d{2})年12月31日"
)
_ORG_END = re.compile(
    r"(局|委|委员会|办|办公室|政府|院|镇|乡|街道|办事处|中心|会|室|馆|所|队|厅|部|处|站|区|县|市|署|社)$"
)
_NOISE_PREFIX = re.compile(r"^.*?(?:关于|印发|发布|公开|首页|当前位置|您的位置|>)")
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})\s*日?")
_CN_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "O": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_DATE = re.compile(
    r"^([〇○零O一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日$"
)
_PUB_LINE = re.compile(
    r"(?:发布时间|发布日期|发文日期|公开日期|发稿时间|日期|时间)\s*[:：]\s*((?:19|20)\d{2}\s*[-年/.]\s*\d{1,2}\s*[-月/.]\s*\d{1,2})"
)

# Part headings: number (Chinese or Arabic, the "5、" drift) and a keyword of the part.
_PART = re.compile(r"^(?:[一二三四五六七][、.．,，]|[1-7][、])(?P<rest>.*)$")
_PART_WORDS = {
    "overview": "总体情况|概述|总体",
    "table1": "主动公开",
    "table2": "收到和处理|依申请",
    "table3": "行政复议|行政诉讼",
    "problems": "存在的主要问题|问题及改进|主要问题|存在问题",
    "other": "其他需要报告|其他事项|需要报告的",
}


def parse_date(text: str | None) -> str | None:
    """The first date in ``text`` as ISO 8601 (also 二〇二四年一月二十六日)."""
    if not text:
        return None
    text = str(text)  # a date or datetime from the crawler's metadata reads the same
    m = _DATE.search(text)
    if m:
        y, mo, d = (int(x) for x in m.groups())
    else:
        m = _CN_DATE.match(norm(text))
        if not m:
            return None
        y = int("".join(str(_CN_DIGITS[c]) for c in m.group(1)))
        mo, d = _cn_num(m.group(2)), _cn_num(m.group(3))
    if 1 <= mo <= 12 and 1 <= d <= 31 and 1990 <= y <= 2100:
        return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def _cn_num(s: str) -> int:
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + _CN_DIGITS[s[1]]
    if "十" in s:
        a, _, b = s.partition("十")
        return _CN_DIGITS[a] * 10 + (_CN_DIGITS[b] if b else 0)
    return _CN_DIGITS[s]


def title_match(text: str | None) -> tuple[str | None, int | None]:
    """(agency, year) from a title such as 金乡县科学技术局2023年政府信息公开工作年度报告."""
    m = _TITLE.search(norm(text))
    if not m:
        m = _TITLE_YEAR_FIRST.search(norm(text))
        if not m or m.start() > 30:
            return None, None
    raw_agency = re.sub(r"(关于|的)$", "", m.group("agency"))
    agency = _NOISE_PREFIX.sub("", raw_agency) or raw_agency
    agency = agency.strip("（）()·")
    return (agency if len(agency) >= 2 else None), int(m.group("year"))


def kind_of(agency: str | None) -> str | None:
    """government (…人民政府, or a bare division name), township (镇/乡/街道), else department."""
    if not agency:
        return None
    if re.search(r"(镇|乡|街道|街道办事处|街道办)(人民政府)?$", agency):
        return "township"
    if agency.endswith("人民政府") or re.search(r"(省|市|县|区|自治州|自治县|旗|盟)$", agency):
        return "government"  # a title naming a division (福州市晋安区) is its government's report
    return "department"


def part_of(paragraph: str) -> str | None:
    """Which of the six parts a heading paragraph opens, if it is one."""
    n = norm(paragraph)
    if len(n) > 40:
        return None
    m = _PART.match(n)
    if not m:
        return None
    for key, words in _PART_WORDS.items():
        if re.search(words, m.group("rest")[:20]):
            return key
    return None


def who_and_when(paras: list[str], meta: dict[str, Any], page_text: str) -> dict[str, Any]:
    """agency, year, kind, published_at(+source) and year_mismatch issues."""
    issues = []
    # The title sits before the first part heading (after any portal header lines).
    first_part = next((i for i, p in enumerate(paras[:40]) if part_of(p)), min(len(paras), 12))
    head = paras[: max(first_part, 3)]
    # The title: page metadata first, then the first paragraphs (a title may wrap over two).
    t_agency, t_year = None, None
    titles = [meta.get("title"), meta.get("page_title"), *meta.get("html_titles", [])]
    for i in range(min(len(head), 30)):
        titles.append(head[i])
        if i + 1 < len(head):
            titles.append(head[i] + head[i + 1])
    for cand in titles:
        a, y = title_match(cand)
        if y:
            t_agency, t_year = a, y
            break
    body = norm("".join(paras[:12]))
    by = _BY.search(body)
    b_agency = by.group("agency") if by else None
    period = _PERIOD.search(body) or _PERIOD.search(norm("".join(paras)))
    p_year = int(period.group("y2")) if period else None
    agency = _pick_agency(t_agency, b_agency if b_agency and _ORG_END.search(b_agency) else None)
    agency = agency or meta.get("content_source")
    year = t_year or p_year
    if year is None:
        m = re.search(r"((?:19|20)\d{2})年", body)
        year = int(m.group(1)) if m else None
    if t_year and p_year and t_year != p_year:
        issues.append(issue("year_mismatch", f"title says {t_year}, statistics period says {p_year}", "year"))
    published, source = _published(paras, meta, page_text or "\n".join(head), agency)
    return {
        "agency": agency,
        "year": year,
        "kind": kind_of(agency),
        "published_at": published,
        "published_at_source": source,
        "issues": issues,
    }


def _pick_agency(title: str | None, compiler: str | None) -> str | None:
    """The title's agency, unless it is a short form of the full name in "本报告由…编制"
    (科技局 for 科学技术局).  A government's report is often compiled by its 办公室: keep the
    government then."""
    if not title or not compiler or title == compiler:
        return title or compiler
    if compiler.startswith(title):
        return title
    if len(compiler) > len(title) and compiler[:2] == title[:2] and compiler[-1] == title[-1]:
        return compiler
    return title


def _published(
    paras: list[str], meta: dict[str, Any], page_text: str, agency: str | None
) -> tuple[str | None, str | None]:
    d = parse_date(meta.get("published_at"))
    if d:
        return d, meta.get("date_source") or "meta"
    m = _PUB_LINE.search(page_text or "")
    if m:
        d = parse_date(m.group(1))
        if d:
            return d, "page"
    d = parse_date(meta.get("list_date"))
    if d:
        return d, "list"
    for p in reversed(paras[-6:]):
        n = norm(p)
        if agency and n.startswith(agency):  # "青山县教育局 2024年1月26日" on one line
            n = n[len(agency) :]
        if len(n) <= 16:
            d = parse_date(n) if re.fullmatch(r"[\d年月日〇○零一二三四五六七八九十.\-/]+", n) else None
            if d:
                return d, "body"
    return None, None


def sections(paras: list[str], agency: str | None) -> dict[str, str]:
    """overview (一), problems (五), other (六): the paragraphs under each heading."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for p in paras:
        part = part_of(p)
        if part and part not in found:
            current = part
            found[part] = []
            continue
        if current:
            found[current].append(p)
    other = found.get("other", [])
    # Drop the sign-off (agency name and date) at the end of part 六.
    while other and (
        parse_date(other[-1]) and len(norm(other[-1])) <= 16 or (agency and norm(other[-1]) == agency)
    ):
        other.pop()
    out = {}
    for key in ("overview", "problems", "other"):
        if found.get(key):
            out[key] = "\n".join(found[key])
    return out
