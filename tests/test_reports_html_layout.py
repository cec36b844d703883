"""HTML reports split over sibling containers (prose, tables, prose): every part is read, and
the page chrome around them (navigation, 索引号 block, related links, footer, another
article) stays out of the sections."""

from __future__ import annotations

import random
import re

import lxml.html
import pytest

import reports
from reports.text import cjk
from simulator import render
from simulator.model import generate_region

SEEDS = (1, 7, 23)
TEMPLATES = ("2021", "2019-trial", "legacy")
DRIFTS = [{}, {"title": True, "sign_off": True}, {"part_digits": True, "no_headings": True}]


def squash(s: str | None) -> str:
    return "".join((s or "").split())


def region_reports(seed: int) -> list[dict]:
    """A few reports of a generated region: the government, departments and a township."""
    reps = [r.report for r in generate_region(seed=seed, departments=6, townships=3).reports]
    return reps[:: max(1, len(reps) // 4)][:4]


def in_template(rep: dict, template: str, seed: int) -> dict:
    if template == "2019-trial":
        return render.trial_report(rep, random.Random(seed))
    if template == "legacy":
        return render.legacy_report(rep)
    return rep


def assert_reads_back(got: dict, exp: dict) -> None:
    for key in ("agency", "year", "template", "kind"):
        assert got[key] == exp[key], key
    for table in ("table1", "table2", "table3"):
        assert got[table] == exp[table], table
    for key in ("overview", "problems", "other"):
        assert squash(got["sections"].get(key)) == squash(exp["sections"][key]), key
    assert set(exp["issues"]) <= {(i["code"], i["where"]) for i in got["issues"]}


def containers(html: str) -> list[str]:
    """The text of each top-level container of a fragment."""
    body = lxml.html.document_fromstring(html).find("body")
    return [squash(el.text_content()) for el in body]


CASES = [(seed, template) for seed in SEEDS for template in TEMPLATES]


@pytest.mark.parametrize(("seed", "template"), CASES, ids=[f"seed{s}-{t}" for s, t in CASES])
def test_split_containers_round_trip(seed, template):
    for i, base in enumerate(region_reports(seed)):
        rep = in_template(base, template, seed + i)
        drift = {**DRIFTS[i % len(DRIFTS)], "split_containers": True}
        exp = render.expected(rep, **drift)
        assert exp == render.expected(rep, **{k: v for k, v in drift.items() if k != "split_containers"})
        fragment = render.render_html_fragment(rep, **drift)
        parts = containers(fragment)
        # The layout under test: parts 一 and 五/六 in different sibling containers.
        assert "总体情况" in parts[0] or "概述" in parts[0]
        assert re.match("[五5二]、存在的主要问题", parts[-1])  # the last container opens with 五
        assert len(parts) == (2 if template == "legacy" else 3)
        for data in (fragment.encode(), render.render_html_page(rep, **drift).encode("gb18030")):
            got = reports.parse_bytes(data)
            assert_reads_back(got, exp)


CHROME = (
    "首页",
    "机构概况",
    "主题分类",
    "当前位置",
    "索引号",
    "发布机构",
    "11371028MB28550X",
    "相关链接",
    "青山县民政局2022年政府信息公开工作年度报告",
    "主办",
    "备案号",
    "上一篇",
    "智慧城市建设座谈会",
)
ANOTHER_ARTICLE = (
    "<div class='recommend'><h3>上一篇</h3>"
    "<p>一、总体情况</p><p>青山县召开智慧城市建设座谈会，部署下一阶段工作。</p>"
    "<p>五、存在的主要问题及改进情况</p><p>智慧城市建设座谈会指出的问题正在整改。</p></div>"
)


def portal_page(rep: dict, *, wrapper: bool, another: bool) -> str:
    """A portal article page with the report split over three sibling containers."""
    title = render.title_of(rep)
    report = render.render_html_fragment(rep, split_containers=True)
    inner = f"""<div class="crumb">当前位置：首页 &gt; 政务公开 &gt; 年度报告</div>
    <div class="xxgk-info"><p>索引号：11371028MB28550X/2024-00012</p><p>发布机构：{rep["agency"]}</p>
    <p>主题分类：政务公开</p></div>
    <h1>{title}</h1><div class="info">发布时间：2024-01-26 来源：{rep["agency"]}</div>
    {report}
    {ANOTHER_ARTICLE if another else ""}
    <div class="related"><h3>相关链接</h3><ul>
    <li><a href="/1">青山县民政局2022年政府信息公开工作年度报告</a></li>
    <li><a href="/2">青山县教育局2023年政府信息公开工作年度报告</a></li></ul></div>"""
    if wrapper:
        inner = f'<div class="main">{inner}</div>'
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_青山县人民政府</title></head>
    <body><div class="nav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk">政务公开</a></li>
    <li><a href="/jggk">机构概况</a></li></ul></div>
    {inner}
    <div class="footer">主办：青山县人民政府办公室 备案号：鲁ICP备00000000号</div></body></html>"""


def largest_share(page: str) -> float:
    """The largest share of the page's CJK text held by one of the report's containers."""
    body = lxml.html.document_fromstring(page).find("body")
    total = len(cjk(body.text_content()))
    return max(
        len(cjk(el.text_content())) / total
        for el in body.iter("div")
        if el.get("class") in ("TRS_Editor", "tables", "wz")
    )


# Which part dominates the page decides which container holds most of the text: the tables
# (short prose), the prose before them, the prose after them, or none (balanced).
PROSE = {"tables": (0, 0), "before": (40, 1), "after": (1, 40), "balanced": (14, 14)}
PAGE_CASES = [(p, w, a) for p in PROSE for w in (False, True) for a in (False, True)]


def longer(text: str, times: int) -> str:
    """The text repeated as paragraphs, or (0) cut short."""
    return "\n".join([text] * times) if times else text[:12] + "。"


@pytest.mark.parametrize(
    ("prose", "wrapper", "another"),
    PAGE_CASES,
    ids=[f"{p}-{'wrapped' if w else 'flat'}{'-another' if a else ''}" for p, w, a in PAGE_CASES],
)
def test_split_report_in_a_portal_page_keeps_chrome_out(prose, wrapper, another):
    rep = region_reports(5)[1]
    before, after = PROSE[prose]
    rep["sections"]["overview"] = longer(rep["sections"]["overview"], before)
    rep["sections"]["problems"] = longer(rep["sections"]["problems"], after)
    rep["sections"]["other"] = longer(rep["sections"]["other"], min(1, after))
    page = portal_page(rep, wrapper=wrapper, another=another)
    share = largest_share(page)
    assert share < 0.6 if prose == "balanced" else share >= 0.6
    got = reports.parse_bytes(page.encode())
    assert_reads_back(got, render.expected(rep))
    assert (got["published_at"], got["published_at_source"]) == ("2024-01-26", "page")
    for key, text in got["sections"].items():
        leaked = [c for c in CHROME if c in text]
        assert not leaked, (key, leaked)


def test_prose_around_a_container_of_bare_tables():
    """The shape seen on real portals: prose 一/二, a container holding only the three tables,
    then the prose of 五/六 in a third container."""
    rep = region_reports(2)[0]
    html = render.render_html_fragment(rep)
    first, last = html.index("<table"), html.rindex("</table>") + len("</table>")
    tables = re.sub(r"</table>.*?<table", "</table><table", html[first:last], flags=re.S)  # bare
    page = (
        "<html><body><div class='nav'><a href='/'>首页</a> <a href='/zwgk'>政务公开</a></div>"
        f"<div class='TRS_Editor'>{html[:first]}</div><div class='tables'>{tables}</div>"
        f"<div class='wz'>{html[last:]}</div>"
        "<div class='footer'>主办：青山县人民政府办公室 备案号：鲁ICP备00000000号</div></body></html>"
    )
    got = reports.parse_bytes(page.encode())
    assert (got["table1"], got["table2"], got["table3"]) == (rep["table1"], rep["table2"], rep["table3"])
    for key in ("overview", "problems", "other"):
        assert squash(got["sections"][key]) == squash(rep["sections"][key]), key


def test_body_inside_a_layout_table_is_read_as_rows():
    """The page's text sits in one cell of a layout table, which is read as table rows: no
    prose element to start from, and no failure either."""
    rep = render.legacy_report(region_reports(3)[0])
    frag = render.render_html_fragment(rep, title=True)
    page = f"<html><body><table><tr><td>首页 机构概况</td></tr><tr><td>{frag}</td></tr></table></body></html>"
    doc = reports.read_document(page.encode())
    assert any("一、概述" in (cell or "") for row in doc.rows() for cell in row)
