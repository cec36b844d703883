"""Serving the dashboard: a threaded stdlib WSGI server, loopback unless a token is set."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import date
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from outputs.web.app import Dashboard

log = logging.getLogger("nianbao.web")


class ServeError(Exception):
    """The dashboard cannot be served as asked (e.g. a public address without a token)."""


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow client never keeps the process from exiting
    allow_reuse_address = True


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        # The query string may hold the token: log the path only.
        log.info("%s %s", self.address_string(), (format % args).split("?")[0])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(config: Any, token: str | None) -> str | None:
    """The token given, else the one in the environment variable named by serve.token_env."""
    env_name = config.section("serve").get("token_env") or "NIANBAO_TOKEN"
    return token or os.environ.get(env_name) or None


@dataclass
class DashboardServer:
    """A running dashboard: ``url`` to open it, ``shutdown()`` to stop it."""

    server: WSGIServer
    thread: threading.Thread | None
    url: str

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread:
            self.thread.join(5)

    stop = shutdown

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C raises KeyboardInterrupt here, as usual)."""
        while self.thread is not None and self.thread.is_alive():
            self.thread.join(0.5)


def _bind(
    config: Any, host: str | None, port: int | None, token: str | None, today=None
) -> tuple[WSGIServer, str]:
    serve_cfg = config.section("serve")
    host = host or serve_cfg.get("host") or "127.0.0.1"
    port = serve_cfg.get("port", 8080) if port is None else port
    token = resolve_token(config, token)
    if not is_loopback(host) and not token:
        env_name = serve_cfg.get("token_env") or "NIANBAO_TOKEN"
        raise ServeError(
            f"refusing to serve on {host}: a non-loopback address needs a token "
            f"(--token or the environment variable {env_name})"
        )
    app = Dashboard(config, token=token, today=today)
    cls = _IPv6Server if ":" in host else _Server
    try:
        server = make_server(host.strip("[]"), port, app, server_class=cls, handler_class=_Handler)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.server_port}/"
    return server, url


def start_server(
    config: Any,
    host: str | None = None,
    port: int | None = 0,
    token: str | None = None,
    today: Any = None,
) -> DashboardServer:
    """Serve in a background thread (port 0: a free one); returns the running server and its URL."""
    server, url = _bind(config, host, port, token, today)
    thread = threading.Thread(target=server.serve_forever, name="nianbao-dashboard", daemon=True)
    thread.start()
    return DashboardServer(server, thread, url)


def serve(config: Any, host: str | None = None, port: int | None = None, token: str | None = None) -> None:
    """``nianbao serve``: serve until interrupted (Ctrl-C / SIGTERM end it cleanly)."""
    import signal

    server, url = _bind(config, host, port, token)
    print(f"nianbao dashboard: {url}", flush=True)
    if resolve_token(config, token):
        print("a token is required: open the address with ?token=… once", flush=True)

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    old = signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, old)
        server.server_close()


def today_fixed(day: date):
    """A ``today`` for start_server that always answers ``day`` (demo data, tests)."""
    return lambda: day
