"""The web dashboard: ``serve(config)`` (blocking), ``start_server(config)`` (a thread, for tests and
the demo), ``create_app(config)`` (the Flask application)."""

from __future__ import annotations

from outputs.web.app import create_app
from outputs.web.server import DashboardServer, ServeError, is_loopback, serve, start_server

__all__ = ["DashboardServer", "ServeError", "create_app", "is_loopback", "serve", "start_server"]
