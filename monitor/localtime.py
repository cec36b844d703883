"""Times as their readers live them: stored timestamps are UTC, people read ``schedule.timezone``.

One way for the dashboard, the digests and the command line (``nianbao changes``, ``health``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from config import Config

DEFAULT_ZONE = "Asia/Shanghai"


def reader_zone(config: Config) -> ZoneInfo:
    """The readers' time zone: ``schedule.timezone`` (validated with the config), else Shanghai."""
    return ZoneInfo(config.section("schedule").get("timezone") or DEFAULT_ZONE)


def local_time(value: Any, tz: ZoneInfo) -> str:
    """A stored ISO timestamp (UTC) as local time to the minute; other values unchanged."""
    if not isinstance(value, str) or "T" not in value:
        return "—" if value is None else str(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
