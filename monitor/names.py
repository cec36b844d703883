"""Matching the agency names reports carry to one canonical name per agency.

Portals write the same body several ways (青山县科技局 / 青山县科学技术局, 马集镇 / 马集镇人民政府).
Matching is conservative and explainable: every match made is logged with its method and score.

Order: exact → alias table (monitor.aliases and sources[].agencies[].aliases) → the same name once
standard abbreviations are applied (only within the same county prefix) → a difflib ratio on the
part after the prefix, ≥ monitor.fuzzy_threshold.  Two *seen* names are fuzzy-merged only when they
never published for the same year: two names reporting for one year are two agencies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from typing import Any

from config import Config

# (full form, short form) — the short form is the normal form; longest full forms first.
ABBREVIATIONS: tuple[tuple[str, str], ...] = tuple(
    sorted(
        [
            ("科学技术局", "科技局"),
            ("人力资源和社会保障局", "人社局"),
            ("住房和城乡建设局", "住建局"),
            ("发展和改革局", "发改局"),
            ("发展和改革委员会", "发改委"),
            ("工业和信息化局", "工信局"),
            ("文化和旅游局", "文旅局"),
            ("文化广电和旅游局", "文广旅局"),
            ("卫生健康局", "卫健局"),
            ("卫生健康委员会", "卫健委"),
            ("市场监督管理局", "市场监管局"),
            ("应急管理局", "应急局"),
            ("医疗保障局", "医保局"),
            ("退役军人事务局", "退役军人局"),
            ("行政审批服务局", "行政审批局"),
            ("综合行政执法局", "综合执法局"),
            ("交通运输局", "交通局"),
            ("城市管理局", "城管局"),
            ("人民政府办公室", "政府办"),
            ("地方金融监督管理局", "金融局"),
            ("粮食和物资储备局", "粮储局"),
            ("街道办事处", "街道"),
            ("镇人民政府", "镇"),
            ("乡人民政府", "乡"),
        ],
        key=lambda p: -len(p[0]),
    )
)

# The administrative-division prefix: a chain of heads each ending in a division word
# (广州市天河区 | 教育局).  A bare 州 is left out: it ends too many city names (广州市).
_PREFIX = re.compile(r"^(?:.{1,8}?(?:自治区|自治州|自治县|自治旗|特别行政区|省|市|盟|地区|县|区|旗))+")
_SPACE = re.compile(r"\s+")


def clean(name: str) -> str:
    """NFKC (full-width → half-width) and no whitespace: the form names are compared in."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", name or ""))


def split_prefix(name: str) -> tuple[str, str]:
    """('青山县', '科学技术局') for 青山县科学技术局; ('', name) when no division word leads."""
    m = _PREFIX.match(name)
    return (m.group(0), name[m.end() :]) if m else ("", name)


def abbreviate(rest: str) -> str:
    for full, short in ABBREVIATIONS:
        if full in rest:
            rest = rest.replace(full, short)
    return rest


def name_key(name: str) -> tuple[str, str]:
    """(prefix, abbreviated rest): names with the same key are the same agency."""
    prefix, rest = split_prefix(clean(name))
    return prefix, abbreviate(rest)


@dataclass
class Match:
    """One name that was mapped to a different canonical name."""

    name: str
    canonical: str
    method: str  # alias | abbreviation | fuzzy
    score: float = 1.0

    def as_dict(self) -> dict:
        return asdict(self)


def match_names(
    seen: Mapping[str, set[int]],
    configured: Iterable[str],
    aliases: Mapping[str, str],
    fuzzy: bool = True,
    threshold: float = 0.85,
) -> tuple[dict[str, str], list[Match]]:
    """Map every seen name to its canonical name.

    ``seen`` maps each name found in reports to the years it reported for.  Returns the mapping
    (every seen name is a key) and the log of matches where the name changed.
    """
    configured = list(dict.fromkeys(configured))
    alias_map = {clean(a): t for a, t in aliases.items()}
    by_clean = {clean(c): c for c in configured}
    by_key: dict[tuple[str, str], str] = {}
    for c in configured:
        by_key.setdefault(name_key(c), c)
    mapping: dict[str, str] = {}
    how: dict[str, tuple[str, float]] = {}  # name → (method, score), for the log
    unmatched: dict[tuple[str, str], list[str]] = {}
    for name in seen:
        c = clean(name)
        if c in by_clean:
            mapping[name], how[name] = by_clean[c], ("exact", 1.0)
        elif c in alias_map:
            mapping[name], how[name] = alias_map[c], ("alias", 1.0)
        elif (k := name_key(c)) in by_key:
            mapping[name], how[name] = by_key[k], ("abbreviation", 1.0)
        else:
            unmatched.setdefault(k, []).append(name)
    # Unconfigured names that abbreviate alike are one agency; the longest (full) form names it.
    groups: dict[tuple[str, str], tuple[str, set[int]]] = {}
    for k, names in unmatched.items():
        head = max(names, key=lambda n: (len(n), n))
        years: set[int] = set()
        for n in names:
            years |= set(seen[n])
            mapping[n], how[n] = head, ("abbreviation", 1.0)
        groups[k] = (head, years)
    if fuzzy and groups:
        _fuzzy(groups, by_key, mapping, how, threshold)
    log = [Match(n, c, *how[n]) for n, c in mapping.items() if c != n]
    return mapping, log


def _ratio1(a: str, b: str, threshold: float) -> float:
    m = SequenceMatcher(None, a, b, autojunk=False)
    if m.real_quick_ratio() < threshold or m.quick_ratio() < threshold:
        return 0.0  # the cheap upper bounds already rule it out
    return m.ratio()


def _ratio(a: tuple[str, str], b: tuple[str, str], threshold: float) -> float:
    """The better ratio of the abbreviated and the written rests (发展改革局 vs 发展和改革局)."""
    return max(_ratio1(a[0], b[0], threshold), _ratio1(a[1], b[1], threshold))


def _rests(abbreviated: str, name: str) -> tuple[str, str]:
    return abbreviated, split_prefix(clean(name))[1]


def _fuzzy(
    groups: dict[tuple[str, str], tuple[str, set[int]]],
    by_key: dict[tuple[str, str], str],
    mapping: dict[str, str],
    how: dict[str, tuple[str, float]],
    threshold: float,
) -> None:
    """Fuzzy-merge unconfigured names into configured ones, then seen names with disjoint years."""
    configured_by_prefix: dict[str, list[tuple[str, str]]] = {}
    for (prefix, rest), name in by_key.items():
        configured_by_prefix.setdefault(prefix, []).append((_rests(rest, name), name))
    target: dict[str, tuple[str, float]] = {}  # group head → (canonical, score)
    rest_groups: dict[str, list[tuple[tuple[str, str], str, set[int]]]] = {}
    for (prefix, abbreviated), (head, years) in groups.items():
        rest = _rests(abbreviated, head)
        best = max(
            ((_ratio(rest, r, threshold), n) for r, n in configured_by_prefix.get(prefix, [])),
            default=(0.0, ""),
        )
        if best[0] >= threshold:
            target[head] = (best[1], best[0])
        else:
            rest_groups.setdefault(prefix, []).append((rest, head, years))
    for members in rest_groups.values():
        if len(members) < 2:
            continue
        # Names present in every year of the bucket overlap with everyone: skip them cheaply.
        span = set().union(*(y for _, _, y in members))
        partial = [m for m in members if m[2] != span]
        partial.sort(key=lambda m: (-len(m[2]), -len(m[1]), m[1]))
        for i, (rest, head, years) in enumerate(partial):
            if head in target:
                continue
            for rest2, head2, years2 in partial[:i]:
                if head2 in target or years & years2:
                    continue
                score = _ratio(rest, rest2, threshold)
                if score >= threshold:
                    target[head] = (head2, score)
                    years2 |= years
                    break
    if not target:
        return
    for name, head in list(mapping.items()):
        if head in target:
            canonical, score = target[head]
            mapping[name], how[name] = canonical, ("fuzzy", round(score, 3))


def match_log(store: Any, config: Config) -> list[dict]:
    """Every agency name in ``store``'s reports that the monitor maps to another name, and how."""
    from monitor.catalogue import load_catalogue  # here: catalogue itself builds on this module

    return [m.as_dict() for m in load_catalogue(store, config).matches]
