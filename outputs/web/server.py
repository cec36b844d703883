"""Serving the dashboard with waitress: loopback unless a token is set.

``serve`` blocks until Ctrl-C or SIGTERM and then returns normally; ``start_server`` serves from
a background thread (tests, the demo) until ``shutdown()``.  Both listen on exactly one socket,
bound here, so a bind error names the address and the URL printed is the one listened on.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from waitress.server import BaseWSGIServer, create_server
from waitress.wasyncore import close_all, loop

from config import Config
from outputs.web.app import create_app

log = logging.getLogger("nianbao.web")
THREADS = 8  # worker threads: pages are short, and SQLite reads run side by side in WAL mode
LOOP_TIMEOUT = 0.5  # seconds: how long a stopped loop may take to notice


class ServeError(Exception):
    """The dashboard cannot be served as asked (e.g. a public address without a token)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(config: Config, token: str | None) -> str | None:
    """The token given, else the one in the environment variable named by serve.token_env."""
    env_name = config.section("serve").get("token_env") or "NIANBAO_TOKEN"
    return token or os.environ.get(env_name) or None


@dataclass
class DashboardServer:
    """A running dashboard: ``url`` to open it, ``shutdown()`` to stop it."""

    server: BaseWSGIServer
    thread: threading.Thread | None
    url: str
    sockets: dict  # waitress's socket map: the listening socket, its wake-up pipe, the connections
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Serve until ``shutdown()``; then close every socket, here, in the loop's own thread."""
        try:
            while not self.stopping.is_set() and self.sockets:
                loop(timeout=LOOP_TIMEOUT, map=self.sockets, count=1)
        finally:
            close_all(self.sockets)

    def shutdown(self) -> None:
        """Let the requests in progress finish (5 s at most), then stop the loop and its sockets."""
        # Workers first: one that finishes wakes the loop through its pipe, which must still be
        # open then.
        self.server.task_dispatcher.shutdown()
        self.stopping.set()
        if self.thread is None or not self.thread.is_alive():
            close_all(self.sockets)
            return
        with suppress(OSError):  # a wake-up that fails only leaves the loop to its timeout
            self.server.pull_trigger()  # wake the loop now rather than at its next timeout
        self.thread.join(5)

    stop = shutdown

    def wait(self) -> None:
        """Block until the server stops; Ctrl-C or SIGTERM raise KeyboardInterrupt here."""
        with interruptible():
            while self.thread is not None and self.thread.is_alive():
                self.thread.join(0.5)


@contextmanager
def interruptible() -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise KeyboardInterrupt in the main thread.

    Not a given: a crawl earlier in the same process (``nianbao demo``) leaves Scrapy's handlers
    installed, and they only ask a reactor that no longer runs to stop.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    old = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _bind(
    config: Config, host: str | None, port: int | None, token: str | None, today=None
) -> DashboardServer:
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
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    try:
        sock = socket.create_server((bare, port), family=family)
    except OSError as exc:
        # socket.create_server appends "(while attempting to bind on address …)": we name it already.
        reason = (exc.strerror or str(exc)).split(" (while attempting")[0]
        raise ServeError(f"cannot listen on {host}:{port}: {reason}") from None
    app = create_app(config, token=token, today=today)
    # ident: no server name and version in the headers; a traceback never reaches the client;
    # every page is a GET, so no request needs a body.
    sockets: dict = {}
    server = create_server(
        app,
        map=sockets,
        sockets=[sock],
        threads=THREADS,
        ident="",
        expose_tracebacks=False,
        max_request_body_size=65536,
    )
    shown = f"[{bare}]" if ":" in bare else host
    return DashboardServer(server, None, f"http://{shown}:{sock.getsockname()[1]}/", sockets)


def start_server(
    config: Config,
    host: str | None = None,
    port: int | None = 0,
    token: str | None = None,
    today: Any = None,
) -> DashboardServer:
    """Serve in a background thread (port 0: a free one); returns the running server and its URL."""
    running = _bind(config, host, port, token, today)
    running.thread = threading.Thread(target=running.run, name="nianbao-dashboard", daemon=True)
    running.thread.start()
    return running


def serve(config: Config, host: str | None = None, port: int | None = None, token: str | None = None) -> None:
    """``nianbao serve``: serve until interrupted (Ctrl-C / SIGTERM end it cleanly)."""
    running = _bind(config, host, port, token)
    print(f"nianbao dashboard: {running.url}", flush=True)
    if resolve_token(config, token):
        print("a token is required: open the address with ?token=… once", flush=True)

    try:
        with interruptible():
            running.server.run()  # returns on KeyboardInterrupt (waitress's loop catches it)
    except KeyboardInterrupt:  # one that came outside the loop
        pass
    finally:
        running.shutdown()
