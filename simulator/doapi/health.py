"""The load balancer's health checking of its droplets, as DigitalOcean documents it, shared by both backends.

Every assigned droplet is checked once per `check_interval_seconds`. A droplet new to the LB starts DOWN and takes
traffic only after `healthy_threshold` consecutive passing checks; an UP droplet goes DOWN after
`unhealthy_threshold` consecutive failures. A removed droplet is forgotten at once (it stops receiving at apply).

Time is scaled (`scale` 0.1 turns a 10 s interval into 1 s) so tests stay fast while keeping DO's proportions,
and read from an injectable clock, so the memory backend can run on a fake clock. The state is advanced lazily:
`advance()` replays every check due since the last call."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

# Beyond this many missed checks the state cannot change any more (thresholds are at most 10): skip the rest.
_MAX_REPLAY = 24


@dataclass
class _Droplet:
    up: bool
    streak: int          # consecutive passes while DOWN, consecutive failures while UP
    next_check: float


class HealthChecker:
    def __init__(self, probe: Callable[[int, dict], bool], clock: Callable[[], float] = time.monotonic,
                 scale: float = 1.0):
        self.probe, self.clock, self.scale = probe, clock, scale
        self.health_check: dict = {"check_interval_seconds": 10, "healthy_threshold": 3, "unhealthy_threshold": 5}
        self._droplets: dict[int, _Droplet] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="doapi-check")

    def interval(self) -> float:
        return float(self.health_check.get("check_interval_seconds", 10)) * self.scale

    def assign(self, droplet_ids: list[int], health_check: dict | None = None, *, already_up: bool = False) -> None:
        """The droplets the LB now targets. Kept ones keep their state; new ones start DOWN (or UP: the LB as
        found, whose droplets have been passing for long)."""
        now = self.clock()
        with self._lock:
            if health_check:
                self.health_check = dict(health_check)
            first = now + self.interval()
            self._droplets = {i: self._droplets.get(i) or _Droplet(up=already_up, streak=0, next_check=first)
                              for i in droplet_ids}

    def advance(self) -> dict[int, bool]:
        """Run every check due by now; returns {droplet id: up}. Probes run outside the lock (they may be HTTP
        requests); a droplet with several checks due is probed once and the answer counts for each."""
        now = self.clock()
        with self._lock:
            step = self.interval()
            due = {i: d for i, d in self._droplets.items() if d.next_check <= now}
        # In parallel, as an LB checks its droplets independently: one slow droplet does not delay the others.
        results = dict(zip(due, self._pool.map(self._probe, due), strict=True)) if len(due) > 1 else \
            {i: self._probe(i) for i in due}
        with self._lock:
            need_up = int(self.health_check.get("healthy_threshold", 3))
            need_down = int(self.health_check.get("unhealthy_threshold", 5))
            for did, d in due.items():
                if self._droplets.get(did) is not d:
                    continue                      # removed or re-added meanwhile
                replayed = 0
                while d.next_check <= now:
                    if replayed == _MAX_REPLAY:      # a long jump of the clock: the outcome is settled
                        d.next_check += step * ((now - d.next_check) // step + 1)
                        break
                    self._count(d, results[did], need_up, need_down)
                    d.next_check += step
                    replayed += 1
            return {i: d.up for i, d in self._droplets.items()}

    @staticmethod
    def _count(d: _Droplet, passed: bool, need_up: int, need_down: int) -> None:
        if passed == d.up:
            d.streak = 0                 # the state is confirmed: start counting again
            return
        d.streak += 1
        if d.streak >= (need_up if passed else need_down):
            d.up, d.streak = passed, 0

    def _probe(self, did: int) -> bool:
        try:
            return bool(self.probe(did, self.health_check))
        except Exception:  # noqa: BLE001 - a probe that cannot even run is a failed check
            return False

    def states(self) -> dict[int, bool]:
        """{droplet id: up} as last checked, without running the checks due."""
        with self._lock:
            return {i: d.up for i, d in self._droplets.items()}

    def up(self) -> list[int]:
        return sorted(i for i, is_up in self.advance().items() if is_up)

    def time_to_healthy(self) -> float:
        """Seconds (scaled) a new, passing droplet needs before it takes traffic."""
        return self.interval() * int(self.health_check.get("healthy_threshold", 3))
