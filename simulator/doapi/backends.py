"""Where an applied load-balancer change goes: nowhere (unit tests) or the replica's HAProxy (real traffic)."""
from __future__ import annotations

import threading
import time

from harness.haproxy import RuntimeAPI
from harness.retry import GaveUp, retry
from simulator.doapi.state import DROPLETS

POOL = "bk_pool"


class MemoryBackend:
    """Records every applied droplet set. A droplet new to the set starts DOWN and serves only after
    `healthy_after` seconds (DO: healthy_threshold passing checks); a removed droplet stops serving at once."""

    def __init__(self, healthy_after: float = 0.0, clock=time.monotonic):
        self.applied: list[list[int]] = []
        self.healthy_after, self.clock = healthy_after, clock
        self._since: dict[int, float] = {}      # droplet id -> when it joined the current set
        self._lock = threading.Lock()

    def apply(self, droplet_ids: list[int]) -> None:
        now = self.clock()
        with self._lock:
            # The first set is the LB as found: its droplets have been healthy for long.
            joined = now if self.applied else float("-inf")
            self.applied.append(sorted(droplet_ids))
            self._since = {i: self._since.get(i, joined) for i in droplet_ids}

    def current_ids(self) -> list[int] | None:
        return None

    def serving(self) -> list[int]:
        """The droplets that take traffic now (assigned and past the healthy threshold)."""
        now = self.clock()
        with self._lock:
            return sorted(i for i, t in self._since.items() if now - t >= self.healthy_after)


class HAProxyBackend:
    """Droplets are the replica's servers in HAProxy's pool backend. A change brings the new droplets in first and
    waits until HAProxy's health checks see them UP (DO: new droplets are DOWN until healthy_threshold checks
    pass), then takes the others out and points the frontend at the pool."""

    def __init__(self, api: RuntimeAPI, healthy_timeout: float = 30, map_file: str = "/etc/haproxy/live.map"):
        self.api, self.healthy_timeout, self.map_file = api, healthy_timeout, map_file

    def current_ids(self) -> list[int]:
        """The droplets taking traffic now, as the replica's LB has them (used to start in the same state)."""
        live = self.api.show_map(self.map_file).get("live", "bk_blue")
        names = ({"bk_blue": {"blue-1", "blue-2"}, "bk_green": {"green-1", "green-2"}}.get(live)
                 or {s["name"] for s in self.api.servers(POOL) if not s["maint"]})
        # Nothing serving at all (should not happen): start on blue rather than on an empty LB.
        return [i for i, (n, _) in DROPLETS.items() if n in names] or [101, 102]

    def apply(self, droplet_ids: list[int]) -> None:
        wanted = {DROPLETS[i][0] for i in droplet_ids}
        joining = {s["name"] for s in self.api.servers(POOL) if s["maint"]} & wanted
        for name in sorted(joining):
            # HAProxy would let a server leaving maintenance take traffic at once (and only notice a failing one
            # after `fall` checks); a DO droplet starts DOWN until `healthy_threshold` checks pass. So: drain (no
            # new traffic, checks run) and mark it down; it comes UP after `rise` passing checks.
            self.api.set_server_state(POOL, name, "drain")
            self.api.command(f"set server {POOL}/{name} health down")
        try:
            retry(lambda: self.api.servers(POOL), what="new droplets passing health checks",
                  timeout=self.healthy_timeout, interval=0.2, retry_on=(),
                  until=lambda servers: all(s["up"] for s in servers if s["name"] in wanted))
        except GaveUp:
            pass  # as on DO: the change applies anyway; droplets that never pass stay DOWN (503 if none is UP)
        for name in sorted(wanted):        # joining ones, and any left draining by an interrupted apply
            self.api.set_server_state(POOL, name, "ready")
        self.api.set_map(self.map_file, "live", POOL)
        for s in self.api.servers(POOL):
            if s["name"] not in wanted:
                self.api.set_server_state(POOL, s["name"], "maint")
