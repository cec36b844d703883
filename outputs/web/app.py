"""The dashboard as a Flask application over nianbao's database: ``create_app(config)``.

The pages themselves are in ``outputs.web.views``; this module sets up what every request goes
through.  Templates are Jinja2 with autoescaping on: everything that came from a portal (titles,
names, texts, URLs) is escaped; links to portal URLs are only made for http(s).  Every response
carries a strict CSP (the dashboard ships no script) unless a view sets its own: stored documents
are served under ``Content-Security-Policy: sandbox`` and shown in a sandboxed iframe, so a
portal's page never runs script in the dashboard's origin.

Before anything else a path holding a control character is refused (400).  With a token, every
request needs it: ``?token=`` once (traded for an HttpOnly cookie by a redirect to the path
re-encoded with one leading slash, so nothing in a request reaches a response header raw or sends
the browser off-site), then the cookie or ``Authorization: Bearer``.  Error pages never show a
filesystem path or a traceback.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import jinja2
from flask import Flask, Response, abort, current_app, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from config import Config
from monitor.glossary import (
    EVENT_LABELS,
    ISSUE_LABELS,
    KIND_LABELS,
    RUN_LABELS,
    STATUS_LABELS,
    date_source_label,
)
from monitor.localtime import reader_zone
from outputs.web.display import (
    event_reason,
    file_kind,
    issue_text,
    localtime,
    number,
    percent,
    report_tables,
    safe_url,
    zone_name,
)

log = logging.getLogger("nianbao.web")

# The dashboard's own pages: no script at all, styles and frames from here only.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)
DEFAULT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
TOKEN_COOKIE = "nianbao_token"
# Shown instead of Werkzeug's English descriptions when a view gives none of its own.
MESSAGES = {
    400: "请求有误",
    401: "需要访问令牌：请在地址后加 ?token=…",
    404: "没有这个页面",
    405: "只支持 GET 请求",
    500: "服务器内部错误，详见服务日志。",
}

__all__ = ["PAGE_CSP", "Site", "create_app", "local_location", "safe_url", "site"]


@dataclass(frozen=True)
class Site:
    """What the views need besides the request: the configuration, the token, the clock, and the
    readers' time zone (every time shown is in it; "today" is its date)."""

    config: Config
    token: str | None
    today: Callable[[], date]
    tz: ZoneInfo


def site() -> Site:
    """The ``Site`` of the application handling the current request."""
    return current_app.extensions["nianbao"]


def create_app(config: Config, token: str | None = None, today: Callable[[], date] | None = None) -> Flask:
    """The dashboard over ``config``'s database; ``token`` (if given) is required on every request,
    ``today`` replaces the clock (demo data, tests)."""
    from outputs.web.views import pages

    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config.update(SEND_FILE_MAX_AGE_DEFAULT=3600, PROVIDE_AUTOMATIC_OPTIONS=False)
    app.url_map.merge_slashes = False  # "//x" is not "/x": no redirect built from the path
    tz = reader_zone(config)
    app.extensions["nianbao"] = Site(config, token or None, today or (lambda: datetime.now(tz).date()), tz)
    app.jinja_options = {
        "autoescape": True,  # every {{ value }} is HTML-escaped unless marked safe, in every template
        "trim_blocks": True,
        "lstrip_blocks": True,
        "undefined": jinja2.StrictUndefined,
    }
    sources = {s["id"]: s["name"] for s in config.sources}
    app.jinja_env.filters.update(
        safe_url=safe_url,
        number=number,
        percent=percent,
        localtime=lambda v: localtime(v, tz),
        date_source=date_source_label,
        file_kind=file_kind,
        event_reason=event_reason,
        source_name=lambda sid: sources.get(sid) or ("（已不在配置中的来源）" if sid else "—"),
    )
    app.jinja_env.globals.update(
        STATUS_LABELS=STATUS_LABELS,
        KIND_LABELS=KIND_LABELS,
        ISSUE_LABELS=ISSUE_LABELS,
        EVENT_LABELS=EVENT_LABELS,
        RUN_LABELS=RUN_LABELS,
        url=url,
        tables=report_tables,
        issue_text=issue_text,
        ZONE=zone_name(tz),
    )
    app.register_blueprint(pages)
    app.before_request(refuse_control_characters)
    app.before_request(authorise)
    app.after_request(secure_headers)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, internal_error)
    return app


def url(endpoint: str, **params: Any) -> str:
    """``url_for`` without the parameters that are None or empty (filters not chosen)."""
    return url_for(endpoint, **{k: v for k, v in params.items() if v is not None and v != ""})


def local_location(path: str, query: list[tuple[str, str]]) -> str:
    """A Location on this site for ``path`` and ``query``: one leading slash, unsafe bytes escaped.

    ``//host`` or ``/\\host`` would send a browser to another site; CR or LF would end the header.
    """
    path = "/" + re.sub(r"[/\\]{2,}", "/", path).lstrip("/\\")
    location = quote(path, safe="/-._~!$&'()*+,;=:@%")
    return location + (f"?{urlencode(query)}" if query else "")


# -- around every request ----------------------------------------------------------------------


def refuse_control_characters() -> None:
    """400 for a path holding a control character, before it can reach anything else."""
    if CONTROL_CHARS.search(request.path):
        abort(400, "地址中含有控制字符")


def authorise() -> Response | None:
    """Nothing when no token is set or the request carries it; else a 401 (or, for ``?token=``
    right, the redirect that trades it for a cookie)."""
    token = site().token
    if token is None:
        return None
    given = request.args.get("token")
    if given is not None and _same(given, token):
        # Trade the token in the URL for a cookie, and drop it from the address bar.
        rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
        resp = redirect(local_location(request.path, rest), 303)
        resp.set_cookie(TOKEN_COOKIE, token, path="/", httponly=True, samesite="Strict")
        return resp
    auth = request.authorization
    bearer = auth.token if auth is not None and auth.type == "bearer" else None
    if any(c and _same(c, token) for c in (request.cookies.get(TOKEN_COOKIE), bearer)):
        return None
    abort(401)


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


def secure_headers(resp: Response) -> Response:
    """The default headers a response does not set itself, and the strict CSP unless the view
    chose another (``g.csp``; None for none).  A header holding a control character is a bug
    that could let input through: it becomes a 500."""
    for name, value in DEFAULT_HEADERS.items():
        resp.headers.setdefault(name, value)
    csp = g.get("csp", PAGE_CSP)
    if csp and "Content-Security-Policy" not in resp.headers:
        resp.headers["Content-Security-Policy"] = csp
    if any(CONTROL_CHARS.search(v) for _, v in resp.headers.items()):
        log.error("refused a response header holding a control character for %r", request.path)
        return secure_headers(error_page(500, MESSAGES[500]))
    # The query string may hold the token: log the path only, quoted (it may hold a line break).
    log.info("%s %s %r %s", request.remote_addr, request.method, request.path, resp.status_code)
    return resp


# -- errors ------------------------------------------------------------------------------------


def error_page(code: int, message: str) -> Response:
    """The error page: the code and a message meant for the visitor, nothing from the server."""
    g.csp = PAGE_CSP  # whatever the view meant to serve, this is one of our pages
    return Response(render_template("error.html", code=code, message=message), code)


def http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    own = exc.description != type(exc).description  # a view's message, else ours for the code
    message = exc.description if own and exc.description else MESSAGES.get(code, exc.name)
    resp = error_page(code, message)
    if code == 405 and exc.get_headers():
        resp.headers.extend((k, v) for k, v in exc.get_headers() if k == "Allow")
    return resp


def internal_error(exc: Exception) -> Response:
    log.error("error serving %s", request.path, exc_info=exc)
    return error_page(500, MESSAGES[500])
