"""Benchmark the dashboard on a national database: 150,000 reports a year over four years.

Builds (once, cached at ``--db``) a synthetic store through the real schema (``Store`` creates
it), rows inserted in bulk as the crawl would have left them after four years of daily crawls
and weekly revalidations of 3,300 county portals:

  documents  an article page per report, a file attached to 20% of them (a PDF-like blob of
             ~100 KB median, incompressible as real PDFs and DOCX are)
  versions   one per document; 8% of pages edited once after publication, 1% twice
  blobs      every version's bytes, content-addressed and zlib-compressed as ``storage.blobs``
             does: a page is the simulator's report HTML inside ~20 KB of portal chrome
  reports    one parse per page version (``data_json`` from the simulator's generator)
  events     modified (with the stored explanation), removed (0.5%)
  checks     one per version plus one per weekly revalidation since the document was found
  runs       one crawl run per source per day, with its stats

Regions: sources of provinces 0-15 share their province's name as region (a province-sized
region, ~110 sources); the others have one region per county (one source).

Then it starts ``nianbao serve`` on a loopback port over it (``--code DIR`` runs the server
from another checkout, e.g. main, to compare) and GETs each page ``--requests`` times in turn:
the status matrix of one county and of one province, an agency, a report, a version diff, the
changes and the health page; it prints p50/p95 per page, the build time and the database size
per table, in total and per 10,000 reports (rows apart from blobs).

Usage: .venv/bin/python bench/dbscale.py [--db PATH] [--per-year 150000] [--rebuild]
       [--requests 5] [--code DIR] [--no-size]
Target: every page under 1 s.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import zlib
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator.model import DEPARTMENTS, Agency, deadline_for, generate_report  # noqa: E402
from simulator.render import render_html_fragment  # noqa: E402
from storage.blobs import COMPRESSION_LEVEL  # noqa: E402
from storage.store import Store  # noqa: E402

YEARS = (2022, 2023, 2024, 2025)
AS_OF = date(2026, 6, 1)
CHARS = "青山河平安新东西南北阳明光华兴长宁昌德泰和永丰庆云江城海湖林石金水中武隆"
PROVINCES = 31
PROVINCE_REGIONS = 16  # provinces 0..15: one region per province; the rest: one per county
SOURCES = 3300
TOWNS = [
    "城关镇",
    "东关镇",
    "西关镇",
    "南关镇",
    "北关镇",
    "新城镇",
    "河口镇",
    "石桥镇",
    "白沙镇",
    "青山乡",
    "大坪乡",
    "和平乡",
    "太平镇",
]
PARSER = "bench"
CRAWL_START = date(2022, 1, 1)


def county_names(n: int) -> list[str]:
    """``n`` distinct county/city names such as 青山县, 安华市, 西城区."""
    names = [f"{a}{b}{s}" for a in CHARS for b in CHARS if a != b for s in ("县", "市", "区")]
    random.Random(1).shuffle(names)
    if len(names) < n:
        raise SystemExit(f"cannot name {n} counties")
    return names[:n]


def region_of(s: int, county: str) -> str:
    p = s % PROVINCES
    return f"省份{p}" if p < PROVINCE_REGIONS else f"省份{p}{county}"


def agencies_of(county: str, per_source: int) -> list[Agency]:
    out = [Agency(f"{county}人民政府", "government", "zf")]
    out += [Agency(f"{county}{name}", "department", code) for name, code in DEPARTMENTS]
    out += [Agency(f"{county}{town}", "township", f"t{i}") for i, town in enumerate(TOWNS)]
    return out[:per_source]


def config_text(db: Path, counties: list[str]) -> str:
    lines = [f"storage:\n  path: {db}\n", "sources:\n"]
    for s, county in enumerate(counties):
        lines.append(
            f"  - {{id: s{s}, name: {county}, start_url: 'http://127.0.0.1:1/s{s}/', "
            f"region: {region_of(s, county)}}}\n"
        )
    return "".join(lines)


def chrome(rng: random.Random, county: str) -> tuple[str, str]:
    """A portal's page chrome around the article: ~20 KB of navigation, links and footer."""
    words = [
        "政务公开",
        "政府信息",
        "通知公告",
        "政策解读",
        "部门动态",
        "乡镇动态",
        "办事服务",
        "互动交流",
        "专题专栏",
        "统计数据",
    ]
    nav = "".join(
        f'<li><a href="/col/col{rng.randint(1000, 99999)}/index.html" title="{rng.choice(words)}">'
        f"{rng.choice(words)}{rng.randint(1, 99)}</a></li>\n"
        for _ in range(180)
    )
    head = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{county}人民政府</title>'
        f'<link rel="stylesheet" href="/css/{rng.randint(10**8, 10**9)}.css"></head><body>'
        f'<div class="nav"><ul>{nav}</ul></div><div class="article">'
    )
    foot = (
        f'</div><div class="footer">主办：{county}人民政府办公室 ICP备{rng.randint(10**7, 10**8)}号 '
        f"网站标识码{rng.randint(10**9, 10**10)}</div>"
    )
    return head, foot


def pack(data: bytes) -> tuple[str, int, str, bytes]:
    """(sha256, size, compression, stored bytes), as ``storage.blobs.put_blob`` stores them."""
    packed = zlib.compress(data, COMPRESSION_LEVEL)
    if len(packed) >= len(data):
        return hashlib.sha256(data).hexdigest(), len(data), "none", data
    return hashlib.sha256(data).hexdigest(), len(data), "zlib", packed


def run_stats(rng: random.Random, full: bool) -> str:
    listed = rng.randint(40, 60)
    return json.dumps(
        {
            "pages": rng.randint(3, 80) if full else rng.randint(1, 4),
            "requests": rng.randint(3, 80),
            "documents": rng.randint(0, 3),
            "new_versions": rng.randint(0, 2),
            "unchanged": rng.randint(0, 60),
            "reports": rng.randint(0, 2),
            "copies": 0,
            "listed": listed,
            "backoffs": 0,
            "soft_404": 0,
            "challenges_passed": 0,
            "removed": 0,
            "errors": 0,
            "blocked": 0,
            "blocked_reasons": [],
            "refused": 0,
            "refused_reasons": {},
            "http_statuses": {"200": rng.randint(1, 60), "304": rng.randint(0, 40)},
            "finish_reason": "finished",
            "capped": 0,
            "walk_incomplete": None,
            "unstored": 0,
            "unstored_urls": [],
            "needs_browser": [],
            "elapsed_seconds": round(rng.uniform(2, 90), 3),
            "full_walk": full,
        }
    )


# Each source's rows take ids from its own block, so sources can be generated in parallel.
ID_BLOCK = 4000


class Builder:
    """Generates the rows of one source (in a worker process); ``insert`` stores them."""

    def __init__(self, per_source: int, attach_share: float):
        self.per_source = per_source
        self.attach_share = attach_share
        pool_rng = random.Random(2024)
        self.pool = []
        for i in range(200):
            kind = "government" if i % 10 == 0 else "department"
            data = generate_report(pool_rng, Agency("某县某局", kind, "x"), 2024, date(2025, 1, 20))
            self.pool.append((data, render_html_fragment(data)))
        self.stats = [run_stats(pool_rng, i % 2 == 0) for i in range(64)]

    def next_id(self, name: str) -> int:
        self.ids[name] += 1
        if self.ids[name] % ID_BLOCK == 0:
            raise RuntimeError(f"more than {ID_BLOCK} {name} rows in one source")
        return self.ids[name]

    def source(self, job: tuple[int, str]) -> dict[str, list]:
        s, county = job
        rng = random.Random(s)
        self.ids = dict.fromkeys(("doc", "ver", "rep", "run"), s * ID_BLOCK)
        sid = f"s{s}"
        now = f"{AS_OF}T00:00:00+00:00"
        sources = [(sid, county, f"http://127.0.0.1:1/{sid}/", "{}", now, now)]
        head, foot = chrome(rng, county)
        # One crawl run a day (a full walk every seventh), the run ids reused by the rows below.
        runs = []
        day, run_of_day = CRAWL_START, {}
        while day < AS_OF:
            rid = self.next_id("run")
            run_of_day[day] = rid
            started = f"{day}T02:{rng.randint(0, 59):02d}:00+00:00"
            full = day.weekday() == 6  # Sundays: the weekly full walk
            stats = self.stats[rng.randrange(32) * 2 + (not full)]
            runs.append((rid, sid, started, started, "finished", rng.randint(1, 80), stats))
            day += timedelta(days=1)
        docs, versions, blobs, reports, events, checks = [], [], [], [], [], []
        for ag in agencies_of(county, self.per_source):
            for year in YEARS:
                if rng.random() < 0.02 and year > YEARS[0]:
                    continue  # missing
                due = deadline_for(ag.kind, year)
                late = rng.random() < 0.03
                pub = (
                    due + timedelta(days=rng.randint(1, 60))
                    if late
                    else due - timedelta(days=rng.randint(0, 40))
                )
                if pub >= AS_OF:
                    continue
                data, fragment = rng.choice(self.pool)
                data = dict(data, agency=ag.name, year=year, kind=ag.kind, published_at=pub.isoformat())
                doc = self.next_id("doc")
                url = f"http://www.{sid}.gov.cn/{ag.code}/{year}/t{pub:%Y%m%d}_{doc}.html"
                seen = pub + timedelta(days=rng.randint(0, 2))
                gone = rng.random() < 0.005
                # The page, its versions (an edit after publication now and then) and their parses.
                edits = 2 if rng.random() < 0.01 else (1 if rng.random() < 0.08 else 0)
                fetched = [seen] + sorted(
                    seen + timedelta(days=rng.randint(1, max(1, (AS_OF - seen).days - 1)))
                    for _ in range(edits)
                )
                previous = None
                for n, when in enumerate(fetched):
                    body = (
                        f"{head}<h1>{ag.name}{year}年政府信息公开工作年度报告</h1>"
                        + fragment.replace("某县某局", ag.name)
                        + f"<p>浏览次数：{rng.randint(1, 9999)} 版本{n}</p>{foot}"
                    ).encode()
                    digest, size, compression, stored = pack(body)
                    blobs.append((digest, size, compression, stored))
                    vid = self.next_id("ver")
                    run = run_of_day.get(when)
                    at = f"{when}T02:30:00+00:00"
                    versions.append(
                        (
                            vid,
                            doc,
                            digest,
                            at,
                            200,
                            "text/html; charset=utf-8",
                            size,
                            run,
                            f"page:{digest[:32]}",
                        )
                    )
                    checks.append((doc, vid, run, at, 200, "new_version"))
                    rdata = dict(data)
                    if n:
                        rdata["sections"] = dict(rdata.get("sections") or {}, edit=f"更正{n}")
                    reports.append(
                        (
                            self.next_id("rep"),
                            vid,
                            doc,
                            sid,
                            PARSER,
                            ag.name,
                            year,
                            ag.kind,
                            "2021",
                            pub.isoformat(),
                            "meta",
                            0,
                            json.dumps(rdata, ensure_ascii=False),
                            at,
                        )
                    )
                    if previous is not None:
                        detail = {
                            "text_diff": [
                                "--- before",
                                "+++ after",
                                "@@ -1,2 +1,2 @@",
                                f"-版本{n - 1}",
                                f"+版本{n}",
                            ],
                            "text_diff_truncated": False,
                            "numbers": [
                                {
                                    "key": "t2.new.total",
                                    "label": "表二 一、本年新收政府信息公开申请数量 · 总计",
                                    "field": "new_requests",
                                    "before": 10 + n,
                                    "after": 11 + n,
                                }
                            ],
                        }
                        events.append(
                            (doc, vid, previous, "modified", at, json.dumps(detail, ensure_ascii=False))
                        )
                    previous = vid
                docs.append(
                    (
                        doc,
                        sid,
                        url,
                        "page",
                        None,
                        f"{ag.name}{year}年政府信息公开工作年度报告",
                        "年度报告",
                        pub.isoformat(),
                        "meta",
                        f"{seen}T02:30:00+00:00",
                        f"{AS_OF}T02:30:00+00:00",
                        f"{AS_OF}T02:30:00+00:00" if gone else None,
                    )
                )
                if gone:
                    at = f"{AS_OF - timedelta(days=rng.randint(1, 300))}T02:30:00+00:00"
                    events.append((doc, None, previous, "removed", at, json.dumps({"reason": "404"})))
                self.revalidations(checks, doc, previous, seen, run_of_day)
                if rng.random() < self.attach_share:
                    att = self.next_id("doc")
                    size = int(min(2_000_000, max(8_000, rng.lognormvariate(11.5, 0.8))))  # median ~100 KB
                    body = b"%PDF-1.7\n" + os.urandom(size)
                    # Random bytes, as a PDF's compressed streams are: zlib gains nothing, so
                    # storage.blobs.put_blob keeps them as they are ("none"), as here.
                    blobs.append((hashlib.sha256(body).hexdigest(), len(body), "none", body))
                    vid = self.next_id("ver")
                    at = f"{seen}T02:31:00+00:00"
                    versions.append(
                        (vid, att, digest, at, 200, "application/pdf", size, run_of_day.get(seen), digest)
                    )
                    checks.append((att, vid, run_of_day.get(seen), at, 200, "new_version"))
                    docs.append(
                        (
                            att,
                            sid,
                            url.replace(".html", ".pdf"),
                            "attachment",
                            doc,
                            None,
                            None,
                            pub.isoformat(),
                            "list",
                            at,
                            f"{AS_OF}T02:30:00+00:00",
                            None,
                        )
                    )
                    self.revalidations(checks, att, vid, seen, run_of_day)
        return {
            "sources": sources,
            "crawl_runs": runs,
            "documents": docs,
            "blobs": blobs,
            "versions": versions,
            "reports": reports,
            "events": events,
            "checks": checks,
        }

    @staticmethod
    def revalidations(checks: list, doc: int, version: int | None, seen: date, run_of_day: dict) -> None:
        """A check per weekly full walk (Sundays) since the document was first seen."""
        day = seen + timedelta(days=(6 - seen.weekday()) % 7 or 7)
        while day < AS_OF:
            checks.append((doc, version, run_of_day.get(day), f"{day}T02:40:00+00:00", 304, "not_modified"))
            day += timedelta(days=7)


INSERTS = {
    "sources": "INSERT INTO sources (id, name, start_url, config_json, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    "crawl_runs": "INSERT INTO crawl_runs (id, source_id, started_at, finished_at, status, pages, stats_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "documents": "INSERT INTO documents (id, source_id, url, kind, parent_id, title, column_name, published_at, "
    "date_source, first_seen, last_seen, gone_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "blobs": "INSERT OR IGNORE INTO blobs (sha256, size, compression, data) VALUES (?, ?, ?, ?)",
    "versions": "INSERT INTO versions (id, document_id, sha256, fetched_at, http_status, content_type, size, "
    "run_id, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "reports": "INSERT INTO reports (id, version_id, document_id, source_id, parser_version, agency, year, kind, "
    "template, published_at, date_source, issues, data_json, parsed_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "events": "INSERT INTO events (document_id, version_id, previous_version_id, kind, at, detail_json) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    "checks": "INSERT INTO checks (document_id, version_id, run_id, checked_at, http_status, outcome) "
    "VALUES (?, ?, ?, ?, ?, ?)",
}
_builder: Builder | None = None


def _init_worker(builder: Builder) -> None:
    global _builder
    _builder = builder


def _source_rows(job: tuple[int, str]) -> dict[str, list]:
    return _builder.source(job)


def build(db: Path, per_year: int, attach_share: float, sources: int = SOURCES, workers: int = 2) -> dict:
    """Create the store through ``Store`` (the real schema), then fill it in bulk."""
    for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        p.unlink(missing_ok=True)
    Store(db).close()
    start = time.perf_counter()
    per_source = max(1, round(per_year / sources))
    counties = county_names(sources)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    builder = Builder(per_source, attach_share)
    counts = dict.fromkeys(INSERTS, 0)
    counts["published"] = 0  # reports published: one article page each (a parse per version)
    with multiprocessing.Pool(workers, initializer=_init_worker, initargs=(builder,)) as pool:
        for s, rows in enumerate(pool.imap(_source_rows, enumerate(counties), chunksize=4)):
            if s % 50 == 0:
                conn.execute("BEGIN")
            for table, sql in INSERTS.items():
                conn.executemany(sql, rows[table])
                counts[table] += len(rows[table])
            counts["published"] += sum(1 for d in rows["documents"] if d[3] == "page")
            if s % 50 == 49 or s == len(counties) - 1:
                conn.execute("COMMIT")
                print(
                    f"  {s + 1}/{len(counties)} sources, {counts['published']} reports, "
                    f"{time.perf_counter() - start:.0f} s",
                    flush=True,
                )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    db.with_suffix(".yaml").write_text(config_text(db, counties), encoding="utf-8")
    info = dict(counts, build_seconds=round(time.perf_counter() - start, 1))
    db.with_suffix(".json").write_text(json.dumps(info), encoding="utf-8")
    return info


def sizes(db: Path, reports: int) -> None:
    """The file's size, and the bytes of each table and index (``dbstat``), total and per 10,000 reports."""
    total = sum(
        p.stat().st_size for p in db.parent.glob(db.name + "*") if p.name in (db.name, db.name + "-wal")
    )
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT s.name, m.type, m.tbl_name, SUM(s.pgsize) FROM dbstat s JOIN sqlite_master m ON m.name = s.name "
        "GROUP BY s.name ORDER BY 4 DESC"
    ).fetchall()
    conn.close()
    per = 10_000 / reports
    blob_bytes = sum(b for _n, _t, tbl, b in rows if tbl == "blobs")
    print(
        f"database {total / 1e9:.2f} GB for {reports} reports: {total * per / 1e6:.0f} MB per 10,000 reports "
        f"(blobs {blob_bytes * per / 1e6:.0f} MB, rows and indexes {(total - blob_bytes) * per / 1e6:.0f} MB)"
    )
    for name, kind, table, b in rows:
        what = name if kind == "table" else f"{name} (index on {table})"
        print(f"  {what:55s} {b / 1e6:9.0f} MB  {b * per / 1e6:7.1f} MB / 10k reports")


# -- the pages ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, timeout: float) -> tuple[float, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    start = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read().decode("utf-8", "replace")
    elapsed = time.perf_counter() - start
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"{path}: HTTP {resp.status}")
    return elapsed, body


def targets(db: Path) -> dict[str, str]:
    """The pages to time, chosen in the database: a county, a province, an agency with a report
    edited after publication, that report, its diff."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    doc, vid = conn.execute(
        "SELECT document_id, version_id FROM events WHERE kind = 'modified' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    rid, agency, source = conn.execute(
        "SELECT id, agency, source_id FROM reports WHERE version_id = ?", [vid]
    ).fetchone()
    county_source = conn.execute(
        f"SELECT id, name FROM sources WHERE CAST(substr(id, 2) AS INTEGER) % {PROVINCES} = {PROVINCES - 1} LIMIT 1"
    ).fetchone()
    conn.close()
    county = region_of(int(county_source[0][1:]), county_source[1])
    return {
        "matrix (county)": "/?region=" + quote(county),
        "matrix (province)": "/?region=" + quote("省份0"),
        "agency": "/agency?name=" + quote(agency),
        "report": f"/report/{rid}",
        "diff": f"/document/{doc}/diff",
        "changes": "/changes",
        "health": "/health",
    }


def serve_and_time(db: Path, code: Path, requests: int, timeout: float, only: list[str]) -> None:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(code))
    cmd = [
        sys.executable,
        "-m",
        "nianbao",
        "serve",
        "--config",
        str(db.with_suffix(".yaml")),
        "--port",
        str(port),
    ]
    server = subprocess.Popen(
        cmd, cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = server.stdout.readline()
        if "nianbao dashboard:" not in line:
            raise SystemExit(f"server did not start: {line}{server.stderr.read()}")
        print(f"server from {code}; {requests} requests per page, one at a time (the first is counted)")
        for name, path in targets(db).items():
            if only and name.split()[0] not in only:
                continue
            times = []
            for _ in range(requests):
                try:
                    elapsed, _body = get(port, path, timeout)
                except TimeoutError:
                    print(
                        f"  {name:18s} no answer within {timeout:.0f} s; not asked again  {path[:60]}",
                        flush=True,
                    )
                    break
                times.append(elapsed)
            if not times:
                continue
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(
                f"  {name:18s} p50 {statistics.median(times) * 1000:8.0f} ms  p95 {p95 * 1000:8.0f} ms  "
                f"max {times[-1] * 1000:8.0f} ms  {path[:60]}",
                flush=True,
            )
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, default=Path("/tmp/nianbao-bench/national.db"))
    ap.add_argument("--per-year", type=int, default=150_000, help="reports a year")
    ap.add_argument("--sources", type=int, default=SOURCES, help="county portals")
    ap.add_argument("--attachments", type=float, default=0.2, help="share of reports with a file attached")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--requests", type=int, default=5)
    ap.add_argument("--code", type=Path, default=ROOT, help="checkout to run the server from")
    ap.add_argument("--no-size", action="store_true", help="skip the size per table (reads the whole file)")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for one page")
    ap.add_argument("--pages", default="", help="only these pages, comma-separated: matrix,agency,report,…")
    args = ap.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    if args.rebuild or not args.db.with_suffix(".json").exists():
        print(f"building {args.db} …", flush=True)
        build(args.db, args.per_year, args.attachments, args.sources)
    info = json.loads(args.db.with_suffix(".json").read_text(encoding="utf-8"))
    print(
        "built in {build_seconds} s: {published} reports published ({reports} parses), {documents} documents, "
        "{versions} versions, {events} events, {checks} checks, {crawl_runs} runs".format(**info)
    )
    if not args.no_size:
        sizes(args.db, info["published"])
    if not args.build_only:
        only = [p for p in args.pages.split(",") if p]
        serve_and_time(args.db, args.code.resolve(), args.requests, args.timeout, only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
