"""Who, when, what: agency, year, kind, publication date and its source, portal pages."""

from __future__ import annotations

import random
from datetime import date

import pytest

import reports
from reports.about import kind_of, parse_date, title_match
from simulator import render
from simulator.model import Agency, generate_report


def make(name="青山县交通运输局", kind="department", year=2023, seed=6):
    return generate_report(random.Random(seed), Agency(name, kind, "x"), year, date(year + 1, 1, 25))


def portal_page(
    report: dict, *, charset="utf-8", pubdate_meta=True, visible_date="2024-01-26 10:32"
) -> bytes:
    title = render.title_of(report)
    meta = '<meta name="PubDate" content="2024-01-25 09:10">' if pubdate_meta else ""
    body = render.render_html_fragment(report)
    page = f"""<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
    <meta name="ArticleTitle" content="{title}">{meta}<meta name="ContentSource" content="{report["agency"]}">
    <title>{title}_青山县人民政府</title></head><body>
    <div class="nav"><a href="/">首页</a><a href="/zwgk">政务公开</a><a href="/xxgk">信息公开</a></div>
    <div class="crumb">当前位置：首页 &gt; 政府信息公开 &gt; 年度报告</div>
    <table class="xxgk-meta"><tr><td>索引号：</td><td>11371028MB28550X/2024-00012</td>
    <td>发布机构：</td><td>{report["agency"]}</td></tr></table>
    <h1>{title}</h1><div class="info">发布时间：{visible_date} 来源：{report["agency"]}</div>
    <div class="TRS_Editor" id="zoom">{body}</div>
    <div class="related"><h3>相关链接</h3><ul>
    <li><a href="/1">青山县教育局2022年政府信息公开工作年度报告</a></li>
    <li><a href="/2">青山县民政局2023年政府信息公开工作年度报告</a></li></ul></div>
    <div class="footer">主办：青山县人民政府办公室 备案号：鲁ICP备00000000号</div></body></html>"""
    return page.encode("gb18030" if charset == "gb2312" else charset)


def test_portal_page_utf8_meta_pubdate():
    rep = make()
    got = reports.parse_bytes(portal_page(rep))
    assert got["agency"] == rep["agency"] and got["year"] == 2023
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-25", "meta")
    assert got["table2"] == rep["table2"] and got["table1"] == rep["table1"]
    # The related links and the footer are not part of the report's last section.
    assert "相关链接" not in got["sections"]["other"] and "备案号" not in got["sections"]["other"]
    assert got["issues"] == []


def test_portal_page_gbk_declared_gb2312_keeps_gbk_only_characters():
    rep = make()
    rep["sections"]["overview"] = "2023年，王喆同志负责信息公开工作。" + rep["sections"]["overview"]
    data = portal_page(rep, charset="gb2312", pubdate_meta=False)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    got = reports.parse_bytes(data)
    assert "王喆" in got["sections"]["overview"]
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-26", "page")
    assert got["table3"] == rep["table3"]


def test_list_date_when_the_page_has_none():
    rep = make()
    got = reports.parse_bytes(render.render_html_fragment(rep).encode(), meta={"list_date": "2024-01-27"})
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-27", "list")


def test_crawler_meta_date_and_source_win():
    rep = make()
    got = reports.parse_bytes(
        portal_page(rep),
        meta={"published_at": "2024-01-24", "date_source": "meta", "title": render.title_of(rep)},
    )
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-24", "meta")


def test_agency_from_meta_title_when_the_document_lacks_it():
    rep = make()
    text = render.render_text(rep, "tabs").replace(f"本报告由{rep['agency']}根据", "本报告根据")
    got = reports.parse_bytes(text.encode(), meta={"title": render.title_of(rep)})
    assert got["agency"] == rep["agency"] and got["year"] == 2023


def test_short_name_in_title_full_name_in_text():
    rep = make("青山县科学技术局")
    doc = render.render_html_fragment(rep).encode()
    got = reports.parse_bytes(doc, meta={"title": "青山县科技局2023年政府信息公开工作年度报告"})
    assert got["agency"] == "青山县科学技术局"


def test_year_mismatch():
    rep = make(year=2023)
    text = render.render_text(rep, "cells", title=True).replace(
        "自2023年1月1日起至2023年12月31日", "自2022年1月1日起至2022年12月31日"
    )
    got = reports.parse_bytes(text.encode())
    assert got["year"] == 2023
    assert [i for i in got["issues"] if i["code"] == "year_mismatch"][0]["message"] == (
        "title says 2023, statistics period says 2022"
    )


def test_year_from_statistics_period_without_title():
    got = reports.parse_bytes(render.render_docx(make(year=2024)))
    assert got["year"] == 2024


def test_chinese_numeral_date_at_the_end():
    rep = make()
    html = render.render_html_fragment(rep) + "<p>青山县交通运输局</p><p>二〇二四年一月二十日</p>"
    got = reports.parse_bytes(html.encode())
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-20", "body")
    assert not got["sections"]["other"].endswith("日")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("青山县人民政府", "government"),
        ("青山县人民政府办公室", "department"),
        ("青山县城关镇人民政府", "township"),
        ("青山县马集镇", "township"),
        ("青山县新华街道办事处", "township"),
        ("青山县住房和城乡建设局", "department"),
        ("青山县王庄乡人民政府", "township"),
    ],
)
def test_kind(name, kind):
    assert kind_of(name) == kind
    got = reports.parse_bytes(render.render_text(make(name=name, kind=kind), "tabs", title=True).encode())
    assert got["agency"] == name and got["kind"] == kind


def test_title_and_date_helpers():
    assert title_match("金乡县科学技术局 2023 年政府信息公开 工作年度报告") == ("金乡县科学技术局", 2023)
    assert title_match("关于青山县教育局2021年度政府信息公开工作年度报告") == ("青山县教育局", 2021)
    assert title_match("青山县教育局关于2021年度政府信息公开工作年度报告的公告") == ("青山县教育局", 2021)
    assert title_match("2022年度螅镇政府信息公开工作年度报告") == ("螅镇", 2022)
    assert parse_date("发布时间：2024年1月5日 10:00") == "2024-01-05"
    assert parse_date("2024/01/05") == "2024-01-05"
    assert parse_date("二〇二三年十二月三十一日") == "2023-12-31"
    assert parse_date("no date") is None


def test_report_inside_a_real_portal_page():
    """A saved 邯郸 article page (navigation, metadata block, footer, injected script) with a
    report put where its article body was: PubDate is written 2020年08月02日 there."""
    from pathlib import Path

    page = (Path(__file__).parent / "fixtures" / "handan-article-page.html").read_text("utf-8")
    rep = make(name="邯郸市教育局", year=2019)
    rep["sections"]["other"] = "本机关未收取信息处理费。"
    notice = "邯郸市教育局关于印发《全市教育系统安全专项整治三年行动实施方案》的通知"
    assert notice in page
    page = page.replace(notice, render.title_of(rep))
    marker = '<div class="dhlm clearfix">'
    assert marker in page
    page = page.replace(
        marker, f'<div class="TRS_Editor">{render.render_html_fragment(rep)}</div>{marker}', 1
    )
    got = reports.parse_bytes(page.encode("utf-8"))
    assert (got["agency"], got["year"], got["kind"]) == ("邯郸市教育局", 2019, "department")
    assert (got["published_at"], got["published_at_source"]) == ("2020-08-02", "meta")
    assert (
        got["table2"] == rep["table2"] and got["table1"] == rep["table1"] and got["table3"] == rep["table3"]
    )
    assert got["sections"]["other"] == "本机关未收取信息处理费。"  # no navigation or footer text
    assert got["issues"] == []


def test_government_report_compiled_by_its_office_stays_the_government():
    rep = make(name="青山县人民政府", kind="government")
    text = render.render_text(rep, "tabs", title=True).replace(
        "本报告由青山县人民政府根据", "本报告由青山县人民政府办公室根据"
    )
    got = reports.parse_bytes(text.encode())
    assert (got["agency"], got["kind"]) == ("青山县人民政府", "government")


def test_tables_in_a_sibling_of_the_prose_container():
    rep = make()
    rep["sections"]["overview"] = rep["sections"]["overview"] * 40  # most of the text is prose
    html = render.render_html_fragment(rep)
    first_table = html.index("<table")
    prose, tables = html[:first_table], html[first_table:]
    page = f"<html><body><div class='nav'>首页</div><div class='main'><div class='text'>{prose}</div><div class='tbl'>{tables}</div></div></body></html>"
    got = reports.parse_bytes(page.encode())
    assert got["table2"] == rep["table2"] and got["table3"] == rep["table3"]
