"""The Celery app, built from config's ``distributed`` section.

Reliability settings, and why:
- ``task_acks_late``: a task is acknowledged when it returns, after its results are delivered;
  a worker that dies mid-task leaves it unacknowledged, and Redis hands it to another worker
  once ``visibility_timeout`` has passed (set it above the longest crawl).
- ``worker_prefetch_multiplier = 1``: a worker holds one task at a time, so a waiting task is
  never stuck behind a long crawl on a busy worker.
- the broker connection is retried for ever: a restarted Redis is reconnected, not fatal.
The password comes from the environment variable named by ``password_env``, never from the file.
"""

from __future__ import annotations

import os
import ssl
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from celery import Celery

from config import Config, ConfigError

TASK_NAME = "nianbao.crawl_batch"


def settings(config: Config) -> dict[str, Any]:
    """The ``distributed`` section, or ConfigError when it is missing."""
    section = config.section("distributed")
    if not section:
        raise ConfigError(f"{config.path}: distributed: section missing (needed to crawl on workers)")
    return section


def secret(config: Config, key: str) -> str:
    """The value of the environment variable named by ``distributed.<key>``; ConfigError if unset."""
    name = settings(config)[key]
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"{config.path}: distributed.{key}: environment variable {name} is not set")
    return value


def broker_url(config: Config) -> str:
    """The broker URL with the password from the environment put in."""
    url = settings(config)["broker_url"]
    parts = urlsplit(url)
    netloc = f":{quote(secret(config, 'password_env'), safe='')}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def tls_options(config: Config) -> dict[str, Any] | None:
    """redis-py's TLS options for a ``rediss://`` broker (the server's certificate is checked)."""
    section = settings(config)
    if not section["broker_url"].startswith("rediss://"):
        return None
    tls = section.get("tls") or {}
    opts: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    for key, opt in (("ca_file", "ssl_ca_certs"), ("cert_file", "ssl_certfile"), ("key_file", "ssl_keyfile")):
        if tls.get(key):
            opts[opt] = str(config.resolve(tls[key]))
    return opts


def make_app(config: Config) -> Celery:
    section = settings(config)
    url = broker_url(config)
    vt = int(section["visibility_timeout"])
    app = Celery("nianbao", broker=url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=section["default_queue"],
        task_serializer="json",
        accept_content=["json"],
        task_compression="zlib",
        task_ignore_result=True,
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={
            "visibility_timeout": vt,
            # How often workers look for tasks of a dead worker that are past the timeout.
            "unacked_restore_interval": max(1, min(10, vt // 10)),
            "unacked_restore_throttle": 1,
        },
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        broker_use_ssl=tls_options(config),
    )
    return app
