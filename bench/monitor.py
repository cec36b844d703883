"""Benchmark the monitor on a national-scale database: 150,000 reports over three years.

Builds (once) a synthetic SQLite store — every county and city government and its departments,
names generated programmatically, rows inserted in bulk straight into documents / versions /
reports — then times, each in a fresh process so peak memory is its own:

  status   the full computation of every status (status_from on the whole catalogue) for one year
  all      the same for every year, as ``monitor --alert`` did after each source before statuses
           were materialised
  digest   build_digest for that year + write_digest as XLSX (the year-on-year digest)

and then the materialised statuses (monitor.refresh), on a copy of the database:

  full         refresh_statuses(full=True) as of 2026-01-30 (every row computed and stored)
  incremental  after ~100 new reports, refresh_statuses as of 2026-02-01: across the department
               deadline (01-31), so every pending department row of 2025 turns missing or found
  read         compute_status for one year and the matrix of one region from the stored rows

Usage: .venv/bin/python bench/monitor.py [--db PATH] [--reports 150000] [--rebuild] [--only refresh]
Target: under 30 s each; an incremental refresh a small fraction of a full one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.model import DEPARTMENTS, Agency, deadline_for, generate_report  # noqa: E402
from storage.store import Store  # noqa: E402

YEARS = (2023, 2024, 2025)
AS_OF = date(2026, 6, 1)
BEFORE, AFTER = date(2026, 1, 30), date(2026, 2, 1)  # the department deadline of 2025 lies between
NEW_REPORTS = 100
CHARS = "青山河平安新东西南北阳明光华兴长宁昌德泰和永丰庆云江城海湖林石金水中武隆"
PROVINCES = 31


def county_names(n: int) -> list[str]:
    """``n`` distinct county/city names such as 青山县, 安华市, 西城区."""
    names, suffixes = [], ("县", "市", "区")
    for a in CHARS:
        for b in CHARS:
            if a != b:
                for s in suffixes:
                    names.append(f"{a}{b}{s}")
    random.Random(1).shuffle(names)
    if len(names) < n:
        raise SystemExit(f"cannot name {n} counties")
    return names[:n]


def config_text(db: Path) -> str:
    lines = [f"storage:\n  path: {db}\n", "sources:\n"]
    for p in range(PROVINCES):
        lines.append(
            f"  - {{id: p{p}, name: 省{p}, start_url: 'http://127.0.0.1:1/p{p}/', region: 省份{p}}}\n"
        )
    return "".join(lines)


def build(db: Path, reports: int) -> None:
    """Create the store, then bulk-insert sources, documents, versions, reports and runs."""
    if db.exists():
        db.unlink()
    Store(db).close()  # the schema
    per_county = 1 + 18  # the government and 18 departments
    counties = county_names(int(reports / (per_county * len(YEARS)) * 1.05) + 1)  # room for the missing
    rng = random.Random(2024)
    # A pool of generated reports (the simulator's generator), reused with each agency's name.
    pool = []
    for i in range(400):
        kind = "government" if i % 10 == 0 else "department"
        pool.append(generate_report(rng, Agency("某县某局", kind, "x"), 2024, date(2025, 1, 20)))
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    t = time.time()
    now = "2026-06-01T00:00:00+00:00"
    with conn:
        conn.executemany(
            "INSERT INTO sources (id, name, start_url, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            [(f"p{p}", f"省{p}", f"http://127.0.0.1:1/p{p}/", now, now) for p in range(PROVINCES)],
        )
        conn.executemany(
            "INSERT INTO crawl_runs (source_id, started_at, finished_at, status) VALUES (?, ?, ?, 'finished')",
            [(f"p{p}", now, now) for p in range(PROVINCES)],
        )
        conn.execute("INSERT INTO blobs (sha256, size, compression, data) VALUES ('0' , 0, 'none', x'')")
        docs, versions, rows = [], [], []
        n = 0
        for c, county in enumerate(counties):
            source = f"p{c % PROVINCES}"
            agencies = [Agency(f"{county}人民政府", "government", "zf")]
            agencies += [Agency(f"{county}{name}", "department", code) for name, code in DEPARTMENTS[:18]]
            for ag in agencies:
                for year in YEARS:
                    if n >= reports:
                        break
                    if rng.random() < 0.02 and year > YEARS[0]:
                        continue  # missing
                    n += 1
                    due = deadline_for(ag.kind, year)
                    late = rng.random() < 0.03
                    pub = (
                        due + timedelta(days=rng.randint(1, 60))
                        if late
                        else due - timedelta(days=rng.randint(0, 40))
                    )
                    data = dict(rng.choice(pool))
                    data.update(agency=ag.name, year=year, kind=ag.kind, published_at=pub.isoformat())
                    url = f"http://www.{source}.gov.cn/{c}/{ag.code}/{year}/t{pub:%Y%m%d}_{n}.html"
                    docs.append((n, source, url, "page", pub.isoformat(), "meta", now, now))
                    versions.append((n, n, "0", now, 200, "text/html", 0))
                    rows.append(
                        (
                            n,
                            n,
                            n,
                            source,
                            "bench",
                            ag.name,
                            year,
                            ag.kind,
                            "2021",
                            pub.isoformat(),
                            "meta",
                            0,
                            json.dumps(data, ensure_ascii=False),
                            now,
                        )
                    )
        conn.executemany(
            "INSERT INTO documents (id, source_id, url, kind, published_at, date_source, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            docs,
        )
        conn.executemany(
            "INSERT INTO versions (id, document_id, sha256, fetched_at, http_status, content_type, size) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            versions,
        )
        conn.executemany(
            "INSERT INTO reports (id, version_id, document_id, source_id, parser_version, agency, year, kind, "
            "template, published_at, date_source, issues, data_json, parsed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    conn.close()
    used = len({r[5] for r in rows})
    print(f"built {db}: {len(rows)} reports of {used} agencies, in {time.time() - t:.1f} s")


def add_reports(db: Path, n: int) -> None:
    """``n`` new documents, each a copy of a report on 2025 published on 2026-01-31, parsed."""
    conn = sqlite3.connect(db)
    with conn:
        top = conn.execute("SELECT MAX(id) FROM documents").fetchone()[0]
        rows = conn.execute(
            "SELECT r.source_id, d.url, r.agency, r.year, r.kind, r.template, r.data_json FROM reports r "
            "JOIN documents d ON d.id = r.document_id WHERE r.year = 2025 ORDER BY r.id % 997, r.id LIMIT ?",
            [n],
        ).fetchall()
        now = "2026-02-01T00:00:00+00:00"
        for i, (source, url, agency, year, kind, template, data) in enumerate(rows, top + 1):
            conn.execute(
                "INSERT INTO documents (id, source_id, url, kind, published_at, date_source, first_seen, last_seen) "
                "VALUES (?, ?, ?, 'page', '2026-01-31', 'meta', ?, ?)",
                [i, source, f"{url or 'http://x/'}?copy={i}", now, now],
            )
            conn.execute(
                "INSERT INTO versions (id, document_id, sha256, fetched_at, http_status, content_type, size) "
                "VALUES (?, ?, '0', ?, 200, 'text/html', 0)",
                [i, i, now],
            )
            conn.execute(
                "INSERT INTO reports (version_id, document_id, source_id, parser_version, agency, year, kind, "
                "template, published_at, date_source, issues, data_json, parsed_at) "
                "VALUES (?, ?, ?, 'bench', ?, ?, ?, ?, '2026-01-31', 'meta', 0, ?, ?)",
                [i, i, source, agency, year, kind, template, data, now],
            )
    conn.close()


def measure(what: str, db: Path) -> None:
    """Run one measurement (in this fresh process) and print seconds and peak RSS."""
    from config import parse_config
    from monitor.catalogue import load_catalogue
    from monitor.refresh import refresh_statuses
    from monitor.status import compute_status, status_from
    from outputs.digest import build_digest, write_digest

    cfg_path = db.with_suffix(".yaml")
    if not cfg_path.exists():
        cfg_path = db.with_name("monitor.yaml")
    config = parse_config(cfg_path.read_text(encoding="utf-8"), cfg_path)
    store = Store(db)
    year = YEARS[-1]
    t, cpu = time.perf_counter(), time.process_time()
    if what in ("status", "all"):
        years = [year] if what == "status" else None
        rows = status_from(load_catalogue(store, config), config, store, AS_OF, years=years)
        detail = f"{len(rows)} rows"
    elif what in ("full", "incremental"):
        done = refresh_statuses(store, config, BEFORE if what == "full" else AFTER, full=what == "full")
        detail = ", ".join(f"{k} {v}" for k, v in done.items() if k != "seconds")
    elif what == "read":
        rows = compute_status(store, config, AFTER, years=[year])
        mid = time.perf_counter() - t
        region = compute_status(store, config, AFTER, region="省份7")
        detail = f"{len(rows)} rows of {year} in {mid:.2f} s, {len(region)} rows of region 省份7 in {time.perf_counter() - t - mid:.2f} s"
    else:
        digest = build_digest(store, config, year, as_of=AS_OF)
        built = time.perf_counter() - t
        out = db.with_name(f"digest-{year}.xlsx")
        write_digest(digest, "xlsx", out)
        detail = f"{len(digest.yoy)} agencies, build {built:.1f} s + xlsx {time.perf_counter() - t - built:.1f} s, {out.stat().st_size / 1e6:.1f} MB"
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(
        f"{what:11s} {elapsed:6.1f} s wall  {cpu:6.1f} s cpu  peak RSS {peak:5.0f} MB  load {load:.1f}  ({detail})",
        flush=True,
    )


def refresh(db: Path) -> None:
    """The materialised statuses on a copy of ``db``: a full refresh, ~100 new reports and a
    deadline, an incremental refresh, reads."""
    copy = db.with_name("refresh.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(db, copy)
    run = [sys.executable, __file__, "--db", str(copy), "--measure"]
    subprocess.run([*run, "full"], check=True)
    add_reports(copy, NEW_REPORTS)
    print(f"            + {NEW_REPORTS} new reports, as_of {BEFORE} → {AFTER}", flush=True)
    subprocess.run([*run, "incremental"], check=True)
    subprocess.run([*run, "read"], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/nianbao-bench/monitor.db"))
    ap.add_argument("--reports", type=int, default=150_000)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument(
        "--only", choices=("status", "all", "digest", "refresh"), help="run only this measurement"
    )
    ap.add_argument(
        "--measure",
        choices=("status", "all", "digest", "full", "incremental", "read"),
        help=argparse.SUPPRESS,
    )
    args = ap.parse_args()
    if args.measure:
        measure(args.measure, args.db)
        return
    args.db.parent.mkdir(parents=True, exist_ok=True)
    if args.rebuild or not args.db.exists():
        build(args.db, args.reports)
        args.db.with_suffix(".yaml").write_text(config_text(args.db), encoding="utf-8")
    for what in ("status", "all", "digest", "refresh"):
        if args.only and what != args.only:
            continue
        if what == "refresh":
            refresh(args.db)
        else:
            subprocess.run([sys.executable, __file__, "--db", str(args.db), "--measure", what], check=True)


if __name__ == "__main__":
    main()
