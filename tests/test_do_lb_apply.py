"""The simulated DO load balancer applies a change the way DigitalOcean documents it: removed droplets stop at
apply, added ones serve only after healthy_threshold passing checks (one per check_interval_seconds), an UP
droplet leaves after unhealthy_threshold failures, 503 while nothing is UP; sticky cookies and the idle timeout.
Timings run on the memory backend's fake clock."""
import secrets
import socket
import time

import httpx
import pytest

from simulator.doapi.health import HealthChecker
from simulator.doapi.state import LB_ID
from simulator.doapi.testing import FakeClock, running

TOKEN = "dop_v1_" + secrets.token_hex(32)
H = {"Authorization": f"Bearer {TOKEN}"}
LB = f"/v2/load_balancers/{LB_ID}"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def do(clock):
    with running(TOKEN, clock=clock, scale=1.0) as r:     # DO's real timings, on a clock the test moves
        yield r


def put_droplets(do, ids: list[int], **over) -> None:
    lb = httpx.get(do.url + LB, headers=H).json()["load_balancer"]
    body = {k: v for k, v in lb.items() if k not in ("id", "ip", "ipv6", "status", "created_at", "size", "tag")}
    body.update(region="nyc3", droplet_ids=ids, **over)
    r = httpx.put(do.url + LB, headers=H, json=body)
    assert r.status_code == 200, r.text
    do.wait_applied(ids)


def test_a_naive_put_leaves_no_droplet_serving_until_the_new_ones_pass_healthy_threshold_checks(do, clock):
    # The LB checks every 10 s and wants 5 passes (the example config): 50 s of 503 after a one-call switch.
    assert do.backend.serving() == [101, 102]
    put_droplets(do, [201, 202])
    assert do.backend.serving() == []                        # blue stopped at apply; green still DOWN
    assert httpx.get(do.lb_url).status_code == 503
    clock.advance(49)
    assert do.backend.serving() == []                        # four checks passed, the fifth is due at 50 s
    clock.advance(1)
    assert do.backend.serving() == [201, 202]
    assert httpx.get(do.lb_url).headers["X-Served-By"].startswith("green")


def test_kept_droplets_keep_serving_and_timing_follows_the_lbs_health_check(do, clock):
    hc = {"protocol": "http", "port": 80, "path": "/healthz", "check_interval_seconds": 3,
          "response_timeout_seconds": 3, "healthy_threshold": 2, "unhealthy_threshold": 2}
    put_droplets(do, [101, 102, 201], health_check=hc)
    assert do.backend.serving() == [101, 102]                # kept droplets never stop
    clock.advance(5.9)
    assert do.backend.serving() == [101, 102]
    clock.advance(0.1)
    assert do.backend.serving() == [101, 102, 201]           # 2 checks x 3 s


def test_an_up_droplet_leaves_after_unhealthy_threshold_failed_checks(do, clock):
    do.backend.failing.add(102)                              # unhealthy_threshold 3, every 10 s
    clock.advance(29)
    assert do.backend.serving() == [101, 102]
    clock.advance(1)
    assert do.backend.serving() == [101]
    do.backend.failing.clear()
    clock.advance(49)
    assert do.backend.serving() == [101]                     # back only after 5 passes again
    clock.advance(1)
    assert do.backend.serving() == [101, 102]


def test_a_powered_off_droplet_gets_traffic_that_fails_until_the_lb_notices(do, clock):
    assert httpx.post(f"{do.url}/_sim/droplets/102/power", json={"on": False}).status_code == 200
    assert httpx.get(f"{do.url}/v2/droplets/102", headers=H).json()["droplet"]["status"] == "off"
    codes = {httpx.get(do.lb_url).status_code for _ in range(6)}
    assert codes == {200, 503}                               # round robin still sends some requests to it
    clock.advance(30)
    assert {httpx.get(do.lb_url).status_code for _ in range(6)} == {200}
    assert httpx.get(f"{do.url}/_sim/health").json()["up"] == [101]
    # The chaos suite's spelling of the same hook; powered on, it must pass 5 checks again before serving.
    assert httpx.post(f"{do.url}/_sim/faults", json={"droplet_on": 102}).status_code == 200
    assert httpx.get(f"{do.url}/v2/droplets/102", headers=H).json()["droplet"]["status"] == "active"
    clock.advance(50)
    assert do.backend.serving() == [101, 102]
    assert httpx.post(f"{do.url}/_sim/faults", json={"droplet_off": 102, "typo": 1}).status_code == 422
    assert httpx.get(f"{do.url}/v2/droplets/102", headers=H).json()["droplet"]["status"] == "active"  # nothing half-applied


def test_a_long_clock_jump_settles_without_replaying_every_check():
    clock = FakeClock()
    calls = []
    hc = HealthChecker(lambda did, _: calls.append(did) or True, clock, scale=1.0)
    hc.assign([1], {"check_interval_seconds": 10, "healthy_threshold": 3, "unhealthy_threshold": 3})
    clock.advance(10 * 10_000)
    assert hc.up() == [1] and len(calls) < 50


def test_sticky_cookies_pin_a_client_until_its_droplet_leaves(do, clock):
    put_droplets(do, [101, 102], sticky_sessions={"type": "cookies", "cookie_name": "DO-LB", "cookie_ttl_seconds": 300})
    clock.advance(0)
    with httpx.Client() as c:
        first = c.get(do.lb_url)
        assert "Max-Age=300" in first.headers["set-cookie"] and "DO-LB=" in first.headers["set-cookie"]
        pinned = first.headers["X-Served-By"]
        assert {c.get(do.lb_url).headers["X-Served-By"] for _ in range(6)} == {pinned}
    with httpx.Client() as c2:                               # no cookie: round robin reaches both
        assert {c2.get(do.lb_url, headers={"Cookie": ""}).headers["X-Served-By"] for _ in range(6)} == {"blue-1", "blue-2"}
    other = 102 if pinned == "blue-1" else 101
    put_droplets(do, [other], sticky_sessions={"type": "cookies", "cookie_name": "DO-LB", "cookie_ttl_seconds": 300})
    r = httpx.get(do.lb_url, headers={"Cookie": first.headers["set-cookie"].split(";")[0]})
    assert r.headers["X-Served-By"] != pinned and "set-cookie" in r.headers   # re-pinned elsewhere


def test_the_lb_closes_a_connection_idle_for_http_idle_timeout_seconds():
    with running(TOKEN, scale=0.01) as do:       # 60 s default idle timeout, scaled: 0.6 s
        port = int(do.lb_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: lb\r\n\r\n")
            s.settimeout(5)
            got = b""
            while not got.endswith(b"ok\n"):                    # the whole answer (headers and body)
                got += s.recv(4096)
            assert b"200 OK" in got
            t0 = time.monotonic()
            assert s.recv(4096) == b""                       # closed by the LB, not by us
            assert 0.5 <= time.monotonic() - t0 < 3
