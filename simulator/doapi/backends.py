"""Where an applied load-balancer change goes: a memory model (unit tests) or the replica's HAProxy (real traffic).

Both put the same HealthChecker (DO's check timing) between "assigned" and "takes traffic": a removed droplet stops
receiving at apply, an added one only after healthy_threshold passing checks, and nothing serves (503) while no
assigned droplet is UP."""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from harness.targets.replica.haproxy import RuntimeAPI
from simulator.doapi.health import HealthChecker
from simulator.doapi.state import DROPLETS

POOL = "bk_pool"
STICKY_POOL = "bk_pool_sticky"     # the same servers with DO-LB cookie persistence (haproxy.cfg)
DEFAULT_SETTINGS = {"sticky_sessions": {"type": "none"}, "http_idle_timeout_seconds": 60}


class MemoryBackend:
    """Records every applied droplet set; `serving()` is what takes traffic now. Health is a model: a droplet
    passes its checks unless it is in `failing` or powered off. Runs on any clock (tests pass a fake one)."""

    def __init__(self, scale: float = 1.0, clock=time.monotonic):
        self.applied: list[list[int]] = []
        self.settings = dict(DEFAULT_SETTINGS)
        self.failing: set[int] = set()          # droplets whose health check fails (a broken release)
        self.powered_off: set[int] = set()
        self.checker = HealthChecker(self._probe, clock, scale)
        self._lock = threading.Lock()

    def _probe(self, did: int, health_check: dict) -> bool:
        return did not in self.failing and did not in self.powered_off

    def apply(self, droplet_ids: list[int], health_check: dict | None = None, settings: dict | None = None) -> None:
        with self._lock:
            first = not self.applied            # the LB as found: its droplets have been passing for long
            self.applied.append(sorted(droplet_ids))
            self.settings = dict(settings or self.settings)
            self.checker.assign(list(droplet_ids), health_check, already_up=first)

    def set_power(self, did: int, on: bool) -> None:
        (self.powered_off.discard if on else self.powered_off.add)(did)

    def current_ids(self) -> list[int] | None:
        return None

    def serving(self) -> list[int]:
        """The droplets that take traffic now (assigned and UP)."""
        return self.checker.up()

    def answers(self, did: int) -> bool:
        """Whether a request sent to this droplet gets an answer (a powered-off one does not)."""
        return did not in self.powered_off


def replica_node_urls() -> dict[str, str]:
    """The replica's nodes on loopback, honouring the lane's ports (scripts/lane.sh)."""
    defaults = {"blue-1": 8081, "blue-2": 8082, "green-1": 8083, "green-2": 8084}
    return {name: f"http://127.0.0.1:{os.environ.get('GREENLIGHT_' + name.replace('-', '').upper() + '_PORT', port)}"
            for name, port in defaults.items()}


def probe_http(base_url: str, health_check: dict, client: httpx.Client | None = None) -> bool:
    """One DO health check against a droplet: a TCP connect, or an HTTP(S) GET answered 2xx/3xx in time. The
    timeout is DO's, unscaled: the time scale shortens the waits between checks, it must not make a busy node
    fail checks DO's LB would pass."""
    timeout = float(health_check.get("response_timeout_seconds", 5))
    u = urlsplit(base_url)
    if health_check.get("protocol") == "tcp":
        try:
            with socket.create_connection((u.hostname, u.port or 80), timeout=timeout):
                return True
        except OSError:
            return False
    try:
        r = (client or httpx).get(base_url.rstrip("/") + (health_check.get("path") or "/"), timeout=timeout)
    except httpx.HTTPError:
        return False
    return 200 <= r.status_code < 400


class HAProxyBackend:
    """Droplets are the replica's servers in HAProxy's pool backends. HAProxy's own checks are switched off there:
    this simulator checks the droplets the way DO does (HealthChecker, probing the nodes' loopback ports) and sets
    a server `ready` only while it is assigned and UP, `maint` otherwise. A background thread keeps them in step."""

    def __init__(self, api: RuntimeAPI, map_file: str = "/etc/haproxy/live.map", *, scale: float = 1.0,
                 node_urls: dict[str, str] | None = None, tick: float = 0.1, clock=time.monotonic,
                 persist: Callable[[str], None] | None = None):
        self.api, self.map_file, self.tick = api, map_file, tick
        # Writes the live backend into the map FILE: HAProxy re-reads it on a reload or restart, so a hand-back
        # that set only the running map would send traffic to the wrong colour at the next reload.
        self.persist = persist
        self.node_urls = node_urls or replica_node_urls()
        self.settings = dict(DEFAULT_SETTINGS)
        self.powered_off: set[int] = set()
        self.checker = HealthChecker(self._probe, clock, scale)
        self._ready: dict[str, set[str]] = {}  # backend -> servers set ready by us
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # One client for every probe; a fresh connection per check (DO's checks do not reuse one).
        self._client = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0))

    def current_ids(self) -> list[int]:
        """The droplets taking traffic now, as the replica's LB has them (used to start in the same state)."""
        live = self.api.show_map(self.map_file).get("live", "bk_blue")
        names = ({"bk_blue": {"blue-1", "blue-2"}, "bk_green": {"green-1", "green-2"}}.get(live)
                 or {s["name"] for s in self.api.servers(POOL) if not s["maint"]})
        # Nothing serving at all (should not happen): start on blue rather than on an empty LB.
        return [i for i, (n, _) in DROPLETS.items() if n in names] or [101, 102]

    def _probe(self, did: int, health_check: dict) -> bool:
        if did in self.powered_off:
            return False
        return probe_http(self.node_urls[DROPLETS[did][0]], health_check, self._client)

    def apply(self, droplet_ids: list[int], health_check: dict | None = None, settings: dict | None = None) -> None:
        with self._lock:
            first = self._thread is None
            self.settings = dict(settings or self.settings)
            self.checker.assign(list(droplet_ids), health_check, already_up=first)
            if first:
                self._take_over()
            self._push(self.checker.states())     # the checks themselves run in the background thread
            sticky = (self.settings.get("sticky_sessions") or {}).get("type") == "cookies"
            self.api.set_map(self.map_file, "live", STICKY_POOL if sticky else POOL)
            if first:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="doapi-health")
                self._thread.start()

    def _take_over(self) -> None:
        """HAProxy's checks would add their own rise/fall timing: DO's timing is ours alone."""
        for backend in (POOL, STICKY_POOL):
            for s in self.api.servers(backend):
                self.api.command(f"disable health {backend}/{s['name']}")
            self._ready[backend] = {s["name"] for s in self.api.servers(backend) if not s["maint"]}

    def sync(self) -> None:
        """Run the checks due and make HAProxy match."""
        self._push(self.checker.advance())

    def _push(self, states: dict[int, bool]) -> None:
        """ready = assigned and UP, maint otherwise."""
        with self._lock:
            assigned = self.checker.states()      # states computed before an apply may name removed droplets
            up = {DROPLETS[i][0] for i, ok in states.items() if ok and i in assigned}
            for backend, ready in self._ready.items():
                for name in sorted(ready - up):
                    self.api.set_server_state(backend, name, "maint")
                for name in sorted(up - ready):
                    self.api.set_server_state(backend, name, "ready")
                self._ready[backend] = set(up)

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.sync()
            except Exception:  # noqa: BLE001 - HAProxy restarting: try again next tick
                continue

    def stop(self) -> None:
        """Stop checking and hand the replica's LB back: HAProxy's own checks on again, and the live map on the
        colour backend when the pool serves exactly one whole colour (the state the replica's tools expect)."""
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        self._client.close()
        if self._thread is None:
            return
        with self._lock:
            for backend in self._ready:
                for name, _ in DROPLETS.values():
                    self.api.command(f"enable health {backend}/{name}")
            serving = self._ready.get(POOL, set())
            for colour in ("blue", "green"):
                if serving == {n for n, tag in DROPLETS.values() if tag.endswith(colour)}:
                    if self.persist:          # the file first, as the replica's own switch does
                        self.persist(f"bk_{colour}")
                    self.api.set_map(self.map_file, "live", f"bk_{colour}")

    def set_power(self, did: int, on: bool) -> None:
        """Powered off: the server stays in the pool (the LB has not noticed yet) but its address stops
        answering; powered on: the real address again."""
        name = DROPLETS[did][0]
        with self._lock:
            (self.powered_off.discard if on else self.powered_off.add)(did)
            for backend in (POOL, STICKY_POOL):
                if not on:
                    self.api.command(f"set server {backend}/{name} addr 127.0.0.1 port 9")
                else:
                    self.api.command(f"set server {backend}/{name} addr {self._node_addr(name)} port 80")

    def _node_addr(self, name: str) -> str:
        """The node's address on the replica's network, as HAProxy resolved it at start (blue/green backends)."""
        backend = "bk_blue" if name.startswith("blue") else "bk_green"
        out = self.api.command(f"show servers state {backend}")
        for line in out.splitlines():
            parts = line.split()
            if len(parts) > 4 and parts[3] == name:
                return parts[4]
        raise RuntimeError(f"no address for {name} in {backend}")
