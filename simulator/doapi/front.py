"""A stand-in for the load balancer's public side when the simulator has no replica behind it (memory backend):
every request is answered by one of the droplets serving now (round robin), with the identity headers a real
node sends, or 503 when none is healthy (as a DO LB does). Lets drivers observe convergence in traffic."""
from __future__ import annotations

import itertools
import socket
import threading
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

    def answer(self) -> tuple[int, dict[str, str]]:
        ids = self.backend.serving()
        if not ids:
            return 503, {}
        name, tag = DROPLETS[ids[next(self._rr) % len(ids)]]
        return 200, {self.headers[0]: name, self.headers[1]: self.releases.get(tag, "")}


def serve_front(front: Front, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no delayed-ACK stalls

        def do_GET(self):
            status, headers = front.answer()
            body = b"ok\n" if status == 200 else b"503 Service Unavailable: no healthy droplet\n"
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer((host, port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd
