"""outputs.charts: the SVG is well-formed, script- and style-free, and draws the numbers it is given."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from outputs.charts import (
    BAR_COLOUR,
    digest_charts,
    group_key,
    nice_max,
    on_time_by_group,
    on_time_by_year,
    to_png,
    to_svg,
    trend_chart,
)

NS = "{http://www.w3.org/2000/svg}"


def _row(year: int, status: str, region: str = "甲市", kind: str = "department", agency: str = "") -> dict:
    return {"agency": agency or f"{region}{kind}{status}", "year": year, "status": status, "region": region,
            "kind": kind}  # fmt: skip


def _status() -> list[dict]:
    rows = [_row(2023, "on_time", agency=f"a{i}") for i in range(3)] + [_row(2023, "late", agency="b")]
    rows += [_row(2024, "on_time", agency="c"), _row(2024, "missing", agency="d")]
    rows += [_row(2024, "pending", agency="e"), _row(2024, "not_checkable", agency="f")]
    rows += [_row(2025, "pending", agency="g")]
    return rows


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def _by_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}{tag}") if e.get("class") == cls]


def assert_csp_safe(svg: str) -> None:
    """No script, no style (attribute or element), no link or reference to anything outside."""
    root = _parse(svg)
    for e in root.iter():
        assert e.tag not in (f"{NS}script", f"{NS}style", f"{NS}a", f"{NS}image", f"{NS}foreignObject")
        for name, value in e.attrib.items():
            assert name not in ("style", "href", "{http://www.w3.org/1999/xlink}href"), name
            assert not name.startswith("on"), name
            assert "url(" not in value and "http" not in value, (name, value)
    assert "<script" not in svg.lower() and "style=" not in svg


def test_on_time_by_year_bars_are_proportional():
    chart = on_time_by_year(_status(), [2023, 2024, 2025])
    # pending and not_checkable are not judged: 2023 3/4, 2024 1/2, 2025 nothing to judge.
    assert [b.value for b in chart.bars] == [0.75, 0.5, None]
    svg = to_svg(chart)
    assert_csp_safe(svg)
    root = _parse(svg)
    bars = _by_class(root, "rect", "bar")
    assert len(bars) == 2  # no bar for a year with nothing judged
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] / heights[1] == pytest.approx(0.75 / 0.5, rel=0.01)
    # The bars stand on one baseline.
    bottoms = {round(float(b.get("y")) + float(b.get("height")), 1) for b in bars}
    assert len(bottoms) == 1
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "75.0%" in texts and "50.0%" in texts and "—" in texts
    assert [t for t in texts if t and t.endswith("年")] == ["2023年", "2024年", "2025年"]
    assert "Noto Sans CJK SC" in root.get("font-family")
    assert root.find(f"{NS}title").text == "各年度按时发布率"
    tips = [b.find(f"{NS}title").text for b in bars]
    assert tips[0] == "2023年：75.0%（按时 3 / 应报已到期 4）"


def test_on_time_by_region_and_by_kind():
    rows = [_row(2025, "on_time", "甲市", agency="a1"), _row(2025, "missing", "甲市", agency="a2")]
    rows += [_row(2025, "on_time", "乙市", agency="b1"), _row(2025, "late", "丙市", agency="c1")]
    rows += [_row(2024, "late", "乙市", agency="b1")]
    assert group_key(rows) == "region"
    chart = on_time_by_group(rows, 2025, "region")
    assert [(b.label, b.value) for b in chart.bars] == [("甲市", 0.5), ("乙市", 1.0), ("丙市", 0.0)]
    svg = to_svg(chart)
    assert_csp_safe(svg)
    bars = _by_class(_parse(svg), "rect", "bar")
    widths = [float(b.get("width")) for b in bars]
    assert len(bars) == 3 and widths[2] == 0 and widths[0] / widths[1] == pytest.approx(0.5, rel=0.01)
    one_region = [r for r in rows if r["region"] == "甲市"]
    assert group_key(one_region) == "kind"
    by_kind = on_time_by_group(
        [*one_region, _row(2025, "on_time", "甲市", "government", "gov")], 2025, "kind"
    )
    assert {b.label: b.value for b in by_kind.bars} == {"部门": 0.5, "政府": 1.0}


def test_trend_chart_points_follow_the_figures():
    history = {
        2022: {"applications": 100, "disclosed": 40, "review_total": 2, "litigation_total": 3},
        2023: {"applications": 250, "disclosed": 90, "review_total": 0, "litigation_total": None},
        2024: {"applications": 175, "disclosed": None, "review_total": None, "litigation_total": None},
    }
    chart = trend_chart("青山县人民政府", history, [2022, 2023, 2024])
    values = {s.label: s.values for s in chart.series}
    assert values == {
        "本年新收申请数": (100, 250, 175),
        "予以公开数": (40, 90, None),
        "行政复议/诉讼": (5, 0, None),  # review + litigation; None where neither is known
    }
    svg = to_svg(chart)
    assert_csp_safe(svg)
    root = _parse(svg)
    points = _by_class(root, "circle", "point")
    assert len(points) == 3 + 2 + 2
    apps = [p for p in points if p.find(f"{NS}title").text.startswith("本年新收申请数")]
    ys = [float(p.get("cy")) for p in apps]
    xs = [float(p.get("cx")) for p in apps]
    assert xs == sorted(xs) and len(set(xs)) == 3
    # A linear scale: the drops between points are proportional to the differences of the values.
    assert (ys[0] - ys[1]) / (ys[0] - ys[2]) == pytest.approx((250 - 100) / (175 - 100), rel=0.01)
    assert len(_by_class(root, "polyline", "line")) == 3  # one run per series: no gap inside a run
    gap = trend_chart("x", {2022: history[2022], 2024: history[2024]}, [2022, 2023, 2024])
    gap_root = _parse(to_svg(gap))
    assert len(_by_class(gap_root, "polyline", "line")) == 0  # 2023 unknown: no line across it
    assert len(_by_class(gap_root, "circle", "point")) == 2 + 1 + 1


def test_labels_are_escaped():
    evil = '青山县<script>alert("x")</script>&局'
    svg = to_svg(trend_chart(evil, {2024: {"applications": 3}}, [2024]))
    assert_csp_safe(svg)
    assert evil in _parse(svg).find(f"{NS}title").text


def test_nice_max_gives_round_ticks():
    assert nice_max(0) == 4 and nice_max(9) == 12 and nice_max(136) == 160 and nice_max(1000) == 1000
    for v in (1, 7, 33, 99, 101, 4321, 98765):
        top = nice_max(v)
        assert top >= v and float(top / 4).is_integer() and top < 2.2 * max(v, 4)


def test_png_is_the_same_picture():
    chart = on_time_by_year(_status(), [2023, 2024, 2025])
    root = _parse(to_svg(chart))
    png = to_png(chart, scale=2)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (2 * int(root.get("width")), 2 * int(root.get("height")))
    green = tuple(int(BAR_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    bar_pixels = dict((c, n) for n, c in image.getcolors(maxcolors=1 << 24))[green]
    # The two bars' area in the SVG, at scale 2 (edges may be antialiased).
    area = sum(float(b.get("width")) * float(b.get("height")) for b in _by_class(root, "rect", "bar")) * 4
    assert bar_pixels == pytest.approx(area, rel=0.05)


def test_digest_charts_order():
    class D:
        status = _status()
        years = [2023, 2024, 2025]
        year = 2025
        trends = {"甲局": {2023: {"applications": 1}}, "乙局": {}}

    charts = digest_charts(D())
    assert [c.title for c in charts][:2] == ["各年度按时发布率", "2025年度按时发布率（按机关类别）"]
    assert [c.title.split("：")[0] for c in charts[2:]] == ["甲局", "乙局"]
    assert len(digest_charts(D(), trends=1)) == 3
    for c in charts:
        assert_csp_safe(to_svg(c))
    assert all(re.search(r"[\u4e00-\u9fff]", c.title) for c in charts)


def test_many_regions_show_the_worst():
    rows = [_row(2025, "on_time" if i % 7 else "missing", f"地区{i:02d}", agency=f"a{i}") for i in range(40)]
    rows += [_row(2025, "on_time", f"地区{i:02d}", agency=f"b{i}") for i in range(40)]
    chart = on_time_by_group(rows, 2025, "region", limit=10)
    assert chart.title == "2025年度按时发布率最低的10个地区"
    assert len(chart.bars) == 10 and {b.value for b in chart.bars[:6]} == {0.5}  # 地区00, 07, … 35
    assert len(_by_class(_parse(to_svg(chart)), "rect", "bar")) == 10
