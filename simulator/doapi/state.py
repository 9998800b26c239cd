"""The DigitalOcean account the simulator pretends to be: droplets, tags, one load balancer, and DO's quirks."""
from __future__ import annotations

import copy
import threading
import time
import uuid

LB_ID = "4de7ac8b-495b-4884-9a69-1050c6793cd6"
REGION = {"name": "New York 3", "slug": "nyc3", "available": True, "features": ["load_balancers"], "sizes": []}
# The replica's nodes as droplets (ids fixed so configs and tests can name them).
DROPLETS = {101: ("blue-1", "magento-blue"), 102: ("blue-2", "magento-blue"),
            201: ("green-1", "magento-green"), 202: ("green-2", "magento-green")}

LB_DEFAULTS = {
    "algorithm": "round_robin",
    "size_unit": 1,
    "health_check": {"protocol": "tcp", "port": 80, "path": "", "check_interval_seconds": 10,
                     "response_timeout_seconds": 5, "healthy_threshold": 3, "unhealthy_threshold": 5},
    "sticky_sessions": {"type": "none"},
    "redirect_http_to_https": False,
    "enable_proxy_protocol": False,
    "enable_backend_keepalive": False,
    "http_idle_timeout_seconds": 60,
    "disable_lets_encrypt_dns_records": False,
}


class ApiError(Exception):
    def __init__(self, status: int, ident: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.ident, self.message, self.headers = status, ident, message, headers or {}


class Account:
    def __init__(self, backend, initial_ids: list[int], apply_delay: float = 1.0):
        self.lock = threading.RLock()
        self.backend = backend
        self.apply_delay = apply_delay
        self.applying_until = 0.0
        self.apply_failed = False   # the backend refused the last change (DO: status "errored")
        self.droplets = {i: {"id": i, "name": n, "status": "active", "tags": [t], "size_slug": "s-2vcpu-4gb",
                             "region": REGION, "networks": {"v4": [
                                 {"ip_address": "127.0.0.1", "netmask": "255.0.0.0", "gateway": "127.0.0.1", "type": "public"},
                                 {"ip_address": f"10.10.0.{i % 256}", "netmask": "255.255.0.0", "gateway": "", "type": "private"}],
                                 "v6": []}, "created_at": "2026-11-01T00:00:00Z"}
                         for i, (n, t) in DROPLETS.items()}
        self.lb = {"id": LB_ID, "name": "magento-lb", "ip": "127.0.0.1", "status": "active",
                   "created_at": "2026-11-01T00:00:00Z", "region": REGION, "vpc_uuid": str(uuid.UUID(int=7)),
                   "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http",
                                         "target_port": 80, "certificate_id": "", "tls_passthrough": False}],
                   **copy.deepcopy(LB_DEFAULTS), "droplet_ids": list(initial_ids), "tag": ""}
        self.lb["health_check"] = {"protocol": "http", "port": 80, "path": "/healthz", "check_interval_seconds": 10,
                                   "response_timeout_seconds": 5, "healthy_threshold": 5, "unhealthy_threshold": 3}
        self.backend.apply(list(initial_ids))

    # -- reads -------------------------------------------------------------------------------------
    def get_lb(self, lb_id: str) -> dict:
        self._need_lb(lb_id)
        with self.lock:
            lb = copy.deepcopy(self.lb)
        # While a change is being applied the LB reads as "new" (and refuses further updates with 403).
        lb["status"] = "new" if self.applying_until else ("errored" if self.apply_failed else "active")
        # DO reports no per-droplet health; the tag form lists no ids.
        if lb["tag"]:
            lb["droplet_ids"] = [i for i, d in self.droplets.items() if lb["tag"] in d["tags"]]
        return lb

    def droplets_by_tag(self, tag: str | None) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(d) for i, d in sorted(self.droplets.items()) if tag is None or tag in d["tags"]]

    def droplet(self, did: int) -> dict:
        if did not in self.droplets:
            raise ApiError(404, "not_found", "The resource you were accessing could not be found.")
        return copy.deepcopy(self.droplets[did])

    # -- writes ------------------------------------------------------------------------------------
    def _need_lb(self, lb_id: str) -> None:
        if lb_id != LB_ID:
            raise ApiError(404, "not_found", "The resource you were accessing could not be found.")

    def _not_busy(self) -> None:
        if time.time() < self.applying_until:
            raise ApiError(403, "forbidden", "Load Balancer can't be updated while it processes previous actions")

    def put_lb(self, lb_id: str, body: dict) -> dict:
        self._need_lb(lb_id)
        if not isinstance(body, dict):
            raise ApiError(422, "unprocessable_entity", "invalid body")
        region = body.get("region")
        if not region:
            raise ApiError(422, "unprocessable_entity", "region is required")
        if region != REGION["slug"]:
            raise ApiError(422, "unprocessable_entity", f"region '{region}' does not match the load balancer's region")
        if not body.get("forwarding_rules"):
            raise ApiError(422, "unprocessable_entity", "forwarding_rules is required")
        has_ids, has_tag = bool(body.get("droplet_ids")), bool(body.get("tag"))
        if has_ids == has_tag:
            raise ApiError(422, "unprocessable_entity", "exactly one of droplet_ids or tag must be set")
        ids = [int(i) for i in body.get("droplet_ids") or []]
        if any(i not in self.droplets for i in ids):
            raise ApiError(422, "unprocessable_entity", "droplet_ids contains an unknown droplet")
        with self.lock:
            self._not_busy()
            new = {k: v for k, v in self.lb.items() if k in ("id", "ip", "status", "created_at", "region")}
            new.update(copy.deepcopy(LB_DEFAULTS))      # full replace: what is not sent goes back to default
            for k in ("name", "forwarding_rules", "health_check", "sticky_sessions", "redirect_http_to_https",
                      "enable_proxy_protocol", "enable_backend_keepalive", "http_idle_timeout_seconds", "size_unit",
                      "vpc_uuid", "algorithm", "disable_lets_encrypt_dns_records"):
                if k in body:
                    new[k] = copy.deepcopy(body[k])
            new.setdefault("name", self.lb["name"])
            new.setdefault("vpc_uuid", self.lb["vpc_uuid"])
            new["droplet_ids"], new["tag"] = (ids, "") if has_ids else ([], body["tag"])
            self.lb = new
            self._schedule_apply()
            return self.get_lb(lb_id)

    def add_droplets(self, lb_id: str, ids: list[int], add: bool) -> None:
        self._need_lb(lb_id)
        with self.lock:
            if self.lb["tag"]:
                raise ApiError(422, "unprocessable_entity", "droplets cannot be managed individually when the load balancer uses a tag")
            self._not_busy()
            cur = list(self.lb["droplet_ids"])
            self.lb["droplet_ids"] = sorted(set(cur) | set(ids)) if add else [i for i in cur if i not in ids]
            self._schedule_apply()

    def tag_resources(self, tag: str, resources: list[dict], add: bool) -> None:
        with self.lock:
            for r in resources:
                d = self.droplets.get(int(r.get("resource_id", 0)))
                if d is None:
                    raise ApiError(404, "not_found", "The resource you were accessing could not be found.")
                if add and tag not in d["tags"]:
                    d["tags"].append(tag)
                elif not add and tag in d["tags"]:
                    d["tags"].remove(tag)
            if self.lb["tag"] == tag:
                self._schedule_apply()

    def _schedule_apply(self) -> None:
        """DO applies LB changes asynchronously; until done, further updates get 403."""
        self.applying_until = float("inf")  # busy until the backend has really applied the change
        target = self.get_lb(LB_ID)["droplet_ids"]

        def later():
            time.sleep(self.apply_delay)
            try:
                self.backend.apply(target)
                self.apply_failed = False
            except Exception:  # noqa: BLE001 - surfaced as status "errored", as DO does
                self.apply_failed = True
            finally:
                with self.lock:
                    self.applying_until = 0.0

        threading.Thread(target=later, daemon=True).start()
