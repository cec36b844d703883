"""The digest as one self-contained HTML file: a coloured status matrix and inline SVG charts.

The on-time and trend charts are ``outputs.charts``'s, the same pictures as in the DOCX report.
No ``style`` attribute and no script anywhere, so the page also holds under a strict CSP.

Everything that came from a portal (names, URLs, evidence, messages) goes through html.escape;
links are only made from http(s) URLs.
"""

from __future__ import annotations

from html import escape
from typing import Any

from monitor.status import KIND_LABELS, STATUS_LABELS, STATUSES
from monitor.yoy import FIGURE_LABELS
from outputs.charts import digest_charts, to_svg
from outputs.digest import SHOWN_FIGURES, Digest, fmt_change, fmt_number

COLOURS = {
    "on_time": "#4caf50",
    "late": "#ff9800",
    "missing": "#e53935",
    "pending": "#64b5f6",
    "not_checkable": "#9e9e9e",
}
CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f2f2f2;position:sticky;top:0}
td.num{text-align:right}
td.s-on_time{background:#c6efce} td.s-late{background:#ffeb9c} td.s-missing{background:#ffc7ce}
td.s-pending{background:#ddebf7} td.s-not_checkable{background:#d9d9d9}
td.swing{background:#ffc7ce;font-weight:bold}
.charts{display:flex;flex-wrap:wrap;gap:2em}
.charts figure{margin:0;max-width:100%}
svg{max-width:100%;height:auto}
.legend span{display:inline-block;margin-right:1em}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
""" + "".join(f".legend i.s-{s}{{background:{c}}}\n" for s, c in COLOURS.items())


def _link(url: str | None) -> str:
    if not url:
        return ""
    u = escape(url)
    return f'<a href="{u}" rel="noreferrer">{u}</a>' if url.startswith(("http://", "https://")) else u


def stacked_bars(categories: list[str], series: dict[str, list[int]], colours: dict[str, str]) -> str:
    """Vertical stacked bars, one per category (e.g. statuses per year)."""
    width, height, pad = 80 * len(categories) + 60, 240, 30
    top = max([sum(v[i] for v in series.values()) for i in range(len(categories))] + [1])
    scale = (height - 2 * pad) / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, cat in enumerate(categories):
        x, y = 40 + i * 80, height - pad
        total = 0
        for name, values in series.items():
            h = values[i] * scale
            if h > 0:
                y -= h
                parts.append(
                    f'<rect x="{x}" y="{y:.1f}" width="50" height="{h:.1f}" fill="{colours[name]}">'
                    f"<title>{escape(cat)} {escape(STATUS_LABELS.get(name, name))}: {values[i]}</title></rect>"
                )
            total += values[i]
        parts.append(
            f'<text x="{x + 25}" y="{height - 10}" text-anchor="middle" font-size="12">{escape(cat)}</text>'
        )
        parts.append(f'<text x="{x + 25}" y="{y - 4:.1f}" text-anchor="middle" font-size="11">{total}</text>')
    parts.append("</svg>")
    return "".join(parts)


def paired_hbars(rows: list[tuple[str, float, float]], labels: tuple[str, str], per_row: bool = False) -> str:
    """Horizontal bars: for each label, this year's value over last year's (grey).

    ``per_row`` scales each pair to its own larger value: for figures of different magnitudes
    (thousands of licences, a handful of lawsuits) side by side.
    """
    bar_w, row_h, left = 260, 30, 190
    height = row_h * len(rows) + 30
    top = max([max(a or 0, b or 0) for _, a, b in rows] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + bar_w + 80}" height="{height}" role="img">'
    ]
    for i, (label, cur, prev) in enumerate(rows):
        y = 10 + i * row_h
        scale = max(cur or 0, prev or 0, 1) if per_row else top
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="12">{escape(label)}</text>'
        )
        for j, (v, colour) in enumerate(((cur, "#1976d2"), (prev, "#bdbdbd"))):
            w = (v or 0) / scale * bar_w
            parts.append(
                f'<rect x="{left}" y="{y + j * 11}" width="{w:.1f}" height="10" fill="{colour}">'
                f"<title>{escape(label)} {escape(labels[j])}: {fmt_number(v)}</title></rect>"
            )
        parts.append(
            f'<text x="{left + bar_w + 6}" y="{y + 10}" font-size="11">{fmt_number(cur)} / {fmt_number(prev)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _legend() -> str:
    items = "".join(f'<span><i class="s-{s}"></i>{escape(STATUS_LABELS[s])}</span>' for s in STATUSES)
    return f'<div class="legend">{items}</div>'


def _charts(digest: Digest) -> str:
    years = digest.years
    series = {
        s: [sum(1 for r in digest.status if r["year"] == y and r["status"] == s) for y in years]
        for s in STATUSES
    }
    status_svg = stacked_bars([f"{y}年" for y in years], series, COLOURS)
    totals = []
    for key in ("applications", "refusals", "review_total", "litigation_total", "licensing", "penalty"):
        cur = sum(y["figures"][key]["current"] or 0 for y in digest.yoy)
        prev = sum(y["figures"][key]["previous"] or 0 for y in digest.yoy)
        totals.append((FIGURE_LABELS[key], cur, prev))
    labels = (f"{digest.year}年", f"{digest.year - 1}年")
    totals_svg = paired_hbars(totals, labels, per_row=True)
    top = sorted(digest.yoy, key=lambda y: -(y["figures"]["applications"]["current"] or 0))[:15]
    top_rows = [
        (y["agency"], y["figures"]["applications"]["current"], y["figures"]["applications"]["previous"])
        for y in top
    ]
    top_svg = paired_hbars(top_rows, labels)
    pictures = "".join(f"<figure>{to_svg(c)}</figure>" for c in digest_charts(digest))
    return (
        f'<div class="charts">{pictures}'
        f"<figure>{status_svg}<figcaption>各年度报告状态</figcaption>{_legend()}</figure>"
        f"<figure>{totals_svg}<figcaption>主要数字合计（蓝：{digest.year}年，灰：{digest.year - 1}年）</figcaption></figure>"
        f"<figure>{top_svg}<figcaption>本年新收申请数最多的机关</figcaption></figure>"
        "</div>"
    )


def _table(headers: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _td(v: Any, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}>{escape('' if v is None else str(v))}</td>"


def to_html(digest: Digest) -> str:
    years = digest.years
    matrix_rows = []
    for row, cells in digest.matrix():
        tds = [_td(row["agency"]), _td(KIND_LABELS.get(row["kind"], row["kind"]))]
        for y in years:
            r = cells.get(y)
            if r is None:
                tds.append(_td("—"))
            else:
                title = escape(r["evidence"] or "", quote=True)
                tds.append(
                    f'<td class="s-{escape(r["status"])}" title="{title}">{escape(STATUS_LABELS[r["status"]])}</td>'
                )
        tds += [_td(row["published_at"]), _td(row["days_late"] or "", "num"), f"<td>{_link(row['url'])}</td>"]
        matrix_rows.append(f"<tr>{''.join(tds)}</tr>")
    matrix = _table(["机关", "类别", *[f"{y}年" for y in years], "发布日期", "逾期天数", "链接"], matrix_rows)
    yoy_rows = []
    for y in digest.yoy:
        tds = [_td(y["agency"])]
        for key in SHOWN_FIGURES:
            f = y["figures"][key]
            rate = key == "disclosure_rate"
            cls = "num swing" if key in y["swings"] else "num"
            change = fmt_number(f["change"], True) if rate else fmt_change(f["relative"])
            tds += [
                _td(fmt_number(f["current"], rate), cls),
                _td(fmt_number(f["previous"], rate), "num"),
                _td(change, "num"),
            ]
        sim = y["similarity"].get("problems")
        tds += [_td("" if sim is None else f"{sim:.0%}", "num swing" if y["copied_text"] else "num")]
        tds += [_td(len(y["quality"]) or "", "num"), _td(y["days_before_deadline"], "num")]
        yoy_rows.append(f"<tr>{''.join(tds)}</tr>")
    yoy_head = ["机关"]
    for key in SHOWN_FIGURES:
        yoy_head += [f"{FIGURE_LABELS[key]}（本年）", "上年", "变化"]
    yoy_head += ["五部分相似度", "数据问题", "距截止日天数"]
    quality = _table(
        ["机关", "问题", "说明", "链接"],
        [
            f"<tr>{_td(q['agency'])}{_td(q['label'])}{_td(q['text'])}<td>{_link(q['url'])}</td></tr>"
            for q in digest.quality
        ],
    )
    changes = _table(
        ["机关", "变更", "时间", "链接"],
        [
            f"<tr>{_td(c['agency'])}{_td(c['label'])}{_td(c['at'])}<td>{_link(c['url'])}</td></tr>"
            for c in digest.changes
        ],
    )
    matches = _table(
        ["报告署名", "匹配为", "方式", "相似度"],
        [
            f"<tr>{_td(m['name'])}{_td(m['canonical'])}{_td(m['method'])}{_td(m['score'], 'num')}</tr>"
            for m in digest.matches
        ],
    )
    summary = "；".join(f"{STATUS_LABELS[s]} {n}" for s, n in digest.summary().items())
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(digest.title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(digest.title)}</h1>"
        f"<p>核查日期：{escape(str(digest.as_of))}　生成时间：{escape(digest.generated_at)}</p>"
        f"<p>{escape(summary)}</p>{_charts(digest)}"
        f"<h2>状态</h2>{matrix}"
        f"<h2>同比（{digest.year} 对 {digest.year - 1}）</h2>{_table(yoy_head, yoy_rows)}"
        f"<h2>数据质量</h2>{quality}<h2>变更</h2>{changes}<h2>机关名称匹配</h2>{matches}"
        "</body></html>"
    )
