"""Where an applied load-balancer change goes: nowhere (unit tests) or the replica's HAProxy (real traffic)."""
from __future__ import annotations

import time

from harness.haproxy import RuntimeAPI
from simulator.doapi.state import DROPLETS

POOL = "bk_pool"


class MemoryBackend:
    def __init__(self):
        self.applied: list[list[int]] = []

    def apply(self, droplet_ids: list[int]) -> None:
        self.applied.append(sorted(droplet_ids))

    def current_ids(self) -> list[int] | None:
        return None


class HAProxyBackend:
    """Droplets are the replica's servers in HAProxy's pool backend. A change brings the new droplets in first and
    waits until HAProxy's health checks see them UP (DO: new droplets are DOWN until healthy_threshold checks
    pass), then takes the others out and points the frontend at the pool."""

    def __init__(self, api: RuntimeAPI, healthy_timeout: float = 30):
        self.api, self.healthy_timeout = api, healthy_timeout

    def current_ids(self) -> list[int]:
        """The droplets taking traffic now, as the replica's LB has them (used to start in the same state)."""
        live = self.api.show_map("/etc/haproxy/live.map").get("live", "bk_blue")
        names = ({"bk_blue": {"blue-1", "blue-2"}, "bk_green": {"green-1", "green-2"}}.get(live)
                 or {s["name"] for s in self.api.servers(POOL) if not s["maint"]})
        # Nothing serving at all (should not happen): start on blue rather than on an empty LB.
        return [i for i, (n, _) in DROPLETS.items() if n in names] or [101, 102]

    def apply(self, droplet_ids: list[int]) -> None:
        wanted = {DROPLETS[i][0] for i in droplet_ids}
        for name in sorted(wanted):
            self.api.set_server_state(POOL, name, "ready")
        deadline = time.monotonic() + self.healthy_timeout
        while time.monotonic() < deadline:
            if all(s["up"] for s in self.api.servers(POOL) if s["name"] in wanted):
                break
            time.sleep(0.2)
        self.api.set_map("/etc/haproxy/live.map", "live", POOL)
        for s in self.api.servers(POOL):
            if s["name"] not in wanted:
                self.api.set_server_state(POOL, s["name"], "maint")
