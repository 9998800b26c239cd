"""The simulator holds DigitalOcean's shapes and rules, and the driver's full-replace PUT loses nothing:
every writable field GET returns survives a switch; a PUT that leaves one out resets it (so a dropped field is
caught); validation, paging bounds, rate limits and droplet objects as DO has them."""
import copy

import httpx
import pytest

from harness.config import load_config
from harness.targets.digitalocean.driver import DigitalOceanTarget
from simulator.doapi.server import RateLimiter
from simulator.doapi.state import LB_DEFAULTS, LB_ID, LB_IMMUTABLE
from simulator.doapi.testing import FakeClock, running
from tests.shared_fixtures import TOKEN, H

LB = f"/v2/load_balancers/{LB_ID}"
RULES = [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]
# An LB carrying every field DO returns, each writable one away from its default.
RICH = {
    "name": "shop-lb.prod", "size_unit": 3, "size": "lb-medium", "algorithm": "least_connections",
    "forwarding_rules": [{"entry_protocol": "https", "entry_port": 443, "target_protocol": "http",
                          "target_port": 80, "certificate_id": "892071a0-bb95-49bc-8021-3afd67a210bf",
                          "tls_passthrough": False},
                         {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80,
                          "certificate_id": "", "tls_passthrough": False}],
    "health_check": {"protocol": "http", "port": 80, "path": "/healthz", "check_interval_seconds": 5,
                     "response_timeout_seconds": 3, "healthy_threshold": 2, "unhealthy_threshold": 2},
    "sticky_sessions": {"type": "none"},
    "redirect_http_to_https": True, "enable_proxy_protocol": True, "enable_backend_keepalive": True,
    "http_idle_timeout_seconds": 90, "vpc_uuid": "c33931f2-a26a-4e61-b85c-4e95a2ec431b",
    "project_id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30", "disable_lets_encrypt_dns_records": True,
    "firewall": {"deny": ["cidr:1.2.0.0/16"], "allow": ["ip:198.51.100.7"]},
    "network": "INTERNAL", "network_stack": "DUALSTACK", "type": "REGIONAL_NETWORK", "tls_cipher_policy": "STRONG",
    "domains": [{"name": "shop.example.com", "is_managed": True, "certificate_id": "892071a0"}],
    "glb_settings": {"target_protocol": "http", "target_port": 80, "cdn": {"is_enabled": True}},
    "target_load_balancer_ids": ["7dbf91fe-cbdb-48dc-8290-c3a181554905"],
}
WRITABLE = sorted(set(RICH) - {"size"})


@pytest.fixture(scope="module")
def shared():
    """One simulator for the tests that only read or are refused (they change nothing)."""
    with running(TOKEN) as r:
        yield r


def target(do, tmp_path, monkeypatch, **over) -> DigitalOceanTarget:
    monkeypatch.setenv("GL_TEST_DO_TOKEN", TOKEN)
    extra = "".join(f'{k} = "{v}"\n' for k, v in over.items())
    p = tmp_path / "greenlight.toml"
    p.write_text(f'[target]\nkind = "digitalocean"\n[digitalocean]\napi_base = "{do.url}"\n'
                 f'token_env = "GL_TEST_DO_TOKEN"\nlb_id = "{LB_ID}"\nlb_url = "{do.lb_url}"\ngive_up_s = 8\n{extra}')
    return DigitalOceanTarget(load_config(p))


@pytest.mark.parametrize("mode", ["droplet_ids", "tag"])
def test_a_switch_keeps_every_writable_field_do_returns(do, tmp_path, monkeypatch, mode):
    do.account.lb.update(copy.deepcopy(RICH))
    before = httpx.get(do.url + LB, headers=H).json()["load_balancer"]
    t = target(do, tmp_path, monkeypatch, switch_mode=mode)
    t.switch("green")
    do.wait_applied([201, 202])
    after = httpx.get(do.url + LB, headers=H).json()["load_balancer"]
    lost = {k: (before[k], after[k]) for k in WRITABLE if after[k] != before[k]}
    assert not lost, f"reset by the driver's PUT: {lost}"
    puts = [r["body"] for r in do.writes() if r["method"] == "PUT"]
    assert puts and all("size_unit" in b and "size" not in b for b in puts)          # size_unit alone
    assert all(b["region"] == "nyc3" and not {"id", "ip", "status", "created_at"} & set(b) for b in puts)


@pytest.mark.parametrize("field", sorted(set(LB_DEFAULTS) | set(LB_IMMUTABLE)))
def test_a_put_that_leaves_a_field_out_resets_it_or_is_refused(do, field):
    """The other side of the test above: the simulator notices a dropped field, as DO would."""
    rich = {**copy.deepcopy(RICH), "sticky_sessions": {"type": "cookies", "cookie_name": "DO-LB",
                                                         "cookie_ttl_seconds": 300}}
    do.account.lb.update(rich)
    body = {k: v for k, v in rich.items() if k not in (field, "size")}
    body.update(region="nyc3", droplet_ids=[101, 102])
    r = httpx.put(do.url + LB, headers=H, json=body)
    if field in LB_IMMUTABLE:
        assert r.status_code == 422 and field in r.json()["message"]     # would reset a create-only field
    else:
        assert r.status_code == 200, r.text
        assert r.json()["load_balancer"][field] != rich[field]


def test_size_and_size_unit_together_are_refused(do):
    r = httpx.put(do.url + LB, headers=H, json={"region": "nyc3", "droplet_ids": [101], "forwarding_rules": RULES,
                                                 "size": "lb-small", "size_unit": 1})
    assert r.status_code == 422 and "size_unit" in r.json()["message"]


@pytest.mark.parametrize("change, fragment", [
    ({"forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http"}]}, "target_port"),
    ({"forwarding_rules": [{**RULES[0], "entry_protocol": "gopher"}]}, "entry_protocol"),
    ({"forwarding_rules": []}, "forwarding_rules"),
    ({"http_idle_timeout_seconds": 10}, "http_idle_timeout_seconds"),
    ({"http_idle_timeout_seconds": 601}, "http_idle_timeout_seconds"),
    ({"size_unit": 0}, "size_unit"),
    ({"droplet_ids": ["201"]}, "integer"),
    ({"droplet_ids": [True]}, "integer"),
    ({"droplet_ids": None, "tag": "bad tag!"}, "tag"),
    ({"health_check": {"protocol": "udp"}}, "health_check.protocol"),
    ({"health_check": {"healthy_threshold": 11}}, "healthy_threshold"),
    ({"health_check": {"check_interval_seconds": 2}}, "check_interval_seconds"),
    ({"sticky_sessions": {"type": "ip_hash"}}, "sticky_sessions"),
    ({"algorithm": "random"}, "algorithm"),
    ({"tls_cipher_policy": "WEAK"}, "tls_cipher_policy"),
    ({"redirect_http_to_https": "yes"}, "boolean"),
    ({"firewall": {"allow": ["1.2.3.4"]}}, "firewall"),
    ({"region": ""}, "region"),
])
def test_invalid_put_bodies_get_dos_422(shared, change, fragment):
    do = shared
    body = {"region": "nyc3", "droplet_ids": [101, 102], "forwarding_rules": RULES, **change}
    body = {k: v for k, v in body.items() if v is not None}
    r = httpx.put(do.url + LB, headers=H, json=body)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["id"] == "unprocessable_entity" and fragment in err["message"] and err["request_id"]
    assert do.backend.applied == [[101, 102]]                # nothing applied


@pytest.mark.parametrize("query, status", [("per_page=0", 400), ("per_page=201", 400), ("per_page=x", 400),
                                           ("page=0", 400), ("per_page=200", 200), ("page=9&per_page=2", 200),
                                           ("tag_name=bad%20tag", 422)])
def test_paging_and_query_bounds(shared, query, status):
    do = shared
    r = httpx.get(f"{do.url}/v2/droplets?{query}", headers=H)
    assert r.status_code == status, r.text
    if status == 200 and "page=9" in query:
        assert r.json()["droplets"] == [] and r.json()["meta"]["total"] == 4
    elif status != 200:
        assert set(r.json()) >= {"id", "message"}


def test_bodies_that_are_not_objects_or_ids_are_refused(shared):
    do = shared
    url = f"{do.url}/v2/load_balancers/{LB_ID}/droplets"
    assert httpx.post(url, headers=H, json={"droplet_ids": []}).status_code == 422
    assert httpx.post(url, headers=H, json={"droplet_ids": [999]}).status_code == 422
    tags = f"{do.url}/v2/tags/magento-green/resources"
    assert httpx.post(tags, headers=H, json={"resources": [{"resource_id": 201, "resource_type": "droplet"}]}).status_code == 422
    assert httpx.post(tags, headers=H, json={"resources": [{"resource_id": "201", "resource_type": "vm"}]}).status_code == 422
    assert httpx.post(f"{do.url}/v2/tags/bad tag/resources", headers=H,
                      json={"resources": [{"resource_id": "201", "resource_type": "droplet"}]}).status_code == 422


# DO's droplet schema marks these required.
DROPLET_REQUIRED = {"id", "name", "memory", "vcpus", "disk", "locked", "status", "created_at", "features",
                    "backup_ids", "next_backup_window", "snapshot_ids", "image", "volume_ids", "size", "size_slug",
                    "networks", "region", "tags", "kernel", "disk_info", "vpc_uuid"}


def test_droplets_are_complete_objects(shared):
    do = shared
    for d in httpx.get(f"{do.url}/v2/droplets?per_page=200", headers=H).json()["droplets"]:
        assert set(d) >= DROPLET_REQUIRED, DROPLET_REQUIRED - set(d)
        assert d["size"]["slug"] == d["size_slug"] and d["region"]["slug"] == "nyc3" and d["image"]["slug"]
        assert isinstance(d["memory"], int) and isinstance(d["locked"], bool)


def test_burst_limit_is_250_a_minute_with_retry_after_and_recovers():
    clock = FakeClock(1_700_000_000)
    with running(TOKEN, api_clock=clock) as do, httpx.Client(headers=H) as c:
        codes = [c.get(f"{do.url}/v2/droplets/101").status_code for _ in range(251)]
        assert codes[:250] == [200] * 250
        r = c.get(f"{do.url}/v2/droplets/101")
        assert r.status_code == 429 and r.json()["id"] == "too_many_requests"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.headers["ratelimit-remaining"] == str(5000 - 250)
        clock.advance(61)
        assert c.get(f"{do.url}/v2/droplets/101").status_code == 200


def test_the_hourly_limit_is_a_rolling_window_without_retry_after():
    clock = FakeClock(1_700_000_000)
    rl = RateLimiter(clock)
    for _minute in range(20):                       # 20 minutes x 250 = the hour's 5,000
        for _ in range(250):
            assert rl.take() is None
        clock.advance(60)
    refused = rl.take()
    assert refused.status == 429 and "retry-after" not in refused.headers
    h = rl.headers()
    assert h["ratelimit-remaining"] == "0" and int(h["ratelimit-reset"]) == 1_700_000_000 + 3600
    clock.advance(1_700_000_000 + 3600 - clock())  # the first minute's requests expire: 250 slots come back
    assert rl.take() is None and rl.headers()["ratelimit-remaining"] == "249"
