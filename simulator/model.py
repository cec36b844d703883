"""Generated regions: a county government, its departments and townships, their reports over
several years with random but known numbers, and the planted cases the monitor must find.

Everything here is the simulator's *ground truth*: the sites serve it, the tests compare
what nianbao reads against it.  Generation is deterministic for a given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from reports.model import (
    TABLE2_COLUMNS,
    TABLE2_HANDLED_KEYS_2021,
    TABLE2_KEYS,
    TABLE3_FIELDS,
    TABLE3_GROUPS,
)

DEPARTMENTS = [
    ("发展和改革局", "fgj"),
    ("教育局", "jyj"),
    ("科学技术局", "kjj"),
    ("工业和信息化局", "gxj"),
    ("公安局", "gaj"),
    ("民政局", "mzj"),
    ("司法局", "sfj"),
    ("财政局", "czj"),
    ("人力资源和社会保障局", "rsj"),
    ("自然资源局", "zrzyj"),
    ("住房和城乡建设局", "zjj"),
    ("交通运输局", "jtj"),
    ("水利局", "slj"),
    ("农业农村局", "nyncj"),
    ("商务局", "swj"),
    ("文化和旅游局", "whlyj"),
    ("卫生健康局", "wjj"),
    ("退役军人事务局", "tyjrswj"),
    ("应急管理局", "yjglj"),
    ("审计局", "sjj"),
    ("市场监督管理局", "scjgj"),
    ("统计局", "tjj"),
    ("医疗保障局", "ybj"),
    ("林业局", "lyj"),
    ("城市管理局", "cgj"),
    ("行政审批服务局", "xzspj"),
    ("信访局", "xfj"),
    ("人民政府办公室", "zfb"),
    ("综合行政执法局", "zhzfj"),
    ("生态环境分局", "sthjj"),
    ("乡村振兴局", "xczxj"),
    ("粮食和物资储备局", "lsj"),
    ("体育局", "tyj"),
    ("档案馆", "dag"),
    ("地方金融监督管理局", "jrj"),
]
TOWNSHIPS = [
    ("城关镇", "cgz"),
    ("新华街道", "xhjd"),
    ("马集镇", "mjz"),
    ("王丕街道", "wpjd"),
    ("羊山镇", "ysz"),
]
# Short names that real portals use for some bureaus (the alias drift the monitor must match).
SHORT_NAMES = {"科学技术局": "科技局", "人力资源和社会保障局": "人社局", "住房和城乡建设局": "住建局"}

PROBLEM_PHRASES = [
    "信息公开内容的全面性有待提高",
    "政策解读形式较为单一",
    "依申请公开办理规范化水平需进一步提升",
    "政务新媒体更新频率不高",
    "公开平台栏目设置不尽合理",
    "工作人员业务能力有待加强",
    "主动公开的时效性仍需加强",
    "基层政务公开标准化规范化建设有待深化",
    "政府信息管理动态调整不够及时",
    "公众参与和回应关切的渠道不够丰富",
]
IMPROVEMENT_PHRASES = [
    "加强业务培训，提升工作人员能力",
    "丰富政策解读形式，推出图解和视频解读",
    "规范依申请公开办理流程",
    "加强政务新媒体内容建设",
    "优化门户网站栏目设置",
    "健全信息发布审核机制",
    "强化监督考核，压实工作责任",
    "及时清理和更新政府信息",
]


@dataclass
class Agency:
    name: str  # the full, canonical name: 青山县科学技术局
    kind: str  # government | department | township
    code: str  # a short ascii code used in URLs
    abolished_after: int | None = None  # last report year of an abolished agency


@dataclass
class PlannedReport:
    agency: Agency
    year: int
    report: dict[str, Any]  # the data model, exactly as the parser should read it
    published_at: date | None  # None: never published (a planted missing report)
    fmt: str = "html"  # html | pdf | docx
    title_agency: str = ""  # the agency name as the title writes it (may be a short form)
    url_date: date | None = None  # the date in the article URL (may differ from published_at)
    article_id: int = 0
    planted: list[str] = field(default_factory=list)  # what is special about this report

    @property
    def title(self) -> str:
        return f"{self.title_agency or self.agency.name}{self.year}年政府信息公开工作年度报告"


def deadline_for(kind: str, year: int) -> date:
    """The legal deadline for the report on ``year``: 31 March for governments, else 31 January."""
    return date(year + 1, 3, 31) if kind == "government" else date(year + 1, 1, 31)


@dataclass
class Region:
    county: str  # 青山县
    government: Agency
    agencies: list[Agency]  # the government first, then departments and townships
    years: list[int]
    reports: list[PlannedReport]
    seed: int

    def report(self, agency_name: str, year: int) -> PlannedReport | None:
        for r in self.reports:
            if r.agency.name == agency_name and r.year == year:
                return r
        return None

    def published(self) -> list[PlannedReport]:
        return [r for r in self.reports if r.published_at is not None]

    def expected_status(self, as_of: date) -> list[dict[str, Any]]:
        """Ground truth for the monitor: one row per expected (agency, year) as of ``as_of``.

        A report counts as found only if it was published on or before ``as_of``.
        """
        rows = []
        for r in self.reports:
            dl = deadline_for(r.agency.kind, r.year)
            pub = r.published_at if r.published_at and r.published_at <= as_of else None
            if pub is not None:
                status = "on_time" if pub <= dl else "late"
            else:
                status = "pending" if as_of <= dl else "missing"
            rows.append(
                {
                    "agency": r.agency.name,
                    "kind": r.agency.kind,
                    "year": r.year,
                    "status": status,
                    "deadline": dl.isoformat(),
                    "published_at": pub.isoformat() if pub else None,
                    "days_late": (pub - dl).days if pub and pub > dl else 0,
                }
            )
        return rows


# -- numbers -------------------------------------------------------------------------------------


def _small(rng: random.Random, busy: float) -> int:
    """A count that is usually 0 and sometimes a few: how real Table 2 cells look."""
    return rng.choice([0, 0, 0, 1, 2, 3, 5, 8]) if rng.random() < busy else 0


def generate_table2(rng: random.Random, busy: float) -> dict[str, list[int]]:
    """A Table 2 whose every consistency rule holds."""
    rows: dict[str, list[int]] = {}
    six = len(TABLE2_COLUMNS) - 1
    for key in TABLE2_HANDLED_KEYS_2021:
        rows[key] = [_small(rng, busy * (2.0 if key == "disclosed" else 0.5)) for _ in range(six)]
    handled = [sum(rows[k][c] for k in TABLE2_HANDLED_KEYS_2021) for c in range(six)]
    forward = [rng.choice([0, 0, 0, 1, 2]) if busy > 0.2 else 0 for _ in range(six)]
    over = [rng.randint(0, h + f) if rng.random() < 0.3 else 0 for h, f in zip(handled, forward, strict=True)]
    new = [h + f - o for h, f, o in zip(handled, forward, over, strict=True)]
    rows["new_received"], rows["carried_over"] = new, over
    rows["total_handled"], rows["carried_forward"] = handled, forward
    return {k: rows[k] + [sum(rows[k])] for k in TABLE2_KEYS}


def generate_table3(rng: random.Random, busy: float) -> dict[str, dict[str, int]]:
    out = {}
    for group in TABLE3_GROUPS:
        four = [_small(rng, busy * 0.3) for _ in range(4)]
        out[group] = dict(zip(TABLE3_FIELDS, [*four, sum(four)], strict=True))
    return out


def generate_table1(rng: random.Random) -> dict[str, Any]:
    def docs() -> dict[str, int]:
        issued, abolished = rng.randint(0, 6), rng.randint(0, 3)
        return {"issued": issued, "abolished": abolished, "in_force": rng.randint(issued, issued + 40)}

    return {
        "rules": {"issued": 0, "abolished": 0, "in_force": 0},
        "normative_docs": docs(),
        "licensing": rng.choice([0, 0, rng.randint(1, 3000)]),
        "penalty": rng.choice([0, rng.randint(1, 400)]),
        "coercion": rng.choice([0, 0, rng.randint(1, 30)]),
        "fees_10k_yuan": rng.choice([0.0, 0.0, round(rng.uniform(0.5, 900), 4)]),
    }


def generate_sections(rng: random.Random, agency: str, year: int) -> dict[str, str]:
    problems = rng.sample(PROBLEM_PHRASES, 3)
    fixes = rng.sample(IMPROVEMENT_PHRASES, 3)
    n = rng.randint(20, 300)
    return {
        "overview": (
            f"{year}年，{agency}认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、"
            f"不公开为例外，全年主动公开政府信息{n}条，不断提升政务公开质量和实效。"
        ),
        "problems": (
            "存在问题：一是" + problems[0] + "；二是" + problems[1] + "；三是" + problems[2] + "。"
            "改进措施：一是" + fixes[0] + "；二是" + fixes[1] + "；三是" + fixes[2] + "。"
        ),
        "other": f"{year}年，本机关未收取信息处理费。无其他需要报告的事项。",
    }


def generate_report(
    rng: random.Random, agency: Agency, year: int, published_at: date | None
) -> dict[str, Any]:
    """One report in the data model (2021 template) with every rule holding."""
    busy = {"government": 0.9, "department": 0.35, "township": 0.15}[agency.kind]
    return {
        "agency": agency.name,
        "year": year,
        "template": "2021",
        "kind": agency.kind,
        "published_at": published_at.isoformat() if published_at else None,
        "table1": generate_table1(rng),
        "table2": generate_table2(rng, busy),
        "table3": generate_table3(rng, busy),
        "sections": generate_sections(rng, agency.name, year),
        "issues": [],
    }


# -- the region ----------------------------------------------------------------------------------


def _publication_date(rng: random.Random, kind: str, year: int) -> date:
    """An on-time publication date: some days or weeks before the deadline."""
    dl = deadline_for(kind, year)
    return dl - timedelta(days=rng.randint(0, 25 if kind != "government" else 60))


def generate_region(
    seed: int = 2024,
    county: str = "青山县",
    departments: int = 24,
    townships: int = 3,
    years: tuple[int, ...] = (2023, 2024, 2025),
) -> Region:
    """A county with planted cases; see ``Region.reports[*].planted`` for what was planted where.

    Planted (for every region with at least 6 departments and 3 years):
      - two missing reports (one department in the last year, one township in the middle year);
      - an agency seen only in earlier years (abolished-looking, expected again: missing);
      - three late reports (the government once, two departments), with known days late;
      - a report whose URL date is later than its PubDate (judged on time by PubDate);
      - a report titled with a short agency name (科技局 for 科学技术局);
      - a report whose problems section copies last year's word for word (copied_text);
      - a report with a wrong （七）总计 (a planted sum_mismatch).
    """
    if departments < 6 or len(years) < 3:
        raise ValueError("a region needs at least 6 departments and 3 years for its planted cases")
    rng = random.Random(seed)
    gov = Agency(f"{county}人民政府", "government", "zf")
    depts = [Agency(f"{county}{n}", "department", c) for n, c in DEPARTMENTS[:departments]]
    towns = [Agency(f"{county}{n}", "township", c) for n, c in TOWNSHIPS[:townships]]
    agencies = [gov, *depts, *towns]
    reports: list[PlannedReport] = []
    next_id = 1000 + rng.randint(0, 8000)
    for year in years:
        for ag in agencies:
            pub = _publication_date(rng, ag.kind, year)
            rep = generate_report(rng, ag, year, pub)
            next_id += rng.randint(1, 40)
            fmt = rng.choices(["html", "pdf", "docx"], weights=[6, 3, 2])[0]
            reports.append(PlannedReport(ag, year, rep, pub, fmt, ag.name, pub, next_id))

    def pick(name: str, year: int) -> PlannedReport:
        return next(r for r in reports if r.agency.name == name and r.year == year)

    first, mid, last = years[0], years[1], years[-1]
    # Missing reports.
    _make_missing(pick(depts[3].name, last), "missing")
    if towns:
        _make_missing(pick(towns[-1].name, mid), "missing")
    # Seen in earlier years only: still expected in the last year.
    _make_missing(pick(depts[5].name, last), "missing:seen_before_only")
    # Late reports.
    _make_late(pick(gov.name, mid), 9)
    _make_late(pick(depts[1].name, last), 3)
    _make_late(pick(depts[4].name, first), 46)
    # URL date later than PubDate: the page was regenerated months later.
    r = pick(depts[2].name, mid)
    r.url_date = date(mid + 1, 7, 21)
    r.planted.append("url_date_after_pubdate")
    # Alias drift in the title.
    short = next((a for a in depts if any(a.name.endswith(k) for k in SHORT_NAMES)), None)
    if short:
        long_suffix = next(k for k in SHORT_NAMES if short.name.endswith(k))
        r = pick(short.name, first)
        r.title_agency = short.name[: -len(long_suffix)] + SHORT_NAMES[long_suffix]
        r.planted.append("short_agency_name")
    # Copied problems section.
    r = pick(depts[0].name, last)
    r.report["sections"]["problems"] = pick(depts[0].name, years[-2]).report["sections"]["problems"]
    r.planted.append("copied_text")
    # A broken total.
    r = pick(gov.name, last)
    r.report["table2"]["total_handled"][0] += 1
    r.report["table2"]["total_handled"][6] += 1
    r.planted.append("sum_mismatch")
    return Region(county, gov, agencies, list(years), reports, seed)


def _make_missing(r: PlannedReport, label: str) -> None:
    r.published_at = None
    r.url_date = None
    r.report["published_at"] = None
    r.planted.append(label)


def _make_late(r: PlannedReport, days: int) -> None:
    r.published_at = deadline_for(r.agency.kind, r.year) + timedelta(days=days)
    r.url_date = r.published_at
    r.report["published_at"] = r.published_at.isoformat()
    r.planted.append(f"late:{days}")
