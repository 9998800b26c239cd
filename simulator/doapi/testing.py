"""An in-process simulator for tests: the DO API (memory backend) plus a stand-in LB front, on free ports."""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from harness.targets.replica.lane import lane_config  # noqa: F401 - lives in the harness (lane ports); importable from here too
from simulator.doapi.backends import MemoryBackend
from simulator.doapi.front import Front, serve_front
from simulator.doapi.server import Sim, serve
from simulator.doapi.state import Account

WRITES = ("PUT", "POST", "DELETE")


class FakeClock:
    """A clock tests move by hand: health checks due 'later' run as soon as the clock passes them."""

    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Running:
    url: str           # the API base
    lb_url: str        # the stand-in load balancer
    sim: Sim
    backend: MemoryBackend
    front: Front

    @property
    def account(self) -> Account:
        return self.sim.account

    def writes(self) -> list[dict]:
        return [r for r in self.sim.requests if r["method"] in WRITES]

    def wait_applied(self, ids: list[int], timeout: float = 10) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.backend.applied and self.backend.applied[-1] == sorted(ids) and not self.account.applying_until:
                return
            time.sleep(0.02)
        raise AssertionError(f"never applied {ids}: {self.backend.applied}")


@contextlib.contextmanager
def running(token: str, *, apply_delay: float = 0.1, scale: float = 0.01, clock=time.monotonic,
            api_clock=time.time, initial: tuple[int, ...] = (101, 102)) -> Iterator[Running]:
    """scale 0.01: the LB's 5 x 10 s healthy threshold takes 0.5 s (a test needing DO's order, not its minutes)."""
    backend = MemoryBackend(scale=scale, clock=clock)
    httpd, sim = serve(Account(backend, list(initial), apply_delay=apply_delay), token, port=0, clock=api_clock)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    front = Front(backend)
    fhttpd = serve_front(front)
    try:
        yield Running(f"http://127.0.0.1:{httpd.server_address[1]}", f"http://127.0.0.1:{fhttpd.server_address[1]}",
                      sim, backend, front)
    finally:
        httpd.shutdown()
        fhttpd.shutdown()
        httpd.server_close()
        fhttpd.server_close()

