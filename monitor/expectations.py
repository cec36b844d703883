"""Which (agency, year) reports are expected, and by when.

Expected: every agency configured in config.yaml, and every agency that published for an earlier
year (expected again in later years unless configured ``abolished`` or ``merged_into``).  The
report on year N is due in year N+1 on the agency's deadline, chosen from (most specific wins):
the agency's own ``deadline`` > its source's ``deadline`` > ``monitor.regions`` (the longest region
that prefixes the source's region) > the global ``deadlines`` (01-31, governments 03-31).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from config import Config
from monitor.catalogue import Catalogue, configured_agencies, load_catalogue
from storage.store import Store

DEFAULT_DEADLINES = {"government": "03-31", "department": "01-31", "township": "01-31"}
KIND_ORDER = {"government": 0, "department": 1, "township": 2}


@dataclass
class Expected:
    agency: str
    kind: str
    year: int
    deadline: date
    source_id: str | None
    region: str | None
    configured: bool

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["deadline"] = self.deadline.isoformat()
        return d


def infer_kind(name: str) -> str:
    """government for …人民政府, township for …镇/乡/街道(办事处), else department."""
    n = name.strip()
    if n.endswith("人民政府") and not n.endswith(("镇人民政府", "乡人民政府")):
        return "government"
    if n.endswith(("镇", "乡", "街道", "街道办事处", "镇人民政府", "乡人民政府")):
        return "township"
    return "department"


def month_day(mmdd: str, year: int) -> date:
    """'01-31' in ``year``; a day past the month's end (02-30) becomes its last day."""
    m, d = (int(x) for x in mmdd.split("-"))
    return date(year, m, min(d, calendar.monthrange(year, m)[1]))


def _raw_source(config: Config, source_id: str | None) -> dict:
    """The source as written in config.yaml (before defaults were filled in), to see overrides."""
    for s in (getattr(config, "data", {}) or {}).get("sources") or []:
        if s.get("id") == source_id:
            return s
    return {}


def _raw_agency(config: Config, source_id: str | None, name: str) -> dict:
    for a in _raw_source(config, source_id).get("agencies") or []:
        if a.get("name") == name:
            return a
    return {}


class Deadlines:
    """Resolves an agency's deadline from the config layers."""

    def __init__(self, config: Config):
        self.config = config
        self.base = {**DEFAULT_DEADLINES, **(config.section("deadlines") or {})}
        regions = config.section("monitor").get("regions") or {}
        # Longest first, so 山东省济宁市 beats 山东省.
        self.regions = sorted(regions.items(), key=lambda kv: -len(kv[0]))
        self._cache: dict[tuple, str] = {}

    def mmdd(self, kind: str, source_id: str | None, region: str | None, agency: dict | None) -> str:
        if agency and agency.get("deadline"):
            return agency["deadline"]
        key = (kind, source_id, region)
        if key not in self._cache:
            value = self.base.get(kind, DEFAULT_DEADLINES["department"])
            for name, table in self.regions:
                if region and region.startswith(name) and table.get(kind):
                    value = table[kind]
                    break
            explicit = _raw_source(self.config, source_id).get("deadline") or {}
            value = explicit.get(kind, value)
            self._cache[key] = value
        return self._cache[key]

    def due(
        self, kind: str, year: int, source_id: str | None, region: str | None, agency: dict | None
    ) -> date:
        return month_day(self.mmdd(kind, source_id, region, agency), year + 1)


def report_years(catalogue: Catalogue, as_of: date, years: list[int] | None) -> list[int]:
    """``years`` if given, else from the first year any report covers up to as_of.year - 1."""
    return years_from(catalogue.first_year, as_of, years)


def years_from(first_year: int | None, as_of: date, years: list[int] | None = None) -> list[int]:
    """``report_years`` given the first year any report covers."""
    if years:
        return sorted(set(years))
    last = as_of.year - 1
    first = min(first_year or last, last)
    return list(range(first, last + 1))


def _last_year(entry: dict, seen_years: set[int]) -> int | None:
    """The last year a report is expected from an abolished/merged agency (None: no end)."""
    if entry.get("abolished"):
        return int(str(entry["abolished"])[:4])
    if entry.get("merged_into"):
        return max(seen_years) if seen_years else 0
    return None


class Expecting:
    """What config.yaml says about expectations, resolved once for many agencies."""

    def __init__(self, config: Config):
        self.config = config
        self.sources = {s["id"]: s for s in config.sources}
        self.deadlines = Deadlines(config)
        self.configured = configured_agencies(config)

    def names(self, seen: Iterable[str]) -> list[str]:
        """Configured agencies first, then the other ``seen`` canonical names in order."""
        return list(self.configured) + [a for a in sorted(seen) if a not in self.configured]

    def for_agency(
        self, name: str, seen: set[int], seen_kind: str | None, seen_source: str | None, wanted: list[int]
    ) -> list[Expected]:
        """The expected pairs of one canonical agency, given the years it reported for and the
        kind and source its reports show most often."""
        config = self.config
        if name in self.configured:
            entry, source = self.configured[name]
            source_id = source["id"]
            raw_kind = _raw_agency(config, source_id, name).get("kind")
            kind = raw_kind or seen_kind or infer_kind(name)
            first = wanted[0] if wanted else 0
        else:
            entry, source_id = {}, seen_source
            source = self.sources.get(source_id or "", {})
            kind = seen_kind if seen_kind in KIND_ORDER else infer_kind(name)
            first = min(seen)
        last = _last_year(entry, seen)
        region = source.get("region") if source else None
        out = []
        for year in wanted:
            if year < first or (last is not None and year > last):
                continue
            due = self.deadlines.due(kind, year, source_id, region, entry)
            out.append(Expected(name, kind, year, due, source_id, region, name in self.configured))
        return out

    def unexpected(self, name: str, year: int, seen_kind: str | None, seen_source: str | None) -> Expected:
        """The pair of a report found that nobody expected (e.g. after a configured abolition)."""
        kind = seen_kind if seen_kind in KIND_ORDER else infer_kind(name)
        source = next((s for s in self.config.sources if s["id"] == seen_source), {})
        region = source.get("region")
        return Expected(
            name,
            kind,
            year,
            self.deadlines.due(kind, year, seen_source, region, None),
            seen_source,
            region,
            False,
        )


def expected_from(
    catalogue: Catalogue, config: Config, as_of: date, years: list[int] | None = None
) -> list[Expected]:
    """The expected pairs, from an already loaded catalogue (see ``expected_pairs``)."""
    wanted = report_years(catalogue, as_of, years)
    expecting = Expecting(config)
    out: list[Expected] = []
    for name in expecting.names(catalogue.years):
        seen = catalogue.years.get(name, set())
        out += expecting.for_agency(
            name, seen, catalogue.kinds.get(name), catalogue.sources.get(name), wanted
        )
    return out


def expected_pairs(
    store: Store, config: Config, as_of: date, years: list[int] | None = None
) -> list[Expected]:
    """Every (agency, year) whose report is expected, with its kind, deadline, source and region."""
    return expected_from(load_catalogue(store, config), config, as_of, years)
