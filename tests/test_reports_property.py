"""Property: any data-model values survive renderer -> parser unchanged, in every cheap format."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reports
from reports.model import TABLE2_COLUMNS, TABLE2_KEYS, TABLE3_FIELDS, TABLE3_GROUPS
from simulator import render

count = st.integers(min_value=0, max_value=99999)
money = st.one_of(st.just(0.0), st.decimals(min_value=0, max_value=99999, places=4).map(float))
row7 = st.lists(count, min_size=7, max_size=7)


@st.composite
def report(draw):
    agency = draw(st.sampled_from(["青山县人民政府", "青山县教育局", "青山县城关镇", "青山县新华街道办事处"]))
    kind = render_kind(agency)
    t2 = {k: draw(row7) for k in TABLE2_KEYS}
    return {
        "agency": agency,
        "year": draw(st.integers(min_value=2019, max_value=2030)),
        "template": "2021",
        "kind": kind,
        "published_at": None,
        "table1": {
            "rules": {"issued": draw(count), "abolished": draw(count), "in_force": draw(count)},
            "normative_docs": {"issued": draw(count), "abolished": draw(count), "in_force": draw(count)},
            "licensing": draw(count),
            "penalty": draw(count),
            "coercion": draw(count),
            "fees_10k_yuan": draw(money),
        },
        "table2": t2,
        "table3": {g: {f: draw(count) for f in TABLE3_FIELDS} for g in TABLE3_GROUPS},
        "sections": {
            "overview": draw(st.sampled_from(["全年主动公开政府信息120条。", "本年度工作稳步推进。"])),
            "problems": "一是公开质量有待提高。",
            "other": "无其他需要报告的事项。",
        },
        "issues": [],
    }


def render_kind(agency: str) -> str:
    if agency.endswith(("镇", "办事处")):
        return "township"
    return "government" if agency.endswith("人民政府") else "department"


FORMATS = {
    "html": lambda r, **d: render.render_html_fragment(r, **d).encode(),
    "docx": render.render_docx,
    "tabs": lambda r, **d: render.render_text(r, "tabs", **d).encode(),
    "cells": lambda r, **d: render.render_text(r, "cells", **d).encode(),
    "markdown": lambda r, **d: render.render_text(r, "markdown", **d).encode(),
}
DRIFT = st.fixed_dictionaries(
    {},
    optional={
        "typos": st.booleans(),
        "halfwidth_brackets": st.booleans(),
        "fullwidth_digits": st.booleans(),
        "padded_numbers": st.booleans(),
        "stray_chars": st.booleans(),
        "money_unit": st.sampled_from(["万元", "元"]),
        # Layouts of real reports (issue 10): none of them changes what must be read back.
        "spaced_digits": st.booleans(),
        "table3_layout": st.sampled_from(["split", "stacked"]),
        "table1_items_as_text": st.sampled_from(["before", "after"]),
        "wrapped_rows": st.booleans(),
        "ocr_misreads": st.booleans(),
    },
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rep=report(), fmt=st.sampled_from(sorted(FORMATS)), drift=DRIFT)
def test_values_survive_render_and_parse(rep, fmt, drift):
    got = reports.parse_bytes(FORMATS[fmt](rep, title=True, **drift))
    assert (got["agency"], got["year"], got["kind"], got["template"]) == (
        rep["agency"],
        rep["year"],
        rep["kind"],
        "2021",
    )
    assert got["table1"] == rep["table1"]
    assert got["table2"] == rep["table2"]
    assert got["table3"] == rep["table3"]
    assert not [i for i in got["issues"] if i["code"] != "sum_mismatch"]
    # Random numbers break the sums; every broken rule is reported, none invented.
    t2 = rep["table2"]
    expect_rows = {k for k, v in t2.items() if sum(v[:6]) != v[6]}
    got_rows = {
        i["where"].split(".")[1]
        for i in got["issues"]
        if i["where"].startswith("table2.") and i["where"].endswith(".total") and "=" not in i["where"]
    }
    assert got_rows == expect_rows
    handled = [sum(t2[k][c] for k in TABLE2_KEYS[2:23]) for c in range(7)]
    got24 = {i["where"].rsplit(".", 1)[1] for i in got["issues"] if "row24=sum(rows3-23)" in i["where"]}
    assert got24 == {TABLE2_COLUMNS[c] for c in range(7) if handled[c] != t2["total_handled"][c]}
    cols = {
        TABLE2_COLUMNS[c]
        for c in range(7)
        if t2["new_received"][c] + t2["carried_over"][c] != t2["total_handled"][c] + t2["carried_forward"][c]
    }
    got_cols = {i["where"].rsplit(".", 1)[1] for i in got["issues"] if "row1+row2=row24+row25" in i["where"]}
    assert got_cols == cols


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rep=report(), seed=st.integers(0, 10**6), fmt=st.sampled_from(sorted(FORMATS)), drift=DRIFT)
def test_trial_template_values_survive(rep, seed, fmt, drift):
    import random

    trial = render.trial_report(rep, random.Random(seed))
    got = reports.parse_bytes(FORMATS[fmt](trial, **drift))
    assert got["template"] == "2019-trial"
    assert (got["table1"], got["table2"], got["table3"]) == (
        trial["table1"],
        trial["table2"],
        trial["table3"],
    )
    assert not [i for i in got["issues"] if i["code"] != "sum_mismatch"]
