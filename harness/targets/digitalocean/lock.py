"""The DigitalOcean target's lock marks: a tag on every droplet of both colours (see harness/targets/lock.py).
Two pipelines that would switch one load balancer share those droplets, and DO's API gives droplets tags (its load
balancers have none)."""
from __future__ import annotations

from harness.targets.base import TargetError
from harness.targets.lock import PREFIX


class DropletTagLocker:
    def __init__(self, driver):
        self.driver = driver

    def _droplets(self) -> list[dict]:
        return self.driver._droplets("blue") + self.driver._droplets("green")

    def marks(self) -> list[str]:
        return sorted({t for d in self._droplets() for t in d.get("tags") or () if t.startswith(PREFIX + ":")})

    def _resources(self) -> dict:
        return {"resources": [{"resource_id": str(d["id"]), "resource_type": "droplet"} for d in self._droplets()]}

    def add(self, mark: str) -> None:
        try:  # a tag is a resource of its own: created first (creating one that exists is harmless)
            self.driver._call("POST", "/v2/tags", {"name": mark})
        except TargetError as exc:
            if "HTTP 422" not in str(exc):
                raise
        self.driver._call("POST", f"/v2/tags/{mark}/resources", self._resources())

    def remove(self, mark: str) -> None:
        try:  # deleting the tag removes it from every droplet at once
            self.driver._call("DELETE", f"/v2/tags/{mark}")
        except TargetError as exc:
            if "not found" not in str(exc):
                raise
