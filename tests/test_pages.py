"""Reading portal pages: report titles, dates and their precedence, TRS pagers."""

from __future__ import annotations

from datetime import date

import pytest
from parsel import Selector

from spiders.pages import is_report_title, page_meta, parse_date, publication, url_date, visible_date
from spiders.trs import read_pager
from tests.conftest import FIXTURES


@pytest.mark.parametrize(
    "title",
    [
        "金乡县科学技术局2023年政府信息公开工作年度报告",
        "2023年度衢州市农业农村局政府信息公开年度报告",
        "连云区教育局政府信息公开工作2024年度报告",
        "舒兰市2016年政务信息公开年度报告",
        "宿州市人民政府2019年政府信息公开工作年度报告（图片版）",
        "青州市科学技术局 2024年政府信息公开工作年度报告",
    ],
)
def test_report_titles_are_recognised(title):
    assert is_report_title(title)


@pytest.mark.parametrize(
    "title",
    [
        "2023年政府网站工作年度报表",
        "青山县人民政府2024年政府工作报告",
        "关于做好2023年政府信息公开工作年度报告编制发布工作的通知",
        "政府信息公开指南",
        "2024年部门预算公开",
        "政府信息公开年报",
        "图解：青山县人民政府2025年政府信息公开工作年度报告",
        "",
    ],
)
def test_lookalikes_are_not_reports(title):
    assert not is_report_title(title)


def test_dates_in_every_written_form():
    assert parse_date("2024-01-26 10:32") == date(2024, 1, 26)
    assert parse_date("2020年08月02日") == date(2020, 8, 2)
    assert parse_date("2024/1/5") == date(2024, 1, 5)
    assert parse_date("t20170721_1341809") is None  # not a free-standing date
    assert parse_date("2024-02-30") is None
    assert url_date("http://x.gov.cn/zfxxgknb/201707/t20170721_1341809.htm") == date(2017, 7, 21)
    assert url_date("http://www.qz.gov.cn/art/2024/1/8/art_1229038691_5244568.html") == date(2024, 1, 8)


def test_visible_date_skips_the_index_number():
    text = "索引号：000014348/2020-35147 发布机构：邯郸市教育局 发布日期：2020年08月02日"
    assert visible_date(text) == date(2020, 8, 2)


def test_pubdate_meta_outranks_visible_and_list_dates():
    sel = Selector(text=(FIXTURES / "handan-article-page.html").read_text("utf-8"))
    meta = page_meta(sel)
    assert meta["PubDate"] == "2020年08月02日" and meta["SiteIDCode"] == "1304000009"
    assert publication(meta, "发布日期：2020年09月01日", date(2020, 9, 9)) == (date(2020, 8, 2), "meta")
    assert publication({}, "发布日期：2020年09月01日", date(2020, 9, 9)) == (date(2020, 9, 1), "visible")
    assert publication({}, "no date here", date(2020, 9, 9)) == (date(2020, 9, 9), "list")


def test_real_trs_list_page_pager_is_classic_zero_based():
    html = (FIXTURES / "handan-list-page.html").read_text("utf-8")
    pager = read_pager(html, "http://hdzfxxgk.hd.gov.cn/zfwj/jinqixxgk/index.html")
    assert pager and pager.count == 56 and pager.zero_based
    urls = pager.urls()
    assert urls[:2] == ["index.html", "index_1.html"] and urls[-1] == "index_55.html"


def test_create_page_html_signatures():
    classic = read_pager('<script>createPageHTML(3, 0, "index", "html");</script>', "http://x/c/index.html")
    assert classic.urls() == ["index.html", "index_1.html", "index_2.html"]
    new = read_pager(
        "<script>createPageHTML('page_div', 3, 1, 'index', 'shtml', 40);</script>", "http://x/c/"
    )
    assert new.urls() == ["index.shtml", "index_2.shtml", "index_3.shtml"]
