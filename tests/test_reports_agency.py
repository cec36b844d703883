"""Who published a report, read off a noisy page: the title line behind page chrome, confirmed or
completed by the page's 发布机构/信息来源/来源 fields and the report's own sentences.

The real page beginnings (shared/samples, copied to tests/fixtures) carry the agency a person reads
off them; the generated pages carry one kind of chrome each."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

import reports
from reports import about
from simulator import render
from simulator.model import Agency, generate_report

FIX = Path(__file__).parent / "fixtures"


def who(data: bytes) -> dict:
    """who_and_when on a document as the parser reads it (also for excerpts too short to parse)."""
    doc = reports.read_document(data)
    return about.who_and_when(doc.paragraphs(), dict(doc.meta), doc.page_text or doc.head_text())


# (fixture, agency, year, kind, published_at): what a person reads off the page.
REAL = [
    ("excerpts/02_longyou-xzfbgs-2023.txt", "龙游县人民政府办公室", 2023, "department", None),
    ("excerpts/04_hejiang-xzfbgs-2023.txt", "合江县人民政府办公室", 2023, "department", None),
    # "现公布子长市人民政府2023年度…": the title sits in a sentence behind "现公布".
    ("excerpts/06_zichang-shi-2023.txt", "子长市人民政府", 2023, "government", None),
    ("excerpts/08_ankang-unknown-bureau-2019.txt", None, 2019, None, None),  # only "我局"
    ("excerpts/10_chongqing-ytz-zhen-2022.txt", None, 2022, None, None),  # only "我镇"
    ("excerpts/12_jiaxian-xizhen-2022.txt", "螅镇", 2022, "township", "2023-01-31"),
    ("excerpts/14_qingshui-nyncj-2023.txt", "清水县农业农村局", 2023, "department", None),
    ("excerpts/16_quzhou-nyncj-2023.txt", "衢州市农业农村局", 2023, "department", "2024-01-08"),
    # 发布机构 "教育局" is a fragment of the title's 连云区教育局; 发文日期 in a '|' table row.
    ("excerpts/18_lianyun-jyj-2024.txt", "连云区教育局", 2024, "department", "2025-01-20"),
    ("excerpts/20_qingshan-jyj-2025.txt", "青山区教育局", 2025, "department", "2026-01-07"),
    ("excerpts/22_daye-jyj-2025.txt", "大冶市教育局", 2025, "department", None),  # "现公布大冶市…"
    ("excerpts/24_nanjing-gulou-rsj-2021.txt", None, 2021, None, None),  # only "我局"
    ("excerpts/26_lintao-xintianzhen-2022.txt", "临洮县新添镇", 2022, "township", None),
    ("excerpts/28_guangdong-sheng-2024.txt", "广东省人民政府", 2024, "government", "2025-03-31"),
    # Title "福州市晋安区2016年…" names the place; the report: "由福州市晋安区人民政府信息公开办编制".
    ("excerpts/30_fuzhou-jinan-qu-2016-legacy.txt", "福州市晋安区人民政府", 2016, "government", "2017-01-12"),
    # "本报告由南平市人民政府信息公开工作领导小组办公室…汇总…编制": the city government's report,
    # and "《…关于做好2012年政府信息公开工作年度报告…的通知》" is a cited notice, not the title.
    ("excerpts/32_nanping-shi-2012-legacy.txt", "南平市人民政府", 2012, "government", None),
    # The excerpt's note names the report (the mirror dropped the page title).
    ("excerpts/34_wuhan-sthjj-2020-hubei-trial-variant.txt", "武汉市生态环境局", 2020, "department", None),
    ("excerpts/36_jianye-jyj-2025.txt", "建邺区教育局", 2025, "department", None),
    ("seeds/jinxiang-kjj-2023.txt", "金乡县科学技术局", 2023, "department", None),
    ("seeds/qingzhou-kjj-2024.txt", "青州市科学技术局", 2024, "department", None),
    # Article pages: the agency from 发布机构 / ContentSource, the date from PubDate.
    ("handan-article-page.html", "邯郸市教育局", None, "department", "2020-08-02"),
    ("pages/04_mee-article-t20220417_974894-head.html", "生态环境部", None, "department", "2022-04-17"),
]


@pytest.mark.parametrize(("name", "agency", "year", "kind", "published"), REAL, ids=[r[0] for r in REAL])
def test_real_page_beginnings(name, agency, year, kind, published):
    got = who((FIX / name).read_bytes())
    assert (got["agency"], got["year"], got["kind"], got["published_at"]) == (agency, year, kind, published)


@pytest.mark.parametrize("name", ["handan-list-page.html", "pages/01_shanghai-wsjkw-yqtb-list.html"])
def test_real_list_pages_are_not_reports(name):
    with pytest.raises(reports.ParseError):
        reports.parse_bytes((FIX / name).read_bytes())


# -- generated pages, one kind of chrome each ---------------------------------------------------


def make(name: str = "青山县教育局", kind: str = "department") -> dict:
    return generate_report(random.Random(6), Agency(name, kind, "x"), 2023, date(2024, 1, 25))


def text_doc(above: str, *, compiler: str | None = None, rep: dict | None = None) -> bytes:
    """A report as text with ``above`` (page chrome, title, fields) before it.  Its "本报告由X根据"
    sentence names ``compiler``, or no one: the title and the fields must carry the agency."""
    rep = rep or make()
    body = render.render_text(rep, "tabs")
    body = body.replace(
        f"本报告由{rep['agency']}根据", f"本报告由{compiler}根据" if compiler else "本报告根据"
    )
    return (above + "\n" + body).encode()


TITLE = "青山县教育局2023年政府信息公开工作年度报告"
CHROME = {
    "login/register line": f"登录 | 注册\n{TITLE}",
    "login/register glued": f"登录注册{TITLE}",
    "login/register spaced": f"登录 注册 {TITLE}",
    "breadcrumb": f"首页 > 政府信息公开 > 部门年报 > {TITLE}",
    "breadcrumb glued": f"当前位置：首页>政府信息公开>年度报告\n您的位置首页政府信息公开{TITLE}",
    "现公布 sentence": f"根据《中华人民共和国政府信息公开条例》规定，现公布{TITLE}。",
    "关于印发": f"青山县人民政府办公室关于印发{TITLE}的说明",
    "date fragment glued": f"2024年1月26日{TITLE}",
    "date fragment line": f"2024年1月26日\n{TITLE}",
    "year fragment glued": f"2023年度{TITLE}",
    "header clock": f"今天是2026年11月30日 星期一\n{TITLE}",
    "header clock glued": f"今天是2026年11月30日星期一{TITLE}",
    "lone words": f"政府\n打印\n{TITLE}\n关闭",
    "font size chrome": f"【字体：大中小】打印{TITLE}",
    "title wrapped in two lines": "青山县教育局\n2023年政府信息公开工作年度报告",
    "agency-less title, 发布机构 field": "2023年度政府信息公开工作年度报告\n发布机构：青山县教育局",
    "unknown column glued, 发布机构 confirms": f"部门动态{TITLE}\n发布机构：青山县教育局",
    "relative title, 信息来源 completes": "县教育局2023年政府信息公开工作年度报告\n信息来源：青山县教育局",
}


@pytest.mark.parametrize("above", CHROME.values(), ids=CHROME.keys())
def test_title_behind_page_chrome(above):
    got = reports.parse_bytes(text_doc(above))
    assert (got["agency"], got["year"], got["kind"]) == ("青山县教育局", 2023, "department")


def test_a_lone_word_is_never_the_agency():
    # "政府" and "2023年度政府信息公开工作年度报告" alone name no one: no agency rather than "政府".
    got = reports.parse_bytes(text_doc("政府\n2023年度政府信息公开工作年度报告"))
    assert (got["agency"], got["year"]) == (None, 2023)


GOV = make("青山县人民政府", "government")
PLACE_ONLY = {
    "发布机构 field": ("青山县2023年政府信息公开工作年度报告\n发布机构：青山县人民政府", None),
    "本报告由…编制 (its office)": ("青山县2023年政府信息公开工作年度报告", "青山县人民政府办公室"),
    "本报告由…编制 (the government)": ("青山县2023年政府信息公开工作年度报告", "青山县人民政府"),
    "来源 field is its office": ("青山县2023年政府信息公开工作年度报告\n来源：县政府办", None),
    "nothing else on the page (the rule)": ("青山县2023年政府信息公开工作年度报告", None),
    "X县政府": ("青山县政府2023年政府信息公开工作年度报告", None),
    "place-only title behind chrome": (
        "登录 注册\n首页>政府信息公开>青山县2023年政府信息公开工作年度报告",
        None,
    ),
}


@pytest.mark.parametrize(("above", "compiler"), PLACE_ONLY.values(), ids=PLACE_ONLY.keys())
def test_a_title_naming_only_the_county_is_its_government(above, compiler):
    got = reports.parse_bytes(text_doc(above, compiler=compiler, rep=GOV))
    assert (got["agency"], got["kind"]) == ("青山县人民政府", "government")


@pytest.mark.parametrize(
    ("place", "government"),
    [
        ("青州市", "青州市人民政府"),
        ("青山区", "青山区人民政府"),
        ("广东省", "广东省人民政府"),
        ("福州市晋安区", "福州市晋安区人民政府"),
    ],
)
def test_city_district_province_titles(place, government):
    got = reports.parse_bytes(text_doc(f"{place}2023年政府信息公开工作年度报告", rep=GOV))
    assert (got["agency"], got["kind"]) == (government, "government")


def test_township_title_is_completed_only_when_the_page_names_its_government():
    rep = make("青山县马集镇", "township")
    named = reports.parse_bytes(
        text_doc("青山县马集镇2023年政府信息公开工作年度报告", compiler="青山县马集镇人民政府", rep=rep)
    )
    assert (named["agency"], named["kind"]) == ("青山县马集镇人民政府", "township")
    # Townships report under the town's name; the monitor matches 马集镇 with 马集镇人民政府.
    bare = reports.parse_bytes(text_doc("青山县马集镇2023年政府信息公开工作年度报告", rep=rep))
    assert (bare["agency"], bare["kind"]) == ("青山县马集镇", "township")


def test_a_development_zone_is_its_committee_when_the_page_names_it():
    rep = make("青山经济开发区管理委员会")
    got = reports.parse_bytes(
        text_doc("青山经济开发区2023年政府信息公开工作年度报告\n发布机构：青山经济开发区管理委员会", rep=rep)
    )
    assert got["agency"] == "青山经济开发区管理委员会"


def noisy_portal_page(
    title_html: str, *, fields: str = "", info: str = "发布时间：2024-01-26 09:10"
) -> bytes:
    """A portal article page with the chrome real ones carry: login links, a clock, a breadcrumb,
    a metadata block, an info line, related links and a footer with its own date; no ArticleTitle
    or PubDate meta and no <h1>, so the title and the date come from the page's text."""
    body = render.render_html_fragment(GOV).replace("本报告由青山县人民政府根据", "本报告根据")
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>青山县人民政府门户网站</title>
    </head><body><div class="top"><a href="/login">登录</a><a href="/reg">注册</a>
    <span>今天是2026年11月30日 星期一</span><span>当前时间：2026-11-30 10:05:06</span></div>
    <div class="crumb">当前位置：<a href="/">首页</a>&gt;<a href="/xxgk">政府信息公开</a>&gt;<a>年度报告</a></div>
    <div class="meta">{fields}</div><div class="title">{title_html}</div><div class="info">{info}</div>
    <div class="TRS_Editor">{body}</div>
    <div class="related">相关链接<a href="/1">青山县教育局2023年政府信息公开工作年度报告</a></div>
    <div class="footer">主办：青山县人民政府办公室 网站更新时间：2026-11-30 最后更新日期：2026年11月30日</div>
    </body></html>""".encode()


def test_noisy_portal_page_place_only_title_with_issuing_field():
    page = noisy_portal_page(
        "<a>打印</a><a>关闭</a>青山县2023年政府信息公开工作年度报告",
        fields="<span>索引号：11371028MB28550X/2024-00012</span><span>发布机构：青山县人民政府</span>",
    )
    got = reports.parse_bytes(page)
    assert (got["agency"], got["year"], got["kind"]) == ("青山县人民政府", 2023, "government")
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-26", "page")
    assert got["table2"] == GOV["table2"]


def test_title_match_cleans_chrome_but_keeps_names_whole():
    from reports.about import title_match

    assert title_match("青山县 教育局2023年政府信息公开工作年度报告") == ("青山县教育局", 2023)
    assert title_match("青山县人民\n政府2023年政府信息公开工作年度报告") == ("青山县人民政府", 2023)
    assert title_match("2023年青山县人民政府信息公开工作年度报告") == ("青山县人民政府", 2023)
    assert (
        title_match("青山县人民政府新闻发布中心2023年政府信息公开工作年度报告")[0]
        == "青山县人民政府新闻发布中心"
    )
    assert title_match("2023年度 城关镇人民政府2023年度政府信息公开工作年度报告") == ("城关镇人民政府", 2023)
    # A cited notice is not the report's title; a lone word is no agency, but the year stands.
    assert title_match("《关于做好2012年政府信息公开工作年度报告有关事项的通知》") == (None, None)
    assert title_match("政府2023年政府信息公开工作年度报告") == (None, 2023)


@pytest.mark.parametrize(
    ("name", "ok"),
    [("本溪市", True), ("全椒县", True), ("螅镇", True), ("我局", False), ("本单位", False), ("全县", False)]
    + [("县政府", False), ("政府", False), ("中心", False), ("做好", False)],
)
def test_is_name(name, ok):
    from reports.agency import is_name

    assert is_name(name) is ok
