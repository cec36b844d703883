"""Text normalisation and reading numbers out of table cells."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
_WS = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
_NON_CJK = re.compile(r"[^\u4e00-\u9fff]+")
_VALUE = re.compile(r"^([+-]?\d+(?:\.\d+)?)(万元|元|件|个|项|条|次|宗|人次)?$")
# What hand-filled reports write instead of a number.
PLACEHOLDERS = frozenset({"—", "——", "-", "--", "－", "―", "─", "–", "/", "／", "无", "\\"})


def norm(s: str | None) -> str:
    """NFKC, no Word bookmarks, no whitespace: the form labels and numbers are compared in."""
    if not s:
        return ""
    s = _BOOKMARK.sub("", unicodedata.normalize("NFKC", s))
    return _WS.sub("", s)


def cjk(s: str | None) -> str:
    """Only the CJK characters: label matching ignores digits, brackets and punctuation drift."""
    return _NON_CJK.sub("", norm(s))


def is_value(cell: str | None) -> bool:
    """Does the cell hold (or stand for) a number rather than a label?"""
    n = norm(cell)
    return not n or n in PLACEHOLDERS or bool(_VALUE.match(n.replace(",", "")))


def read_number(cell: str | None, *, money: str | None = None) -> tuple[Any, str | None]:
    """Parse one cell: (value, None) or (None, "blank" | "placeholder" | "unreadable").

    ``money`` is the unit of the field ("万元" or "元"); a value written with the other unit is
    converted.  Counts must be whole numbers; a decimal count is unreadable.
    """
    n = norm(cell).replace(",", "")
    if not n:
        return None, "blank"
    if n in PLACEHOLDERS:
        return None, "placeholder"
    m = _VALUE.match(n)
    if not m:
        return None, "unreadable"
    num, unit = float(m.group(1)), m.group(2)
    if money:
        if money == "万元" and unit == "元":
            num = num / 10000
        elif money == "元" and unit == "万元":
            num = num * 10000
        return round(num, 6), None
    if not num.is_integer():
        return None, "unreadable"
    return int(num), None
