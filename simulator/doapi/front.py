"""A stand-in for the load balancer's public side when the simulator has no replica behind it (memory backend):
every request is answered by one of the droplets serving now (round robin), with the identity headers a real
node sends, or 503 when none is healthy (as a DO LB does). Lets drivers observe convergence in traffic.

As documented for DO: with sticky_sessions type `cookies` the LB sets `cookie_name` (Max-Age cookie_ttl_seconds)
naming the droplet, and a client that sends it back stays there while that droplet serves; a client connection
idle for http_idle_timeout_seconds (time-scaled) is closed."""
from __future__ import annotations

import itertools
import socket
import threading
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from simulator.doapi.backends import MemoryBackend
from simulator.doapi.state import DROPLETS


class Front:
    def __init__(self, backend: MemoryBackend, releases: dict[str, str] | None = None,
                 served_by: str = "X-Served-By", release_header: str = "X-Release"):
        self.backend = backend
        self.releases = dict(releases or {"magento-blue": "r1", "magento-green": "r2"})   # tag -> release id
        self.headers = (served_by, release_header)
        self._rr = itertools.count()

    def _sticky(self) -> dict | None:
        s = self.backend.settings.get("sticky_sessions") or {}
        return s if s.get("type") == "cookies" else None

    def idle_timeout(self) -> float:
        return float(self.backend.settings.get("http_idle_timeout_seconds", 60)) * self.backend.checker.scale

    def answer(self, cookie_header: str = "") -> tuple[int, dict[str, str]]:
        ids = self.backend.serving()
        if not ids:
            return 503, {}
        sticky = self._sticky()
        pinned = _cookie(cookie_header, sticky.get("cookie_name") or "DO-LB") if sticky else None
        did = int(pinned[1:]) if pinned and pinned[1:].isdigit() and int(pinned[1:]) in ids else \
            ids[next(self._rr) % len(ids)]
        if not self.backend.answers(did):
            return 503, {}          # assigned and still UP for the LB, but the droplet is gone
        name, tag = DROPLETS[did]
        headers = {self.headers[0]: name, self.headers[1]: self.releases.get(tag, "")}
        if sticky and pinned != f"d{did}":
            headers["Set-Cookie"] = (f"{sticky.get('cookie_name') or 'DO-LB'}=d{did}; "
                                     f"Max-Age={int(sticky.get('cookie_ttl_seconds', 300))}; Path=/")
        return 200, headers


def _cookie(header: str, name: str) -> str | None:
    try:
        c = SimpleCookie(header)
    except CookieError:
        return None
    return c[name].value if name in c else None


class QuietServer(ThreadingHTTPServer):
    """A client that went away mid-answer is normal for a load balancer, not a traceback."""

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def serve_front(front: Front, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no delayed-ACK stalls
            # http_idle_timeout_seconds: a kept-alive connection with no new request is closed by the LB.
            self.connection.settimeout(front.idle_timeout())

        def do_GET(self):
            status, headers = front.answer(self.headers.get("Cookie", ""))
            body = b"ok\n" if status == 200 else b"503 Service Unavailable: no healthy droplet\n"
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = QuietServer((host, port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd
