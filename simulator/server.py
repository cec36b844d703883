"""A real HTTP server on 127.0.0.1 for one simulated site, with the misbehaviours real portals show.

``SiteServer(site, behaviour).start()`` binds a free port and serves from a background thread;
every request goes to ``site.handle(request)``.  The server adds what does not depend on the
family: latency, 500s, connection resets, robots.txt, user-agent blocking, encoding str bodies in
the site's charset (GBK sites really send GBK bytes), ETag / Last-Modified with 304 answers to
conditional GETs, and a request log.

``SiteServer.answer()`` is all of that for one parsed request, without a socket: the threaded
server here and the country's single event loop (:mod:`simulator.country`, thousands of hosts)
both send what it returns.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from simulator.site import Request, Response, Site


@dataclass
class Behaviour:
    """Per-site server behaviour.

    latency: seconds to wait before answering every request.
    fail_every: every N-th request (counting all paths but robots.txt) gets a 500; 0 = never.
    fail_paths: paths that answer 500.  A dict maps a path to how many times it fails before
        it starts working (for retry tests); an iterable means "always".
    reset_paths: paths whose connection is closed (TCP reset) without any response.
    robots_txt: the robots.txt text; None = 404.  robots_status overrides the status (e.g. 403).
    blocked_user_agents: substrings of User-Agent that get a 403 (case-insensitive).
    conditional: answer 304 to If-None-Match / If-Modified-Since.
    burst_limit: more than this many requests within burst_window seconds get a 200 with an
        empty body (苏州-style throttling); 0 = no limit.
    """

    latency: float = 0.0
    fail_every: int = 0
    fail_paths: dict[str, int] | Iterable[str] = ()
    reset_paths: Iterable[str] = ()
    robots_txt: str | None = "User-agent: *\nDisallow: /admin/\n"
    robots_status: int | None = None
    blocked_user_agents: Iterable[str] = ()
    conditional: bool = True
    burst_limit: int = 0
    burst_window: float = 1.0

    def __post_init__(self) -> None:
        fp = self.fail_paths
        self.fail_paths = dict(fp) if isinstance(fp, dict) else {p: -1 for p in fp}
        self.reset_paths = set(self.reset_paths)
        self.blocked_user_agents = [s.lower() for s in self.blocked_user_agents]


BEHAVIOUR_KEYS = tuple(Behaviour.__dataclass_fields__)


@dataclass
class LogEntry:
    method: str
    path: str  # with the query string
    status: int  # 0 = connection reset
    user_agent: str
    at: float = field(default_factory=time.time)


_CST = timezone(timedelta(hours=8))
_META_CHARSET = re.compile(rb"(<meta[^>]*charset=[\"']?)utf-8", re.IGNORECASE)


def encode_body(text: str, charset: str) -> bytes:
    """Encode a page; a GBK site also declares gb2312 in its <meta> as old TRS templates do."""
    if charset.lower() in ("utf-8", "utf8"):
        return text.encode("utf-8")
    data = text.encode("gbk", errors="xmlcharrefreplace")
    return _META_CHARSET.sub(rb"\1gb2312", data, count=2)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


class SiteServer:
    """Serves one Site on http://127.0.0.1:<free port>/ from a daemon thread."""

    def __init__(
        self,
        site: Site,
        behaviour: Behaviour | None = None,
        host: str = "127.0.0.1",
        *,
        keep_log: bool = True,
    ) -> None:
        self.site = site
        self.behaviour = behaviour or Behaviour()
        self.host = host
        self.keep_log = keep_log  # False: count requests per path only (thousands of sites)
        self.log: list[LogEntry] = []
        self.requests: Counter[str] = Counter()  # path (with query) -> count
        self._lock = threading.Lock()
        self._served = 0
        self._recent: list[float] = []  # request times, for burst_limit
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None  # set by attach(): served by an outside loop

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is not None:
            return self._port
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    def attach(self, port: int) -> SiteServer:
        """Serve from someone else's socket on ``host:port`` (it calls ``answer``): no thread here."""
        self._port = port
        self.site.bind(self.base_url)
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SiteServer:
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer((self.host, 0), handler)
        self._httpd.daemon_threads = True
        self.site.bind(self.base_url)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name=f"sim-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()
            self.requests.clear()

    # -- one request -------------------------------------------------------------------------

    def _record(self, method: str, raw_path: str, status: int, ua: str) -> None:
        with self._lock:
            if self.keep_log:
                self.log.append(LogEntry(method, raw_path, status, ua))
            self.requests[raw_path] += 1

    def _misbehaviour(self, path: str, ua: str) -> str | Response | None:
        """'reset', an error Response, or None to go on to the site."""
        b = self.behaviour
        if path in b.reset_paths:
            return "reset"
        if any(s in ua.lower() for s in b.blocked_user_agents):
            return Response(403, "<html><body><h1>403 Forbidden</h1></body></html>")
        with self._lock:
            if path != "/robots.txt":
                self._served += 1
                if b.fail_every and self._served % b.fail_every == 0:
                    return _server_error()
            if b.burst_limit and path != "/robots.txt":
                now = time.monotonic()
                self._recent = [t for t in self._recent if now - t < b.burst_window] + [now]
                if len(self._recent) > b.burst_limit:
                    return Response(200, b"", "text/html")
            left = b.fail_paths.get(path)
            if left is not None and left != 0:
                if left > 0:
                    b.fail_paths[path] = left - 1
                return _server_error()
        return None

    def answer(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes] | None:
        """One request, everything but the socket and the latency: (status, headers, body to
        send), or None when the connection is to be reset.  ``raw_path`` has the query string."""
        split = urlsplit(raw_path)
        path = unquote(split.path) or "/"
        lower = {k.lower(): v for k, v in headers.items()}
        ua = lower.get("user-agent", "")
        req = Request(method, path, parse_qs(split.query, keep_blank_values=True), lower, body)
        bad = self._misbehaviour(path, ua)
        if bad == "reset":
            self._record(method, raw_path, 0, ua)
            return None
        resp = bad if isinstance(bad, Response) else self.respond(req)
        ctype = resp.content_type
        if isinstance(resp.body, str):
            charset = getattr(self.site, "charset", "utf-8") if ctype == "text/html" else "utf-8"
            payload = encode_body(resp.body, charset)
            ctype += "; charset=" + ("GBK" if charset.lower() in ("gbk", "gb2312", "gb18030") else "UTF-8")
        else:
            payload = resp.body
        status = resp.status
        out = {"Content-Type": ctype, **resp.headers}
        if status == 200 and method in ("GET", "HEAD"):
            tag = etag_of(payload)
            out["ETag"] = tag
            if resp.last_modified is not None:
                out["Last-Modified"] = _http_date(resp.last_modified)
            if self.behaviour.conditional and _not_modified(req, tag, resp.last_modified):
                status, payload = 304, b""
                del out["Content-Type"]
        self._record(method, raw_path, status, ua)
        out["Content-Length"] = str(len(payload)) if status != 304 else "0"
        if method == "HEAD" or status == 304:
            payload = b""
        return status, out, payload

    def respond(self, req: Request) -> Response:
        if req.path == "/robots.txt":
            b = self.behaviour
            if b.robots_txt is None:
                return Response(404, "not found", "text/plain")
            return Response(b.robots_status or 200, b.robots_txt, "text/plain")
        return self.site.handle(req)


def _server_error() -> Response:
    return Response(500, "<html><body><h1>500 Internal Server Error</h1></body></html>")


def _make_handler(server: SiteServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; with Nagle on, a keep-alive client waits for
            # the delayed ACK (~40 ms) on every response, which capped crawls at ~25 pages/s.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            pass  # the server keeps its own log

        def do_GET(self) -> None:
            self._serve()

        def do_HEAD(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if server.behaviour.latency:
                time.sleep(server.behaviour.latency)
            answer = server.answer(self.command, self.path, dict(self.headers.items()), body)
            if answer is None:
                self._reset()
                return
            status, headers, payload = answer
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        def _reset(self) -> None:
            # SO_LINGER 0 makes close() send a RST: the client sees "connection reset by peer".
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()

        def finish(self) -> None:
            # The connection may have been reset on purpose.
            with contextlib.suppress(OSError, ValueError):
                super().finish()

    return Handler


def _http_date(dt: datetime) -> str:
    # Publication times are China time (UTC+8) without a zone; HTTP dates are GMT.
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_CST)
    return format_datetime(dt.astimezone(UTC), usegmt=True)


def _not_modified(req: Request, tag: str, last_modified: datetime | None) -> bool:
    inm = req.header("if-none-match")
    if inm:
        return tag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
    ims = req.header("if-modified-since")
    if ims and last_modified is not None:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        lm = last_modified if last_modified.tzinfo else last_modified.replace(tzinfo=_CST)
        return lm.replace(microsecond=0) <= since
    return False
