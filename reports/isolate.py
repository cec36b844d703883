"""Parse documents in a child process that is killed when one takes too long or too much memory.

The readers bound what they can see coming (file size, unpacked XML, pixels, rulings: see
reports.limits); this bounds everything else, including time spent inside C libraries that
cannot be interrupted.  One long-lived child parses document after document (it pays for its
imports once); a document over ``Limits.seconds`` of wall time or ``Limits.max_memory`` of
resident memory kills it, gives a LimitError naming the bound, and the next document gets a
fresh child.  A child that dies on its own (a crash in a C library) gives ParserFailure.

    with Isolated(limits) as parser:
        for path in paths:
            try:
                report = parser.parse_file(path)
            except ParseError as e:      # not a report, or over a bound
                ...
            except ParserFailure as e:   # a parser bug: the message says what happened
                ...
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

from reports.errors import LimitError, ParseError, ParserFailure
from reports.limits import Limits

_POLL = 0.05  # seconds between checks of the child's memory


def _serve(conn, limits: Limits) -> None:
    """The child: parse each (kind, payload, kwargs) request, answer (status, value); it ends
    when the parent closes the pipe or goes away."""
    import signal

    from reports.api import parse_bytes, parse_file

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    while True:
        try:
            kind, payload, kwargs = conn.recv()
        except EOFError:
            return
        try:
            if kind == "file":
                answer = ("ok", parse_file(payload, limits=limits, **kwargs))
            else:
                answer = ("ok", parse_bytes(payload, limits=limits, **kwargs))
        except ParseError as e:
            answer = ("limit" if isinstance(e, LimitError) else "error", str(e))
        except MemoryError:
            answer = ("limit", "ran out of memory")
        except Exception as e:  # a parser bug: reported for this document, the child goes on
            answer = ("failure", f"parser failed: {type(e).__name__}: {e}")
        try:
            conn.send(answer)
        except OSError:  # the parent is gone
            return


def _exit_with(parent: int) -> None:
    """End this child when its parent is gone (killed: it can no longer stop us itself)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _rss(pid: int) -> int:
    """Resident memory of a process in bytes (0 if it cannot be read: not Linux, or gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Isolated:
    """parse_file / parse_bytes of reports.api, run in a child process under ``limits``."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self._ctx = multiprocessing.get_context("spawn")  # no inherited threads, locks or sockets
        self._proc = None
        self._conn = None

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child (it ends when its pipe closes; killed if it does not)."""
        if self._proc is None:
            return
        self._conn.close()
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._proc = self._conn = None

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_serve, args=(child, self.limits), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent

    def _kill(self) -> None:
        self._proc.kill()
        self._proc.join()
        self._conn.close()
        self._proc = self._conn = None

    def parse_file(self, path: str | Path, **kwargs: Any) -> dict[str, Any]:
        """reports.parse_file in the child (the child reads the file: stat first, then bytes)."""
        return self._call("file", str(path), kwargs)

    def parse_bytes(self, data: bytes, **kwargs: Any) -> dict[str, Any]:
        """reports.parse_bytes in the child."""
        return self._call("bytes", bytes(data), kwargs)

    def _call(self, kind: str, payload: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self._proc is None or not self._proc.is_alive():
            self._start()
        # The budget starts after the request is handed over (a fresh child imports first).
        self._conn.send((kind, payload, kwargs))
        start = time.monotonic()
        limit_s, limit_mem = self.limits.seconds, self.limits.max_memory
        while True:
            try:
                ready = self._conn.poll(_POLL)
            except (EOFError, OSError):
                ready = True
            if ready:
                try:
                    status, value = self._conn.recv()
                except (EOFError, OSError):
                    self._proc.join(timeout=5)
                    code = self._proc.exitcode
                    self._kill()
                    raise ParserFailure(f"the parser process died (exit code {code})") from None
                break
            if time.monotonic() - start > limit_s:
                self._kill()
                raise LimitError(f"parsing took longer than {limit_s:g} s (parse.timeout)")
            rss = _rss(self._proc.pid)
            if rss > limit_mem:
                self._kill()
                raise LimitError(
                    f"parsing used {rss // 2**20} MB of memory, over the {limit_mem // 2**20} MB bound "
                    "(parse.max_memory_mb)"
                )
        if status == "ok":
            return value
        if status == "failure":
            raise ParserFailure(value)
        raise (LimitError if status == "limit" else ParseError)(value)
