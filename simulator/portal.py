"""Simulated portals for tests, the demo and the bench: sites on real sockets plus their ground truth.

    with SimulatedPortal(seed=1) as p:              # one TRS county portal
        crawl(p.start_url)
        assert found == p.report_urls().keys()
        p.edit("青山县教育局", 2024); p.remove(...); p.restore(...)

Several sites over one region: ``subsites=[{"agencies": [...], "charset": "gbk", ...}]`` serves
those agencies from their own site (own port) and the rest from the main site;
``SimulatedPortal.demo()`` is a ready-made county portal plus a GBK department site.
Options are split between the site family (variant, ext, per_page, …) and the server
(:class:`simulator.server.Behaviour`: latency, fail_every, fail_paths, reset_paths, robots_txt, …).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

from simulator.model import PlannedReport, Region, generate_region
from simulator.server import BEHAVIOUR_KEYS, Behaviour, SiteServer
from simulator.site import RegionSite, cached_render
from simulator.trs import TrsSite

# family name -> factory(region, **site_options) -> RegionSite.  Other families register here.
FAMILIES: dict[str, Callable[..., RegionSite]] = {"trs": TrsSite}


def register_family(name: str, factory: Callable[..., RegionSite]) -> None:
    FAMILIES[name] = factory


@dataclass
class Served:
    """One site on its own server."""

    name: str
    site: RegionSite
    server: SiteServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def start_url(self) -> str:
        return self.server.base_url + "/"


def split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], Behaviour]:
    """Separate site-family options from server behaviour options."""
    site = {k: v for k, v in options.items() if k not in BEHAVIOUR_KEYS}
    behaviour = Behaviour(**{k: v for k, v in options.items() if k in BEHAVIOUR_KEYS})
    return site, behaviour


class SimulatedPortal:
    """A region served by one main site and optional sub-sites, each on 127.0.0.1:<free port>."""

    def __init__(
        self,
        region: Region | None = None,
        seed: int = 2024,
        family: str = "trs",
        *,
        today: date | None = None,
        subsites: Sequence[Mapping[str, Any]] = (),
        **options: Any,
    ) -> None:
        self.region = region if region is not None else generate_region(seed)
        self.sites: list[Served] = []
        taken = [a for sub in subsites for a in sub["agencies"]]
        unknown = set(taken) - {a.name for a in self.region.agencies}
        if unknown:
            raise ValueError(f"sub-site agencies not in the region: {sorted(unknown)}")
        main_opts = dict(options)
        if taken and "agencies" not in main_opts:
            main_opts["agencies"] = [a.name for a in self.region.agencies if a.name not in taken]
        self._add("main", family, today, main_opts)
        for i, sub in enumerate(subsites):
            sub = dict(sub)
            self._add(sub.pop("name", f"sub{i + 1}"), sub.pop("family", family), today, sub)

    def _add(self, name: str, family: str, today: date | None, options: Mapping[str, Any]) -> None:
        site_opts, behaviour = split_options(options)
        site = FAMILIES[family](self.region, today=today, **site_opts)
        self.sites.append(Served(name, site, SiteServer(site, behaviour)))

    @classmethod
    def demo(cls, seed: int = 2024, **options: Any) -> SimulatedPortal:
        """The county portal (TRS classic; one report also attaches its tables as a spreadsheet;
        two bureaus' and a township's reports only in their own columns, linked by their names)
        and one department's own GBK site (TRS new, .shtml)."""
        region = generate_region(seed)
        dept = region.agencies[1].name
        sub = {
            "name": "gbk-department",
            "agencies": [dept],
            "charset": "gbk",
            "variant": "new",
            "ext": "shtml",
            "column_path": "/xxgk/xxgknb/",
            "per_page": 2,
        }
        # Two bureaus and a township list their reports only in their own columns, reached by name.
        options = {"wap_copies": True, "tables_attached": 1, "dept_columns": 2, "town_columns": 1, **options}
        return cls(region, family="trs", subsites=[sub], **options)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SimulatedPortal:
        for s in self.sites:
            s.server.start()
        return self

    def stop(self) -> None:
        for s in self.sites:
            s.server.stop()

    def __enter__(self) -> SimulatedPortal:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def main(self) -> Served:
        return self.sites[0]

    @property
    def site(self) -> RegionSite:
        return self.main.site

    @property
    def base_url(self) -> str:
        return self.main.base_url

    @property
    def start_url(self) -> str:
        return self.main.start_url

    @property
    def start_urls(self) -> list[str]:
        return [s.start_url for s in self.sites]

    # -- time and ground truth ---------------------------------------------------------------

    @property
    def today(self) -> date:
        return self.site.current_date()

    @today.setter
    def today(self, value: date | None) -> None:
        for s in self.sites:
            s.site.today = value

    def truth(self, as_of: date | None = None) -> list[dict[str, Any]]:
        """Expected status per (agency, year) as of ``as_of`` (default: the simulator's today)."""
        return self.region.expected_status(as_of or self.today)

    def report_urls(self) -> dict[str, PlannedReport]:
        """Every article page and attachment of a report served now, over all sites."""
        out: dict[str, PlannedReport] = {}
        for s in self.sites:
            out.update(s.site.report_urls())
        return out

    def documents(self) -> list[dict[str, Any]]:
        """Per served report URL: kind (article | wap | attachment), agency, year, fmt, dates."""
        return [d for s in self.sites for d in s.site.documents()]  # type: ignore[attr-defined]

    def served_for(self, agency: str) -> Served:
        for s in self.sites:
            if s.site.agencies is None or agency in s.site.agencies:
                return s
        raise KeyError(agency)

    def url_of(self, agency: str, year: int) -> str:
        """The article URL of a report (whether or not it is visible now)."""
        served = self.served_for(agency)
        pr = self.region.report(agency, year)
        assert pr is not None
        return served.site.url_of(pr)  # type: ignore[attr-defined]

    def prerender(self, processes: int = 1) -> int:
        """Render every attachment now (DOCX takes ~1 s each), so a timed crawl measures crawling.

        Returns how many files were rendered.  With processes > 1 the rendering runs in worker
        processes and the results fill the shared render cache.
        """
        jobs = [(s.site, r) for s in self.sites for r in s.site.visible_reports() if r.fmt in ("pdf", "docx")]
        if processes <= 1:
            for site, r in jobs:
                site.render_file(r, r.fmt)
            return len(jobs)
        from simulator import render

        with ProcessPoolExecutor(processes) as pool:
            futures = []
            for site, r in jobs:
                fn = render.render_pdf if r.fmt == "pdf" else render.render_docx
                drift = site.drift_of(r)
                futures.append((r, drift, pool.submit(_render_job, fn, r.report, drift)))
            for r, drift, fut in futures:
                data = fut.result()
                cached_render(lambda *_a, _d=data, **_k: _d, r.fmt, r.report, drift)
        return len(jobs)

    # -- mutations ---------------------------------------------------------------------------

    def edit(self, agency: str, year: int) -> PlannedReport:
        return self.served_for(agency).site.edit(agency, year)

    def remove(self, agency: str, year: int) -> PlannedReport:
        return self.served_for(agency).site.remove(agency, year)

    def unlist(self, agency: str, year: int) -> PlannedReport:
        return self.served_for(agency).site.unlist(agency, year)

    def restore(self, agency: str, year: int) -> PlannedReport:
        return self.served_for(agency).site.restore(agency, year)

    # -- request log -------------------------------------------------------------------------

    @property
    def requests(self) -> Counter[str]:
        """Requests per full URL (with query), over all sites, since start or reset_requests()."""
        out: Counter[str] = Counter()
        for s in self.sites:
            for path, n in s.server.requests.items():
                out[s.base_url + path] += n
        return out

    def request_count(self) -> int:
        return sum(sum(s.server.requests.values()) for s in self.sites)

    def reset_requests(self) -> None:
        for s in self.sites:
            s.server.reset_log()


def _render_job(fn: Callable[..., bytes], report: dict[str, Any], drift: dict[str, Any]) -> bytes:
    return fn(report, **drift)


# -- bench-sized regions ---------------------------------------------------------------------------

COUNTY_NAMES = [
    "青山县", "东湖县", "白云县", "金沙县", "临江县", "平安县", "安宁县", "永和县", "长乐县", "清河县",
    "南溪县", "北川县", "西山县", "龙泉县", "凤凰县", "桃源县", "石门县", "宁远县", "新化县", "太和县",
    "丰城县", "德化县", "华容县", "仁和县", "广德县", "泰宁县", "崇安县", "云和县", "松阳县", "遂昌县",
]  # fmt: skip


def big_region(
    n_counties: int = 26,
    seed: int = 2024,
    departments: int = 24,
    townships: int = 3,
    years: tuple[int, ...] = (2023, 2024, 2025),
) -> Region:
    """Several generated counties in one Region (about 84 planned, 81 published each: 26 counties ≈ 2,100 published).

    Article ids are renumbered per county so URLs stay unique; the first county's government is
    the region's ``government``.  Serve it with one TrsSite, or split it with ``subsites``.
    """
    if not 1 <= n_counties <= len(COUNTY_NAMES):
        raise ValueError(f"n_counties must be 1..{len(COUNTY_NAMES)}")
    parts = [
        generate_region(seed + i, COUNTY_NAMES[i], departments, townships, years) for i in range(n_counties)
    ]
    reports: list[PlannedReport] = []
    for i, part in enumerate(parts):
        for r in part.reports:
            r = copy.copy(r)
            r.article_id = (i + 1) * 100_000 + r.article_id
            reports.append(r)
    first = parts[0]
    agencies = [a for p in parts for a in p.agencies]
    return Region(first.county, first.government, agencies, list(years), reports, seed)


import simulator.families  # noqa: E402,F401  (registers the non-TRS families; at the bottom: circular import)
