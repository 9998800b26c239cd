"""The DigitalOcean driver against the DO API simulator (in-memory backend): DO's shapes and quirks, control-plane
faults, bad configuration, and the official client pydo."""
import threading

import httpx
import pytest

from harness.config import ConfigError, load_config
from harness.targets.base import TargetError
from harness.targets.digitalocean import DigitalOceanTarget
from simulator.doapi.backends import MemoryBackend
from simulator.doapi.server import serve
from simulator.doapi.state import LB_ID, Account

TOKEN = "dop_v1_" + "ab" * 32


@pytest.fixture
def sim():
    backend = MemoryBackend()
    httpd, s = serve(Account(backend, [101, 102], apply_delay=0.3), TOKEN, port=0)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    s.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    s.backend = backend
    yield s
    httpd.shutdown()


@pytest.fixture
def cfg_file(tmp_path, sim, monkeypatch):
    monkeypatch.setenv("GL_TEST_DO_TOKEN", TOKEN)

    def write(**over):
        do = {"api_base": sim.url, "token_env": "GL_TEST_DO_TOKEN", "lb_id": LB_ID, "give_up_s": 20,
              "lb_url": "http://127.0.0.1:9", **over}
        lines = ["[target]", 'kind = "digitalocean"', "[digitalocean]"]
        for k, v in do.items():
            lines.append(f"{k} = {v!r}".replace("'", '"') if not isinstance(v, list) else f"{k} = {v}")
        p = tmp_path / "greenlight.toml"
        p.write_text("\n".join(lines) + "\n")
        return p
    return write


def writes(sim):
    return [r for r in sim.requests if r["method"] in ("PUT", "POST", "DELETE")]


def wait_applied(sim, ids, timeout=10):
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if sim.backend.applied and sim.backend.applied[-1] == sorted(ids) and sim.account.applying_until == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"never applied {ids}: {sim.backend.applied}")


def test_reads_live_colour_and_switches_with_a_full_replace_put(sim, cfg_file):
    t = DigitalOceanTarget(load_config(cfg_file()))
    assert t.live_colour() == "blue"
    assert [n.name for n in t.nodes("green")] == ["green-1", "green-2"]
    before = t.load_balancer()
    t.switch("green")
    wait_applied(sim, [201, 202])
    after = t.load_balancer()
    assert t.live_colour() == "green" and after["droplet_ids"] == [201, 202]
    for field in ("forwarding_rules", "health_check", "sticky_sessions", "http_idle_timeout_seconds", "name"):
        assert after[field] == before[field], f"{field} was reset by the PUT"
    assert "Bearer" not in repr(t) and TOKEN not in repr(t)


def test_a_naive_put_resets_fields_like_do_does(sim):
    """The blog pipeline's mistake, reproduced: a PUT without the current fields resets them."""
    h = {"Authorization": f"Bearer {TOKEN}"}
    r = httpx.put(f"{sim.url}/v2/load_balancers/{LB_ID}", headers=h,
                  json={"droplet_ids": [201, 202], "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80,
                                                                         "target_protocol": "http", "target_port": 80}]})
    assert r.status_code == 422 and "region" in r.json()["message"]
    r = httpx.put(f"{sim.url}/v2/load_balancers/{LB_ID}", headers=h,
                  json={"region": "nyc3", "droplet_ids": [201, 202], "forwarding_rules": [
                      {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]})
    assert r.status_code == 200
    assert r.json()["load_balancer"]["health_check"]["protocol"] == "tcp"  # the /healthz check is gone
    assert httpx.get(f"{sim.url}/v2/loadbalancers/{LB_ID}", headers=h).status_code == 404


@pytest.mark.parametrize("mode", ["tag", "add_remove"])
def test_other_switch_modes(sim, cfg_file, mode):
    t = DigitalOceanTarget(load_config(cfg_file(switch_mode=mode)))
    t.switch("green")
    wait_applied(sim, [201, 202])
    assert t.live_colour() == "green"


@pytest.mark.parametrize("fault, value", [("rate_limited", 4), ("busy", 3), ("errors_500", 3)])
def test_control_plane_faults_are_retried_to_completion(sim, cfg_file, fault, value):
    t = DigitalOceanTarget(load_config(cfg_file()))
    httpx.post(f"{sim.url}/_sim/faults", json={fault: value})
    t.switch("green")
    wait_applied(sim, [201, 202])
    assert t.live_colour() == "green"


def test_slow_apply_then_second_switch_waits_out_the_403(sim, cfg_file):
    t = DigitalOceanTarget(load_config(cfg_file()))
    httpx.post(f"{sim.url}/_sim/faults", json={"apply_delay": 2.0})
    t.switch("green")
    t.switch("blue")  # DO answers 403 while the first change applies; the driver waits and retries
    wait_applied(sim, [101, 102])
    assert t.live_colour() == "blue"
    statuses = [r for r in sim.requests if r["method"] == "PUT"]
    assert len(statuses) >= 3  # at least one PUT was refused busy and sent again


def test_api_going_away_mid_switch_aborts_cleanly_with_the_old_colour_live(sim, cfg_file):
    t = DigitalOceanTarget(load_config(cfg_file(give_up_s=3)))
    httpx.post(f"{sim.url}/_sim/faults", json={"go_away_after_writes": 0})
    with pytest.raises(TargetError, match="gave up"):
        t.switch("green")
    assert sim.account.lb["droplet_ids"] == [101, 102]  # still blue
    assert sim.backend.applied[-1] == [101, 102]


def test_dry_run_makes_no_write_call(sim, cfg_file):
    t = DigitalOceanTarget(load_config(cfg_file()), dry_run=True)
    t.switch("green")
    assert t.plan == [f"PUT /v2/load_balancers/{LB_ID}"]
    assert writes(sim) == []


@pytest.mark.parametrize("over, env, fragment", [
    ({}, {"GL_TEST_DO_TOKEN": ""}, "GL_TEST_DO_TOKEN is not set"),
    ({}, {"GL_TEST_DO_TOKEN": "dop_v1_wrong"}, "rejected the token"),
    ({"lb_id": "00000000-0000-0000-0000-000000000000"}, {}, "not found"),
    ({"blue_tag": "magento-bleu"}, {}, "no droplets for blue (tag magento-bleu)"),
    ({"region": "ams3"}, {}, "is in nyc3, not ams3"),
])
def test_bad_config_is_one_clear_line_and_no_write(sim, cfg_file, monkeypatch, over, env, fragment):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(TargetError) as exc:
        DigitalOceanTarget(load_config(cfg_file(**over)))
    assert fragment in str(exc.value) and "\n" not in str(exc.value)
    assert TOKEN not in str(exc.value)
    assert writes(sim) == []


def test_token_in_the_config_file_is_refused(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text(f'[target]\nkind = "digitalocean"\n[digitalocean]\nlb_id = "x"\ntoken_env = "{TOKEN}"\n')
    with pytest.raises(ConfigError, match="looks like a token itself") as exc:
        load_config(p)
    assert TOKEN not in str(exc.value)


def test_both_colours_or_sticky_cookies_are_refused(sim, cfg_file):
    t = DigitalOceanTarget(load_config(cfg_file()))
    sim.account.lb["droplet_ids"] = [101, 201]
    with pytest.raises(TargetError, match="serves \\['blue', 'green'\\]"):
        t.live_colour()
    sim.account.lb["droplet_ids"] = [101, 102]
    sim.account.lb["sticky_sessions"] = {"type": "cookies", "cookie_name": "DO-LB", "cookie_ttl_seconds": 300}
    with pytest.raises(TargetError, match="sticky cookies"):
        t.live_colour()


def test_pagination_follows_links(sim, cfg_file):
    h = {"Authorization": f"Bearer {TOKEN}"}
    r = httpx.get(f"{sim.url}/v2/droplets?per_page=1&page=1", headers=h).json()
    assert r["meta"]["total"] == 4 and set(r["links"]["pages"]) == {"next", "last"}
    r = httpx.get(f"{sim.url}/v2/droplets?per_page=1&page=4", headers=h).json()
    assert set(r["links"]["pages"]) == {"first", "prev"}
    assert httpx.get(f"{sim.url}/v2/droplets", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert "ratelimit-remaining" in httpx.get(f"{sim.url}/v2/droplets", headers=h).headers


def test_pydo_works_against_the_simulator(sim):
    import pydo
    from azure.core.credentials import AzureKeyCredential
    from azure.core.pipeline.policies import AzureKeyCredentialPolicy

    client = pydo.Client(TOKEN, endpoint=sim.url, retry_total=0, authentication_policy=AzureKeyCredentialPolicy(
        AzureKeyCredential(TOKEN), "Authorization", prefix="Bearer"))
    lb = client.load_balancers.get(LB_ID)["load_balancer"]
    assert lb["droplet_ids"] == [101, 102]
    assert [d["name"] for d in client.droplets.list(tag_name="magento-green")["droplets"]] == ["green-1", "green-2"]
    body = {k: lb[k] for k in ("name", "forwarding_rules", "health_check", "sticky_sessions")}
    body.update(region="nyc3", droplet_ids=[101, 102, 201])
    assert client.load_balancers.update(LB_ID, body)["load_balancer"]["droplet_ids"] == [101, 102, 201]
    wait_applied(sim, [101, 102, 201])
    assert client.load_balancers.remove_droplets(LB_ID, {"droplet_ids": [201]}) is None
    wait_applied(sim, [101, 102])
    assert client.load_balancers.add_droplets(LB_ID, {"droplet_ids": [202]}) is None
    wait_applied(sim, [101, 102, 202])
    assert client.droplets.get(201)["droplet"]["name"] == "green-1"
