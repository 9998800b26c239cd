"""The request ledger: one JSON line per request, recorded by the Locust process that made it.

Attached to `events.request`; every request Locust counts is recorded exactly once (so the ledger total equals
Locust's own total). Lines are buffered and flushed at least every FLUSH_S seconds and at exit.
- A stand-alone Locust process writes its own shard `requests-<host>-<pid>.jsonl` (opened lazily per pid).
- A worker of a distributed run writes no file: it ships its lines to the master (gl_distributed), which writes
  one shard per worker under the same name. The master itself runs no users and records nothing of its own.
"""
from __future__ import annotations

import atexit
import os
import socket
import threading
import time

import gevent
import orjson

from harness.ledger.schema import SPARSE, shard_name

FLUSH_S = 0.5
FAILURE_FLUSH_S = 0.05  # failures flush at once, at most this often (a bad release fails many at once)
MAX_BUFFER = 2000  # lines; bounds memory between timed flushes under heavy load
ERROR_MAX = 300  # characters of error text kept per record

# Extra per-call fields the journeys may set through context={...} (the schema's sparse fields).
OPTIONAL_FIELDS = SPARSE
_EMPTY: dict = {}
_DUMPS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


class RequestLedger:
    def __init__(self, directory: str, served_by_header: str = "X-Served-By", release_header: str = "X-Release"):
        self.directory = directory
        self.served_by_header = served_by_header
        self.release_header = release_header
        # Set when this process is a worker of a distributed run: ship(data, n) sends lines to the master.
        self.ship = None
        self._pid = None
        self._fh = None
        self._buf: list[bytes] = []
        self._lock = threading.Lock()
        self._flusher = None
        self._failure_flush = 0.0
        self.written = 0  # records recorded by this process (for reconciliation and diagnostics)
        os.register_at_fork(after_in_child=self._forked)

    # -- where lines go ------------------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return os.path.join(self.directory, shard_name(socket.gethostname(), os.getpid()))

    def _ensure_open(self) -> None:
        # First record in this process (or first after a fork): a fresh buffer, flusher and (stand-alone) shard.
        self._pid = os.getpid()
        self._buf = []
        if self.ship is None:
            os.makedirs(self.directory, exist_ok=True)
            self._fh = open(self.path, "ab")
        self._flusher = gevent.spawn(self._flush_loop)

    def _forked(self) -> None:
        """In a forked child: nothing of the parent's buffer or file is ours (os.register_at_fork)."""
        self._pid, self._fh, self._buf, self._flusher = None, None, [], None

    def _flush_loop(self) -> None:
        while True:
            gevent.sleep(FLUSH_S)
            self.flush()

    def take(self) -> tuple[bytes, int]:
        """Hand over the buffered lines (the caller sends them on): (bytes, number of lines)."""
        with self._lock:
            return self._take()

    def _take(self) -> tuple[bytes, int]:
        if not self._buf:
            return b"", 0
        data, n, self._buf = b"".join(self._buf), len(self._buf), []
        return data, n

    def flush(self) -> None:
        # Under the lock, so lines leave in the order they were recorded.
        with self._lock:
            data, n = self._take()
            if not n:
                return
            if self.ship is not None:
                self.ship(data, n)
            elif self._fh is not None:
                self._fh.write(data)
                self._fh.flush()

    def close(self) -> None:
        if self.ship is None:
            self.flush()
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._pid = None

    # -- the listener --------------------------------------------------------------------------------------------
    # Runs once per request inside Locust's event loop: kept lean (no lock, no syscall) so the ledger costs the
    # load generator little. Greenlets switch only on I/O, and nothing here does I/O until the buffer is full.
    def on_request(self, request_type, name, response_time, response_length, response=None, context=None,
                   exception=None, start_time=None, url=None, **_kw) -> None:
        ctx = context or _EMPTY
        served_by = release = None
        status = 0
        if response is not None:
            status = response.status_code or 0
            headers = response.headers
            if headers:
                try:
                    served_by = headers.get(self.served_by_header)
                    release = headers.get(self.release_header)
                except Exception:  # noqa: BLE001, S110 - an ErrorResponse can carry odd header objects; identity is then unknown
                    pass
        session = ctx.get("session")
        if session is not None and callable(session):  # evaluated after the response: sees a cookie just set
            session = session()
        rec = {
            "ts": start_time,
            "user": ctx.get("user"),
            "journey": ctx.get("journey"),
            "step": ctx.get("step"),
            "method": request_type,
            "name": name,
            "status": int(status),
            "ms": round(response_time or 0.0, 2),
            "bytes": response_length or 0,
            "served_by": served_by,
            "release": release,
            "session": session,
            "error": str(exception)[:ERROR_MAX] if exception is not None else None,
        }
        if len(ctx) > 4:  # beyond user/journey/session/step: the journey noted sparse fields
            for key in OPTIONAL_FIELDS:
                if key in ctx:
                    rec[key] = ctx[key]
        if self._pid is None:
            self._ensure_open()
        buf = self._buf
        buf.append(orjson.dumps(rec, option=_DUMPS))
        self.written += 1
        # A failure is the line the watch acts on: it leaves at once (a rollback within a poll, not a flush period).
        if len(buf) >= MAX_BUFFER:
            self.flush()
        elif (status >= 500 or status == 0 or ctx.get("failed_checks")) and \
                time.monotonic() - self._failure_flush >= FAILURE_FLUSH_S:
            self._failure_flush = time.monotonic()
            self.flush()


def attach(events, directory: str | None = None, served_by_header: str | None = None,
           release_header: str | None = None) -> RequestLedger:
    """Register a ledger on Locust's events; configuration defaults come from the environment. In a distributed
    run the same call makes workers ship their lines and the master collect them (gl_distributed)."""
    import gl_distributed

    ledger = RequestLedger(
        directory or os.environ.get("GREENLIGHT_LEDGER_DIR") or "ledger",
        served_by_header or os.environ.get("GREENLIGHT_SERVED_BY_HEADER", "X-Served-By"),
        release_header or os.environ.get("GREENLIGHT_RELEASE_HEADER", "X-Release"),
    )
    events.request.add_listener(ledger.on_request)
    events.quitting.add_listener(lambda **_kw: ledger.flush())
    atexit.register(ledger.close)
    gl_distributed.install(events, ledger)
    return ledger
