"""One glossary: every machine word the code can emit has a Chinese label, and no module keeps its
own copy of the labels.  The lists of words are read from the code that emits them."""

from __future__ import annotations

import random
import re
from datetime import date
from pathlib import Path

import pytest

from monitor import glossary
from monitor.expectations import KIND_ORDER
from monitor.numbers import flatten, label, legacy_field
from monitor.status import STATUSES
from monitor.yoy import FIGURES, derived
from outputs.digest import FORMATS
from reports.model import AGENCY_KINDS, ISSUE_CODES
from simulator import render
from simulator.model import Agency, generate_report

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("config", "crawler", "monitor", "nianbao", "outputs", "reports", "spiders", "storage")


def _source(*packages: str) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _found(pattern: str, *packages: str) -> set[str]:
    return set(re.findall(pattern, _source(*packages)))


def test_every_status_and_kind_has_a_label():
    assert set(STATUSES) <= set(glossary.STATUS_LABELS)
    assert set(AGENCY_KINDS) | set(KIND_ORDER) <= set(glossary.KIND_LABELS)


def test_every_issue_code_the_code_emits_has_a_label():
    emitted = (
        set(ISSUE_CODES) | _found(r'issue\(\s*"(\w+)"', "reports") | _found(r'"code": "(\w+)"', *PRODUCT)
    )
    assert emitted >= {"cell_blank", "copied_text"}  # the scan found both the parser's and the digest's
    assert emitted <= set(glossary.ISSUE_LABELS), emitted - set(glossary.ISSUE_LABELS)


def test_every_event_and_run_outcome_has_a_label():
    events = _found(r'_event\([^,]+, "(\w+)"', "storage")
    assert events == {"modified", "removed", "restored"}
    assert events <= set(glossary.EVENT_LABELS)
    runner = (ROOT / "crawler" / "runner.py").read_text(encoding="utf-8")
    outcomes = set(re.findall(r'return "(\w+)", ', runner)) | set(
        re.findall(r'finish_run\([^,]+, "(\w+)"', runner)
    )
    outcomes |= _found(r'"status": "(\w+)"', "storage")
    assert {"finished", "failed", "blocked", "interrupted", "running"} <= outcomes
    assert outcomes <= set(glossary.RUN_LABELS), outcomes - set(glossary.RUN_LABELS)


def test_every_headline_figure_and_digest_format_has_a_label():
    report = generate_report(
        random.Random(2), Agency("青山县教育局", "department", "x"), 2023, date(2024, 1, 20)
    )
    assert set(derived(report)) <= set(glossary.FIGURE_LABELS)
    assert [f.label for f in FIGURES] == [glossary.FIGURE_LABELS[f.key] for f in FIGURES]
    cli = (ROOT / "nianbao" / "cli.py").read_text(encoding="utf-8")
    assert set(FORMATS) == set(glossary.DIGEST_FORMATS)
    assert "DIGEST_FORMATS" in cli  # the digest command offers the glossary's formats
    for fmt in FORMATS:
        assert re.fullmatch(r"[a-z]+/[\w.+-]+", glossary.mime_type(fmt)), fmt


def _reports() -> list[dict]:
    rep = generate_report(
        random.Random(3), Agency("青山县教育局", "department", "x"), 2023, date(2024, 1, 20)
    )
    return [rep, render.trial_report(rep, random.Random(3))]  # legacy reports have no tables


@pytest.mark.parametrize("report", _reports(), ids=["2021", "2019-trial"])
def test_every_number_of_every_template_is_labelled_in_the_templates_words(report):
    numbers = flatten(report)
    assert len(numbers) > 20
    for n in numbers:
        assert n.label == label(n.key) and n.label.startswith(("表一 ", "表二 ", "表三 ")), n
        assert not re.search(r"[A-Za-z_]", n.label), n  # no machine word left in a label
    keys = [n.key for n in numbers]
    assert len(set(keys)) == len(keys)
    assert len({n.label for n in numbers}) == len(numbers)  # two numbers never read alike


def test_a_table2_cell_reads_as_the_template_prints_it():
    assert (
        label("table2.withheld_state_secret.natural_person")
        == "表二 三、（三）不予公开 1.属于国家秘密 · 自然人"
    )
    assert legacy_field("table2.new_received.total") == "table2.new_received[6]"
    assert legacy_field("table1.rules.issued") == "table1.rules.issued"


def test_no_module_keeps_its_own_copy_of_a_label_table():
    own = Path(glossary.__file__).read_text(encoding="utf-8")
    tables = [
        name
        for name, value in vars(glossary).items()
        if name.isupper() and isinstance(value, dict) and re.search(rf"^{name} = ", own, re.M)
    ]
    assert {"STATUS_LABELS", "KIND_LABELS", "ISSUE_LABELS", "EVENT_LABELS", "DIGEST_FORMATS"} <= set(tables)
    for path in (p for pkg in PRODUCT for p in (ROOT / pkg).rglob("*.py")):
        if path.name == "glossary.py":
            continue
        text = path.read_text(encoding="utf-8")
        copies = [name for name in tables if re.search(rf"^{name} = \{{", text, re.M)]
        assert not copies, f"{path.relative_to(ROOT)} defines {copies} again"
        assert "vnd.openxmlformats" not in text, f"{path.relative_to(ROOT)} spells a MIME type of its own"
