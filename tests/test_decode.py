"""The one bytes→text module (reports.decode): its charset policy, and the same choice in the crawl."""

from __future__ import annotations

import random
from datetime import date

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from crawler.middlewares import ChineseEncodingMiddleware
from reports.decode import decode_html, pick_charset, version_text
from simulator import render
from simulator.model import Agency, generate_report

TEXT = "邯郸市教育局2023年政府信息公开工作年度报告 镕"  # 镕: in GBK, not in GB2312
PAGE = "<html><head>{meta}<title>年报</title></head><body><p>" + TEXT + "</p></body></html>"


def page(meta: str = "") -> str:
    return PAGE.format(meta=meta)


@pytest.mark.parametrize(
    ("raw", "content_type", "charset"),
    [
        # GBK bytes labelled GB2312 in the page (a GBK-only character): read as GB18030.
        (page('<meta charset="gb2312">').encode("gbk"), "text/html", "gb18030"),
        # GB18030's four-byte characters, no declaration at all.
        (page().replace("镕", "𠀀").encode("gb18030"), "text/html", "gb18030"),
        # A wrong header: GBK bytes sent as utf-8.
        (page().encode("gbk"), "text/html; charset=utf-8", "gb18030"),
        # UTF-8 under a wrong GBK header: the header does not decode, the bytes do as UTF-8.
        (page().encode("utf-8"), "text/html; charset=gbk", "utf-8"),
        # A weak server default header (latin-1) on UTF-8 bytes.
        (page().encode("utf-8"), "text/html; charset=ISO-8859-1", "utf-8"),
        # UTF-16 with a byte-order mark, and without one.
        (page().encode("utf-16"), "text/html", "utf-16"),
        (page().encode("utf-16-le"), "", "utf-16-le"),
        # UTF-8 with a BOM.
        (b"\xef\xbb\xbf" + page().encode("utf-8"), "text/html; charset=gbk", "utf-8-sig"),
        # The meta charset of a page the header says nothing about.
        (
            page('<meta http-equiv="Content-Type" content="text/html; charset=GBK">').encode("gbk"),
            "",
            "gb18030",
        ),
    ],
    ids=[
        "meta-gb2312",
        "gb18030",
        "gbk-under-utf8",
        "utf8-under-gbk",
        "weak-header",
        "utf16-bom",
        "utf16",
        "bom8",
        "meta-gbk",
    ],
)
def test_the_charset_policy_reads_every_page_right(raw, content_type, charset):
    assert pick_charset(raw, content_type) == charset
    text = decode_html(raw, content_type)
    assert TEXT.replace("镕", "𠀀" if "𠀀".encode("gb18030") in raw else "镕") in text
    assert "\ufeff" not in text


def test_damaged_bytes_are_read_with_the_fewest_losses():
    gbk = page().encode("gbk")
    damaged = gbk[:60] + b"\xff" + gbk[60:]  # one stray byte in GBK
    text = decode_html(damaged, "")
    assert "政府信息公开工作年度报告" in text and text.count("\ufffd") == 1


def test_the_crawl_pins_the_charset_the_stored_version_is_read_with():
    mw = ChineseEncodingMiddleware()
    for raw, ctype in [
        (page().encode("gbk"), "text/html; charset=utf-8"),
        (page('<meta charset="gb2312">').encode("gbk"), "text/html"),
        (page().encode("utf-16"), "text/html"),
    ]:
        url = "http://127.0.0.1/a.html"
        response = HtmlResponse(url, body=raw, headers={"Content-Type": ctype}, request=Request(url))
        out = mw.process_response(Request(url), response)
        assert out.encoding == pick_charset(raw, ctype)
        assert TEXT in out.text and out.text.strip().endswith("</html>")


def test_version_text_is_the_report_without_the_portal_chrome():
    rep = generate_report(
        random.Random(5), Agency("青山县科学技术局", "department", "x"), 2023, date(2024, 1, 20)
    )
    rep["table1"]["licensing"] = 4321
    chrome = (
        '<div class="header">今天是2026年11月30日星期一 10:31:07</div>'
        '<ul class="nav"><li><a href="/a">首页</a></li><li><a href="/b">政务公开</a></li></ul>'
    )
    footer = '<div class="related"><h3>相关链接</h3><ul><li><a href="/x">其他年报</a></li></ul></div>'
    html = (
        '<html><head><meta charset="gb2312"><title>青山县科学技术局2023年报</title></head><body>'
        + chrome
        + '<div class="TRS_Editor">'
        + render.render_html_fragment(rep)
        + footer  # inside the body container, as Hanweb pages put it
        + "</div>"
        + '<p class="visit">您是本站第665604位访问者</p>'
        + "</body></html>"
    )
    text = version_text(html.encode("gb18030"), "text/html")
    lines = text.splitlines()
    assert lines[0] == "青山县科学技术局2023年报"
    assert any("行政许可" in line and "4321" in line for line in lines)
    assert "今天是" not in text and "相关链接" not in text and "首页" not in text and "访问者" not in text


def test_version_text_of_a_file_is_the_parsers_text_and_of_junk_a_reason():
    rep = generate_report(
        random.Random(6), Agency("青山县科学技术局", "department", "x"), 2023, date(2024, 1, 20)
    )
    rep["table1"]["licensing"] = 4321
    docx = render.render_docx(rep)
    text = version_text(docx, "application/octet-stream")
    assert any("行政许可" in line and "4321" in line for line in text.splitlines())
    assert version_text(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "image/png").startswith("(")
