"""An in-process simulator for tests: the DO API (memory backend) plus a stand-in LB front, on free ports."""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

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



def lane_config(example: str, api_port: int, **replace: str) -> str:
    """examples/digitalocean/greenlight-simulator.toml with this replica lane's ports (scripts/lane.sh) and this
    run's SSH config, so tests reach the lane's replica and simulator, never the default lane's."""
    import os
    import re

    from harness import replica_ssh

    env = os.environ.get
    ports = {"8090": str(api_port), "8080": env("GREENLIGHT_LB_PORT", "8080")}
    for name, web in (("blue-1", 8081), ("blue-2", 8082), ("green-1", 8083), ("green-2", 8084)):
        ports[str(web)] = env(f"GREENLIGHT_{name.replace('-', '').upper()}_PORT", str(web))
    text = re.sub(r"127\.0\.0\.1:(\d{4})\b", lambda m: "127.0.0.1:" + ports.get(m[1], m[1]), example)
    text = re.sub(r"^port = 3307$", f"port = {env('GREENLIGHT_DB_PORT', '3307')}", text, flags=re.MULTILINE)
    text = re.sub(r"^config = .*\n", "", text, flags=re.MULTILINE)
    ssh_ports = ", ".join(f'"{n}" = {replica_ssh.ssh_port(n)}' for n in ("blue-1", "blue-2", "green-1", "green-2"))
    text = re.sub(r"^ports = \{.*\}$", f'ports = {{ {ssh_ports} }}\nconfig = "{replica_ssh.config_path()}"',
                  text, flags=re.MULTILINE)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text
