"""The simulator's HAProxy backend with real traffic: a private haproxy (own ports, own config) in front of four
tiny stand-in droplets; a DO API switch moves what answers at the HAProxy frontend, and a droplet that fails its
health check never takes traffic. `make setup` installs haproxy (scripts/debian-tool.sh); skipped only when it is missing."""
import secrets
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from harness.config import load_config
from harness.run.converge import wait_converged
from harness.targets.base import TargetError
from harness.targets.digitalocean.driver import DigitalOceanTarget
from harness.targets.replica.haproxy import RuntimeAPI
from harness.targets.retry import retry
from simulator.doapi.backends import HAProxyBackend
from simulator.doapi.server import serve
from simulator.doapi.state import LB_ID, Account

pytestmark = pytest.mark.skipif(not shutil.which("haproxy"), reason="no haproxy binary")
TOKEN = "dop_v1_" + secrets.token_hex(32)
NAMES = ["blue-1", "blue-2", "green-1", "green-2"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node(name: str, healthy: dict) -> ThreadingHTTPServer:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            ok = healthy.get(name, True) or self.path != "/healthz"
            self.send_response(200 if ok else 503)
            self.send_header("X-Served-By", name)
            self.send_header("X-Release", "r1" if name.startswith("blue") else "r2")
            self.send_header("Content-Length", "0")
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture
def private_lb(tmp_path):
    healthy: dict[str, bool] = {}
    nodes = {n: node(n, healthy) for n in NAMES}
    fe, admin = free_port(), free_port()
    (tmp_path / "live.map").write_text("live bk_blue\n")
    def srv(n, extra=""):
        return f"    server {n} 127.0.0.1:{nodes[n].server_address[1]} check {extra}\n"
    chk = "    option httpchk GET /healthz\n    http-check expect status 200\n"
    cfg = (f"global\n    stats socket ipv4@127.0.0.1:{admin} level admin\n"
           "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n"
           "    timeout check 500ms\n    default-server inter 200 rise 2 fall 2\n"
           f"frontend fe\n    bind 127.0.0.1:{fe}\n"
           f"    use_backend %[str(live),map({tmp_path}/live.map,bk_blue)]\n"
           f"backend bk_blue\n{chk}{srv('blue-1')}{srv('blue-2')}"
           f"backend bk_green\n{chk}{srv('green-1')}{srv('green-2')}"
           f"backend bk_pool\n{chk}" + "".join(srv(n, "disabled") for n in NAMES) +
           f"backend bk_pool_sticky\n{chk}    cookie DO-LB insert indirect nocache\n"
           + "".join(srv(n, f"disabled cookie {n}") for n in NAMES))
    (tmp_path / "haproxy.cfg").write_text(cfg)
    proc = subprocess.Popen(["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    api = RuntimeAPI("127.0.0.1", admin)
    try:
        retry(lambda: api.command("show info"), what="private haproxy up", timeout=10, interval=0.1)
        yield {"fe": f"http://127.0.0.1:{fe}", "api": api, "map": f"{tmp_path}/live.map", "healthy": healthy,
               "urls": {n: f"http://127.0.0.1:{s.server_address[1]}" for n, s in nodes.items()}}
    finally:
        proc.terminate()
        proc.wait(10)
        for s in nodes.values():
            s.shutdown()


def served(url: str, n: int = 12) -> set[str]:
    out = set()
    with httpx.Client(timeout=2) as c:
        for _ in range(n):
            r = c.get(url + "/")
            out.add(r.headers.get("X-Served-By", f"HTTP {r.status_code}"))
    return out


@pytest.fixture
def driver(private_lb, tmp_path, monkeypatch):
    # DO's example timing (5 checks, 10 s apart) scaled by 0.02: new droplets DOWN for 1 s.
    backend = HAProxyBackend(private_lb["api"], map_file=private_lb["map"], scale=0.02, node_urls=private_lb["urls"],
                             persist=lambda live: Path(private_lb["map"]).write_text(f"live {live}\n"))
    httpd, _ = serve(Account(backend, backend.current_ids(), apply_delay=0.1), TOKEN, port=0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("GL_TEST_DO_TOKEN", TOKEN)

    def make(mode: str, strategy: str = "overlap") -> DigitalOceanTarget:
        p = tmp_path / f"{mode}-{strategy}.toml"
        p.write_text(f'[target]\nkind = "digitalocean"\n[digitalocean]\napi_base = "http://127.0.0.1:'
                     f'{httpd.server_address[1]}"\ntoken_env = "GL_TEST_DO_TOKEN"\nlb_id = "{LB_ID}"\n'
                     f'lb_url = "{private_lb["fe"]}"\nswitch_mode = "{mode}"\nswitch_strategy = "{strategy}"\n'
                     'give_up_s = 10\n')
        return DigitalOceanTarget(load_config(p))
    make.backend = backend
    yield make
    backend.stop()
    httpd.shutdown()


@pytest.mark.parametrize("mode", ["droplet_ids", "add_remove"])
def test_a_do_switch_moves_real_traffic(private_lb, driver, mode):
    t = driver(mode)
    assert t.live_colour() == "blue" and served(private_lb["fe"]) == {"blue-1", "blue-2"}
    t0 = time.time()
    t.switch("green")
    assert served(private_lb["fe"]) == {"green-1", "green-2"}
    assert t0 <= wait_converged(t, "r2", quiet_s=0.5, timeout=10) <= time.time() - 0.5
    t.switch("blue")
    assert served(private_lb["fe"]) == {"blue-1", "blue-2"}


def test_a_droplet_failing_its_health_check_takes_no_traffic(private_lb, driver):
    private_lb["healthy"]["green-2"] = False
    driver("droplet_ids", "naive").switch("green")
    time.sleep(1.5)                                      # green-1's 5 checks (scaled) pass; green-2's never do
    assert served(private_lb["fe"], 20) == {"green-1"}


def test_the_overlap_switch_keeps_the_old_colour_when_a_new_droplet_stays_down(private_lb, driver):
    private_lb["healthy"]["green-2"] = False
    with pytest.raises(TargetError, match="green-2 stayed DOWN"):
        driver("droplet_ids").switch("green")
    assert served(private_lb["fe"], 20) == {"blue-1", "blue-2"}


def errors_during(url: str, action) -> int:
    """5xx answers seen by a client hammering url while action() runs and for 1.5 s after."""
    stop, codes = threading.Event(), []

    def hammer():
        with httpx.Client(timeout=2) as c:
            while not stop.is_set():
                codes.append(c.get(url + "/").status_code)
                time.sleep(0.005)

    th = threading.Thread(target=hammer, daemon=True)
    th.start()
    action()
    time.sleep(1.5)
    stop.set()
    th.join(5)
    return sum(c >= 500 for c in codes)


def test_through_real_haproxy_a_naive_switch_shows_the_gap_and_the_overlap_switch_none(private_lb, driver):
    naive = errors_during(private_lb["fe"], lambda: driver("droplet_ids", "naive").switch("green"))
    assert naive > 0                                     # 503 until green passed 5 checks
    overlap = errors_during(private_lb["fe"], lambda: driver("droplet_ids").switch("blue"))
    assert overlap == 0
    assert served(private_lb["fe"]) == {"blue-1", "blue-2"}


def test_sticky_cookies_pin_a_client_behind_real_haproxy(private_lb):
    backend = HAProxyBackend(private_lb["api"], map_file=private_lb["map"], scale=0.02, node_urls=private_lb["urls"])
    httpd, _ = serve(Account(backend, backend.current_ids(), apply_delay=0.1), TOKEN, port=0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    api = f"http://127.0.0.1:{httpd.server_address[1]}/v2/load_balancers/{LB_ID}"
    h = {"Authorization": f"Bearer {TOKEN}"}
    try:
        lb = httpx.get(api, headers=h).json()["load_balancer"]
        body = {k: v for k, v in lb.items() if k not in ("id", "ip", "ipv6", "status", "created_at", "size", "tag")}
        body.update(region="nyc3", sticky_sessions={"type": "cookies", "cookie_name": "DO-LB", "cookie_ttl_seconds": 300})
        assert httpx.put(api, headers=h, json=body).status_code == 200
        retry(lambda: httpx.get(api, headers=h).json()["load_balancer"]["status"], what="applied", timeout=10,
              interval=0.1, until=lambda s: s == "active")
        with httpx.Client() as c:
            first = c.get(private_lb["fe"] + "/")
            assert "DO-LB=" in first.headers.get("set-cookie", "")
            assert {c.get(private_lb["fe"] + "/").headers["X-Served-By"] for _ in range(8)} == {first.headers["X-Served-By"]}
        # A client keeping cookies is pinned; fresh clients without the cookie reach both.
        assert len(served(private_lb["fe"])) == 1
        assert {httpx.get(private_lb["fe"] + "/").headers["X-Served-By"] for _ in range(8)} == {"blue-1", "blue-2"}
    finally:
        backend.stop()
        httpd.shutdown()


def test_stopping_the_simulator_hands_the_lb_back(private_lb, driver):
    """After the simulator, the replica's own tools find a colour backend with HAProxy's checks on."""
    driver("droplet_ids").switch("green")
    assert private_lb["api"].show_map(private_lb["map"])["live"] == "bk_pool"
    driver.backend.stop()
    assert private_lb["api"].show_map(private_lb["map"])["live"] == "bk_green"
    # ... and in the map FILE, which HAProxy reads again on a reload: a hand-back of the running map alone sent the
    # next reload's traffic to the colour the file still named (customers saw the idle colour's release mid-deploy).
    assert Path(private_lb["map"]).read_text().split() == ["live", "bk_green"]
    assert "no check" not in private_lb["api"].command("show stat")
    assert served(private_lb["fe"]) == {"green-1", "green-2"}
