"""Faults of the DigitalOcean path, through the DO API simulator's control plane (/_sim/faults): API storms
during the switch (429 rate limits, 403 "busy", 5xx, slow applies) and a droplet powered off."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from harness.faults.base import Fault, FaultError
from harness.faults.node import NodeKill
from harness.load.traffic import check_host

# Storm name → the simulator's fault counter it sets.
STORMS = {"429": "rate_limited", "403-busy": "busy", "5xx": "errors_500", "5xx-writes": "write_errors_500"}
COUNTERS = tuple(STORMS.values())
DROPLET_NODES = {101: "blue-1", 102: "blue-2", 201: "green-1", 202: "green-2"}


def _sim(api: str, body: dict) -> None:
    check_host(api)  # control traffic, like load, only to loopback or the project's containers
    url = api.rstrip("/") + "/_sim/faults"
    try:
        r = httpx.post(url, json=body, timeout=5)
    except httpx.HTTPError as exc:
        raise FaultError(f"DO API simulator at {urlsplit(api).netloc} unreachable: {type(exc).__name__}") from None
    if r.status_code != 200:
        raise FaultError(f"DO API simulator refused {body}: HTTP {r.status_code}")


class ApiStorm(Fault):
    """The next `count` API requests (or writes) fail the DO way, or every LB change applies slowly
    (`storm = "slow"`, `apply_delay_s`): the driver must back off, retry and still switch."""
    kind = "do-api-storm"
    family = "doapi"
    needs = "doapi"
    summary = "DO API storm during the switch: 429 / 403-busy / 5xx / slow applies (simulator)"

    def __init__(self, api: str, storm: str = "429", count: int = 4, apply_delay_s: float = 4.0,
                 normal_apply_delay_s: float = 1.0, **params):
        if storm not in (*STORMS, "slow"):
            raise FaultError(f"unknown DO API storm {storm!r}: one of {', '.join((*STORMS, 'slow'))}")
        super().__init__(api=api, storm=storm, count=int(count), apply_delay_s=float(apply_delay_s),
                         normal_apply_delay_s=float(normal_apply_delay_s), **params)

    def inject(self) -> dict:
        p = self.params
        _sim(p["api"], {"apply_delay": p["apply_delay_s"]} if p["storm"] == "slow" else {STORMS[p["storm"]]: p["count"]})
        return {}

    def heal(self, state: dict) -> None:
        _sim(self.params["api"], {**{c: 0 for c in COUNTERS}, "apply_delay": self.params["normal_apply_delay_s"]})


class DropletOff(Fault):
    """A droplet powered off: its node stops (every process killed), and the API reports it `off`."""
    kind = "do-droplet-off"
    family = "doapi"
    needs = "doapi"
    summary = "a droplet powered off (its node killed; the simulator reports status off)"

    def __init__(self, api: str, node: str, droplet_id: int | None = None, **params):
        ids = {n: i for i, n in DROPLET_NODES.items()}
        if node not in ids:
            raise FaultError(f"unknown droplet node {node!r}: one of {', '.join(ids)}")
        super().__init__(api=api, node=node, droplet_id=ids[node], **params)
        self.node = NodeKill(node=node)

    def inject(self) -> dict:
        _sim(self.params["api"], {"droplet_off": self.params["droplet_id"]})
        return self.node.inject()

    def heal(self, state: dict) -> None:
        self.node.heal({})
        _sim(self.params["api"], {"droplet_on": self.params["droplet_id"]})

    def in_effect(self, state: dict) -> bool:
        return self.node.in_effect(state)
