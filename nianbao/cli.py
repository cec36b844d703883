"""The ``nianbao`` command: one subcommand per step of fetch → store → parse → monitor → alert.

Each subcommand reads what the previous step stored and can be re-run alone.  Heavy modules are
imported inside the commands so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from config import Config, ConfigError, load_config
from storage.store import StorageError

DEFAULT_CONFIG = "config.yaml"


class UsageError(Exception):
    """Bad command-line input; the message names it."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None


def _config(args: argparse.Namespace) -> Config:
    return load_config(getattr(args, "config", None) or DEFAULT_CONFIG)


def _store(config: Config):
    from storage import Store

    return Store(config.storage_path)


# -- commands -----------------------------------------------------------------------------------


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.runner import run_crawl

    config = _config(args)
    results = run_crawl(
        config,
        args.source or None,
        revalidate=args.revalidate,
        log_level="INFO" if args.verbose else "WARNING",
        quiet=args.quiet,
    )
    print(
        f"{'source':<20} {'status':<9} {'requests':>8} {'pages':>6} {'documents':>9} {'new':>5} {'errors':>6}"
    )
    for r in results:
        s = r.stats
        print(
            f"{r.source_id:<20} {r.status:<9} {s['requests']:>8} {s['pages']:>6} {s['documents']:>9} "
            f"{s['new_versions']:>5} {s['errors']:>6}" + (f"  ({r.reason})" if r.reason else "")
        )
    return 0 if all(r.status == "finished" for r in results) else 2


def cmd_parse(args: argparse.Namespace) -> int:
    if args.stored:
        if args.paths:
            raise UsageError("give either PATH... or --stored, not both")
        from reports.stored import parse_stored

        config = _config(args)
        with _store(config) as store:
            stats = parse_stored(store, config, args.source)
        print(
            f"parsed {stats.parsed} versions: {stats.reports} reports, "
            f"{stats.not_reports} not reports, {stats.errors} parser errors"
        )
        return 0
    if not args.paths:
        raise UsageError("give the files to parse (PATH...), or --stored to parse what crawls stored")
    from reports import Isolated, ParseError, ParserFailure, format_table

    limits = _parse_limits(args)
    failed = False
    with Isolated(limits) as parser:  # a child process: time and memory bounded per file
        for path in args.paths:
            try:
                report = parser.parse_file(path)
            except (ParseError, ParserFailure) as exc:
                failed = True
                if args.format == "json":
                    print(json.dumps({"path": path, "error": str(exc)}, ensure_ascii=False), flush=True)
                else:
                    print(f"== {path}\nerror: {exc}\n", flush=True)
                continue
            if args.format == "json":
                print(json.dumps({"path": path, **report}, ensure_ascii=False), flush=True)
            else:
                print(f"== {path}\n{format_table(report)}\n", flush=True)
    return 1 if failed else 0


def _parse_limits(args: argparse.Namespace):
    """The parser's bounds: the config's ``parse:`` section (when there is a config), then flags."""
    import dataclasses

    from reports import Limits

    explicit = getattr(args, "config", None)
    limits = Limits()
    if explicit or Path(DEFAULT_CONFIG).exists():
        limits = Limits.from_config(_config(args).section("parse"))
    if args.max_mb is not None:
        limits = dataclasses.replace(limits, max_bytes=int(args.max_mb * 2**20))
    if args.timeout is not None:
        limits = dataclasses.replace(limits, seconds=args.timeout)
    return limits


def cmd_monitor(args: argparse.Namespace) -> int:
    from monitor.status import compute_status, format_table

    config = _config(args)
    as_of = args.as_of or date.today()
    with _store(config) as store:
        rows = compute_status(store, config, as_of, args.year or None)
        if args.format == "json":
            print(json.dumps(rows, ensure_ascii=False, indent=1))
        else:
            print(format_table(rows))
        if args.alert:
            from outputs.alerts import run_alerts

            summary = run_alerts(store, config, as_of)
            print(f"alerts: {json.dumps(summary, ensure_ascii=False)}", file=sys.stderr)
            if summary["failed"]:
                print(
                    f"alerts: {summary['failed']} could not be sent; they stay pending for the next run",
                    file=sys.stderr,
                )
                return 1
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from outputs.digest import build_digest, write_digest

    config = _config(args)
    out = Path(args.output or f"nianbao-digest-{args.year}.{args.format}")
    with _store(config) as store:
        digest = build_digest(store, config, args.year, region=args.region)
    write_digest(digest, args.format, out)
    print(f"wrote {out}")
    return 0


def cmd_changes(args: argparse.Namespace) -> int:
    from monitor.changes import format_changes, list_changes

    config = _config(args)
    with _store(config) as store:
        changes = list_changes(store, since=args.since.isoformat() if args.since else None)
    if args.format == "json":
        print(json.dumps(changes, ensure_ascii=False, indent=1))
    else:
        print(format_changes(changes))
    return 0


def cmd_health(args: argparse.Namespace) -> int:
    config = _config(args)
    with _store(config) as store:
        history = store.run_history(per_source=1)  # a dead crawl's 'running' run shows interrupted
        rows = []
        for source in config.sources:
            last = (history.get(source["id"]) or [{}])[0]
            rows.append(
                {
                    "source": source["id"],
                    "name": source["name"],
                    "last_run": last.get("started_at"),
                    "status": last.get("status", "never crawled"),
                    "documents": last.get("documents"),
                    "reports": last.get("reports"),
                    "errors": last.get("errors"),
                    "blocked": last.get("blocked"),
                    "reason": last.get("reason"),
                    "health": last.get("stats", {}).get("health"),
                }
            )
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            print(
                f"{r['source']:<20} {r['status']:<14} last run {r['last_run'] or '-':<26} "
                f"documents {r['documents'] or 0:>5}  reports {r['reports'] or 0:>5}  errors {r['errors'] or 0:>4}"
                + (f"  ({r['reason']})" if r["reason"] else "")
                + (f"  warning: {r['health']}" if r["health"] else "")
            )
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from nianbao.schedule import run

    config = _config(args)
    _store(config).close()  # a database it cannot use is one clear error now, not in every job
    return run(config, list_only=args.list, every=args.every)


def cmd_serve(args: argparse.Namespace) -> int:
    from outputs.web import ServeError, serve

    config = _config(args)
    _store(config).close()  # a database it cannot use is one clear error now, not a 503 per page
    try:
        serve(config, host=args.host, port=args.port, token=args.token)
    except ServeError as exc:
        raise UsageError(str(exc)) from None
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from nianbao.demo import run_demo

    return run_demo(Path(args.out), seed=args.seed, as_of=args.as_of, serve=args.serve, port=args.port)


# -- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help=f"the configuration file (default: ./{DEFAULT_CONFIG})",
    )
    parser = argparse.ArgumentParser(
        prog="nianbao",
        description="Watch government portals for 政府信息公开工作年度报告: crawl, store, parse, monitor.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(func=func)
        return p

    p = add("crawl", cmd_crawl, "Crawl the configured portals and store every document version.")
    p.add_argument("--source", action="append", metavar="ID", help="crawl only this source (repeatable)")
    p.add_argument(
        "--revalidate",
        action="store_true",
        help="walk every list page and re-check known documents (conditional GET) to find edits and removals",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's log")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")

    p = add(
        "parse",
        cmd_parse,
        "Parse report files (JSON Lines on stdout), or every stored version with --stored.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="report files: HTML, PDF, DOCX, DOC, WPS, text")
    p.add_argument(
        "--format", choices=("json", "table"), default="json", help="output format (default: json)"
    )
    p.add_argument("--stored", action="store_true", help="parse the stored versions not parsed yet")
    p.add_argument("--source", metavar="ID", help="with --stored: only this source")
    p.add_argument(
        "--max-mb", type=float, help="refuse files larger than this (default: parse.max_file_mb, 50)"
    )
    p.add_argument(
        "--timeout", type=float, metavar="S", help="seconds per file at most (default: parse.timeout, 300)"
    )

    p = add("monitor", cmd_monitor, "Status of every expected report as of a date; optionally send alerts.")
    p.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD", help="the date to judge by (default: today)")
    p.add_argument("--year", type=int, action="append", help="only this report year (repeatable)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--alert", action="store_true", help="send the alerts configured under alerts:")

    p = add("digest", cmd_digest, "Write the year-on-year digest of one report year.")
    p.add_argument("--year", type=int, required=True, help="the report year")
    p.add_argument("--region", help="only sources of this region")
    p.add_argument("--format", choices=("xlsx", "csv", "html", "md", "json", "docx"), default="xlsx")
    p.add_argument(
        "-o", "--output", metavar="PATH", help="where to write (default: nianbao-digest-YEAR.FORMAT)"
    )

    p = add("changes", cmd_changes, "List changes to published reports (modified, removed, restored).")
    p.add_argument("--since", type=_date, metavar="YYYY-MM-DD")
    p.add_argument("--format", choices=("table", "json"), default="table")

    p = add("health", cmd_health, "Crawl health: the last run of every source.")
    p.add_argument("--format", choices=("table", "json"), default="table")

    p = add("schedule", cmd_schedule, "Run crawls, parsing, the monitor and alerts on a schedule.")
    p.add_argument("--list", action="store_true", help="show each job and its next run, then exit")
    p.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="run every source's chain this often instead (for trying it out)",
    )

    p = add("serve", cmd_serve, "Serve the web dashboard.")
    p.add_argument("--host", help="address to bind (default from config: 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default from config: 8080)")
    p.add_argument("--token", help="access token, required to bind a non-loopback address")

    p = add("demo", cmd_demo, "Run the whole product on a simulated region of portals.")
    p.add_argument(
        "--out", default="demo-out", help="where to write the database and digests (default: demo-out)"
    )
    p.add_argument("--seed", type=int, default=2024, help="the simulated region's seed")
    p.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD", help="the date to judge by (default: today)")
    p.add_argument("--serve", action="store_true", help="keep serving the dashboard until interrupted")
    p.add_argument("--port", type=int, default=0, help="dashboard port with --serve (default: a free one)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigError, UsageError, StorageError) as exc:
        print(f"nianbao {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `nianbao monitor | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
