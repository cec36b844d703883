"""The digest's pictures: one chart description, drawn as SVG for the web and as PNG for Word.

A chart is a small dataclass (``BarChart``, ``LineChart``) built from the monitor's own rows
(``monitor.status`` rows, ``monitor.yoy.figure_history``); ``to_svg`` draws it and ``to_png``
rasterises that same SVG, so the dashboard, the HTML digest and the DOCX report show one picture.

Why hand-written SVG: bars and lines are a few dozen elements, and writing them directly keeps the
output small, free of script and of ``style`` (presentation attributes only, so the dashboard's
``style-src 'self'`` CSP holds), with text as real text that a browser and a search can read.
Why CairoSVG for the PNG: python-docx cannot embed SVG; CairoSVG is a small, maintained Python
package on the system cairo library, converts our SVG faithfully (CJK text through fontconfig)
in milliseconds, where a headless browser or LibreOffice would take seconds and a second
drawing library would draw a second, different picture.

Chinese labels name the family "Noto Sans CJK SC" (Debian's fonts-noto-cjk) then sans-serif.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from monitor.status import KIND_LABELS

FONT_FAMILY = "'Noto Sans CJK SC', sans-serif"
BAR_COLOUR = "#43a047"
LINE_COLOURS = ("#1976d2", "#43a047", "#e53935", "#8e24aa", "#fb8c00")
GRID = "#e0e0e0"
INK = "#222222"
MUTED = "#666666"
# The statuses an on-time rate is taken over: a pending report is not due yet, and an agency we
# cannot check proves nothing either way.
JUDGED = ("on_time", "late", "missing")
# Bars of one chart at most (the rest would not fit a printed page).
MAX_BARS = 30
# The lines of an agency's trend: (label, the monitor.yoy figures that add up to it).
TREND_SERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("本年新收申请数", ("applications",)),
    ("予以公开数", ("disclosed",)),
    ("行政复议/诉讼", ("review_total", "litigation_total")),
)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: nothing to show (drawn as a dash)
    note: str = ""  # the tooltip after the value, e.g. "按时 12 / 应报 14"


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    rate: bool = True  # values are shares of 1, drawn against 0–100 %
    horizontal: bool = False  # one row per bar: for long labels (regions)


@dataclass(frozen=True)
class Series:
    label: str
    values: tuple[float | None, ...]  # one per category; None breaks the line


@dataclass(frozen=True)
class LineChart:
    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]


Chart = BarChart | LineChart


# -- from the monitor's rows -------------------------------------------------------------------


def on_time_counts(rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """(on time, judged) over status rows: judged are the on-time, late and missing ones."""
    on_time = judged = 0
    for r in rows:
        if r["status"] in JUDGED:
            judged += 1
            on_time += r["status"] == "on_time"
    return on_time, judged


def on_time_rate(rows: Iterable[dict[str, Any]]) -> float | None:
    """The share of judged reports published on time; None when none is judged yet."""
    on_time, judged = on_time_counts(rows)
    return on_time / judged if judged else None


def _rate_bar(label: str, rows: list[dict[str, Any]]) -> Bar:
    on_time, judged = on_time_counts(rows)
    return Bar(label, on_time / judged if judged else None, f"按时 {on_time} / 应报已到期 {judged}")


def on_time_by_year(status: list[dict[str, Any]], years: Sequence[int]) -> BarChart:
    """One bar per report year: the on-time rate of the status rows of that year."""
    bars = tuple(_rate_bar(f"{y}年", [r for r in status if r["year"] == y]) for y in years)
    return BarChart("各年度按时发布率", bars)


def group_key(status: list[dict[str, Any]]) -> str:
    """ "region" when the rows span several regions, else "kind" (one region: compare kinds)."""
    return "region" if len({r["region"] for r in status}) > 1 else "kind"


def group_label(key: str, value: Any) -> str:
    if key == "kind":
        return KIND_LABELS.get(value, value or "未分类")
    return value or "未标注地区"


def on_time_by_group(status: list[dict[str, Any]], year: int, key: str, limit: int = MAX_BARS) -> BarChart:
    """One bar per region (or kind) for ``year``, in the order the rows come (status order).

    Beyond ``limit`` groups only the ``limit`` lowest rates are drawn (a page holds ~30 bars).
    """
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in status:
        if r["year"] == year:
            groups.setdefault(r[key], []).append(r)
    what = "地区" if key == "region" else "机关类别"
    bars = [_rate_bar(group_label(key, g), rows) for g, rows in groups.items()]
    title = f"{year}年度按时发布率（按{what}）"
    if len(bars) > limit:
        bars = sorted(bars, key=lambda b: (b.value is None, b.value or 0))[:limit]
        title = f"{year}年度按时发布率最低的{limit}个{what}"
    return BarChart(title, tuple(bars), horizontal=True)


def trend_chart(agency: str, history: dict[int, dict[str, Any]], years: Sequence[int]) -> LineChart:
    """An agency's applications, disclosures and 复议/诉讼 over ``years`` (``figure_history`` rows)."""
    series = []
    for label, keys in TREND_SERIES:
        values: list[float | None] = []
        for y in years:
            figures = history.get(y) or {}
            known = [figures.get(k) for k in keys if figures.get(k) is not None]
            values.append(sum(known) if known else None)
        series.append(Series(label, tuple(values)))
    return LineChart(f"{agency}：申请、公开与复议诉讼", tuple(f"{y}年" for y in years), tuple(series))


# -- drawing -----------------------------------------------------------------------------------


def text_width(text: str, size: float) -> float:
    """An estimate of the drawn width: CJK and full-width characters are one em, others ~0.6."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.6 * size for c in text)


def _clip(text: str, size: float, width: float) -> str:
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def nice_max(value: float, ticks: int = 4) -> float:
    """The top of a count axis at or above ``value``: ``ticks`` whole, round steps (1, 1.5, 2, 2.5,
    3, 4, 5, 6 or 8 × 10^k; never below 1 each, counts being whole numbers)."""
    need = max(value, 0) / ticks
    if need <= 1:
        return ticks
    power = 10 ** math.floor(math.log10(need))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * power >= need and float(step * power).is_integer():
            return step * power * ticks
    return 10 * power * ticks  # pragma: no cover


def fmt_value(v: float | None, rate: bool) -> str:
    if v is None:
        return "—"
    if rate:
        return f"{v:.1%}"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


class _Svg:
    """Collects SVG elements; every text and attribute value goes through escape()."""

    def __init__(self, width: float, height: float, title: str) -> None:
        self.width, self.height = width, height
        self.parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" class="chart" '
            f'font-family="{escape(FONT_FAMILY)}">',
            f"<title>{escape(title)}</title>",
            f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
            f'<text x="{width / 2:.1f}" y="22" text-anchor="middle" font-size="15" font-weight="bold" '
            f'fill="{INK}">{escape(title)}</text>',
        ]

    def add(self, tag: str, text: str | None = None, tooltip: str | None = None, **attrs: Any) -> None:
        a = " ".join(
            f'{k.rstrip("_").replace("_", "-")}="{escape(v if isinstance(v, str) else _num(v))}"'
            for k, v in attrs.items()
        )
        inner = (f"<title>{escape(tooltip)}</title>" if tooltip else "") + (escape(text) if text else "")
        self.parts.append(f"<{tag} {a}>{inner}</{tag}>" if inner else f"<{tag} {a}/>")

    def done(self) -> str:
        return "".join(self.parts) + "</svg>"


def _num(v: float) -> str:
    return f"{v:.1f}".removesuffix(".0")


def _bar_svg(chart: BarChart) -> str:
    top_value = 1.0 if chart.rate else nice_max(max((b.value or 0 for b in chart.bars), default=0))
    ticks = [top_value * i / 4 for i in range(5)]
    if chart.horizontal:
        size = 12
        left = min(max((text_width(b.label, size) for b in chart.bars), default=40) + 16, 220)
        plot_w, row_h = 300, 26
        width = left + plot_w + 70
        top = 44
        height = top + row_h * max(len(chart.bars), 1) + 28
        svg = _Svg(width, height, chart.title)
        bottom = height - 28
        for t in ticks:
            x = left + t / top_value * plot_w
            svg.add("line", x1=x, y1=top - 4, x2=x, y2=bottom, stroke=GRID)
            svg.add(
                "text",
                fmt_value(t, chart.rate).replace(".0%", "%"),
                x=x,
                y=bottom + 16,
                text_anchor="middle",
                font_size=10,
                fill=MUTED,
            )
        for i, b in enumerate(chart.bars):
            y = top + i * row_h
            svg.add(
                "text",
                _clip(b.label, size, left - 12),
                x=left - 8,
                y=y + 13,
                text_anchor="end",
                font_size=size,
                fill=INK,
            )
            tip = f"{b.label}：{fmt_value(b.value, chart.rate)}" + (f"（{b.note}）" if b.note else "")
            w = (b.value or 0) / top_value * plot_w
            if b.value is not None:
                svg.add(
                    "rect", tooltip=tip, class_="bar", x=left, y=y + 1, width=w, height=16, fill=BAR_COLOUR
                )
            svg.add("text", fmt_value(b.value, chart.rate), x=left + w + 6, y=y + 13, font_size=11, fill=INK)
        svg.add("line", x1=left, y1=top - 4, x2=left, y2=bottom, stroke=MUTED)
        return svg.done()
    slot, left, top = 72, 52, 44
    width = max(left + slot * len(chart.bars) + 16, 320)
    height = 260
    bottom = height - 36
    plot_h = bottom - top - 14  # room for the value above a full bar
    svg = _Svg(width, height, chart.title)
    for t in ticks:
        y = bottom - t / top_value * plot_h
        svg.add("line", x1=left, y1=y, x2=width - 12, y2=y, stroke=GRID)
        svg.add(
            "text",
            fmt_value(t, chart.rate).replace(".0%", "%"),
            x=left - 6,
            y=y + 4,
            text_anchor="end",
            font_size=10,
            fill=MUTED,
        )
    for i, b in enumerate(chart.bars):
        cx = left + slot * i + slot / 2
        h = (b.value or 0) / top_value * plot_h
        tip = f"{b.label}：{fmt_value(b.value, chart.rate)}" + (f"（{b.note}）" if b.note else "")
        if b.value is not None:
            svg.add(
                "rect",
                tooltip=tip,
                class_="bar",
                x=cx - 22,
                y=bottom - h,
                width=44,
                height=h,
                fill=BAR_COLOUR,
            )
        svg.add(
            "text",
            fmt_value(b.value, chart.rate),
            x=cx,
            y=bottom - h - 5,
            text_anchor="middle",
            font_size=11,
            fill=INK,
        )
        svg.add(
            "text",
            _clip(b.label, 12, slot - 4),
            x=cx,
            y=bottom + 18,
            text_anchor="middle",
            font_size=12,
            fill=INK,
        )
    svg.add("line", x1=left, y1=bottom, x2=width - 12, y2=bottom, stroke=MUTED)
    return svg.done()


def _line_svg(chart: LineChart) -> str:
    width, height, left, right = 560, 310, 60, 20
    values = [v for s in chart.series for v in s.values if v is not None]
    top_value = nice_max(max(values, default=0))
    # The legend: one row under the title, wrapped when the labels do not fit.
    legend: list[tuple[float, float, int]] = []
    x, y = left, 44
    for i, s in enumerate(chart.series):
        w = 26 + text_width(s.label, 12) + 18
        if x + w > width - right and x > left:
            x, y = left, y + 18
        legend.append((x, y, i))
        x += w
    top = y + 22
    bottom = height - 44  # room for a value drawn under a point on the axis
    svg = _Svg(width, height, chart.title)
    for t in (top_value * i / 4 for i in range(5)):
        ty = bottom - t / top_value * (bottom - top)
        svg.add("line", x1=left, y1=ty, x2=width - right, y2=ty, stroke=GRID)
        svg.add(
            "text", fmt_value(t, False), x=left - 6, y=ty + 4, text_anchor="end", font_size=10, fill=MUTED
        )
    n = len(chart.categories)
    span = width - right - left - 40

    def px(i: int) -> float:
        return left + 20 + (span * i / (n - 1) if n > 1 else span / 2)

    for i, cat in enumerate(chart.categories):
        svg.add("text", cat, x=px(i), y=bottom + 32, text_anchor="middle", font_size=12, fill=INK)
    for lx, ly, i in legend:
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        svg.add("line", x1=lx, y1=ly - 4, x2=lx + 20, y2=ly - 4, stroke=colour, stroke_width=2.5)
        svg.add("text", chart.series[i].label, x=lx + 26, y=ly, font_size=12, fill=INK)
    labels: dict[int, list[tuple[float, str, str]]] = {}
    for si, s in enumerate(chart.series):
        colour = LINE_COLOURS[si % len(LINE_COLOURS)]
        run: list[str] = []
        for i, v in enumerate([*s.values, None]):  # a None ends the current run of the line
            if v is None:
                if len(run) > 1:
                    svg.add(
                        "polyline",
                        class_="line",
                        points=" ".join(run),
                        fill="none",
                        stroke=colour,
                        stroke_width=2.5,
                        stroke_linejoin="round",
                    )
                run = []
                continue
            run.append(f"{px(i):.1f},{bottom - v / top_value * (bottom - top):.1f}")
        for i, v in enumerate(s.values):
            if v is None:
                continue
            cy = bottom - v / top_value * (bottom - top)
            tip = f"{s.label} {chart.categories[i]}：{fmt_value(v, False)}"
            svg.add("circle", tooltip=tip, class_="point", cx=px(i), cy=cy, r=4, fill=colour)
            labels.setdefault(i, []).append((cy, fmt_value(v, False), colour))
    if n <= 6:  # values beside the points; kept apart where lines run close
        for i, column in labels.items():
            last_y = -math.inf
            end = i == n - 1 and n > 1
            for cy, text, colour in sorted(column):
                # Above the point; below it when the label above would overlap the previous one.
                last_y = cy - 7 if cy - 7 >= last_y + 12 else max(cy + 16, last_y + 12)
                svg.add(
                    "text",
                    text,
                    x=px(i) + (-7 if end else 7),
                    y=last_y,
                    font_size=10,
                    fill=colour,
                    text_anchor="end" if end else "start",
                )
    svg.add("line", x1=left, y1=bottom, x2=width - right, y2=bottom, stroke=MUTED)
    return svg.done()


def to_svg(chart: Chart) -> str:
    """The chart as a standalone SVG document (no script, no style, no external reference)."""
    return _bar_svg(chart) if isinstance(chart, BarChart) else _line_svg(chart)


def to_png(chart: Chart, scale: float = 2) -> bytes:
    """The same picture as ``to_svg``, rasterised by CairoSVG at ``scale`` × its pixel size."""
    import cairosvg  # imported here: only the DOCX report needs the cairo library

    return cairosvg.svg2png(bytestring=to_svg(chart).encode("utf-8"), scale=scale)


def digest_charts(digest: Any, trends: int | None = None) -> list[Chart]:
    """The charts of a digest: on-time rate by year, by region (or kind), then agency trends.

    ``trends`` caps the number of agency trend charts (default: every agency in
    ``digest.trends``).
    """
    charts: list[Chart] = [on_time_by_year(digest.status, digest.years)]
    key = group_key(digest.status)
    charts.append(on_time_by_group(digest.status, digest.year, key))
    agencies = list(digest.trends)[:trends] if trends is not None else list(digest.trends)
    charts += [trend_chart(a, digest.trends[a], digest.years) for a in agencies]
    return charts
