"""A simulated country: thousands of small county portals, each its own host on loopback.

    country = Country(portals=3000, seed=2024, today=date(2026, 1, 31))
    country.prerender(processes=2)          # every attachment rendered before anything is timed
    with country:                           # binds 127.1.0.1, 127.1.0.2, … and serves them all
        country.portals[0].start_url        # http://127.1.0.1:<port>/
        country.advance_day()               # tomorrow: a few new reports, deadlines pass
        country.truth()                     # ground truth per portal, as of the country's today

Each portal is a generated county (:func:`simulator.model.generate_region`, a unique county name,
its own seed) served by one of the existing families (TRS classic and new, some in GBK, Hanweb,
Ucap, gkmlpt) on its own address in 127.0.0.0/8 — a distinct host, so a crawler's per-host
politeness treats each as a separate site, as it would real portals.

Serving: one event loop in one thread accepts on every portal's listening socket (asyncio over
epoll) and answers each request with that portal's :meth:`SiteServer.answer` — robots.txt,
ETag / Last-Modified and 304, GBK bodies, per-request page noise, exactly as a threaded
``SiteServer`` does, without one thread (and its 0.5 s poll) per site.  ``cpu_seconds()`` is the
CPU time of that thread alone, so a bench can report the simulator's own cost.

Ground truth: every portal's government publishes its last year's report on a known day for one
portal in ``new_report_every`` (the "new reports" of an advanced day); the rest is
:mod:`simulator.model`'s planted cases (missing, late, …) per county.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from email.utils import formatdate
from http import HTTPStatus
from typing import Any

from simulator.model import Region, generate_region
from simulator.portal import FAMILIES
from simulator.server import Behaviour, SiteServer
from simulator.site import RegionSite, cached_render

# The mix of families: (family, site options, weight).  TRS dominates county portals; Hanweb is
# next; Ucap 集约化 platforms and Guangdong's gkmlpt are regional.  No JS-only columns: without a
# browser they are not checkable, which is a different bench.
MIX: list[tuple[str, dict[str, Any], int]] = [
    ("trs", {"variant": "classic"}, 30),
    ("trs", {"variant": "new", "ext": "shtml"}, 10),
    ("trs", {"variant": "classic", "charset": "gbk"}, 5),
    ("hanweb", {"special_formats": ()}, 30),
    ("ucap", {"special_formats": ()}, 13),
    ("gkmlpt", {}, 12),
]

PROVINCES = [
    "北京", "天津", "河北", "山西", "内蒙古", "辽宁", "吉林", "黑龙江", "上海", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川",
    "贵州", "云南", "西藏", "陕西", "甘肃", "青海", "宁夏", "新疆",
]  # fmt: skip
_FIRST = "安宝长承大德东丰福富公广桂海和河红华怀会吉嘉建江金锦靖九康乐黎连临龙隆罗茂美蒙明南宁平普"
_SECOND = "安昌成城川丹德定东丰冈高关和河湖华化江津景康兰乐林陵隆茂宁平浦清泉仁山水顺台阳源"


def county_name(i: int) -> str:
    """A distinct county name per index (3,000 names before they take a 市 suffix)."""
    pairs = len(_FIRST) * len(_SECOND)
    a, b = divmod(i % pairs, len(_SECOND))
    return _FIRST[a] + _SECOND[b] + ("县" if i < pairs else "市")


def address_of(i: int) -> str:
    """Portal i's own loopback address: 127.1.0.1 … 127.1.0.250, 127.1.1.1, …"""
    hi, lo = divmod(i, 250)
    return f"127.{1 + hi // 256}.{hi % 256}.{lo + 1}"


@dataclass
class CountryPortal:
    index: int
    source_id: str
    province: str
    family: str
    options: dict[str, Any]
    region: Region
    site: RegionSite
    server: SiteServer

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def start_url(self) -> str:
        return self.server.base_url + "/"

    def documents(self) -> list[dict[str, Any]]:
        return self.site.documents()  # type: ignore[attr-defined]

    def truth(self, as_of: date) -> list[dict[str, Any]]:
        return self.region.expected_status(as_of)


class Country:
    """``portals`` generated counties, each served on its own loopback host (see the module doc).

    ``today``: the simulator's date (reports published later are not served yet).
    ``departments``: per county (6 or more); with 3 townships and 3 years a county plans
        ``(4 + departments) * 3`` reports; 9 departments ≈ 36 published reports, ≈ 40 documents
        with their attachments.
    ``new_report_every``: one portal in N publishes its government's last-year report on the
        day after ``today``.
    """

    def __init__(
        self,
        portals: int = 3000,
        seed: int = 2024,
        *,
        today: date = date(2026, 1, 31),
        departments: int = 9,
        new_report_every: int = 10,
        noise: bool = True,
    ) -> None:
        if portals < 1:
            raise ValueError(f"portals must be at least 1, got {portals}")
        self.today = today
        self.seed = seed
        rng = random.Random(seed)
        weights = [w for *_, w in MIX]
        provinces = min(len(PROVINCES), max(2, -(-portals // 100)))
        self.portals: list[CountryPortal] = []
        for i in range(portals):
            region = generate_region(seed + i, county_name(i), departments, 3)
            self._mix_formats(region, random.Random(seed * 7919 + i))
            if i % new_report_every == 0:
                self._publish_on(region, today + timedelta(days=1))
            family, options, _ = rng.choices(MIX, weights)[0]
            site = FAMILIES[family](region, today=today, noise=noise, **options)
            server = SiteServer(site, Behaviour(), host=address_of(i), keep_log=False)
            self.portals.append(
                CountryPortal(i, f"p{i:04d}", PROVINCES[i % provinces], family, options, region, site, server)
            )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []

    @staticmethod
    def _mix_formats(region: Region, rng: random.Random) -> None:
        """Mostly HTML reports, one in ten as a PDF or DOCX attachment (each takes ~80 ms of CPU
        to pre-render: at 3,000 portals that is the set-up's largest cost)."""
        for r in region.reports:
            r.fmt = rng.choices(["html", "pdf", "docx"], weights=[18, 1, 1])[0]

    @staticmethod
    def _publish_on(region: Region, day: date) -> None:
        """The government's last-year report is published on ``day`` (before its deadline)."""
        pr = region.report(region.government.name, region.years[-1])
        if pr is None or pr.published_at is None:
            return
        pr.published_at = pr.url_date = day
        pr.report["published_at"] = day.isoformat()
        pr.planted.append("new_on_advance")

    # -- serving -------------------------------------------------------------------------------

    def start(self) -> Country:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=run, name="country", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    async def _listen(self) -> None:
        for p in self.portals:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((p.host, 0))
            except OSError as exc:
                sock.close()
                raise OSError(f"cannot bind {p.host}: {exc}") from exc
            sock.listen(128)
            p.server.attach(sock.getsockname()[1])
            handler = _connection_handler(p.server)
            self._servers.append(await asyncio.start_server(handler, sock=sock, limit=1 << 16))

    async def _close(self) -> None:
        for s in self._servers:
            s.close()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.wait_closed(), 1)
        self._servers.clear()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop = None
            self._thread = None

    def __enter__(self) -> Country:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _in_loop(self, fn: Any) -> Any:
        """Run ``fn()`` in the serving thread (between two requests) and return its result."""
        if self._loop is None:
            return fn()

        async def call() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(60)

    def cpu_seconds(self) -> float:
        """CPU time the serving thread has used so far (user + system)."""
        return self._in_loop(time.thread_time)

    # -- time and ground truth -------------------------------------------------------------------

    def advance_day(self) -> date:
        """Tomorrow: reports dated tomorrow appear, and deadlines of today have passed."""

        def step() -> date:
            self.today += timedelta(days=1)
            for p in self.portals:
                p.site.today = self.today
            return self.today

        return self._in_loop(step)

    def truth(self, as_of: date | None = None) -> dict[str, list[dict[str, Any]]]:
        """source id → expected statuses as of ``as_of`` (default: the country's today)."""
        return {p.source_id: p.truth(as_of or self.today) for p in self.portals}

    def document_counts(self) -> dict[str, int]:
        """source id → how many report documents (pages and attachments) it serves today."""
        return self._in_loop(lambda: {p.source_id: len(p.documents()) for p in self.portals})

    def new_reports(self) -> list[tuple[str, str, int]]:
        """(source id, agency, year) of the reports published exactly on the country's today."""
        return [
            (p.source_id, r.agency.name, r.year)
            for p in self.portals
            for r in p.region.reports
            if r.published_at == self.today
        ]

    def request_count(self) -> int:
        return self._in_loop(lambda: sum(sum(p.server.requests.values()) for p in self.portals))

    def prerender(self, processes: int = 2) -> int:
        """Render every attachment served now or later, in ``processes`` worker processes, into
        the shared render cache: a crawl then measures the crawler.  Returns how many."""
        from simulator import render

        jobs = [
            (p.site, r)
            for p in self.portals
            for r in p.region.reports
            if r.published_at is not None and p.site.owns(r) and r.fmt in ("pdf", "docx")
        ]
        fns = {"pdf": render.render_pdf, "docx": render.render_docx}
        if processes <= 1:
            for site, r in jobs:
                site.render_file(r, r.fmt)
            return len(jobs)
        with ProcessPoolExecutor(processes) as pool:
            futures = [
                (r, site.drift_of(r), pool.submit(_render, fns[r.fmt], r.report, site.drift_of(r)))
                for site, r in jobs
            ]
            for r, drift, fut in futures:
                data = fut.result()
                cached_render(lambda *_a, _d=data, **_k: _d, r.fmt, r.report, drift)
        return len(jobs)


def _render(fn: Any, report: dict[str, Any], drift: dict[str, Any]) -> bytes:
    return fn(report, **drift)


def _connection_handler(server: SiteServer) -> Any:
    """An asyncio connection callback serving HTTP/1.1 keep-alive requests from ``server``."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    writer.write(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    return
                method, target, version = parts
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip()] = value.strip()
                lower = {k.lower(): v for k, v in headers.items()}
                length = int(lower.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                if server.behaviour.latency:
                    await asyncio.sleep(server.behaviour.latency)
                answer = server.answer(method, target, headers, body)
                if answer is None:  # a reset on purpose: SO_LINGER 0 makes close() send a RST
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    writer.transport.abort()
                    return
                status, out, payload = answer
                phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
                close = lower.get("connection", "").lower() == "close" or version == "HTTP/1.0"
                head_out = [
                    f"HTTP/1.1 {status} {phrase}",
                    "Server: nginx",
                    f"Date: {formatdate(usegmt=True)}",
                ]
                head_out += [f"{k}: {v}" for k, v in out.items()]
                if close:
                    head_out.append("Connection: close")
                writer.write(("\r\n".join(head_out) + "\r\n\r\n").encode("latin-1") + payload)
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    return serve
