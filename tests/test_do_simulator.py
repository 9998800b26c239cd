"""The DO API simulator speaks DigitalOcean's v2 shapes, codes and quirks, and the official client pydo works
against it."""
import time

import httpx
import pytest

from simulator.doapi.state import LB_ID
from simulator.doapi.testing import FakeClock, running
from tests.shared_fixtures import TOKEN, H

RULES = [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]


def test_auth_is_required_and_rate_limit_headers_are_on_every_response(do):
    assert httpx.get(f"{do.url}/v2/droplets").status_code == 401
    r = httpx.get(f"{do.url}/v2/droplets", headers={"Authorization": "Bearer dop_v1_wrong"})
    assert r.status_code == 401 and r.json()["id"] == "unauthorized"
    for r in (httpx.get(f"{do.url}/v2/droplets", headers=H), httpx.get(f"{do.url}/v2/nothing", headers=H)):
        assert {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"} <= set(r.headers)
    assert int(r.headers["ratelimit-reset"]) > time.time()


def test_a_naive_put_fails_or_resets_fields_like_do_does(do):
    """The blog pipeline's mistakes, reproduced: no region → 422; a PUT without the current fields resets them;
    /v2/loadbalancers/ does not exist."""
    url = f"{do.url}/v2/load_balancers/{LB_ID}"
    r = httpx.put(url, headers=H, json={"droplet_ids": [201, 202], "forwarding_rules": RULES})
    assert r.status_code == 422 and "region" in r.json()["message"]
    r = httpx.put(url, headers=H, json={"region": "nyc3", "droplet_ids": [201], "tag": "magento-green",
                                        "forwarding_rules": RULES})
    assert r.status_code == 422 and "exactly one" in r.json()["message"]
    r = httpx.put(url, headers=H, json={"region": "nyc3", "droplet_ids": [201, 202], "forwarding_rules": RULES})
    assert r.status_code == 200
    assert r.json()["load_balancer"]["health_check"]["protocol"] == "tcp"  # the /healthz check is gone
    assert httpx.get(f"{do.url}/v2/loadbalancers/{LB_ID}", headers=H).status_code == 404


def test_apply_is_asynchronous_and_a_second_update_meanwhile_is_403_busy(do):
    httpx.post(f"{do.url}/_sim/faults", json={"apply_delay": 2.0})
    url = f"{do.url}/v2/load_balancers/{LB_ID}/droplets"
    assert httpx.request("POST", url, headers=H, json={"droplet_ids": [201]}).status_code == 204
    assert httpx.get(f"{do.url}/v2/load_balancers/{LB_ID}", headers=H).json()["load_balancer"]["status"] == "new"
    r = httpx.request("DELETE", url, headers=H, json={"droplet_ids": [101]})
    assert r.status_code == 403 and "processes previous actions" in r.json()["message"]
    do.wait_applied([101, 102, 201])
    assert httpx.get(f"{do.url}/v2/load_balancers/{LB_ID}", headers=H).json()["load_balancer"]["status"] == "active"


def test_new_droplets_serve_only_after_the_healthy_threshold():
    clock = FakeClock()
    with running(TOKEN, clock=clock, scale=1.0) as do:      # DO's timing: 5 passing checks, 10 s apart
        httpx.request("POST", f"{do.url}/v2/load_balancers/{LB_ID}/droplets", headers=H, json={"droplet_ids": [201]})
        do.wait_applied([101, 102, 201])
        clock.advance(49)
        assert do.backend.serving() == [101, 102]          # 201 is assigned but still DOWN
        # DO's GET says nothing about droplet health: only traffic can tell.
        lb = httpx.get(f"{do.url}/v2/load_balancers/{LB_ID}", headers=H).json()["load_balancer"]
        assert 201 in lb["droplet_ids"] and "health" not in str(lb["droplet_ids"])
        clock.advance(1)
        assert do.backend.serving() == [101, 102, 201]


def test_pagination_follows_do_links_shape(do):
    r = httpx.get(f"{do.url}/v2/droplets?per_page=1&page=1", headers=H).json()
    assert r["meta"]["total"] == 4 and set(r["links"]["pages"]) == {"next", "last"}
    r = httpx.get(f"{do.url}/v2/droplets?per_page=1&page=4", headers=H).json()
    assert set(r["links"]["pages"]) == {"first", "prev"}
    r = httpx.get(f"{do.url}/v2/droplets?tag_name=magento-green", headers=H).json()
    assert [d["id"] for d in r["droplets"]] == [201, 202] and r["links"] == {}
    assert httpx.get(f"{do.url}/v2/droplets?tag_name=x&name=y", headers=H).status_code == 422


def test_tags_and_reserved_ips(do):
    body = {"resources": [{"resource_id": "201", "resource_type": "droplet"}]}
    assert httpx.post(f"{do.url}/v2/tags/canary/resources", headers=H, json=body).status_code == 404  # not created
    assert httpx.post(f"{do.url}/v2/tags", headers=H, json={"name": "canary"}).status_code == 201
    assert httpx.post(f"{do.url}/v2/tags/canary/resources", headers=H, json=body).status_code == 204
    assert "canary" in httpx.get(f"{do.url}/v2/droplets/201", headers=H).json()["droplet"]["tags"]
    assert httpx.request("DELETE", f"{do.url}/v2/tags/canary/resources", headers=H, json=body).status_code == 204
    assert "canary" not in httpx.get(f"{do.url}/v2/droplets/201", headers=H).json()["droplet"]["tags"]
    r = httpx.post(f"{do.url}/v2/reserved_ips/203.0.113.7/actions", headers=H, json={"type": "assign", "droplet_id": 201})
    assert r.status_code == 201 and r.json()["action"]["type"] == "assign_ip"
    assert httpx.post(f"{do.url}/v2/reserved_ips/203.0.113.7/actions", headers=H,
                      json={"type": "assign", "droplet_id": 999}).status_code == 422


def test_fault_injection(do):
    httpx.post(f"{do.url}/_sim/faults", json={"rate_limited": 1, "errors_500": 1})
    r = httpx.get(f"{do.url}/v2/droplets", headers=H)
    assert r.status_code == 429 and r.headers["retry-after"] and r.json()["id"] == "too_many_requests"
    assert httpx.get(f"{do.url}/v2/droplets", headers=H).status_code == 500
    assert httpx.get(f"{do.url}/v2/droplets", headers=H).status_code == 200
    httpx.post(f"{do.url}/_sim/faults", json={"go_away_after_writes": 0})
    assert httpx.get(f"{do.url}/v2/droplets", headers=H).status_code == 200   # reads still fine
    with pytest.raises(httpx.HTTPError):
        httpx.request("DELETE", f"{do.url}/v2/load_balancers/{LB_ID}/droplets", headers=H, json={"droplet_ids": [101]})
    with pytest.raises(httpx.HTTPError):                                    # and now nothing answers
        httpx.get(f"{do.url}/v2/droplets", headers=H)
    assert do.account.lb["droplet_ids"] == [101, 102]


def test_pydo_works_against_the_simulator(do):
    import pydo
    from azure.core.credentials import AzureKeyCredential
    from azure.core.pipeline.policies import AzureKeyCredentialPolicy

    client = pydo.Client(TOKEN, endpoint=do.url, retry_total=0, authentication_policy=AzureKeyCredentialPolicy(
        AzureKeyCredential(TOKEN), "Authorization", prefix="Bearer"))
    lb = client.load_balancers.get(LB_ID)["load_balancer"]
    assert lb["droplet_ids"] == [101, 102] and lb["region"]["slug"] == "nyc3"
    assert [d["name"] for d in client.droplets.list(tag_name="magento-green")["droplets"]] == ["green-1", "green-2"]
    body = {k: lb[k] for k in ("name", "forwarding_rules", "health_check", "sticky_sessions")}
    body.update(region="nyc3", droplet_ids=[101, 102, 201])
    assert client.load_balancers.update(LB_ID, body)["load_balancer"]["droplet_ids"] == [101, 102, 201]
    do.wait_applied([101, 102, 201])
    assert client.load_balancers.remove_droplets(LB_ID, {"droplet_ids": [201]}) is None
    do.wait_applied([101, 102])
    assert client.load_balancers.add_droplets(LB_ID, {"droplet_ids": [202]}) is None
    do.wait_applied([101, 102, 202])
    assert client.droplets.get(201)["droplet"]["name"] == "green-1"
    assert client.load_balancers.get("00000000-0000-0000-0000-000000000000")["id"] == "not_found"


def test_malformed_bodies_are_422_not_a_dropped_connection(do):
    url = f"{do.url}/v2/load_balancers/{LB_ID}/droplets"
    assert httpx.post(url, headers=H, json={"droplet_ids": ["abc"]}).status_code == 422
    assert httpx.post(url, headers=H, json=["not", "an", "object"]).status_code == 422
    assert httpx.post(url, headers=H, content=b"{nope").status_code == 400
    assert do.account.lb["droplet_ids"] == [101, 102]
