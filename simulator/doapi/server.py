"""An HTTP server speaking DigitalOcean's v2 API for load balancers, droplets, tags and reserved IPs, with DO's
status codes, error bodies, bearer auth, rate-limit headers, and injectable control-plane faults (/_sim/...)."""
from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from simulator.doapi.state import Account, ApiError

RATE_LIMIT = 5000


class Faults:
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


class Sim:
    def __init__(self, account: Account, token: str):
        self.account, self.token, self.faults = account, token, Faults()
        self.requests: list[dict] = []
        self.remaining = RATE_LIMIT
        self.reset_at = int(time.time()) + 3600


def make_handler(sim: Sim):
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
            self.send_header("ratelimit-limit", str(RATE_LIMIT))
            self.send_header("ratelimit-remaining", str(max(sim.remaining, 0)))
            self.send_header("ratelimit-reset", str(sim.reset_at))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status, ident, message, headers=None):
            self._send(status, {"id": ident, "message": message, "request_id": f"sim-{time.monotonic_ns():x}"}, headers)

        def _read_body(self) -> bytes:
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _body(self):
            raw = self._raw
            if not raw:
                return {}
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                raise ApiError(400, "bad_request", "unparseable JSON body") from None

        def _route(self, method: str):
            url = urlsplit(self.path)
            path = url.path
            # Read the body first, whatever the answer: an unread body would corrupt the next request on a
            # kept-alive connection.
            self._raw = self._read_body()
            if path.startswith("/_sim/"):
                return self._control(method, path)
            write = method in ("PUT", "POST", "DELETE")
            if sim.faults.gone:
                self.close_connection = True
                self.connection.close()
                return
            sim.requests.append({"method": method, "path": path, "ts": time.time()})
            if self.headers.get("Authorization") != f"Bearer {sim.token}":
                return self._error(401, "unauthorized", "Unable to authenticate you")
            sim.remaining -= 1
            if sim.faults.take("rate_limited") or sim.remaining < 0:
                return self._error(429, "too_many_requests", "API Rate limit exceeded.", {"retry-after": "1"})
            if sim.faults.take("errors_500"):
                return self._error(500, "server_error", "Server was unable to give you a response.")
            if write:
                if sim.faults.go_away_after_writes == 0:
                    sim.faults.gone = True
                    self.close_connection = True
                    self.connection.close()
                    return
                if sim.faults.go_away_after_writes > 0:
                    sim.faults.go_away_after_writes -= 1
                if sim.faults.take("write_errors_500"):
                    return self._error(500, "server_error", "Server was unable to give you a response.")
                if sim.faults.take("busy"):
                    return self._error(403, "forbidden", "Load Balancer can't be updated while it processes previous actions")
            acc = sim.account
            q = parse_qs(url.query)
            try:
                if m := re.fullmatch(r"/v2/load_balancers/([^/]+)", path):
                    if method == "GET":
                        return self._send(200, {"load_balancer": acc.get_lb(m[1])})
                    if method == "PUT":
                        return self._send(200, {"load_balancer": acc.put_lb(m[1], self._body())})
                if (m := re.fullmatch(r"/v2/load_balancers/([^/]+)/droplets", path)) and method in ("POST", "DELETE"):
                    ids = self._body().get("droplet_ids")
                    if not isinstance(ids, list) or not ids:
                        raise ApiError(422, "unprocessable_entity", "droplet_ids is required")
                    acc.add_droplets(m[1], [int(i) for i in ids], add=method == "POST")
                    return self._send(204)
                if path == "/v2/droplets" and method == "GET":
                    return self._list_droplets(q)
                if (m := re.fullmatch(r"/v2/droplets/(\d+)", path)) and method == "GET":
                    return self._send(200, {"droplet": acc.droplet(int(m[1]))})
                if (m := re.fullmatch(r"/v2/tags/([^/]+)/resources", path)) and method in ("POST", "DELETE"):
                    acc.tag_resources(m[1], self._body().get("resources") or [], add=method == "POST")
                    return self._send(204)
                if re.fullmatch(r"/v2/reserved_ips/([^/]+)/actions", path) and method == "POST":
                    body = self._body()
                    if body.get("type") != "assign" or int(body.get("droplet_id", 0)) not in acc.droplets:
                        raise ApiError(422, "unprocessable_entity", "type must be assign and droplet_id a droplet")
                    return self._send(201, {"action": {"id": int(time.time()), "status": "in-progress",
                                                       "type": "assign_ip", "resource_type": "reserved_ip"}})
                raise ApiError(404, "not_found", "The resource you were accessing could not be found.")
            except ApiError as e:
                return self._error(e.status, e.ident, e.message, e.headers)
            except (ValueError, TypeError, AttributeError):   # ids that are not numbers, bodies that are not objects
                return self._error(422, "unprocessable_entity", "the request body has invalid values")

        def _list_droplets(self, q):
            tag = (q.get("tag_name") or [None])[0]
            if tag and (q.get("name") or q.get("type")):
                raise ApiError(422, "unprocessable_entity", "tag_name cannot be combined with name or type")
            per_page = min(int((q.get("per_page") or ["20"])[0]), 200)
            page = max(int((q.get("page") or ["1"])[0]), 1)
            all_ = self.server_account().droplets_by_tag(tag)
            last = max(1, -(-len(all_) // per_page))
            chunk = all_[(page - 1) * per_page: page * per_page]
            base = f"http://{self.headers.get('Host')}/v2/droplets?" + (f"tag_name={tag}&" if tag else "") + f"per_page={per_page}&page="
            pages = {}
            if page > 1:
                pages.update(first=base + "1", prev=base + str(page - 1))
            if page < last:
                pages.update(next=base + str(page + 1), last=base + str(last))
            return self._send(200, {"droplets": chunk, "links": {"pages": pages} if pages else {},
                                    "meta": {"total": len(all_)}})

        def server_account(self):
            return sim.account

        def _control(self, method, path):
            if path == "/_sim/faults" and method == "POST":
                body = self._body()
                with sim.faults.lock:
                    for k, v in body.items():
                        if k == "apply_delay":
                            sim.account.apply_delay = float(v)
                        elif hasattr(sim.faults, k):
                            setattr(sim.faults, k, v)
                return self._send(200, {"ok": True})
            if path == "/_sim/reset" and method == "POST":
                sim.faults.reset()
                sim.requests.clear()
                return self._send(200, {"ok": True})
            if path == "/_sim/requests" and method == "GET":
                return self._send(200, {"requests": sim.requests})
            return self._send(404, {"id": "not_found", "message": "unknown control endpoint"})

        def do_GET(self):
            self._route("GET")

        def do_PUT(self):
            self._route("PUT")

        def do_POST(self):
            self._route("POST")

        def do_DELETE(self):
            self._route("DELETE")

    return Handler


def serve(account: Account, token: str, host: str = "127.0.0.1", port: int = 8090) -> tuple[ThreadingHTTPServer, Sim]:
    sim = Sim(account, token)
    httpd = ThreadingHTTPServer((host, port), make_handler(sim))
    httpd.daemon_threads = True
    return httpd, sim
