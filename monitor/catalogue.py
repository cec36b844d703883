"""What the store holds, read once in bulk: every parsed report's metadata, grouped per agency-year.

Several documents may parse to one (agency, year): an article page and its attachment, a _wap copy,
a re-edit.  ``Found`` keeps them all; its publication date is the earliest among them (as of a
date), and its data is the best parse (fewest issues, then the latest version).
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

try:  # twice as fast on the 100,000 parsed reports of a national digest
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads

from config import Config
from monitor.names import Match, match_names
from storage.queries import catalogue_rows, report_data_json, report_names
from storage.store import Store


@contextmanager
def bulk():
    """Pause the cyclic garbage collector while building many small objects, restoring it after.

    The monitor's data are trees without reference cycles; with the collector running, scanning
    the growing heap again and again costs more than the work itself (half the time of a
    150,000-report digest).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_date(value: Any) -> date | None:
    """The date in '2024-01-26', '2024-01-26 10:32' or '2024-01-26T10:32:00+00:00'; else None."""
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _cached_date(value: Any) -> date | None:
    return parse_date(value)


@dataclass(slots=True)
class Doc:
    """One parsed document counted for an agency-year."""

    report_id: int
    version_id: int
    document_id: int
    source_id: str | None
    name: str  # the agency name as the report wrote it
    kind: str | None
    issues: int
    published_at: date | None
    date_source: str | None
    url: str


@dataclass
class Found:
    """Every document that parsed to one (canonical agency, year)."""

    agency: str
    year: int
    docs: list[Doc] = field(default_factory=list)

    def earliest(self, as_of: date | None = None) -> Doc | None:
        """The document with the earliest publication date on or before ``as_of``."""
        dated = [d for d in self.docs if d.published_at and (as_of is None or d.published_at <= as_of)]
        return min(dated, key=lambda d: (d.published_at, d.document_id)) if dated else None

    def best(self, as_of: date | None = None) -> Doc | None:
        """The best parse: fewest parser issues, then the latest version."""
        docs = [d for d in self.docs if as_of is None or (d.published_at and d.published_at <= as_of)]
        return min(docs, key=lambda d: (d.issues, -d.version_id)) if docs else None


@dataclass
class Catalogue:
    found: dict[tuple[str, int], Found]
    matches: list[Match]
    kinds: dict[str, str]  # canonical agency → the kind its reports state most often
    sources: dict[str, str]  # canonical agency → the source its reports come from most often
    years: dict[str, set[int]]  # canonical agency → years it reported for

    @property
    def first_year(self) -> int | None:
        return min((y for ys in self.years.values() for y in ys), default=None)


def configured_agencies(config: Config) -> dict[str, tuple[dict, dict]]:
    """Canonical name → (agency entry, its source) for every agency in config.yaml."""
    out: dict[str, tuple[dict, dict]] = {}
    for s in config.sources:
        for a in s.get("agencies") or []:
            out.setdefault(a["name"], (a, s))
    return out


def alias_table(config: Config) -> dict[str, str]:
    """alias → canonical name, from monitor.aliases and sources[].agencies[].aliases."""
    table = dict(config.section("monitor").get("aliases") or {})
    for name, (agency, _source) in configured_agencies(config).items():
        for alias in agency.get("aliases") or []:
            table.setdefault(alias, name)
    return table


# Where a date came from, most trustworthy first (report-format.md, "Where the date comes from").
# first_seen is a bound, not a date: the report was published by the time we first fetched it.
DATE_SOURCE_RANK = {"meta": 0, "visible": 1, "list": 2, "body": 4, "url": 5, "first_seen": 9}


def _best_date(*candidates: tuple[Any, Any]) -> tuple[date | None, str | None]:
    """The best-sourced date among (value, source) pairs; earlier pairs win ties."""
    value, source = candidates[0]
    if source == "meta" and (d := _cached_date(value)):  # the common case, and the best source
        return d, source
    best: tuple[float, int, date, str] | None = None
    for i, (value, source) in enumerate(candidates):
        d = _cached_date(value)
        if d is None:
            continue
        cand = (DATE_SOURCE_RANK.get(source or "", 3), i, d, source or "unknown")
        if best is None or cand[:2] < best[:2]:
            best = cand
    return (best[2], best[3]) if best else (None, None)


def load_catalogue(store: Store, config: Config) -> Catalogue:
    """Read every report's metadata in one query and group it per canonical (agency, year)."""
    with bulk():
        return _load_catalogue(store, config)


def seen_names(store: Store) -> dict[str, set[int]]:
    """Every agency name reports carry (superseded parses included) → the years it reported for."""
    seen: dict[str, set[int]] = {}
    for name, year in report_names(store):
        seen.setdefault(name, set()).add(int(year))
    return seen


def name_mapping(seen: dict[str, set[int]], config: Config) -> tuple[dict[str, str], list[Match]]:
    """``match_names`` with the config's agencies, aliases and fuzzy options."""
    monitor = config.section("monitor")
    return match_names(
        seen,
        configured_agencies(config),
        alias_table(config),
        fuzzy=bool(monitor.get("fuzzy_match", True)),
        threshold=float(monitor.get("fuzzy_threshold", 0.85)),
    )


def doc_from_row(row: tuple[Any, ...]) -> Doc:
    """The ``Doc`` of one ``catalogue_rows`` tuple (or the first 16 fields of a longer one)."""
    (
        rid,
        vid,
        did,
        source_id,
        name,
        _year,
        kind,
        issues,
        r_pub,
        r_src,
        url,
        d_pub,
        d_src,
        first_seen,
        p_pub,
        p_src,
    ) = row[:16]
    pub, date_source = _best_date((r_pub, r_src), (d_pub, d_src), (p_pub, p_src), (first_seen, "first_seen"))
    return Doc(rid, vid, did, source_id, name, kind, issues or 0, pub, date_source, url)


def _load_catalogue(store: Store, config: Config) -> Catalogue:
    mapping, matches = name_mapping(seen_names(store), config)
    return catalogue_from(
        ((mapping[row[4]], int(row[5]), doc_from_row(row)) for row in catalogue_rows(store)), matches
    )


def catalogue_from(docs: Iterable[tuple[str, int, Doc]], matches: list[Match] | None = None) -> Catalogue:
    """The catalogue of (canonical agency, year, doc) triples given in report id order."""
    found: dict[tuple[str, int], Found] = {}
    kinds: Counter[tuple[str, str]] = Counter()
    sources: Counter[tuple[str, str]] = Counter()
    years: dict[str, set[int]] = {}
    for agency, year, doc in docs:
        key = (agency, year)
        f = found.get(key)
        if f is None:
            f = found[key] = Found(agency, year)
        f.docs.append(doc)
        kinds[(agency, doc.kind)] += 1
        sources[(agency, doc.source_id)] += 1
        years.setdefault(agency, set()).add(year)
    return Catalogue(
        found=found,
        matches=matches or [],
        kinds=_most_common(kinds),
        sources=_most_common(sources),
        years=years,
    )


def _most_common(counts: Counter[tuple[str, Any]]) -> dict[str, Any]:
    """agency → its most frequent non-empty value (ties: the first seen)."""
    best: dict[str, tuple[int, Any]] = {}
    for (agency, value), n in counts.items():
        if value and (agency not in best or n > best[agency][0]):
            best[agency] = (n, value)
    return {a: v for a, (_n, v) in best.items()}


def load_data(store: Store, report_ids: list[int]) -> dict[int, dict]:
    """report id → its parsed data model, fetched in chunks (no per-row queries)."""
    out: dict[int, dict] = {}
    with bulk():
        _load_chunks(store, report_ids, out)
    return out


def _load_chunks(store: Store, report_ids: list[int], out: dict[int, dict]) -> None:
    for rid, data in report_data_json(store, report_ids):
        out[rid] = _loads(data) if data else {}
