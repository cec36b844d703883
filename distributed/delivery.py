"""Results from workers to the coordinator: one signed Redis stream entry per source crawled.

Transport (see docs/distributed.md): a Redis stream on the broker the workers already reach, one
per coordinator (``stream``: named after its database; each task says where to reply).
A worker's ``XADD`` needs only Redis, so results wait there while the coordinator is down; the
coordinator reads them in a consumer group and acknowledges (then deletes) an entry only after
its ingest transaction committed, so a coordinator killed mid-ingest reads it again on restart.
Redis should persist (``appendonly yes``): a restart then keeps unread results.

An entry holds ``header`` (JSON: task, source, worker, the worker's clock, the operations to
replay and the sha256 of each blob sent), ``sig`` (HMAC-SHA256 of the header with the secret
from ``distributed.secret_env``) and one ``blob:<sha256>`` field per new file, whose bytes must
hash to its name.  The entry's id is the broker's clock when it was added: with the worker's
clock in the header, the coordinator learns how far off the worker's clock is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import socket
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from config import Config
from distributed import BrokerError
from distributed.app import broker_url, secret, settings, tls_options

STREAM_PREFIX = "nianbao:results:"
STREAM_NAME = re.compile(r"nianbao:results:[0-9a-f]{16}")
GROUP = "coordinator"
CONSUMER = "coordinator"

log = logging.getLogger(__name__)


def stream(config: Config) -> str:
    """The coordinator's own result stream, named after its database: two coordinators sharing a
    Redis never read each other's results.  Tasks carry it as ``reply_to``."""
    digest = hashlib.sha256(str(config.storage_path).encode()).hexdigest()[:16]
    return STREAM_PREFIX + digest


def client(config: Config) -> redis.Redis:
    """A Redis client on the broker that keeps retrying through a broker restart."""
    return redis.Redis.from_url(
        broker_url(config),
        retry=Retry(ExponentialBackoff(cap=5.0, base=0.2), -1),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError, socket.timeout],
        socket_timeout=60,
        socket_connect_timeout=10,
        health_check_interval=30,
        **(tls_options(config) or {}),
    )


def check(config: Config) -> None:
    """BrokerError unless the broker answers now (one try: a command should fail fast and clearly;
    once running, ``client`` waits through a broker restart instead)."""
    url = settings(config)["broker_url"]
    try:
        probe = redis.Redis.from_url(
            broker_url(config), socket_connect_timeout=5, socket_timeout=10, **(tls_options(config) or {})
        )
        probe.ping()
        probe.close()
    except (redis.RedisError, OSError) as exc:
        raise BrokerError(f"distributed.broker_url {url}: {type(exc).__name__}: {exc}") from None


def broker_clock(r: redis.Redis) -> float:
    """The broker's clock (Redis TIME), in seconds since the epoch."""
    sec, usec = r.time()
    return sec + usec / 1e6


def worker_name() -> str:
    return socket.gethostname()


def sign(key: str, header: bytes) -> str:
    return hmac.new(key.encode(), header, hashlib.sha256).hexdigest()


def send(
    config: Config, r: redis.Redis, reply_to: str, header: dict[str, Any], blobs: dict[str, bytes]
) -> str:
    """Add one source's result to the coordinator's stream ``reply_to``; returns the entry id."""
    if not STREAM_NAME.fullmatch(reply_to):
        raise ValueError(f"reply_to {reply_to!r} is not a nianbao result stream")
    body = json.dumps({**header, "worker_clock": time.time()}, ensure_ascii=False).encode()
    fields: dict[str, bytes | str] = {"header": body, "sig": sign(secret(config, "secret_env"), body)}
    for digest, data in blobs.items():
        fields[f"blob:{digest}"] = data
    entry = r.xadd(reply_to, fields)
    return entry.decode() if isinstance(entry, bytes) else entry


@dataclass
class Received:
    """One stream entry as read by the coordinator (``header`` None when its signature is bad)."""

    entry_id: str
    header: dict[str, Any] | None
    bodies: dict[str, bytes]
    broker_time: float  # when the broker added it
    problem: str | None = None


def receive(config: Config, r: redis.Redis, block_ms: int = 1000) -> list[Received]:
    """Entries for the coordinator: first those read before and not acknowledged, then new ones."""
    key_name = stream(config)
    try:
        r.xgroup_create(key_name, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    key = secret(config, "secret_env")
    max_bytes = int(config.section("crawl")["max_file_mb"] * 1024 * 1024)
    got = r.xreadgroup(GROUP, CONSUMER, {key_name: "0"}, count=1)
    if not got or not got[0][1]:
        got = r.xreadgroup(GROUP, CONSUMER, {key_name: ">"}, count=1, block=block_ms)
    out = []
    for _stream, entries in got or []:
        for entry_id, fields in entries:
            eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
            out.append(_check(eid, fields, key, max_bytes))
    return out


def _check(eid: str, fields: dict[bytes, bytes], key: str, max_bytes: int) -> Received:
    at = int(eid.split("-")[0]) / 1000
    header = fields.get(b"header", b"")
    if not hmac.compare_digest(sign(key, header), fields.get(b"sig", b"").decode(errors="replace")):
        return Received(eid, None, {}, at, "bad signature (a worker without the delivery secret?)")
    parsed = json.loads(header)
    bodies = {}
    for name, data in fields.items():
        if not name.startswith(b"blob:"):
            continue
        digest = name[5:].decode()
        if hashlib.sha256(data).hexdigest() != digest:
            return Received(eid, parsed, {}, at, f"bytes sent as {digest} do not hash to it")
        if len(data) > max_bytes:
            return Received(eid, parsed, {}, at, f"file {digest} is larger than crawl.max_file_mb")
        bodies[digest] = data
    if set(bodies) != set(parsed.get("result", {}).get("blobs", [])):
        return Received(eid, parsed, {}, at, "the files sent are not the files the result names")
    return Received(eid, parsed, bodies, at)


def done(config: Config, r: redis.Redis, entry_id: str) -> None:
    """Acknowledge and drop an entry once it is stored (or refused for good)."""
    r.xack(stream(config), GROUP, entry_id)
    r.xdel(stream(config), entry_id)
