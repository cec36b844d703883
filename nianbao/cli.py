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
from distributed import BrokerError
from monitor.glossary import DIGEST_FORMATS
from monitor.localtime import local_time, reader_zone
from storage.locks import LockHeld
from storage.store import StorageError

DEFAULT_CONFIG = "config.yaml"


class UsageError(Exception):
    """Bad command-line input; the message names it."""


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} 不是 YYYY-MM-DD 格式的日期") from None


def _config(args: argparse.Namespace) -> Config:
    return load_config(getattr(args, "config", None) or DEFAULT_CONFIG)


def _store(config: Config):
    from storage import Store

    return Store(config.storage_path)


# -- commands -----------------------------------------------------------------------------------


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.runner import run_crawl, select_sources

    config = _config(args)
    sources = select_sources(config, args.source or None)
    if args.distributed:
        from distributed.coordinator import crawl_batches

        results = crawl_batches(config, [[s["id"] for s in sources]], revalidate=args.revalidate)
    else:
        size = int(config.section("crawl")["batch_size"])
        if len(sources) > size:
            return _crawl_batches(config, [s["id"] for s in sources], size, args)
        results = run_crawl(
            config,
            args.source or None,
            revalidate=args.revalidate,
            log_level="INFO" if args.verbose else "WARNING",
            quiet=args.quiet,
        )
    print(f"{'来源':<18} {'状态':<7} {'请求':>6} {'列表页':>5} {'文档':>6} {'新版本':>4} {'错误':>5}")
    for r in results:
        s = r.stats
        if r.status == "not_started":
            print(f"{r.source_id:<20} 未开始     （{r.reason}）")
            continue
        print(
            f"{r.source_id:<20} {r.status:<9} {s['requests']:>8} {s['pages']:>8} {s['documents']:>8} "
            f"{s['new_versions']:>7} {s['errors']:>7}" + (f"  （{r.reason}）" if r.reason else "")
        )
    return 0 if all(r.status == "finished" for r in results) else 2


def _crawl_batches(config: Config, source_ids: list[str], size: int, args: argparse.Namespace) -> int:
    """More sources than one batch: each batch in its own child process, one after another."""
    import subprocess

    from nianbao.batches import child_env, crawl_command, split

    batches = split(source_ids, size)
    worst = 0
    for n, batch in enumerate(batches, 1):
        print(f"第 {n}/{len(batches)} 批：{len(batch)} 个来源（{batch[0]} … {batch[-1]}）", flush=True)
        cmd = crawl_command(config.path, batch, revalidate=args.revalidate, quiet=args.quiet)
        if args.verbose:
            cmd.append("--verbose")
        rc = subprocess.run(cmd, env=child_env()).returncode
        if rc not in (0, 2):  # 2: some source did not finish; anything else: the batch broke
            print(f"第 {n} 批的抓取进程异常退出（{rc}）", file=sys.stderr)
        worst = max(worst, 2 if rc else 0)
    return worst


def cmd_parse(args: argparse.Namespace) -> int:
    if args.stored:
        if args.paths:
            raise UsageError("PATH… 与 --stored 只能二选一")
        from reports.stored import parse_stored

        config = _config(args)
        with _store(config) as store:
            stats = parse_stored(store, config, args.source)
        print(_parsed(stats))
        return 0
    if not args.paths:
        raise UsageError("请给出要解析的文件（PATH…），或用 --stored 解析已抓取保存的版本")
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
                    print(f"== {path}\n错误：{exc}\n", flush=True)
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
        _parse_first(store, config, parse=not args.no_parse)
        if args.full:
            from monitor.refresh import refresh_statuses

            done = refresh_statuses(store, config, as_of, full=True)
            print(f"状态已完整重算：{done['rows']} 行，用时 {done['seconds']:.1f} 秒", file=sys.stderr)
        rows = compute_status(store, config, as_of, args.year or None)
        if args.format == "json":
            print(json.dumps(rows, ensure_ascii=False, indent=1))
        else:
            print(format_table(rows))
        if args.alert:
            from outputs.alerts import run_alerts

            summary = run_alerts(store, config, as_of)
            print(f"提醒 alerts: {json.dumps(summary, ensure_ascii=False)}", file=sys.stderr)
            if summary["failed"]:
                print(
                    f"提醒：{summary['failed']} 条未能发送，留待下次运行再发",
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
    print(f"已写入 {out}")
    return 0


def cmd_changes(args: argparse.Namespace) -> int:
    from monitor.changes import format_changes, list_changes

    config = _config(args)
    with _store(config) as store:
        changes = list_changes(store, since=args.since.isoformat() if args.since else None)
    if args.format == "json":
        print(json.dumps(changes, ensure_ascii=False, indent=1))
    else:
        print(format_changes(changes, reader_zone(config)))
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
                    "worker": last.get("worker"),  # the crawl node, for runs crawled on one
                }
            )
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=1))
    else:
        tz = reader_zone(config)  # stored times are UTC; people read their own zone
        for r in rows:
            print(
                f"{r['source']:<20} {r['status']:<14} 最近一次 {local_time(r['last_run'], tz) if r['last_run'] else '-':<16} "
                f"文档 {r['documents'] or 0:>5}  报告 {r['reports'] or 0:>5}  错误 {r['errors'] or 0:>4}"
                + (f"  节点 {r['worker']}" if r["worker"] else "")
                + (f"  （{r['reason']}）" if r["reason"] else "")
                + (f"  警告：{r['health']}" if r["health"] else "")
            )
    return 0


def _parsed(stats) -> str:
    return (
        f"解析了 {stats.parsed} 个版本：{stats.reports} 份报告，"
        f"{stats.not_reports} 个不是报告，{stats.errors} 个解析出错"
    )


def _parse_first(store, config: Config, *, parse: bool) -> None:
    """Before judging, parse what crawls stored and no parser has read yet (``parse --stored``'s code).

    Without it a crawl followed by ``monitor`` judges on no reports at all.  Versions an older
    parser read are left to ``parse --stored`` (after an upgrade that re-reads everything, which
    can take long): monitor judges on their older parse and says so.  Nothing to parse costs one
    query: the parser's child process starts only for a first document.  With ``parse`` false,
    only say how many versions are unparsed.
    """
    from reports import PARSER_VERSION
    from reports.stored import parse_stored

    waiting = sum(1 for _ in store.versions_to_parse(None))
    older = sum(1 for _ in store.versions_to_parse(PARSER_VERSION)) - waiting
    if older:
        print(
            f"注意：{older} 个版本是旧版解析器解析的，结果按旧版解析；"
            "nianbao parse --stored 会用新版重新解析",
            file=sys.stderr,
        )
    if not waiting:
        return
    if not parse:
        print(
            f"注意：还有 {waiting} 个已抓取的版本尚未解析，下面的结果不含它们；"
            "请先运行 nianbao parse --stored（或去掉 --no-parse）",
            file=sys.stderr,
        )
        return
    print(f"先解析 {waiting} 个尚未解析的版本（同 nianbao parse --stored）……", file=sys.stderr, flush=True)
    print(_parsed(parse_stored(store, config, never_parsed=True)), file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from crawler.probe import describe, probe_sources

    path = getattr(args, "config", None) or DEFAULT_CONFIG
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(_config_problems(exc), file=sys.stderr)
        return 2
    sources = [config.source(sid) for sid in args.source] if args.source else config.sources
    # With --format json, stdout is the JSON alone: the narration goes to stderr.
    say = sys.stderr if args.format == "json" else sys.stdout
    print(f"配置文件 {config.path} 有效，共 {len(config.sources)} 个来源。", file=say)
    if args.no_fetch:
        for s in sources:
            state = "" if s.get("enabled", True) else "（已停用）"
            print(f"  {s['id']}  {s['name']}  {s['start_url']}{state}")
        return 0
    print(
        f"逐个访问 {len(sources)} 个来源的起始页（每个一次请求，另加 robots.txt）……\n", file=say, flush=True
    )
    findings = probe_sources(config, args.source or None)
    if args.format == "json":
        print(json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=1))
    else:
        for f in findings:
            print(describe(f) + "\n")
    bad = [f.source for f in findings if not f.ok]
    if bad:
        print(f"{len(findings)} 个来源中有 {len(bad)} 个有问题：{'、'.join(bad)}", file=sys.stderr)
        return 1
    print(f"全部 {len(findings)} 个来源正常。", file=say)
    return 0


def cmd_alert(args: argparse.Namespace) -> int:
    if not args.test:
        raise UsageError("目前只支持 --test（发送测试消息）；到期的提醒由 nianbao monitor --alert 发送")
    from outputs.alerts import AlertError, send_test

    config = _config(args)
    try:
        results = send_test(config, args.group)
    except AlertError as exc:
        raise UsageError(str(exc)) from None
    if not results:
        print("没有可测试的提醒渠道：alerts.groups 为空，或各组都没有 emails / apprise", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        for r in results:
            line = f"{'成功' if r['ok'] else '失败'}  {r['group']}  {r['channel']}  {r['target']}"
            print(line + (f"\n      错误：{r['error']}" if r["error"] else ""))
    failed = sum(1 for r in results if not r["ok"])
    if failed:
        print(f"{len(results)} 个渠道中 {failed} 个发送失败", file=sys.stderr)
        return 1
    print(f"全部 {len(results)} 个渠道发送成功（未写入提醒记录）")
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    from nianbao.schedule import run

    config = _config(args)
    _store(config).close()  # a database it cannot use is one clear error now, not in every job
    return run(config, list_only=args.list, every=args.every)


def cmd_worker(args: argparse.Namespace) -> int:
    import re
    import socket

    from distributed.app import make_app, settings
    from distributed.worker import describe, register

    config = _config(args)
    if args.list:
        workers = describe(config)
        if not workers:
            print("没有连接的抓取节点。")
        for w in workers:
            print(f"{w['worker']}  队列：{', '.join(w['queues']) or '—'}")
            for t in w["tasks"]:
                print(f"    任务 {t['id']}：{', '.join(t['sources']) or '—'}")
            if not w["tasks"]:
                print("    空闲")
        return 0
    queues = args.queue or [settings(config)["default_queue"]]
    for q in queues:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", q):
            raise UsageError(f"--queue {q!r}：队列名只能包含字母、数字、'-'、'_' 和 '.'")
    app = make_app(config)
    register(app, config)
    worker = app.Worker(
        queues=queues,
        pool="threads",
        concurrency=args.concurrency,
        hostname=args.name or f"nianbao@{socket.gethostname()}",
        loglevel="INFO" if args.verbose else "WARNING",
        without_gossip=True,
        without_mingle=True,
    )
    worker.start()
    return worker.exitcode or 0


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


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks and shows each option's default, in Chinese.

    argparse.ArgumentDefaultsHelpFormatter would print "(default: None)" for every flag; this one
    adds "（默认：…）" only where there is a real default the help does not already state.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "默认" not in text
            and "%(default)" not in text
            and default not in (None, False, argparse.SUPPRESS, [])
            and (action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE))
        ):
            text += "（默认：%(default)s）"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse with a Chinese lead-in on its errors (the detail stays argparse's)."""

    def error(self, message: str):  # noqa: ANN201 - argparse's signature (NoReturn)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 命令行参数有误：{message}\n")


def _chinese_titles(parser: argparse.ArgumentParser) -> None:
    parser._positionals.title = "位置参数"
    parser._optionals.title = "选项"


EXAMPLES = {
    "crawl": "nianbao crawl\n  nianbao crawl --source jinxiang --revalidate",
    "parse": "nianbao parse 报告.pdf 报告.docx --format table\n  nianbao parse --stored",
    "monitor": "nianbao monitor --as-of 2025-04-01\n  nianbao monitor --year 2024 --format json --alert",
    "digest": "nianbao digest --year 2024 --format xlsx -o 年报汇总-2024.xlsx\n"
    "  nianbao digest --year 2024 --region 山东省济宁市 --format docx",
    "changes": "nianbao changes --since 2025-01-01",
    "health": "nianbao health --format json",
    "check": "nianbao check\n  nianbao check --config /etc/nianbao/config.yaml --source jinxiang\n"
    "  nianbao check --no-fetch        # 只检查配置文件，不访问网站",
    "alert": "nianbao alert --test\n  nianbao alert --test 青山县政务公开办",
    "schedule": "nianbao schedule --list\n  nianbao schedule",
    "serve": "nianbao serve --port 8080\n  NIANBAO_TOKEN=… nianbao serve --host 0.0.0.0",
    "worker": "nianbao worker --queue gd\n  nianbao worker --list",
    "demo": "nianbao demo --out demo-out\n  nianbao demo --serve --port 8081",
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help=f"配置文件（默认：./{DEFAULT_CONFIG}）",
    )
    parser = _Parser(
        prog="nianbao",
        description="监测政府网站上的政府信息公开工作年度报告：抓取、保存、解析、监测、提醒。",
        epilog="例如：\n  nianbao check\n  nianbao crawl && nianbao monitor\n\n"
        "每个子命令的说明：nianbao 子命令 --help",
        parents=[common],
        formatter_class=_HelpFormatter,
        add_help=False,
    )
    _help(parser)
    _chinese_titles(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, title="子命令")

    def add(name: str, func: Callable, help: str, more: str = "") -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help,
            description=help + (f"\n{more}" if more else ""),
            parents=[common],
            formatter_class=_HelpFormatter,
            epilog=f"例如：\n  {EXAMPLES[name]}",
            add_help=False,
        )
        _help(p)
        _chinese_titles(p)
        p.set_defaults(func=func)
        return p

    p = add("crawl", cmd_crawl, "抓取配置的网站，保存每个文档的每个版本。")
    p.add_argument(
        "--source",
        action="append",
        metavar="ID",
        help="只抓取这个来源（可重复）；默认抓取全部启用的来源，每批 crawl.batch_size 个来源一个进程",
    )
    p.add_argument(
        "--revalidate",
        action="store_true",
        help="走遍每个列表页，并用条件请求复查已知文档，以发现修改和撤下",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="显示 Scrapy 日志")
    p.add_argument("-q", "--quiet", action="store_true", help="不显示进度行")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="交给抓取节点（配置中的 distributed:）抓取，再把结果存入本机数据库",
    )

    p = add(
        "parse",
        cmd_parse,
        "解析报告文件（每个文件一行 JSON，输出到标准输出），或用 --stored 解析已保存的全部版本。",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="报告文件：HTML、PDF、DOCX、DOC、WPS、文本")
    p.add_argument("--format", choices=("json", "table"), default="json", help="输出格式")
    p.add_argument("--stored", action="store_true", help="解析已保存但尚未解析的版本")
    p.add_argument("--source", metavar="ID", help="配合 --stored：只解析这个来源")
    p.add_argument("--max-mb", type=float, help="拒绝大于此大小（MB）的文件（默认：parse.max_file_mb，50）")
    p.add_argument(
        "--timeout", type=float, metavar="S", help="每个文件最多用时（秒）（默认：parse.timeout，300）"
    )

    p = add(
        "monitor",
        cmd_monitor,
        "截至某日每份应发布报告的状态（按时、迟报、缺报……）；可发送提醒。",
        "抓取后尚未解析的版本会先解析（同 nianbao parse --stored），除非给出 --no-parse。",
    )
    p.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD", help="按哪一天判断（默认：今天）")
    p.add_argument("--year", type=int, action="append", help="只看这个报告年度（可重复）")
    p.add_argument("--format", choices=("table", "json"), default="table", help="输出格式")
    p.add_argument("--alert", action="store_true", help="发送 alerts: 中配置的提醒")
    p.add_argument("--no-parse", action="store_true", help="不先解析尚未解析的版本（只提示有多少个）")
    p.add_argument(
        "--full",
        action="store_true",
        help="从全部报告完整重算已存的状态（平时只按变化增量更新，结果相同）",
    )

    p = add("digest", cmd_digest, "生成某一报告年度的同比汇总。")
    p.add_argument("--year", type=int, required=True, help="报告年度")
    p.add_argument("--region", help="只含这个地区的来源")
    p.add_argument(
        "--format",
        choices=tuple(DIGEST_FORMATS),
        default="xlsx",
        help="文件格式：xlsx 表格、docx 可打印报告等",
    )
    p.add_argument("-o", "--output", metavar="PATH", help="写到哪里（默认：nianbao-digest-年度.格式）")

    p = add("changes", cmd_changes, "列出已发布报告的变更（修改、撤下、恢复）。")
    p.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="只列这一天以后的变更")
    p.add_argument("--format", choices=("table", "json"), default="table", help="输出格式")

    p = add("health", cmd_health, "抓取健康状况：每个来源最近一次抓取。")
    p.add_argument("--format", choices=("table", "json"), default="table", help="输出格式")

    p = add(
        "check",
        cmd_check,
        "检查配置文件，并访问每个来源的起始页一次。",
        "配置文件的错误一次全部列出（未知的键会提示最接近的写法）。\n"
        "然后每个来源请求 robots.txt 和起始页各一次，报告：识别出的网站类型（CMS）、\n"
        "robots.txt 是否允许、有无访问障碍（验证页、403/412）或错误。\n"
        "退出码：0 全部正常，2 配置有误，1 有来源存在问题。",
    )
    p.add_argument("--source", action="append", metavar="ID", help="只检查这个来源（可重复）")
    p.add_argument("--no-fetch", action="store_true", help="只检查配置文件，不访问网站")
    p.add_argument("--format", choices=("table", "json"), default="table", help="输出格式")

    p = add(
        "alert",
        cmd_alert,
        "发送测试消息，检验提醒渠道是否可用。",
        "通过每个提醒组（或只是 GROUP）的每个渠道——邮件（alerts.smtp）和每个 Apprise 地址——\n"
        "发送一条测试消息，逐个报告成功或失败及原因。不读写提醒记录。有渠道失败时退出码为 1。",
    )
    p.add_argument("group", nargs="?", metavar="GROUP", help="只测试这个提醒组（默认：全部）")
    p.add_argument("--test", action="store_true", help="发送测试消息（必需）")
    p.add_argument("--format", choices=("table", "json"), default="table", help="输出格式")

    p = add("schedule", cmd_schedule, "按计划运行抓取、解析、监测和提醒。")
    p.add_argument("--list", action="store_true", help="列出每个任务及其下次运行时间，然后退出")
    p.add_argument(
        "--every",
        type=float,
        metavar="SECONDS",
        help="改为每隔这么多秒运行一遍每个来源（试用）",
    )

    p = add(
        "worker",
        cmd_worker,
        "作为抓取节点运行：从 Redis 领取抓取任务，抓取后把结果交回协调节点。",
        "需要配置中的 distributed: 部分；Redis 口令取自 distributed.password_env 指定的环境变量。",
    )
    p.add_argument(
        "--queue",
        action="append",
        metavar="Q",
        help="只领取这个队列的任务（可重复；默认：distributed.default_queue）",
    )
    p.add_argument("--concurrency", type=int, default=1, metavar="N", help="同时运行几个任务（默认：1）")
    p.add_argument("--name", metavar="NAME", help="节点名（默认：nianbao@主机名）")
    p.add_argument("--list", action="store_true", help="列出已连接的抓取节点、队列和正在运行的任务，然后退出")
    p.add_argument("-v", "--verbose", action="store_true", help="显示 Celery 日志")

    p = add("serve", cmd_serve, "运行网页看板。")
    p.add_argument("--host", help="监听地址（默认：配置中的 serve.host，127.0.0.1）")
    p.add_argument("--port", type=int, help="端口（默认：配置中的 serve.port，8080）")
    p.add_argument("--token", help="访问口令；监听非本机地址时必需")

    p = add("demo", cmd_demo, "在模拟的一组政府网站上把整个流程跑一遍。")
    p.add_argument("--out", default="demo-out", help="数据库和汇总文件写到哪里")
    p.add_argument("--seed", type=int, default=2024, help="模拟地区的随机种子")
    p.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD", help="按哪一天判断（默认：今天）")
    p.add_argument("--serve", action="store_true", help="之后一直运行看板，直到按 Ctrl-C")
    p.add_argument("--port", type=int, default=0, help="配合 --serve：看板端口（默认：0，任选空闲端口）")
    return parser


def _help(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-h", "--help", action="help", help="显示此帮助并退出")


def _config_problems(exc: ConfigError) -> str:
    """A ConfigError's lines under one Chinese lead-in (the lines keep their key names)."""
    lines = str(exc).splitlines()
    if len(lines) == 1:
        return f"配置文件有误：{lines[0]}"
    return f"配置文件有 {len(lines)} 处错误：\n" + "\n".join(f"  {line}" for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"nianbao {args.command}: {_config_problems(exc)}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"nianbao {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokerError as exc:
        print(f"nianbao {args.command}: 无法使用 Redis：{exc}", file=sys.stderr)
        return 2
    except LockHeld as exc:
        print(f"nianbao {args.command}: 另一个进程正在运行：{exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"nianbao {args.command}: 数据库无法使用：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `nianbao monitor | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
