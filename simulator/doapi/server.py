"""An HTTP server speaking DigitalOcean's v2 API for load balancers, droplets, tags and reserved IPs, with DO's
status codes, error bodies, bearer auth, rate limits, and injectable control-plane faults (/_sim/...).

Requests go through a route table (method + path pattern → one small handler in routes.py); this module holds
the transport, the rate limiter and the fault switches."""
from __future__ import annotations

import collections
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from simulator.doapi import routes
from simulator.doapi.errors import ApiError
from simulator.doapi.front import QuietServer
from simulator.doapi.state import Account

HOURLY_LIMIT = 5000
BURST_LIMIT = 250            # per rolling minute


class Faults:
    COUNTERS = ("rate_limited", "busy", "errors_500", "write_errors_500", "go_away_after_writes")

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.rate_limited = 0      # the next N requests get 429
        self.busy = 0              # the next N writes get 403 "processes previous actions"
        self.errors_500 = 0        # the next N requests get 500
        self.write_errors_500 = 0  # the next N writes get 500 (reads still work)
        self.go_away_after_writes = -1  # after N more writes, drop every connection (the API vanished)
        self.gone = False

    def take(self, name: str) -> bool:
        with self.lock:
            n = getattr(self, name)
            if n > 0:
                setattr(self, name, n - 1)
                return True
            return False


class RateLimiter:
    """DO's two limits per token: 5,000 requests in a rolling hour (each request frees its slot an hour after it
    was made) and 250 in a rolling minute. `ratelimit-reset` is when the oldest counted request leaves the hour;
    `retry-after` comes only with a burst 429."""

    def __init__(self, clock=time.time, hourly: int = HOURLY_LIMIT, burst: int = BURST_LIMIT):
        self.clock, self.hourly, self.burst = clock, hourly, burst
        self._hour: collections.deque[float] = collections.deque()
        self._minute: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._hour and self._hour[0] <= now - 3600:
            self._hour.popleft()
        while self._minute and self._minute[0] <= now - 60:
            self._minute.popleft()

    def take(self) -> ApiError | None:
        """Count one request, or the 429 to answer instead (not counted)."""
        with self.lock:
            now = self.clock()
            self._expire(now)
            if len(self._hour) >= self.hourly:
                return ApiError(429, "too_many_requests", "API Rate limit exceeded.")
            if len(self._minute) >= self.burst:
                wait = max(1, int(self._minute[0] + 60 - now + 0.999))
                return ApiError(429, "too_many_requests", "API Rate limit exceeded.", {"retry-after": str(wait)})
            self._hour.append(now)
            self._minute.append(now)
            return None

    def headers(self) -> dict[str, str]:
        with self.lock:
            now = self.clock()
            self._expire(now)
            reset = (self._hour[0] + 3600) if self._hour else now
            return {"ratelimit-limit": str(self.hourly), "ratelimit-remaining": str(max(self.hourly - len(self._hour), 0)),
                    "ratelimit-reset": str(int(reset + 0.999))}


class Sim:
    def __init__(self, account: Account, token: str, clock=time.time):
        self.account, self.token, self.faults = account, token, Faults()
        self.requests: list[dict] = []
        self.limits = RateLimiter(clock)


class Request:
    """One parsed API request, as a handler sees it."""

    def __init__(self, sim: Sim, method: str, path: str, query: dict, raw: bytes, host: str):
        self.sim, self.method, self.path, self.query, self.raw, self.host = sim, method, path, query, raw, host
        self.params: dict[str, str] = {}

    @property
    def account(self) -> Account:
        return self.sim.account

    def json(self):
        if not self.raw:
            return {}
        try:
            return json.loads(self.raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "bad_request", "unparseable JSON body") from None

    def body(self) -> dict:
        b = self.json()
        if not isinstance(b, dict):
            raise ApiError(422, "unprocessable_entity", "the request body must be a JSON object")
        return b


def _logged(req: Request):
    """A write's JSON body as sent (for tests and the chaos suite to inspect), or None."""
    try:
        return req.json() if req.raw else None
    except ApiError:
        return None


def _control_fault(sim: Sim, method: str) -> ApiError | str | None:
    """The injected control-plane faults, in the order DO's front door would meet them. 'gone' = drop the
    connection."""
    f = sim.faults
    if f.take("rate_limited"):
        return ApiError(429, "too_many_requests", "API Rate limit exceeded.", {"retry-after": "1"})
    if f.take("errors_500"):
        return ApiError(500, "server_error", "Server was unable to give you a response.")
    if method not in ("PUT", "POST", "DELETE"):
        return None
    if f.go_away_after_writes == 0:
        f.gone = True
        return "gone"
    if f.go_away_after_writes > 0:
        f.go_away_after_writes -= 1
    if f.take("write_errors_500"):
        return ApiError(500, "server_error", "Server was unable to give you a response.")
    if f.take("busy"):
        return ApiError(403, "forbidden", "Load Balancer can't be updated while it processes previous actions")
    return None


def make_handler(sim: Sim):  # noqa: C901 - the handler class it builds is counted here
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # quiet
            pass

        def setup(self):
            super().setup()
            # Headers and body go out as two writes: without NODELAY each response waits for a delayed ACK.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _send(self, status: int, body=None, headers: dict | None = None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in {**sim.limits.headers(), **(headers or {})}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, e: ApiError):
            self._send(e.status, {"id": e.ident, "message": e.message, "request_id": f"sim-{time.monotonic_ns():x}"},
                       e.headers)

        def _drop(self):
            self.close_connection = True
            self.connection.close()

        def _handle(self, method: str):
            url = urlsplit(self.path)
            # Read the body first, whatever the answer: an unread body would corrupt the next request on a
            # kept-alive connection.
            n = int(self.headers.get("Content-Length") or 0)
            req = Request(sim, method, url.path, parse_qs(url.query), self.rfile.read(n) if n else b"",
                          self.headers.get("Host", ""))
            if url.path.startswith("/_sim/"):
                return self._answer(routes.dispatch(routes.CONTROL, req))
            if sim.faults.gone:
                return self._drop()
            sim.requests.append({"method": method, "path": url.path, "ts": time.time(), "body": _logged(req)})
            if self.headers.get("Authorization") != f"Bearer {sim.token}":
                return self._error(ApiError(401, "unauthorized", "Unable to authenticate you"))
            refused = sim.limits.take() or _control_fault(sim, method)
            if refused == "gone":
                return self._drop()
            if refused:
                return self._error(refused)
            return self._answer(routes.dispatch(routes.API, req))

        def _answer(self, result):
            if isinstance(result, ApiError):
                return self._error(result)
            status, body = result
            return self._send(status, body)

        def do_GET(self):
            self._handle("GET")

        def do_PUT(self):
            self._handle("PUT")

        def do_POST(self):
            self._handle("POST")

        def do_DELETE(self):
            self._handle("DELETE")

    return Handler


def serve(account: Account, token: str, host: str = "127.0.0.1", port: int = 8090,
          clock=time.time) -> tuple[ThreadingHTTPServer, Sim]:
    sim = Sim(account, token, clock)
    httpd = QuietServer((host, port), make_handler(sim))
    httpd.daemon_threads = True
    return httpd, sim
