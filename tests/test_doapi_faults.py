"""DO API faults through the simulator's control plane (in-process simulator, no replica): each storm makes the
API answer the DO way, and heal puts it back."""

import httpx
import pytest

from harness.faults import Journal, injected, make_fault
from simulator.doapi.state import LB_ID
from tests.shared_fixtures import H


def _add(do) -> int:
    return httpx.post(f"{do.url}/v2/load_balancers/{LB_ID}/droplets", headers=H, json={"droplet_ids": [201]}).status_code


@pytest.mark.parametrize("storm,status", [("429", 429), ("403-busy", 403), ("5xx", 500), ("5xx-writes", 500)])
def test_api_storm_then_heal(storm, status, do, tmp_path):
    j = Journal(tmp_path)
    with injected(make_fault("do-api-storm", api=do.url, storm=storm, count=50), j):
        assert _add(do) == status
        assert j.entries()[0].kind == "do-api-storm"
    assert j.entries() == []
    assert _add(do) in (204, 403)  # 403 only while the previous change applies: DO's own quirk, not the storm
    assert httpx.get(f"{do.url}/v2/load_balancers/{LB_ID}", headers=H).status_code == 200


def test_slow_apply_storm_keeps_the_lb_busy_longer(do, tmp_path):
    with injected(make_fault("do-api-storm", api=do.url, storm="slow", apply_delay_s=5, normal_apply_delay_s=0.3),
                  Journal(tmp_path)):
        assert do.account.apply_delay == 5
    assert do.account.apply_delay == 0.3


def test_droplet_status_off_and_on_through_the_control_plane(do):
    from harness.faults.doapi import _sim

    _sim(do.url, {"droplet_off": 201})
    assert httpx.get(f"{do.url}/v2/droplets/201", headers=H).json()["droplet"]["status"] == "off"
    _sim(do.url, {"droplet_on": 201})
    assert httpx.get(f"{do.url}/v2/droplets/201", headers=H).json()["droplet"]["status"] == "active"
