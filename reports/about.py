"""Who published the report, for which year, when, and the prose parts (一, 五, 六)."""

from __future__ import annotations

import re
from typing import Any

from reports.agency import compiler, field_names, settle, title_match
from reports.model import issue
from reports.pagedate import field_date, meta_date
from reports.text import norm

__all__ = ["kind_of", "parse_date", "part_of", "sections", "title_match", "who_and_when"]

_PERIOD = re.compile(
    r"统计期限(?:为|是)?(?:自|从)?(?P<y1>(?:19|20)\d{2})年1月1日起?(?:至|到|-|—)(?P<y2>(?:19|20)\d{2})年12月31日"
)
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
_PART_ONE = re.compile(r"(?:^|[\s|])一\s*[、.．,，]\s*(?:总体情况|概述|总体|概况)")
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
    """agency, year, kind, published_at(+source) and year_mismatch issues.

    ``page_text`` is the text of the page around the report (portal chrome, metadata block, info
    line), or for a bare document its first lines; the agency is read as reports.agency says.
    """
    issues = []
    # The title sits before the first part heading (after any portal header lines).
    first_part = next((i for i, p in enumerate(paras[:40]) if part_of(p)), min(len(paras), 12))
    head = paras[: max(first_part, 3)]
    above = _page_head(page_text)
    lines = [ln.strip() for ln in above.split("\n") if ln.strip()][:60]
    t_agency, t_year = _title(meta, head[:30], lines)
    body = norm("".join(paras[:12]))
    compiled = compiler(body)
    period = _PERIOD.search(body) or _PERIOD.search(norm("".join(paras)))
    p_year = int(period.group("y2")) if period else None
    fields = field_names(above or page_text, meta)
    who = settle(t_agency, compiled, fields, body + norm(above))
    year = t_year or p_year
    if year is None:
        m = re.search(r"((?:19|20)\d{2})年", body)
        year = int(m.group(1)) if m else None
    if t_year and p_year and t_year != p_year:
        issues.append(issue("year_mismatch", f"title says {t_year}, statistics period says {p_year}", "year"))
    published, source = _published(paras, meta, page_text or "\n".join(head), who)
    return {
        "agency": who,
        "year": year,
        "kind": kind_of(who),
        "published_at": published,
        "published_at_source": source,
        "issues": issues,
    }


def _page_head(page_text: str | None) -> str:
    """The page text above the report's part 一 (its title, info line and metadata block are
    there; related links and footers come after), at most 4000 characters."""
    if not page_text:
        return ""
    m = _PART_ONE.search(page_text, 0, 20000)
    return page_text[: min(m.start() if m else 4000, 4000)]


def _title(meta: dict[str, Any], head: list[str], lines: list[str]) -> tuple[str | None, int | None]:
    """(agency, year) of the report's title: page metadata first, then each line of the report's
    first paragraphs and of the page above it, then two adjacent lines (a title wrapped in two).
    The year is the first title's; the agency the first valid one naming that year."""
    singles = [meta.get("title"), meta.get("page_title"), *meta.get("html_titles", []), *head, *lines]
    pairs = [a + b for seq in (head, lines) for a, b in zip(seq, seq[1:], strict=False)]
    year = None
    for cand in (*singles, *pairs):
        a, y = title_match(cand)
        if y and year is None:
            year = y
        if a and y == year:
            return a, y
    return None, year


def _published(
    paras: list[str], meta: dict[str, Any], page_text: str, agency: str | None
) -> tuple[str | None, str | None]:
    """By precedence: the crawler's or the page's PubDate/publishtime meta, the page's own
    发布日期 field (never a header clock, footer or capture date: reports.pagedate), the list
    page's date, a date line at the end of the report."""
    d = parse_date(meta.get("published_at")) or meta_date(meta)
    if d:
        return d, meta.get("date_source") or "meta"
    d = field_date(page_text)
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
