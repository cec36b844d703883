"""Find the three national tables in a document's rows and read them by label, not position."""

from __future__ import annotations

import difflib
import re
from typing import Any

from reports.about import part_of
from reports.model import (
    TABLE1_2021_DOC_FIELDS,
    TABLE1_TRIAL_DOC_FIELDS,
    TABLE1_TRIAL_ITEM_FIELDS,
    TABLE2_COLUMNS,
    TABLE2_KEYS,
    TABLE2_ROWS,
    TABLE2_TRIAL_KEYS,
    TABLE3_FIELDS,
    TABLE3_GROUPS,
    issue,
)
from reports.text import cjk, is_value, norm, read_number

# Table 2 rows: a pattern on the CJK-only label (group and leaf labels joined).
T2_PATTERNS: dict[str, str] = {
    "new_received": "本年新收|新收政府信息",
    "carried_over": "上年结转",
    "disclosed": "予以公开",
    "partially_disclosed": "部分公开",
    "withheld_state_secret": "国家秘密",
    "withheld_prohibited_by_law": "法规禁止|禁止公开",
    "withheld_three_safeties": "三安全|危及",
    "withheld_third_party": "第三方",
    "withheld_internal_affairs": "内部事务",
    "withheld_process_info": "过程性|过程信息|四类过程",
    "withheld_enforcement_file": "执法案卷",
    "withheld_query_matter": "查询事项",
    "unable_not_held": "不掌握",
    "unable_needs_creation": "另行制作|没有现成",
    "unable_unclear": "不明确",
    "rejected_petition": "信访|举报投诉",
    "rejected_duplicate": "重复申请",
    "rejected_publication": "出版物|公开出版",
    "rejected_mass_repeated": "反复申请|大量反复",
    "rejected_confirm_reissue": "重新出具|确认或重新",
    "other_no_correction": "不补正",
    "other_unpaid_fee": "缴纳费用|收费通知",
    "other_other": "^其他$",  # these three: on the label without its group headings (_core)
    "other_processing": "其他处理$",  # the 2019 trial template's single （六） row
    "total_handled": "总计$",
    "carried_forward": "结转下年|继续办理",
}
_LEAF_ONLY = {"other_other", "other_processing", "total_handled"}
_T2_HEADER = re.compile("申请人情况|自然人|商业企业|科研机构|勾稽|结果维持|行政复议")
T2_LEAVES = {k: cjk(v) for k, v in TABLE2_ROWS} | {"other_processing": "六其他处理"}

T1_2021 = {  # key -> (label pattern at the start of the label, number of values, money unit)
    "rules": ("规章", 3, None),
    "normative_docs": ("行政规范性文件|规范性文件", 3, None),
    "licensing": ("行政许可", 1, None),
    "penalty": ("行政处罚", 1, None),
    "coercion": ("行政强制", 1, None),
    "fees_10k_yuan": ("行政事业性收费|事业性收费", 1, "万元"),
}
T1_TRIAL = {
    "rules": ("规章", TABLE1_TRIAL_DOC_FIELDS, None),
    "normative_docs": ("行政规范性文件|规范性文件", TABLE1_TRIAL_DOC_FIELDS, None),
    "licensing": ("行政许可", TABLE1_TRIAL_ITEM_FIELDS, None),
    "other_services": ("其他对外管理服务", TABLE1_TRIAL_ITEM_FIELDS, None),
    "penalty": ("行政处罚", TABLE1_TRIAL_ITEM_FIELDS, None),
    "coercion": ("行政强制", TABLE1_TRIAL_ITEM_FIELDS, None),
    "fees": ("行政事业性收费|事业性收费", ("prev_items", "change"), None),
    "procurement": ("政府集中采购|集中采购", ("projects", "amount_yuan"), "元"),
}
T1_2021_HEADS = ("本年制发件数", "本年废止件数", "现行有效件数", "本年收费金额", "本年处理决定数量")
T1_TRIAL_HEADS = (
    "本年新制作数量",
    "本年新公开数量",
    "对外公开总数量",
    "上一年项目数量",
    "采购总金额",
    "政府集中采购",
)


_HAS_CJK = re.compile(r"[\u4e00-\u9fff]")


class Row:
    """One table row split into its label (the text cells) and its value cells."""

    __slots__ = ("label", "leaf", "values", "cells", "text")

    def __init__(self, cells: list[str | None]):
        tokens = [c for c in cells if c is not None]
        last = -1
        for i, t in enumerate(tokens):
            # A label has words; a non-number without any (a stray "1O", "?") is an
            # unreadable value cell, not part of the label.
            if not is_value(t) and _HAS_CJK.search(t):
                last = i
        self.cells = tokens
        self.text = norm("".join(tokens[: last + 1]))  # the label as written, for messages
        self.label = cjk(self.text)
        self.leaf = cjk(tokens[last]) if last >= 0 else ""
        self.values = tokens[last + 1 :]


def fit(values: list[str], n: int) -> list[str]:
    """Exactly ``n`` value cells: drop surplus empty cells (merged-cell padding of flattened
    text) from the end, then the start; pad a short row with blanks on the right."""
    vals = list(values)
    while len(vals) > n and not norm(vals[-1]):
        vals.pop()
    while len(vals) > n and not norm(vals[0]):
        vals.pop(0)
    if len(vals) > n:
        vals = vals[-n:]
    return vals + [""] * (n - len(vals))


class Reader:
    """Collects values and issues while reading one report's tables."""

    def __init__(self) -> None:
        self.issues: list[dict[str, str]] = []

    def value(self, cell: str, where: str, money: str | None = None) -> Any:
        val, problem = read_number(cell, money=money)
        if problem == "blank":
            self.issues.append(issue("cell_blank", "empty cell", where))
        elif problem == "placeholder":
            self.issues.append(issue("cell_blank", f"no number written (placeholder {norm(cell)!r})", where))
        elif problem:
            self.issues.append(issue("cell_unreadable", f"not a number: {norm(cell)[:40]!r}", where))
        return val

    def missing(self, where: str, label: str, why: str = "") -> None:
        self.issues.append(
            issue("row_missing", f"row {label} not found" + (f": {why}" if why else ""), where)
        )


_RESULTS = re.compile(r"^三?本年度办理结果")
_GROUPS = re.compile(r"^[一二三四五六七八九]?(不予公开|无法提供|不予处理|其他处理(?=.))")


def _core(row: Row) -> str:
    """The label without the merged group headings in front (三、本年度办理结果, （六）其他处理):
    the row's own words, even when they were split over several cells."""
    core = _RESULTS.sub("", row.label)
    return _GROUPS.sub("", core) if len(core) > 4 else core


def _t2_key(row: Row, done: set[str], keys: tuple[str, ...]) -> str | None:
    if not row.label:
        return None
    header = bool(_T2_HEADER.search(row.label))
    for key in keys:
        if key in done or (header and key in _LEAF_ONLY):
            continue
        target = _core(row) if key in _LEAF_ONLY else row.label
        if re.search(T2_PATTERNS[key], target):
            if key == "other_processing" and re.search(T2_PATTERNS["other_no_correction"], row.label):
                continue
            return key
    return None


FUZZY_FLOOR = 0.6  # below this, a label is too far from every template label to be matched
T1_FUZZY_FLOOR = 0.7  # Table 1's item names are short and alike (行政许可/行政处罚/行政强制)


def likeness(label: str, leaf: str) -> float:
    """How much of the template label ``leaf`` is in ``label``, in order and in one compact
    run (group headings and numbering before it do not count against it): the characters
    matched over the longer of the leaf and the stretch of ``label`` they were found in."""
    if not label or not leaf:
        return 0.0
    window = label[-len(leaf) - 4 :]
    blocks = [
        b for b in difflib.SequenceMatcher(None, window, leaf, autojunk=False).get_matching_blocks() if b.size
    ]
    if not blocks:
        return 0.0
    matched = sum(b.size for b in blocks)
    span = blocks[-1].a + blocks[-1].size - blocks[0].a
    return matched / max(len(leaf), span)


def _fuzzy_t2(row: Row, candidates: list[str]) -> tuple[str | None, float]:
    best, score = None, 0.0
    for key in candidates:
        if key in ("other_other", "total_handled"):  # 其他, 总计: too short to match by likeness
            continue
        s = likeness(row.label, T2_LEAVES[key])
        if s > score:
            best, score = key, s
    return best, score


def _t2_candidate(row: Row) -> bool:
    """A row that looks like a Table 2 row (a label and five or more numbers)."""
    return bool(row.label) and len(row.values) >= 5 and not _T2_HEADER.search(row.label)


def table2_rows(rows: list[Row], allow_empty: bool = False) -> dict[str, Row]:
    """Table 2's rows by key: by the label patterns, then (typos, OCR misreads) by the closest
    template label among the keys still missing between the matched rows before and after it,
    if it is at least FUZZY_FLOOR alike."""
    found: dict[str, Row] = {}
    keys = tuple(dict.fromkeys(TABLE2_KEYS[:20] + ("other_processing",) + TABLE2_KEYS[20:]))
    left: list[int] = []
    for i, row in enumerate(rows):
        if not row.values and not (allow_empty and len(row.label) <= 40):
            continue
        key = _t2_key(row, set(found), keys)
        if key:
            found[key] = row
        elif _t2_candidate(row):
            left.append(i)
    if not left or len(found) < 3:
        return found
    order = {k: n for n, k in enumerate(keys)}
    at = {id(r): i for i, r in enumerate(rows)}
    for i in left:
        before = [order[k] for k, r in found.items() if at[id(r)] < i]
        after = [order[k] for k, r in found.items() if at[id(r)] > i]
        lo, hi = max(before, default=-1), min(after, default=len(keys))
        gap = [k for k in keys[lo + 1 : hi] if k not in found]
        key, score = _fuzzy_t2(rows[i], gap)
        if key and score >= FUZZY_FLOOR:
            found[key] = rows[i]
    return found


def unmatched_rows(rows: list[Row], found: dict[str, Row]) -> list[tuple[int, Row]]:
    """Rows that look like Table 2 rows but matched no template label, with their index."""
    used = {id(r) for r in found.values()}
    return [(i, r) for i, r in enumerate(rows) if _t2_candidate(r) and id(r) not in used]


_OTHER_2021 = ("other_no_correction", "other_unpaid_fee", "other_other")


def _why_missing(key: str, keys: tuple[str, ...], found: dict[str, Row], rows: list[Row]) -> str:
    """Name the unmatched rows where ``key`` should have been (between its found neighbours)."""
    at = {id(r): i for i, r in enumerate(rows)}
    pos = keys.index(key)
    lo = max((at[id(found[k])] for k in keys[:pos] if k in found), default=-1)
    hi = min((at[id(found[k])] for k in keys[pos + 1 :] if k in found), default=len(rows))
    near = [r for i, r in unmatched_rows(rows, found) if lo < i < hi]
    if not near:
        return ""
    leaf = T2_LEAVES[key]
    return "; ".join(
        f"the row labelled {r.text[:40]!r} there is too unlike it to be matched "
        f"(likeness {likeness(r.label, leaf):.2f} < {FUZZY_FLOOR})"
        for r in near[:3]
    )


def read_table2(
    found: dict[str, Row], trial: bool, rd: Reader, rows: list[Row] | None = None
) -> dict[str, list[Any]]:
    keys = TABLE2_TRIAL_KEYS if trial else TABLE2_KEYS
    labels = dict(TABLE2_ROWS) | {"other_processing": "（六）其他处理"}
    out: dict[str, list[Any]] = {}
    single_other = not trial and "other_processing" in found
    for key in keys:
        row = found.get(key)
        if row is None:
            why = _why_missing(key, keys, found, rows) if rows else ""
            if single_other and key in _OTHER_2021:
                why = (
                    "the table has one 2019-style （六）其他处理 row in place of the three 2021 rows, "
                    "and its numbers cannot be split between them"
                )
            rd.missing(f"table2.{key}", labels[key], why)
            out[key] = [None] * 7
            continue
        vals = fit(row.values, 7)
        out[key] = [rd.value(v, f"table2.{key}.{col}") for v, col in zip(vals, TABLE2_COLUMNS, strict=True)]
    return out


def _t1_rows(rows: list[Row], spec: dict[str, tuple], stop: int, allow_empty: bool = False) -> dict[str, Row]:
    """Rows whose label starts with the item's name; then, for items still missing, rows whose
    label contains it (OCR glues neighbouring headings onto labels); then short rows of one to
    three numbers whose label is T1_FUZZY_FLOOR alike to a missing item's name (misreads)."""
    found: dict[str, Row] = {}
    cands = [r for r in rows[:stop] if (r.values or allow_empty) and r.label and len(r.label) <= 80]
    for search in (False, True):
        for row in cands:
            if any(row is r for r in found.values()):
                continue
            for key, (pattern, *_rest) in spec.items():
                hit = re.search(pattern, row.label) if search else re.match(pattern, row.leaf or row.label)
                if key not in found and hit:
                    found[key] = row
                    break
    if len(found) < len(spec):
        used = {id(r) for r in found.values()}
        pairs = [
            (likeness(row.leaf or row.label, pattern.split("|")[0]), n, key, row)
            for n, row in enumerate(cands)
            if id(row) not in used and 1 <= len(row.values) <= 3 and len(row.label) <= 20
            for key, (pattern, *_rest) in spec.items()
            if key not in found
        ]
        for score, _n, key, row in sorted(pairs, key=lambda p: (-p[0], p[1])):
            if score < T1_FUZZY_FLOOR:
                break
            if key not in found and id(row) not in used:
                found[key] = row
                used.add(id(row))
    return found


def table1_template(rows: list[Row]) -> str | None:
    words = "".join(cjk("".join(r.cells)) for r in rows)
    new = sum(words.count(h) for h in T1_2021_HEADS)
    old = sum(words.count(h) for h in T1_TRIAL_HEADS)
    if not new and not old:
        return None
    return "2019-trial" if old > new else "2021"


def read_table1(
    rows: list[Row], trial: bool, stop: int, rd: Reader, allow_empty: bool = False
) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    if trial:
        found = _t1_rows(rows, T1_TRIAL, stop, allow_empty)
        for key, (pattern, fields, money) in T1_TRIAL.items():
            row = found.get(key)
            if row is None:
                rd.missing(f"table1.{key}", pattern.split("|")[0])
                out[key] = {f: None for f in fields}
                continue
            vals = fit(row.values, len(fields))
            out[key] = {
                f: rd.value(v, f"table1.{key}.{f}", money if f == "amount_yuan" else None)
                for f, v in zip(fields, vals, strict=True)
            }
        return out, len(found)
    found = _t1_rows(rows, T1_2021, stop, allow_empty)
    for key, (pattern, n, money) in T1_2021.items():
        row = found.get(key)
        label = pattern.split("|")[0]
        if n == 3:
            if row is None:
                rd.missing(f"table1.{key}", label)
                out[key] = dict.fromkeys(TABLE1_2021_DOC_FIELDS)
                continue
            vals = fit(row.values, 3)
            out[key] = {
                f: rd.value(v, f"table1.{key}.{f}") for f, v in zip(TABLE1_2021_DOC_FIELDS, vals, strict=True)
            }
        else:
            if row is None:
                rd.missing(f"table1.{key}", label)
                out[key] = None
                continue
            val = rd.value(fit(row.values, 1)[0], f"table1.{key}", money)
            out[key] = float(val) if money and val is not None else val
    return out, len(found)


_T3_WORDS = (
    "结果维持",
    "结果纠正",
    "其他结果",
    "尚未审结",
    "总计",
    "未经复议直接起诉",
    "复议后起诉",
    "行政诉讼",
    "行政复议",
)
_T3_CHARS = frozenset("".join(_T3_WORDS) + "一二三")


def _t3_words(label: str) -> bool:
    """Is the label made of Table 3 heading words (三 groups, 五 results)?  Counted by
    characters, so that a look-alike OCR misread in some of them still counts."""
    return bool(label) and sum(ch in _T3_CHARS for ch in label) >= 0.7 * len(label)


def _t3_head(row: Row) -> bool:
    text = cjk("".join(row.cells))
    if "行政复议" in text and ("行政诉讼" in text or "结果维持" in row.label):
        return True
    # A table per group, or a misread header: a row of heading words and no numbers.
    return not row.values and len(row.label) >= 4 and _t3_words(row.label)


def read_table3(rows: list[Row], start: int, rd: Reader) -> tuple[dict[str, Any], bool]:
    """The 15 numbers after the 行政复议 / 行政诉讼 header, in the template's group order: from one
    row of 15, or from groups of five under group headings (three small tables, or one table
    with a heading row per group)."""
    head = next((i for i, row in enumerate(rows[start:], start) if _t3_head(row)), None)
    empty = {g: dict.fromkeys(TABLE3_FIELDS) for g in TABLE3_GROUPS}
    if head is None and start:
        # No header row (OCR keeps header lines as text): the first row of 10+ bare numbers.
        for i, row in enumerate(rows[start + 1 : start + 6], start + 1):
            if not row.label and len(row.values) >= 10:
                head = i - 1
                break
    if head is None:
        for g in TABLE3_GROUPS:
            rd.missing(f"table3.{g}", g)
        return empty, False
    cells: list[str] = []
    for row in rows[head + 1 : head + 13]:
        if row.label and len(row.values) >= 10 and not cells:
            cells = list(row.values)  # the numbers behind a row label such as 数量 / 件数
            break
        if row.label and not _t3_words(row.label):
            break
        if row.label and not any(norm(v) for v in row.values):
            continue  # a heading row; its empty cells are merged-cell padding
        cells += row.values  # a group's numbers, bare or behind its group heading
        if len([c for c in cells if c is not None]) >= 15:
            break
    if not cells:
        for g in TABLE3_GROUPS:
            rd.missing(f"table3.{g}", g)
        return empty, False
    vals = fit(cells, 15)
    out = {}
    for gi, g in enumerate(TABLE3_GROUPS):
        out[g] = {f: rd.value(vals[gi * 5 + fi], f"table3.{g}.{f}") for fi, f in enumerate(TABLE3_FIELDS)}
    return out, True


# "行政许可 97", "行政事业性收费（万元）：12.5", "第二十条第（六）项 行政处罚 3件": a Table 1 item given
# as a line of text beside the 规章/规范性文件 table.
_ITEM_LINE = re.compile(
    r"^(?:第二十条第[(（][一二三四五六七八九十]+[)）]项)?[:：]?(?:[0-9一二三四五六七八九]{1,2}[.、．]?)?"
    r"(?P<label>行政[\u4e00-\u9fff]{2,5})"
    r"(?:[(（](?:单位[:：])?(?:万元|件)[)）])?[:：]?(?P<value>.*?)[。；;]?$"
)


_ITEM_NAMES = ("行政许可", "行政处罚", "行政强制", "行政事业性收费")


def _item_row(text: str) -> list[str | None] | None:
    m = _ITEM_LINE.match(norm(text))
    # A bare "行政许可" is a heading or a table cell flattened to a line, not an item line.
    if not m or not m.group("value") or not is_value(m.group("value")):
        return None
    label = m.group("label")
    if max(likeness(label, name) for name in _ITEM_NAMES) < T1_FUZZY_FLOOR:
        return None  # 行政规范性文件, or words too unlike an item's name
    return [label, m.group("value")]


def _label_lines(paras: list[str]) -> str:
    """The trailing short lines that a wrapped row label left above its numbers ("" if none)."""
    label: list[str] = []
    for text in reversed(paras[-3:]):
        n = norm(text)
        if len(n) > 40 or n.endswith(("。", "：", ":")) or part_of(n) or re.match(r"^表\d", n) or not cjk(n):
            break
        label.insert(0, n)
    return "".join(label)


def table_rows(items: list[tuple[str, Any]]) -> list[list[str | None]]:
    """A document's table rows, with what real layouts leave outside the tables put back:

    * Table 1's 行政许可/行政处罚/行政强制/行政事业性收费 written as lines of text ("行政许可 97")
      in part 二 (or anywhere, when the report has no part 二 heading), as one-value rows;
    * a row label wrapped over lines of its own with the numbers alone on the next line: the
      label lines are joined to that row of bare numbers (2-7 of them: not Table 3's 15).
    """
    parts = [part_of(val) if kind == "p" else None for kind, val in items]
    has_part1 = "table1" in parts
    rows: list[list[str | None]] = []
    paras: list[str] = []  # the paragraphs since the last row
    zone = not has_part1
    for (kind, val), part in zip(items, parts, strict=True):
        if kind == "p":
            if part and has_part1:
                zone = part == "table1"
            item = _item_row(val) if zone else None
            if item:
                rows.append(item)
                paras = []
            else:
                paras.append(val)
            continue
        cells = [c for c in val if c is not None]
        if paras and 2 <= len(cells) <= 7 and not any(_HAS_CJK.search(c) for c in cells):
            label = _label_lines(paras)
            if label:
                val = [label, *cells]
        rows.append(val)
        paras = []
    return rows


def read_tables(raw_rows: list[list[str | None]], allow_empty: bool = False) -> dict[str, Any]:
    """template, table1..3 and the issues met while reading them.

    ``allow_empty``: rows may have no value cells at all (the table was flattened to one
    paragraph per cell and its empty number cells vanished): such rows read as blank cells.
    """
    rows = [Row(r) for r in raw_rows]
    rd = Reader()
    t2_found = table2_rows(rows, allow_empty)
    t1_kind = table1_template(rows)
    # No column headings among the rows (OCR keeps heading lines as text): the item rows.
    if t1_kind is None and len(_t1_rows(rows, T1_2021, len(rows))) >= 3:
        trial_only = _t1_rows(rows, {k: T1_TRIAL[k] for k in ("other_services", "procurement")}, len(rows))
        t1_kind = "2019-trial" if trial_only else "2021"
    has_t2 = len(t2_found) >= 5
    if not has_t2 and t1_kind is None:
        return {"template": None, "table1": {}, "table2": {}, "table3": {}, "issues": []}
    trial_t2 = "other_processing" in t2_found and not (
        {"other_no_correction", "other_unpaid_fee"} & set(t2_found)
    )
    trial = t1_kind == "2019-trial" if t1_kind else trial_t2
    # With Table 1 found, even a few Table 2 rows count (a page of a longer scan).
    use_t2 = has_t2 or bool(t1_kind and t2_found)
    first_t2 = min(rows.index(r) for r in t2_found.values()) if use_t2 else len(rows)
    table1, _ = read_table1(rows, trial, first_t2, rd, allow_empty) if t1_kind or has_t2 else ({}, 0)
    if use_t2:
        table2 = read_table2(t2_found, trial, rd, rows)
        start3 = max(rows.index(r) for r in t2_found.values())
    else:
        table2 = read_table2({}, trial, rd)
        start3 = 0
    table3, _ = read_table3(rows, start3, rd)
    return {
        "template": "2019-trial" if trial else "2021",
        "table1": table1,
        "table2": table2,
        "table3": table3,
        "issues": rd.issues,
    }
