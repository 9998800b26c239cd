"""The switch gap DigitalOcean can show, at DO's realistic timings scaled down: a one-call switch (naive) answers
503 while the new droplets pass healthy_threshold checks; the default overlap switch answers every request.
Traffic runs through the simulator's stand-in LB the whole time."""
import os
import secrets
import threading
import time

import httpx
import pytest

from harness.config import load_config
from harness.targets.digitalocean.driver import DigitalOceanTarget
from simulator.doapi.state import LB_ID
from simulator.doapi.testing import running

TOKEN = "dop_v1_" + secrets.token_hex(32)
# The example LB's 5 checks x 10 s = 50 s of DOWN become 1 s (`make doapi-realistic`: GREENLIGHT_DOAPI_TIME_SCALE=1).
SCALE = float(os.environ.get("GREENLIGHT_DOAPI_TIME_SCALE", "0.02"))


class Traffic:
    """A customer hammering the LB during the switch: every answer's status and time."""

    def __init__(self, url: str):
        self.url, self.log, self._stop = url, [], threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with httpx.Client(timeout=2) as c:
            while not self._stop.is_set():
                try:
                    self.log.append((time.monotonic(), c.get(self.url).status_code))
                except httpx.HTTPError:
                    self.log.append((time.monotonic(), 599))
                time.sleep(0.005)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join(5)

    def errors(self) -> list[float]:
        return [t for t, code in self.log if code >= 500]


def switch_under_traffic(tmp_path, monkeypatch, mode: str, strategy: str) -> dict:
    with running(TOKEN, scale=SCALE, apply_delay=0.1) as do:
        monkeypatch.setenv("GL_TEST_DO_TOKEN", TOKEN)
        p = tmp_path / f"{mode}-{strategy}.toml"
        p.write_text(f'[target]\nkind = "digitalocean"\n[digitalocean]\napi_base = "{do.url}"\n'
                     f'token_env = "GL_TEST_DO_TOKEN"\nlb_id = "{LB_ID}"\nlb_url = "{do.lb_url}"\n'
                     f'switch_mode = "{mode}"\nswitch_strategy = "{strategy}"\ngive_up_s = {10 + 100 * SCALE}\n')
        t = DigitalOceanTarget(load_config(p))
        with Traffic(do.lb_url) as traffic:
            time.sleep(0.2)
            t0 = time.monotonic()
            t.switch("green")
            took = time.monotonic() - t0
            time.sleep(do.backend.checker.time_to_healthy() + 0.3)   # let a naive switch's gap close
        errors = traffic.errors()
        return {"took": took, "errors": len(errors), "requests": len(traffic.log),
                "gap": (errors[-1] - errors[0]) if errors else 0.0, "healthy_after": do.backend.checker.time_to_healthy(),
                "serving": do.backend.serving()}


@pytest.mark.parametrize("mode", ["droplet_ids", "tag"])
def test_a_naive_switch_shows_the_gap_real_do_can_show(tmp_path, monkeypatch, mode):
    r = switch_under_traffic(tmp_path, monkeypatch, mode, "naive")
    assert r["serving"] == [201, 202]
    assert r["errors"] > 0, r
    # 503 for about healthy_threshold x check_interval (scaled), not a blip
    assert r["gap"] >= 0.7 * r["healthy_after"], r


@pytest.mark.parametrize("mode", ["droplet_ids", "tag", "add_remove"])
def test_the_default_overlap_switch_answers_every_request(tmp_path, monkeypatch, mode):
    r = switch_under_traffic(tmp_path, monkeypatch, mode, "overlap")
    assert r["serving"] == [201, 202]
    assert r["errors"] == 0, r
    assert r["requests"] > 50, r
    # It cannot finish before the new droplets became healthy: it waited for them.
    assert r["took"] >= r["healthy_after"], r
