"""The publication date comes from the page's own field or metadata, both where the spider reads
it (spiders.pages.publication) and where the parser does (published_at): never today's date in a
page header, a footer date, or a capture date a saving tool wrote into the copy."""

from __future__ import annotations

import random
from datetime import date

import pytest
from parsel import Selector

import reports
from simulator import render
from simulator.model import Agency, generate_report
from spiders.pages import page_meta, page_text, publication, visible_date
from tests.conftest import FIXTURES

REP = generate_report(random.Random(6), Agency("青山县教育局", "department", "x"), 2023, date(2024, 1, 25))
TITLE = render.title_of(REP)
TODAY = "2026年11月30日"


def page(*, head: str = "", header: str = "", info: str = "", footer: str = "", before: str = "") -> str:
    """A portal article page: ``header`` above the title, ``info`` under it, ``footer`` at the end,
    ``before`` ahead of <html> (where saving tools write), ``head`` inside <head>."""
    return f"""{before}<!DOCTYPE html><html><head><meta charset="utf-8"><title>{TITLE}</title>{head}</head>
    <body><div class="top">{header}</div>
    <div class="crumb">当前位置：首页 &gt; 政府信息公开 &gt; 年度报告</div>
    <h1>{TITLE}</h1><div class="info">{info}</div>
    <div class="TRS_Editor">{render.render_html_fragment(REP)}</div>
    <div class="footer">主办：青山县人民政府办公室 {footer}</div></body></html>"""


def both(html: str, list_date: date | None = None) -> tuple[tuple, tuple]:
    """(the spider's (date, source), the parser's (published_at, source)) for one page."""
    sel = Selector(text=html)
    spider = publication(page_meta(sel), lambda: page_text(sel), list_date)
    meta = {"list_date": list_date.isoformat()} if list_date else None
    got = reports.parse_bytes(html.encode(), meta=meta)
    return spider, (got["published_at"], got["published_at_source"])


CLOCK = f"<span>今天是{TODAY} 星期一</span>"
NOISE = {
    "header clock": {"header": CLOCK},
    "header clock with a time label": {"header": "<span>当前时间：2026-11-30 10:05:06</span>"},
    "header clock labelled 日期 with its weekday": {"header": f"<span>日期：{TODAY} 星期一</span>"},
    "header clock labelled 时间 with its weekday": {"header": "时间：2026-11-30 10:05:06 星期一"},
    "footer update date": {"footer": "网站更新时间：2026-11-30 最后更新日期：2026年11月30日"},
    "footer print and visit dates": {"footer": "打印时间：2026-11-30 访问时间：2026-11-30"},
    "IE saved-from-url comment": {
        "before": "<!-- saved from url=(0052)http://www.qs.gov.cn/t20261130_1.html -->\n"
    },
    "SingleFile capture comment": {
        "before": "<!--\n Page saved with SingleFile \n url: http://www.qs.gov.cn/a.html \n"
        " saved date: Mon Nov 30 2026 10:05:06 GMT+0800 (中国标准时间)\n-->\n"
    },
    "capture note in the page": {"header": "页面保存于 2026-11-30 10:05 保存时间：2026-11-30"},
}


@pytest.mark.parametrize("noise", NOISE.values(), ids=NOISE.keys())
def test_the_page_field_wins_over_every_other_date(noise):
    html = page(info="发布日期：2024-01-26 10:32 来源：青山县教育局", **noise)
    spider, parser = both(html)
    assert spider == (date(2024, 1, 26), "visible")
    assert parser == ("2024-01-26", "page")


@pytest.mark.parametrize("noise", NOISE.values(), ids=NOISE.keys())
def test_without_a_page_field_no_other_date_is_taken(noise):
    spider, parser = both(page(**noise), list_date=date(2024, 1, 27))
    assert spider == (date(2024, 1, 27), "list")
    assert parser == ("2024-01-27", "list")


def test_a_bare_time_label_on_the_info_line_is_the_page_field():
    html = page(header=CLOCK, info="<span>来源：青山县教育局</span><span>时间：2024-01-26 10:01</span>")
    assert both(html) == ((date(2024, 1, 26), "visible"), ("2024-01-26", "page"))


def test_gongkai_riqi_field_below_a_labelled_header_clock():
    html = page(header="<span>当前时间：2026-11-30</span>", info="公开日期：2024年01月26日")
    assert both(html) == ((date(2024, 1, 26), "visible"), ("2024-01-26", "page"))


@pytest.mark.parametrize("name", ["publishtime", "PubDate", "publishdate"])
def test_publication_date_metadata(name):
    html = page(
        head=f'<meta name="{name}" content="2024-01-25 09:10:00">', header=CLOCK, info="发布时间：2024-01-26"
    )
    assert both(html) == ((date(2024, 1, 25), "meta"), ("2024-01-25", "meta"))


def test_text_copy_with_a_capture_header():
    """A report saved as text by a tool that put its own date on top."""
    text = f"保存时间：2026-11-30 10:05\n页面保存于{TODAY}\n{TITLE}\n" + render.render_text(REP, "tabs")
    got = reports.parse_bytes(text.encode())
    assert got["published_at"] is None
    text = f"保存时间：2026-11-30 10:05\n{TITLE}\n发布日期：2024-01-26\n" + render.render_text(REP, "tabs")
    got = reports.parse_bytes(text.encode())
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-26", "page")


@pytest.mark.parametrize(
    "capture",
    [
        "From: <Saved by Blink>\nSnapshot-Content-Location: http://www.qs.gov.cn/a.html\n"
        "Date: Mon, 30 Nov 2026 10:05:06 +0800\nMIME-Version: 1.0",
        " Page saved with SingleFile \n url: http://www.qs.gov.cn/a.html \n saved date: Mon Nov 30 2026",
        "saved from url=(0052)http://www.qs.gov.cn/t20261130_1.html 2026-11-30",
        f"今天是{TODAY} 星期一 北京时间：2026-11-30 10:05",
        "网站更新时间：2026-11-30 截图时间：2026-11-30 下载时间：2026-11-30",
    ],
)
def test_visible_date_refuses_captures_clocks_and_footers(capture):
    assert visible_date(capture) is None
    assert visible_date(capture + " 发布日期：2024-01-26") == date(2024, 1, 26)


def test_real_pages():
    """The saved 邯郸 article (a browser extension's script injected at save time) and the 生态环境部
    head (PubDate and publishdate); the 上海 list page says "as saved on 2022-04-27" in a comment."""
    handan = Selector(text=(FIXTURES / "handan-article-page.html").read_text("utf-8"))
    assert publication(page_meta(handan), lambda: page_text(handan), None) == (date(2020, 8, 2), "meta")
    assert visible_date(page_text(handan)) == date(2020, 8, 2)  # 发布日期, not the commented 成文日期
    mee = Selector(text=(FIXTURES / "pages" / "04_mee-article-t20220417_974894-head.html").read_text("utf-8"))
    assert publication(page_meta(mee), lambda: page_text(mee), None) == (date(2022, 4, 17), "meta")
    shanghai = Selector(text=(FIXTURES / "pages" / "01_shanghai-wsjkw-yqtb-list.html").read_text("utf-8"))
    assert publication(page_meta(shanghai), lambda: page_text(shanghai), None) == (None, None)
