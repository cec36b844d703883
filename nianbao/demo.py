"""``nianbao demo``: the whole product on a simulated region, start to finish.

It starts the portal simulator on free loopback ports, writes a config for it, then runs the
same steps a real deployment runs — crawl, parse, monitor, digest — and compares the monitor's
answer with the simulator's ground truth.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from config import Config, load_config

DIGEST_FORMATS = ("csv", "html", "xlsx", "md", "json", "docx")


def write_demo_config(out: Path, portal, region) -> Path:
    """A config.yaml for the simulated portal: one source per site, the government configured."""
    lines = [
        "# Written by `nianbao demo` for its simulated portals.",
        "storage:",
        "  path: nianbao.db",
        "crawl:",
        "  delay: 0",
        "  concurrency_per_host: 4",
        "  user_agent: 'nianbao-demo/0.1 (+local simulator)'",
        "sources:",
    ]
    for i, site in enumerate(portal.sites):
        lines += [
            f"  - id: {'county' if i == 0 else site.name}",
            f"    name: {region.county}{'人民政府门户网站' if i == 0 else '部门网站 ' + site.name}",
            f"    start_url: {site.start_url}",
            "    region: 演示省演示市",
        ]
        if i == 0:
            lines += ["    agencies:", f"      - {{name: {region.government.name}, kind: government}}"]
            lines += [f"      - {{name: {a.name}, kind: {a.kind}}}" for a in region.agencies[1:4]]
    path = out / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def compare_with_truth(rows: list[dict], truth: list[dict]) -> list[str]:
    """Differences between the monitor's statuses and the simulator's ground truth."""
    ours = {(r["agency"], r["year"]): r for r in rows}
    diffs = []
    for t in truth:
        r = ours.pop((t["agency"], t["year"]), None)
        if r is None:
            diffs.append(f"{t['agency']} {t['year']}: expected {t['status']}, monitor has no row")
        elif (r["status"], r.get("days_late") or 0) != (t["status"], t["days_late"]):
            diffs.append(
                f"{t['agency']} {t['year']}: expected {t['status']} ({t['days_late']} days late), "
                f"monitor says {r['status']} ({r.get('days_late') or 0})"
            )
    diffs += [f"{a} {y}: monitor has a row the simulator does not expect" for a, y in ours]
    return diffs


def run_demo(
    out: Path, *, seed: int = 2024, as_of: date | None = None, serve: bool = False, port: int = 0
) -> int:
    from crawler.runner import run_crawl
    from monitor.status import compute_status, format_table
    from outputs.digest import build_digest, write_digest
    from reports.stored import parse_stored
    from simulator.portal import SimulatedPortal
    from storage import Store

    as_of = as_of or date.today()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("nianbao.db*"):  # a demo starts from an empty database
        old.unlink()
    portal = SimulatedPortal.demo(seed=seed)
    with portal:
        region = portal.region
        config: Config = load_config(write_demo_config(out, portal, region))
        print(f"simulated portals: {', '.join(portal.start_urls)}")
        print(f"crawling {len(config.sources)} sources …", flush=True)
        for r in run_crawl(config, quiet=False):
            s = r.stats
            print(f"  {r.source_id}: {r.status}, {s['requests']} requests, {s['documents']} documents")
        with Store(config.storage_path) as store:
            stats = parse_stored(store, config)
            print(f"parsed {stats.parsed} versions: {stats.reports} reports")
            rows = compute_status(store, config, as_of)
            print(f"\nstatus as of {as_of}:\n{format_table(rows)}\n")
            diffs = compare_with_truth(rows, region.expected_status(as_of))
            if diffs:
                print("differences from the simulator's ground truth:\n  " + "\n  ".join(diffs))
            else:
                print(f"all {len(rows)} statuses match the simulator's ground truth")
            year = max(r["year"] for r in rows)
            digest = build_digest(store, config, year)
        written = []
        for fmt in DIGEST_FORMATS:
            path = out / f"digest-{year}.{fmt}"
            write_digest(digest, fmt, path)
            written.append(path)
        print(f"\ndigests for {year} written to {out.resolve()}: {', '.join(p.name for p in written)}")
        _dashboard(config, serve, port, as_of)
    return 1 if diffs else 0


def _dashboard(config: Config, serve: bool, port: int, as_of: date) -> None:
    """Print the dashboard address; with --serve keep serving until interrupted."""
    from outputs.web import start_server

    server = start_server(config, host="127.0.0.1", port=port, today=lambda: as_of)
    print(f"dashboard: {server.url}")
    if not serve:
        server.stop()
        return
    print("serving until interrupted (Ctrl-C) …", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.stop()
