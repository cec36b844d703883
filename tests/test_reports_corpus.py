"""The corpus test: 300 generated reports with known numbers, rendered with random drift in
HTML, flattened text and DOCX (plus a PDF and DOC sample), must all read back exactly."""

from __future__ import annotations

import random
import time

import pytest

import reports
from simulator import render
from simulator.model import generate_region

DRIFT_CHOICES = [
    {},
    {"typos": True},
    {"stray_chars": True},
    {"halfwidth_brackets": True, "fullwidth_digits": True},
    {"padded_numbers": True, "money_unit": "万元"},
    {"money_unit": "元", "no_headings": True},
    {"split_labels": True, "part_digits": True},
    {"zero_as": "—"},
    {"zero_as": "无"},
    {"drop_rows": ["table1.fees_10k_yuan"]},
    {"blank_cells": ["table2.carried_over.natural_person", "table1.coercion"]},
    {"sign_off": True},
    # Layouts of real reports (issue 10).
    {"spaced_digits": True, "table3_layout": "split"},
    {"table1_items_as_text": "after", "ocr_misreads": True},
    {"wrapped_rows": True, "table3_layout": "stacked", "table1_items_as_text": "before"},
    {"trial_other_row": True},
]


def corpus(n: int = 300) -> list[dict]:
    out = []
    for seed in (1, 2, 3):
        region = generate_region(seed=seed, departments=35, townships=5)
        out += [r.report for r in region.reports]
    rng = random.Random(99)
    rng.shuffle(out)
    out = out[:n]
    # Some agencies still use the 2019 trial template, and old reports have no tables.
    for i in range(1, n, 10):
        out[i] = render.trial_report(out[i], rng)
    for i in range(5, n, 40):
        out[i] = render.legacy_report(out[i])
    return out


RENDER = {
    "html": lambda r, **d: render.render_html_fragment(r, **d).encode(),
    "tabs": lambda r, **d: render.render_text(r, "tabs", **d).encode(),
    "cells": lambda r, **d: render.render_text(r, "cells", **d).encode(),
    "markdown": lambda r, **d: render.render_text(r, "markdown", **d).encode(),
    "docx": render.render_docx,
    "pdf": render.render_pdf,
}


def _check(rep: dict, fmt: str, drift: dict) -> list[str]:
    exp = render.expected(rep, **drift)
    got = reports.parse_bytes(RENDER[fmt](rep, title=True, **drift))
    bad = []
    for k in ("agency", "year", "template", "kind", "table1", "table2", "table3"):
        if got[k] != exp[k]:
            bad.append(k)
    if drift.get("sign_off") and rep["published_at"] and got["published_at"] != rep["published_at"]:
        bad.append("published_at")
    issues = {(i["code"], i["where"]) for i in got["issues"] if i["code"] != "sum_mismatch"}
    if issues != set(exp["issues"]):
        bad.append("issues")
    # A report whose numbers break a rule must say so; one whose numbers hold must not.
    mism = any(i["code"] == "sum_mismatch" for i in got["issues"])
    t2 = rep["table2"]
    if rep["template"] == "legacy":
        return [f"{rep['agency']} {rep['year']} {fmt} {drift}: {b}" for b in bad]
    broken = any(sum(v[:6]) != v[6] for v in t2.values()) or any(
        t2["new_received"][c] + t2["carried_over"][c] != t2["total_handled"][c] + t2["carried_forward"][c]
        for c in range(7)
    )
    if broken and not any(v is None for vals in exp["table2"].values() for v in vals) and not mism:
        bad.append("sum_mismatch not found")
    if not broken and mism:
        bad.append("sum_mismatch invented")
    return [f"{rep['agency']} {rep['year']} {fmt} {drift}: {b}" for b in bad]


@pytest.mark.slow
def test_corpus_300_reports():
    reps = corpus(300)
    assert len(reps) == 300
    rng = random.Random(7)
    failures, per_fmt, t0 = [], {}, time.perf_counter()
    for i, rep in enumerate(reps):
        fmt = ("html", "tabs", "cells", "markdown", "docx")[i % 5]
        drift = rng.choice(DRIFT_CHOICES)
        t = time.perf_counter()
        failures += _check(rep, fmt, drift)
        per_fmt.setdefault(fmt, []).append(time.perf_counter() - t)
    for i, rep in enumerate(reps[:12]):  # PDF is slower; a sample with drift
        failures += _check(rep, "pdf", DRIFT_CHOICES[i % len(DRIFT_CHOICES)])
    assert not failures, "\n".join(failures[:20])
    assert time.perf_counter() - t0 < 180
    assert {r["template"] for r in reps} == {"2021", "2019-trial", "legacy"}
    planted = [
        r
        for r in reps
        if r["template"] == "2021"
        and sum(r["table2"]["total_handled"][:6])
        != sum(sum(r["table2"][k][:6]) for k in list(r["table2"])[2:23])
    ]
    assert planted, "the corpus holds the planted sum_mismatch report"


def test_corpus_doc_sample():
    reps = corpus(300)
    for rep in reps[:2]:
        got = reports.parse_bytes(render.render_doc(rep, title=True))
        assert (
            got["table2"] == rep["table2"]
            and got["table1"] == rep["table1"]
            and got["table3"] == rep["table3"]
        )
        assert got["agency"] == rep["agency"]
