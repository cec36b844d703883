"""Loading and validating ``config.yaml``.

The file is checked against ``SCHEMA`` on load.  A wrong key, type or URL raises ``ConfigError``
with one message naming the key path and its line, e.g.
``config.yaml:12: sources[0].start_url: 'htp://x' is not an http(s) URL``.
Paths inside the file are relative to the file itself.  Everything but ``storage.path`` and each
source's ``id``, ``name`` and ``start_url`` is optional; the defaults are in ``DEFAULTS`` and in
README.md.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml


class ConfigError(Exception):
    """config.yaml is missing, unreadable or invalid; the message names the key and line."""


# -- the schema --------------------------------------------------------------------------------
# A schema node is a type (str, int, float, bool), a Url / Cron / MonthDay / Date marker, a
# dict {key: node} for a mapping with known keys (keys ending in "?" are optional), ("list", node),
# ("map", node) for free keys, or ("enum", values).


class Url:
    """An http(s) URL."""


class MonthDay:
    """A day of the year written MM-DD, e.g. 01-31."""


class IsoDate:
    """A date written YYYY-MM-DD."""


class Cron:
    """A five-field crontab expression."""


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
    "storage": {"path": str, "blobs_path?": str},
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
        "revalidate_days?": (int, float),
        "browser?": {"enabled?": bool, "executable?": str, "timeout?": int},
        "allowed_hosts?": ("list", str),
    },
    "deadlines?": DEADLINES,
    "season?": {"start?": MonthDay, "end?": MonthDay},
    "schedule?": {
        "crawl?": Cron,
        "season_crawl?": Cron,
        "jitter_minutes?": int,
        "timezone?": str,
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
        "revalidate_days": 7,
        "browser": {"enabled": False, "executable": "/usr/bin/chromium", "timeout": 45},
        "allowed_hosts": [],
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


def parse_config(text: str, path: Path) -> Config:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'storage' and 'sources' at the top")
    lines = _line_index(node)
    _check(data, SCHEMA, "", path, lines)
    ids = [s["id"] for s in data["sources"]]
    for i, sid in enumerate(ids):
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", sid):
            _fail(path, lines, f"sources[{i}].id", f"{sid!r} may only hold letters, digits, '-', '_' and '.'")
        if ids.index(sid) != i:
            _fail(path, lines, f"sources[{i}].id", f"{sid!r} is used by another source too")
    full = _merge(copy.deepcopy(DEFAULTS), data)
    sources = [_complete_source(s, full) for s in full["sources"]]
    return Config(path=path.resolve(), data=full, sources=sources)


def _complete_source(source: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    s = copy.deepcopy(source)
    s.setdefault("family", None)
    s.setdefault("region", None)
    s.setdefault("agencies", [])
    s.setdefault("enabled", True)
    s.setdefault("browser", full["crawl"]["browser"]["enabled"])
    s.setdefault("obey_robots", full["crawl"]["obey_robots"])
    s["deadline"] = {**full["deadlines"], **s.get("deadline", {})}
    for a in s["agencies"]:
        a.setdefault("kind", "department")
        a.setdefault("aliases", [])
    return s


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
    probe = key
    while probe and probe not in lines:  # a missing key: point at its parent
        probe = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe) if re.search(r"[.\[]", probe) else ""
    line = f":{lines[probe]}" if probe in lines else ""
    raise ConfigError(f"{path}{line}: {key}: {message}")


def _type_name(t: Any) -> str:
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}
    if isinstance(t, tuple) and all(isinstance(x, type) for x in t):
        return " or ".join(names.get(x, x.__name__) for x in t)
    return names.get(t, getattr(t, "__name__", str(t)))


def _check(value: Any, schema: Any, key: str, path: Path, lines: dict[str, int]) -> None:
    where = key or "(top level)"
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            _fail(path, lines, where, f"expected a mapping, got {_show(value)}")
        allowed = {k.rstrip("?"): k.endswith("?") for k in schema}
        for k in value:
            if k not in allowed:
                near = ", ".join(sorted(allowed))
                _fail(path, lines, f"{key}.{k}" if key else str(k), f"unknown key (expected one of: {near})")
        for k, optional in allowed.items():
            sub = f"{key}.{k}" if key else k
            if k not in value or value[k] is None:
                if not optional:
                    _fail(path, lines, sub, "is required")
                if k in value:
                    del value[k]  # an empty optional key means "use the default"
                continue
            _check(value[k], schema[k + ("?" if optional else "")], sub, path, lines)
    elif isinstance(schema, tuple) and schema and schema[0] == "list":
        if not isinstance(value, list):
            _fail(path, lines, where, f"expected a list, got {_show(value)}")
        for i, item in enumerate(value):
            _check(item, schema[1], f"{key}[{i}]", path, lines)
    elif isinstance(schema, tuple) and schema and schema[0] == "map":
        if not isinstance(value, dict):
            _fail(path, lines, where, f"expected a mapping, got {_show(value)}")
        for k, item in value.items():
            _check(item, schema[1], f"{key}.{k}", path, lines)
    elif isinstance(schema, tuple) and schema and schema[0] == "enum":
        if value not in schema[1]:
            _fail(path, lines, where, f"{value!r} is not one of {', '.join(schema[1])}")
    elif schema is Url:
        parts = urlsplit(value) if isinstance(value, str) else None
        if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
            _fail(path, lines, where, f"{value!r} is not an http(s) URL")
    elif schema is MonthDay:
        m = re.fullmatch(r"(\d\d)-(\d\d)", str(value))
        if not m or not (1 <= int(m[1]) <= 12 and 1 <= int(m[2]) <= 31):
            _fail(path, lines, where, f"{value!r} is not a day written MM-DD (e.g. 01-31)")
    elif schema is IsoDate:
        if not re.fullmatch(r"\d{4}-\d\d-\d\d", str(value)):
            _fail(path, lines, where, f"{value!r} is not a date written YYYY-MM-DD")
    elif schema is Cron:
        if not isinstance(value, str) or len(value.split()) != 5:
            _fail(path, lines, where, f"{value!r} is not a five-field cron expression (e.g. '0 2 * * *')")
    else:
        types = schema if isinstance(schema, tuple) else (schema,)
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            _fail(path, lines, where, f"expected {_type_name(schema)}, got {_show(value)}")


def _show(value: Any) -> str:
    kind = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number"}.get(
        type(value)
    )
    return f"{kind or type(value).__name__} {value!r}" if not isinstance(value, dict | list) else kind
