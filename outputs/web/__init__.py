"""The web dashboard: ``serve(config)`` (blocking), ``start_server(config)`` (a thread, for tests and
the demo), ``make_app(config)`` (the WSGI application)."""

from __future__ import annotations

from typing import Any

from outputs.web.app import Dashboard
from outputs.web.server import DashboardServer, ServeError, is_loopback, serve, start_server


def make_app(config: Any, token: str | None = None, today: Any = None) -> Dashboard:
    """The WSGI application over ``config``'s database."""
    return Dashboard(config, token=token, today=today)


__all__ = ["Dashboard", "DashboardServer", "ServeError", "is_loopback", "make_app", "serve", "start_server"]
