"""Year on year: each agency's report against its report on the previous year.

Per agency: the main derived figures (applications received, disclosure rate, refusals, review and
litigation totals, Table 1 counts) with absolute and relative change and a swing flag; every other
number of the three tables that changed; parts 五 and 六 compared with last year's text
(``copied_text`` when a substantial section is nearly identical); the parser's issues as
data-quality flags; storage events (modified after publication, removed); publication timing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from typing import Any

from config import Config
from monitor.catalogue import Catalogue, bulk, load_catalogue, load_data
from monitor.glossary import FIGURE_LABELS
from monitor.numbers import values
from monitor.status import status_from
from reports.model import TABLE2_COLUMNS, TABLE2_KEYS, TABLE2_TRIAL_KEYS, TABLE3_FIELDS, TABLE3_GROUPS
from storage.queries import document_events
from storage.store import Store

# Sections shorter than this are boilerplate (无其他需要报告的事项): alike every year, not "copied".
MIN_COPY_CHARS = 60
# Counts change by a few from year to year; below this absolute change a count never "swings".
MIN_SWING_ABS = 5
COPY_SECTIONS = {"problems": "五、存在的主要问题及改进情况", "other": "六、其他需要报告的事项"}
WITHHELD = (
    "withheld_state_secret",
    "withheld_prohibited_by_law",
    "withheld_three_safeties",
    "withheld_third_party",
    "withheld_internal_affairs",
    "withheld_process_info",
    "withheld_enforcement_file",
    "withheld_query_matter",
)


@dataclass(frozen=True)
class FigureDef:
    key: str
    label: str
    rate: bool = False


# The headline figures, in display order (their labels: ``monitor.glossary``).
FIGURES: tuple[FigureDef, ...] = tuple(
    FigureDef(key, label, rate=key == "disclosure_rate") for key, label in FIGURE_LABELS.items()
)


def _num(v: Any) -> float | int | None:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def _total(row: Any) -> int | float | None:
    """The 总计 column of a Table 2 row (a list of 7)."""
    return _num(row[-1]) if isinstance(row, list) and row else None


def _sum(values: list[Any]) -> int | float | None:
    nums = [v for v in values if v is not None]
    return sum(nums) if nums else None


def flatten(data: dict[str, Any]) -> dict[str, int | float | None]:
    """Every number of the three tables under its dotted key (``table2.disclosed.total``): the
    one flattener, ``monitor.numbers`` (which also gives each key its label)."""
    return values(data)


_KEYS: dict[tuple[str, ...], str] = {}


def _key(*parts: str) -> str:
    """The dotted key of a number, built once (millions of changes share a few hundred keys)."""
    k = _KEYS.get(parts)
    if k is None:
        k = _KEYS[parts] = ".".join(parts)
    return k


def _row_keys(key: str) -> tuple[str, ...]:
    """The seven dotted keys of a Table 2 row, built once."""
    keys = _ROW_KEYS.get(key)
    if keys is None:
        keys = _ROW_KEYS[key] = tuple(f"table2.{key}.{c}" for c in TABLE2_COLUMNS)
    return keys


_ROW_KEYS: dict[str, tuple[str, ...]] = {}


def changed_numbers(
    cur: dict[str, Any], prev: dict[str, Any], swing_at: float = 0.5
) -> list[tuple[str, Any, Any, bool]]:
    """(key, previous, current, swing) for every number of ``cur``'s tables that differs from ``prev``.

    Same keys and values as comparing ``flatten`` of both (``monitor.numbers.label`` names a key) (non-numbers count as None), but rows
    that are equal (most Table 2 rows: all zeros) are skipped with one comparison.  This is the
    hot loop of a national digest, hence the inlined checks.
    """
    out: list[tuple[str, Any, Any, bool]] = []
    append = out.append
    for table in ("table1", "table2", "table3"):
        a, b = cur.get(table) or {}, prev.get(table) or {}
        for key, va in a.items():
            vb = b.get(key)
            if va == vb:
                continue
            if type(va) is list:
                if table != "table2":
                    continue
                keys = _row_keys(key)
                if type(vb) is not list:
                    vb = ()
                n = len(vb)
                cells = zip(keys, va, vb if n >= 7 else [*vb, *([None] * (7 - n))], strict=False)
            elif type(va) is dict:
                if type(vb) is not dict:
                    vb = {}
                cells = ((_key(table, key, f), x, vb.get(f)) for f, x in va.items())
            elif table == "table1":
                cells = ((_key(table, key), va, vb),)
            else:
                continue
            for k, x, y in cells:
                if x == y:
                    continue
                tx, ty = type(x), type(y)
                if tx is not int and tx is not float:
                    x = None
                if ty is not int and ty is not float:
                    y = None
                if x is None or y is None:
                    if x is not y:
                        append((k, y, x, False))
                else:  # is_swing for two known, different counts
                    diff = abs(x - y)
                    append((k, y, x, diff >= MIN_SWING_ABS and (y == 0 or diff >= swing_at * abs(y))))
    return out


def derived(data: dict[str, Any]) -> dict[str, int | float | None]:
    """The headline figures of one report (None where the report does not give them)."""
    t1, t2, table3 = data.get("table1") or {}, data.get("table2") or {}, data.get("table3") or {}
    handled = _total(t2.get("total_handled"))
    disclosed = _sum([_total(t2.get("disclosed")), _total(t2.get("partially_disclosed"))])
    rate = round(disclosed / handled, 4) if handled and disclosed is not None else None

    def t3(group: str, field: str) -> int | None:
        return _num((table3.get(group) or {}).get(field))

    def t1doc(name: str, field: str) -> Any:
        v = t1.get(name)
        return _num(v.get(field)) if isinstance(v, dict) else None

    def t1count(name: str) -> Any:
        v = t1.get(name)
        return _num(v.get("decisions")) if isinstance(v, dict) else _num(v)  # trial template: dicts

    return {
        "applications": _total(t2.get("new_received")),
        "carried_over": _total(t2.get("carried_over")),
        "handled": handled,
        "disclosed": _total(t2.get("disclosed")),
        "disclosure_rate": rate,
        "refusals": _sum([_total(t2.get(k)) for k in WITHHELD]),
        "review_total": t3("review", "total"),
        "litigation_total": _sum([t3("litigation_direct", "total"), t3("litigation_after_review", "total")]),
        "corrected_total": _sum([t3(g, "corrected") for g in TABLE3_GROUPS]),
        "licensing": t1count("licensing"),
        "penalty": t1count("penalty"),
        "normative_docs_issued": t1doc("normative_docs", "issued") or t1doc("normative_docs", "made"),
        "fees_10k_yuan": _num(t1.get("fees_10k_yuan")),
    }


def completeness(data: dict[str, Any]) -> float | None:
    """The share of the template's Table 2 and Table 3 cells that hold a number; None: no report.

    A row the template has but the parse lacks counts as seven unread cells, so a report whose
    tables were not found scores 0.  (Table 1 differs too much between templates to count.)
    """
    if not data:
        return None
    t2, t3 = data.get("table2") or {}, data.get("table3") or {}
    template = data.get("template")
    keys = {"2021": TABLE2_KEYS, "2019-trial": TABLE2_TRIAL_KEYS}.get(template) or tuple(t2)
    cells: list[Any] = []
    for key in keys:
        row = t2.get(key)
        cells += ([*row, *[None] * 7] if isinstance(row, list) else [None] * 7)[:7]
    cells += [(t3.get(g) or {}).get(f) for g in TABLE3_GROUPS for f in TABLE3_FIELDS]
    return round(sum(1 for v in cells if _num(v) is not None) / len(cells), 4)


def change(current: Any, previous: Any) -> tuple[Any, float | None]:
    """(absolute, relative) change; relative is None when the previous value is 0 or unknown."""
    if current is None or previous is None:
        return None, None
    diff = current - previous
    diff = round(diff, 4) if isinstance(diff, float) else diff
    return diff, (round(diff / previous, 4) if previous else None)


def is_swing(current: Any, previous: Any, threshold: float, rate: bool = False) -> bool:
    """A change of at least ``threshold`` (relative) that is not just small-number noise."""
    if current is None or previous is None or current == previous:
        return False
    if rate:
        return abs(current - previous) >= threshold * max(previous, 0.01)
    if abs(current - previous) < MIN_SWING_ABS:
        return False
    return previous == 0 or abs(current - previous) / abs(previous) >= threshold


def _char_bound(a: str, b: str) -> float:
    """An upper bound of SequenceMatcher.ratio (difflib's quick_ratio, with C-speed Counters)."""
    common = sum((Counter(a) & Counter(b)).values())
    return 2.0 * common / (len(a) + len(b))


def similarity(a: str | None, b: str | None, threshold: float) -> float | None:
    """SequenceMatcher ratio of two texts (whitespace ignored); None when either is empty.

    When the cheap upper bound is already below ``threshold`` that bound is returned instead of
    the exact ratio: the texts are clearly different, and the exact ratio is the expensive part of
    a digest over tens of thousands of agencies.
    """
    if not a or not b or not isinstance(a, str) or not isinstance(b, str):
        return None
    a, b = "".join(a.split()), "".join(b.split())
    if a == b:
        return 1.0
    bound = _char_bound(a, b)
    if bound < threshold:
        return round(bound, 4)
    return round(SequenceMatcher(None, a, b, autojunk=False).ratio(), 4)


def _events_by_document(store: Store, doc_ids: set[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    if not doc_ids:
        return out
    # A few documents (an agency page): read theirs by index; many (a digest): read them all once.
    wanted = doc_ids if len(doc_ids) <= 5000 else None
    for doc_id, kind, at, url, detail in document_events(store, wanted):
        if doc_id in doc_ids:
            # The numbers a modification changed, once ``nianbao changes`` has explained it.
            numbers = [n for n in json.loads(detail or "{}").get("numbers", []) if "label" in n]
            out.setdefault(doc_id, []).append({"kind": kind, "at": at, "url": url, "numbers": numbers})
    return out


# Agencies compared per batch: their parsed data is loaded together and dropped after, which
# keeps memory flat however many agencies the store holds.
BATCH = 2000


def compare_from(
    catalogue: Catalogue,
    config: Config,
    store: Store,
    year: int,
    as_of: date | None = None,
    status: list[dict[str, Any]] | None = None,
    details: bool = True,
) -> list[dict[str, Any]]:
    """``compare`` on an already loaded catalogue (and, optionally, this year's status rows).

    ``details=False`` skips the cell-by-cell ``changes`` (left None): the digest shows only the
    headline figures, and the cell comparison is a third of the work on a national store.
    """
    with bulk():
        as_of = as_of or date.today()
        monitor = config.section("monitor")
        swing_at = float(monitor.get("swing_threshold", 0.5))
        copied_at = float(monitor.get("copied_text_threshold", 0.9))
        if status is None:
            status = status_from(catalogue, config, store, as_of, [year])
        status = [r for r in status if r["year"] == year]
        # The events of the documents compared (``_compare_one`` reads only these).
        doc_ids = {
            d.document_id for r in status if (f := catalogue.found.get((r["agency"], year))) for d in f.docs
        }
        events = _events_by_document(store, doc_ids)
        rows = []
        for start in range(0, len(status), BATCH):
            part = status[start : start + BATCH]
            chosen: dict[tuple[str, int], Any] = {}
            for r in part:
                for y in (year, year - 1):
                    found = catalogue.found.get((r["agency"], y))
                    best = found.best(as_of) if found else None
                    if best:
                        chosen[(r["agency"], y)] = best
            data = load_data(store, [d.report_id for d in chosen.values()])
            for r in part:
                cur_doc, prev_doc = chosen.get((r["agency"], year)), chosen.get((r["agency"], year - 1))
                cur = data.get(cur_doc.report_id, {}) if cur_doc else {}
                prev = data.get(prev_doc.report_id, {}) if prev_doc else {}
                rows.append(_compare_one(r, cur, prev, year, swing_at, copied_at, catalogue, events, details))
        return rows


def _compare_one(
    status: dict,
    cur: dict,
    prev: dict,
    year: int,
    swing_at: float,
    copied_at: float,
    catalogue: Catalogue,
    events: dict[int, list[dict]],
    details: bool = True,
) -> dict[str, Any]:
    d_cur, d_prev = derived(cur), derived(prev)
    figures = {}
    for f in FIGURES:
        c, p = d_cur[f.key], d_prev[f.key]
        diff, rel = change(c, p)
        figures[f.key] = {
            "current": c,
            "previous": p,
            "change": diff,
            "relative": rel,
            "swing": bool(cur and prev) and is_swing(c, p, swing_at, f.rate),
        }
    changes: list | None = [] if details else None
    if details and cur and prev:
        changes = changed_numbers(cur, prev, swing_at)
    sims: dict[str, float | None] = {}
    copied = []
    for section in COPY_SECTIONS:
        a = (cur.get("sections") or {}).get(section)
        b = (prev.get("sections") or {}).get(section)
        sims[section] = similarity(a, b, copied_at)
        if (
            sims[section] is not None
            and sims[section] >= copied_at
            and len("".join(a.split())) >= MIN_COPY_CHARS
        ):
            copied.append(section)
    issues = [i for i in cur.get("issues") or [] if isinstance(i, dict)]
    found = catalogue.found.get((status["agency"], year))
    # One Doc per parsed version: a document's events are listed once, however many versions it has.
    doc_ids = dict.fromkeys(d.document_id for d in (found.docs if found else []))
    evs = [e for did in doc_ids for e in events.get(did, [])]
    pub = date.fromisoformat(status["published_at"]) if status["published_at"] else None
    deadline = date.fromisoformat(status["deadline"])
    return {
        "agency": status["agency"],
        "kind": status["kind"],
        "region": status["region"],
        "source_id": status["source_id"],
        "year": year,
        "previous_year": year - 1,
        "status": status["status"],
        "present": bool(cur),
        "previous_present": bool(prev),
        "template": cur.get("template"),
        "figures": figures,
        "swings": [k for k, v in figures.items() if v["swing"]],
        "changes": changes,  # (key, previous, current, swing) per differing number; None: not computed
        "similarity": sims,
        "copied_text": bool(copied),
        "copied_sections": copied,
        "completeness": completeness(cur),
        "quality": issues,
        "quality_codes": dict(Counter(i.get("code") for i in issues)),
        "events": evs,
        "modified": sum(1 for e in evs if e["kind"] == "modified"),
        "removed": sum(1 for e in evs if e["kind"] == "removed"),
        "published_at": status["published_at"],
        "deadline": status["deadline"],
        "days_before_deadline": (deadline - pub).days if pub else None,
    }


def figure_history(
    catalogue: Catalogue, store: Store, agencies: list[str], years: list[int], as_of: date
) -> dict[str, dict[int, dict[str, Any]]]:
    """agency → {year: ``derived`` figures of its best report published by ``as_of``}.

    Only the years the agency has a report for appear.  Meant for a few agencies (the charts of
    a digest): their reports of every year are loaded at once.
    """
    with bulk():
        chosen: dict[tuple[str, int], Any] = {}
        for agency in agencies:
            for y in years:
                found = catalogue.found.get((agency, y))
                best = found.best(as_of) if found else None
                if best:
                    chosen[(agency, y)] = best
        data = load_data(store, [d.report_id for d in chosen.values()])
        out: dict[str, dict[int, dict[str, Any]]] = {a: {} for a in agencies}
        for (agency, y), doc in sorted(chosen.items(), key=lambda kv: kv[0][1]):
            out[agency][y] = derived(data.get(doc.report_id, {}))
        return out


def compare(store: Store, config: Config, year: int, as_of: date | None = None) -> list[dict[str, Any]]:
    """One row per expected agency for ``year``: its report against the one on ``year - 1``."""
    return compare_from(load_catalogue(store, config), config, store, year, as_of)
