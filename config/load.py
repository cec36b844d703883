"""Loading and validating ``config.yaml``.

The file is checked against ``SCHEMA`` on load, so nothing it accepts fails later: keys, types,
URLs, real calendar dates, cron expressions (parsed by the scheduler's own parser), time zones and
the range of every number (``BOUNDS``; a number not listed there may not be negative).  Every
mistake raises ``ConfigError`` with one line per problem, each naming the key path and its line, e.g.
``config.yaml:12: sources[0].start_url: 'htp://x' is not an http(s) URL``.
Paths inside the file are relative to the file itself.  Everything but ``storage.path`` and each
source's ``id``, ``name`` and ``start_url`` is optional; the defaults are in ``DEFAULTS`` and in
README.md.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml


class ConfigError(Exception):
    """config.yaml is missing, unreadable or invalid; the message names the key and line."""


# -- the schema --------------------------------------------------------------------------------
# A schema node is a type (str, int, float, bool), a Url / Cron / MonthDay / IsoDate / TimeZone marker, a
# dict {key: node} for a mapping with known keys (keys ending in "?" are optional), ("list", node),
# ("map", node) for free keys, or ("enum", values).


class Url:
    """An http(s) URL."""


class MonthDay:
    """A day of the year written MM-DD, e.g. 01-31."""


class IsoDate:
    """A date written YYYY-MM-DD."""


class Cron:
    """A five-field crontab expression, as APScheduler's ``CronTrigger.from_crontab`` reads it."""


class TimeZone:
    """An IANA time zone name, e.g. Asia/Shanghai."""


@dataclass(frozen=True)
class Range:
    """The numbers a key accepts: from ``low`` (excluded when ``open_low``) to ``high`` (None: no end)."""

    low: float = 0
    high: float | None = None
    open_low: bool = False

    def holds(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        return above and (self.high is None or value <= self.high)  # NaN holds nowhere

    def describe(self) -> str:
        low = f"above {self.low:g}" if self.open_low else f"at least {self.low:g}"
        return low if self.high is None else f"{low} and at most {self.high:g}"


# The range of each number, by key path ("sources[]" for any source).  A number not listed here
# may be anything but negative.  Each bound is where the value stops making sense: 0 connections
# per host hangs the crawl, a 0 MB cap or a 0 s timeout would mean "no limit" to Scrapy.
BOUNDS: dict[str, Range] = {
    "crawl.concurrency_per_host": Range(1, 32),
    "crawl.delay": Range(0, 600),
    "crawl.timeout": Range(1, 600),
    "crawl.retries": Range(0, 10),
    "crawl.max_file_mb": Range(0, 2048, open_low=True),
    "crawl.revalidate_days": Range(0, 3660),
    "crawl.browser.timeout": Range(1, 600),
    "schedule.jitter_minutes": Range(0, 1440),
    "schedule.misfire_grace_minutes": Range(1, 10080),  # APScheduler refuses a grace time of 0
    "monitor.fuzzy_threshold": Range(0, 1, open_low=True),
    "monitor.swing_threshold": Range(0, open_low=True),
    "monitor.copied_text_threshold": Range(0, 1, open_low=True),
    "monitor.failing_runs_before_alert": Range(1, 1000),
    "alerts.smtp.port": Range(1, 65535),
    "alerts.smtp.timeout": Range(1, 600),
    "serve.port": Range(1, 65535),
    "distributed.visibility_timeout": Range(10, 7 * 86400),
    "distributed.task_timeout": Range(10, 7 * 86400),
    "distributed.sources_per_task": Range(1, 10000),
    "parse.processes": Range(1, 64),
    "parse.max_file_mb": Range(0, 2048, open_low=True),
    "crawl.max_column_depth": Range(0, 20),
    "crawl.max_department_columns": Range(0, 10000),
    "crawl.sources_at_once": Range(1, 5000),
    "crawl.batch_size": Range(1, 100000),
    "crawl.max_minutes_per_source": Range(0, 10080, open_low=True),
    "sources[].max_column_depth": Range(0, 20),
    "sources[].max_department_columns": Range(0, 10000),
}
NOT_NEGATIVE = Range(0)


class Host:
    """A host name or IP address, or ``*.`` and a domain for the domain and its subdomains."""


_HOST = re.compile(
    r"(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?"
)


KINDS = ("enum", ("government", "department", "township"))
FAMILIES = ("enum", ("trs", "hanweb", "gkmlpt", "ucap", "jsonly", "generic"))
DEADLINES = {"government?": MonthDay, "department?": MonthDay, "township?": MonthDay}

AGENCY = {
    "name": str,
    "kind?": KINDS,
    "deadline?": MonthDay,
    "aliases?": ("list", str),
    "abolished?": IsoDate,  # no report expected for years after this date
    "merged_into?": str,
}

SOURCE = {
    "id": str,
    "name": str,
    "start_url": Url,
    "family?": FAMILIES,
    "region?": str,
    "agencies?": ("list", AGENCY),
    "deadline?": DEADLINES,
    "schedule?": Cron,
    "browser?": bool,
    "obey_robots?": bool,
    "enabled?": bool,
    "allowed_hosts?": ("list", Host),  # hosts besides the start URL's the crawl may request
    "max_column_depth?": int,
    "max_department_columns?": int,
    "queue?": str,  # the Celery queue its crawls go to when `distributed` is set (e.g. a province)
}

SMTP = {
    "host": str,
    "port?": int,
    "security?": ("enum", ("starttls", "ssl", "none")),
    "username?": str,
    "password_env?": str,
    "from": str,
    "timeout?": int,
}

ALERT_GROUP = {
    "name": str,
    "emails?": ("list", str),
    "apprise?": ("list", str),
    "sources?": ("list", str),
    "regions?": ("list", str),
    "attach_digest?": ("enum", ("none", "xlsx", "csv", "html", "md", "json")),
}

SCHEMA = {
    "storage": {"path": str},
    "crawl?": {
        "user_agent?": str,
        "obey_robots?": bool,
        "concurrency_per_host?": int,
        "delay?": (int, float),
        "autothrottle?": bool,
        "timeout?": int,
        "retries?": int,
        "max_file_mb?": (int, float),
        "max_pages_per_source?": int,
        "max_documents_per_run?": int,
        "revalidate_days?": (int, float),
        "browser?": {"enabled?": bool, "executable?": str, "timeout?": int},
        "allowed_hosts?": ("list", Host),
        "max_column_depth?": int,
        "max_department_columns?": int,
        "sources_at_once?": int,
        "batch_size?": int,
        "max_minutes_per_source?": (int, float),
    },
    "deadlines?": DEADLINES,
    "season?": {"start?": MonthDay, "end?": MonthDay},
    "schedule?": {
        "crawl?": Cron,
        "season_crawl?": Cron,
        "jitter_minutes?": int,
        "timezone?": TimeZone,
        "misfire_grace_minutes?": int,
    },
    "monitor?": {
        "aliases?": ("map", str),
        "fuzzy_match?": bool,
        "fuzzy_threshold?": float,
        "swing_threshold?": float,
        "copied_text_threshold?": float,
        "failing_runs_before_alert?": int,
        "regions?": ("map", DEADLINES),
    },
    "alerts?": {"smtp?": SMTP, "groups?": ("list", ALERT_GROUP)},
    "serve?": {"host?": str, "port?": int, "token_env?": str},
    "parse?": {
        "processes?": int,
        "max_file_mb?": (int, float),
        "ocr?": bool,
        # Bounds on reading one document (reports.limits.Limits, where the defaults are explained).
        "max_xml_mb?": (int, float),
        "max_text_mb?": (int, float),
        "max_ocr_megapixels?": (int, float),
        "max_rulings?": int,
        "max_table_cells?": int,
        "timeout?": (int, float),
        "max_memory_mb?": (int, float),
    },
    "distributed?": {
        "broker_url": str,  # redis://host:port/db or rediss:// (no password in it: see password_env)
        "password_env?": str,
        "secret_env?": str,
        "tls?": {"ca_file?": str, "cert_file?": str, "key_file?": str},
        "default_queue?": str,
        "visibility_timeout?": int,
        "task_timeout?": int,
        "sources_per_task?": int,
        "spool_dir?": str,
    },
    "sources": ("list", SOURCE),
}

DEFAULTS: dict[str, Any] = {
    "crawl": {
        "user_agent": "nianbao/0.1 (government disclosure report monitor; operator: set crawl.user_agent)",
        "obey_robots": True,
        "concurrency_per_host": 2,
        "delay": 0.5,
        "autothrottle": True,
        "timeout": 30,
        "retries": 2,
        "max_file_mb": 50,
        "max_pages_per_source": 5000,
        "max_documents_per_run": 20000,
        "revalidate_days": 7,
        "browser": {"enabled": False, "executable": "/usr/bin/chromium", "timeout": 45},
        "allowed_hosts": [],
        "max_column_depth": 6,
        "max_department_columns": 200,
        # National scale (README "Running at national scale"): sources crawled at once by one
        # process, sources per crawl process, and the time one source may take.
        "sources_at_once": 100,
        "batch_size": 500,
        "max_minutes_per_source": 120,
    },
    "deadlines": {"government": "03-31", "department": "01-31", "township": "01-31"},
    "season": {"start": "01-01", "end": "04-15"},
    "schedule": {
        "crawl": "0 2 * * *",
        "season_crawl": "0 2,14 * * *",
        "jitter_minutes": 90,
        "timezone": "Asia/Shanghai",
        "misfire_grace_minutes": 360,
    },
    "monitor": {
        "aliases": {},
        "fuzzy_match": True,
        "fuzzy_threshold": 0.85,
        "swing_threshold": 0.5,
        "copied_text_threshold": 0.9,
        "failing_runs_before_alert": 3,
        "regions": {},
    },
    "alerts": {"groups": []},
    "serve": {"host": "127.0.0.1", "port": 8080, "token_env": "NIANBAO_TOKEN"},
    "parse": {
        "processes": 2,  # documents parsed at once (a child process each): one per core
        "max_file_mb": 50,
        "ocr": True,
        "max_xml_mb": 40,
        "max_text_mb": 8,
        "max_ocr_megapixels": 3,
        "max_rulings": 1500,
        "max_table_cells": 5000,
        "timeout": 300,
        "max_memory_mb": 1024,
    },
}


@dataclass
class Config:
    """A validated configuration; ``data`` has every default filled in."""

    path: Path
    data: dict[str, Any]
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, p: str) -> Path:
        """A path from the config file, made absolute relative to the file."""
        q = Path(p).expanduser()
        return q if q.is_absolute() else (self.base_dir / q).resolve()

    @property
    def storage_path(self) -> Path:
        return self.resolve(self.data["storage"]["path"])

    def section(self, name: str) -> dict[str, Any]:
        return self.data.get(name, {})

    def source(self, source_id: str) -> dict[str, Any]:
        for s in self.sources:
            if s["id"] == source_id:
                return s
        known = ", ".join(s["id"] for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: no source with id {source_id!r} (configured: {known})")


def load_config(path: str | Path) -> Config:
    """Read, validate and complete ``path``; raises ConfigError naming the key and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (pass --config PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    return parse_config(text, path)


class _Loader(yaml.SafeLoader):
    """SafeLoader keeping dates as text: ``IsoDate`` checks them (2023-02-30 is a message, not a crash)."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def parse_config(text: str, path: Path) -> Config:
    """Validate and complete the text of a config file read from ``path``; raises ConfigError."""
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except ValueError as exc:  # a constructor refused a scalar (e.g. an impossible number)
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'storage' and 'sources' at the top")
    lines = _line_index(node)
    problems = _Problems()
    with problems:
        _check(data, SCHEMA, "", path, lines)
    # The ids are checked even when the rest is wrong, so one load reports every mistake; only
    # text ids are looked at (another type is already a problem above).
    sources = data.get("sources") if isinstance(data.get("sources"), list) else []
    ids = [s.get("id") if isinstance(s, dict) else None for s in sources]
    for i, sid in enumerate(ids):
        if not isinstance(sid, str):
            continue
        with problems:
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", sid):
                _fail(
                    path,
                    lines,
                    f"sources[{i}].id",
                    f"{sid!r} may only hold letters, digits, '-', '_' and '.'",
                )
        with problems:
            if ids.index(sid) != i:
                _fail(path, lines, f"sources[{i}].id", f"{sid!r} is used by another source too")
    if isinstance(data.get("distributed"), dict):
        _check_distributed(data["distributed"], sources, path, lines, problems)
    problems.raise_all()
    full = _merge(copy.deepcopy(DEFAULTS), data)
    if "distributed" in full:
        full["distributed"] = _merge(copy.deepcopy(DISTRIBUTED_DEFAULTS), full["distributed"])
    sources = [_complete_source(s, full) for s in full["sources"]]
    return Config(path=path.resolve(), data=full, sources=sources)


# The `distributed` section's defaults, applied only when the section is there (without it every
# crawl runs locally, as before).  A visibility timeout shorter than the longest crawl would hand a
# running task to a second worker: harmless (deliveries are idempotent) but twice the requests.
DISTRIBUTED_DEFAULTS: dict[str, Any] = {
    "password_env": "NIANBAO_REDIS_PASSWORD",
    "secret_env": "NIANBAO_DELIVERY_SECRET",
    "tls": {},
    "default_queue": "nianbao",
    "visibility_timeout": 12 * 3600,
    "task_timeout": 24 * 3600,
    "sources_per_task": 100,  # one crawl window (crawl.sources_at_once) per task
    "spool_dir": "spool",
}

_QUEUE = re.compile(r"[A-Za-z0-9_.-]+")


def _check_distributed(
    section: dict[str, Any], sources: list[Any], path: Path, lines: dict[str, int], problems: _Problems
) -> None:
    """What the schema cannot say about `distributed`: a Redis URL without a password in it, and
    queue names Celery and Redis keys can carry."""
    url = section.get("broker_url")
    if isinstance(url, str):
        parts = urlsplit(url)
        with problems:
            if parts.scheme not in ("redis", "rediss") or not parts.hostname:
                _fail(path, lines, "distributed.broker_url", f"{url!r} is not a redis:// or rediss:// URL")
        with problems:
            if parts.password:
                _fail(
                    path,
                    lines,
                    "distributed.broker_url",
                    "holds a password: put it in the environment variable named by password_env",
                )
    queue = section.get("default_queue")
    with problems:
        if isinstance(queue, str) and not _QUEUE.fullmatch(queue):
            _fail(
                path,
                lines,
                "distributed.default_queue",
                f"{queue!r} may only hold letters, digits, '-', '_' and '.'",
            )
    for i, s in enumerate(sources):
        q = s.get("queue") if isinstance(s, dict) else None
        with problems:
            if isinstance(q, str) and not _QUEUE.fullmatch(q):
                _fail(
                    path,
                    lines,
                    f"sources[{i}].queue",
                    f"{q!r} may only hold letters, digits, '-', '_' and '.'",
                )


def _complete_source(source: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    s = copy.deepcopy(source)
    s.setdefault("family", None)
    s.setdefault("region", None)
    s.setdefault("agencies", [])
    s.setdefault("enabled", True)
    s.setdefault("browser", full["crawl"]["browser"]["enabled"])
    s.setdefault("obey_robots", full["crawl"]["obey_robots"])
    s.setdefault("allowed_hosts", [])
    for key in DISCOVERY_BOUNDS:  # read by the spider, per source
        s.setdefault(key, full["crawl"][key])
    s["deadline"] = {**full["deadlines"], **s.get("deadline", {})}
    for a in s["agencies"]:
        a.setdefault("kind", "department")
        a.setdefault("aliases", [])
    return s


# How far discovery goes (spiders.base), per source: a source's own value or the crawl's.
DISCOVERY_BOUNDS = ("max_column_depth", "max_department_columns")


def _merge(base: dict, over: dict) -> dict:
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = _merge(base[k], v)
        else:
            base[k] = v
    return base


def _line_index(
    node: yaml.Node | None, prefix: str = "", out: dict[str, int] | None = None
) -> dict[str, int]:
    """Map every key path ('sources[0].start_url') to its 1-based line in the file."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = f"{prefix}.{k.value}" if prefix else str(k.value)
            out[key] = k.start_mark.line + 1
            _line_index(v, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            key = f"{prefix}[{i}]"
            out[key] = v.start_mark.line + 1
            _line_index(v, key, out)
    return out


def _fail(path: Path, lines: dict[str, int], key: str, message: str) -> None:
    """Raise the ConfigError for ``key``, pointing at its line (or its parent's, when it is missing)."""
    probe = key
    while probe and probe not in lines:  # a missing key: point at its parent
        probe = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe) if re.search(r"[.\[]", probe) else ""
    line = f":{lines[probe]}" if probe in lines else ""
    raise ConfigError(f"{path}{line}: {key}: {message}")


def _unknown_key(key: Any, allowed: dict[str, bool]) -> str:
    """The message for an unknown key: the closest known key first (a typo), then all of them."""
    import difflib

    near = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return f"unknown key ({hint}expected one of: {', '.join(sorted(allowed))})"


def _type_name(t: Any) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
    if isinstance(t, tuple) and all(isinstance(x, type) for x in t):
        return " or ".join(names.get(x, x.__name__) for x in t)
    return names.get(t, getattr(t, "__name__", str(t)))


class _Problems:
    """Collects the ConfigErrors of sibling checks, so one load reports every mistake at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __enter__(self) -> _Problems:
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, ConfigError):
            self.messages.append(str(exc))
            return True  # keep checking the siblings
        return False

    def raise_all(self) -> None:
        if self.messages:
            raise ConfigError("\n".join(self.messages))


def _check(value: Any, schema: Any, key: str, path: Path, lines: dict[str, int]) -> None:
    """Raise ConfigError naming every problem in ``value`` under ``key``, one per line."""
    where = key or "(top level)"
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            _fail(path, lines, where, f"expected a mapping, got {_show(value)}")
        problems = _Problems()
        allowed = {k.rstrip("?"): k.endswith("?") for k in schema}
        for k in value:
            if k not in allowed:
                with problems:
                    _fail(path, lines, f"{key}.{k}" if key else str(k), _unknown_key(k, allowed))
        for k, optional in allowed.items():
            sub = f"{key}.{k}" if key else k
            if k not in value or value[k] is None:
                if not optional:
                    with problems:
                        _fail(path, lines, sub, "is required")
                if k in value:
                    del value[k]  # an empty optional key means "use the default"
                continue
            with problems:
                _check(value[k], schema[k + ("?" if optional else "")], sub, path, lines)
        problems.raise_all()
    elif isinstance(schema, tuple) and schema and schema[0] == "list":
        if not isinstance(value, list):
            _fail(path, lines, where, f"expected a list, got {_show(value)}")
        problems = _Problems()
        for i, item in enumerate(value):
            with problems:
                _check(item, schema[1], f"{key}[{i}]", path, lines)
        problems.raise_all()
    elif isinstance(schema, tuple) and schema and schema[0] == "map":
        if not isinstance(value, dict):
            _fail(path, lines, where, f"expected a mapping, got {_show(value)}")
        problems = _Problems()
        for k, item in value.items():
            with problems:
                _check(item, schema[1], f"{key}.{k}", path, lines)
        problems.raise_all()
    elif isinstance(schema, tuple) and schema and schema[0] == "enum":
        if value not in schema[1]:
            _fail(path, lines, where, f"{value!r} is not one of {', '.join(schema[1])}")
    elif schema is Url:
        parts = urlsplit(value) if isinstance(value, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
            _fail(path, lines, where, f"{value!r} is not an http(s) URL")
    elif schema is MonthDay:
        m = re.fullmatch(r"(\d\d)-(\d\d)", str(value))
        if not m or not _is_day(2000, int(m[1]), int(m[2])):  # 2000: a leap year, so 02-29 exists
            _fail(path, lines, where, f"{value!r} is not a day written MM-DD (e.g. 01-31)")
    elif schema is IsoDate:
        m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", str(value))
        if not m or not _is_day(int(m[1]), int(m[2]), int(m[3])):
            _fail(path, lines, where, f"{value!r} is not a calendar date written YYYY-MM-DD")
    elif schema is Host:
        host = value[1:-1] if isinstance(value, str) and value.startswith("[") else value
        if not isinstance(value, str) or not (_HOST.fullmatch(value) or _is_ip(host)):
            _fail(
                path,
                lines,
                where,
                f"{value!r} is not a host name (e.g. www.example.gov.cn or *.example.gov.cn)",
            )
    elif schema is Cron:
        if not isinstance(value, str) or len(value.split()) != 5:
            _fail(path, lines, where, f"{value!r} is not a five-field cron expression (e.g. '0 2 * * *')")
        from apscheduler.triggers.cron import CronTrigger  # the scheduler's own parser

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            _fail(path, lines, where, f"{value!r} is not a valid cron expression ({exc})")
    elif schema is TimeZone:
        if not isinstance(value, str) or not _is_zone(value):
            _fail(path, lines, where, f"{value!r} is not a known time zone (e.g. Asia/Shanghai)")
    else:
        types = schema if isinstance(schema, tuple) else (schema,)
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            _fail(path, lines, where, f"expected {_type_name(schema)}, got {_show(value)}")
        bounds = BOUNDS.get(re.sub(r"\[\d+\]", "[]", key), NOT_NEGATIVE)
        if isinstance(value, int | float) and not isinstance(value, bool) and not bounds.holds(value):
            _fail(path, lines, where, f"{value!r} is out of range: must be {bounds.describe()}")


def _is_day(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    # ValueError: not a zone key at all ('../x', ''); OSError: a folder of zones ('Asia')
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _show(value: Any) -> str:
    kind = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number"}.get(
        type(value)
    )
    return f"{kind or type(value).__name__} {value!r}" if not isinstance(value, dict | list) else kind
