"""The DigitalOcean account the simulator pretends to be: droplets, tags, one load balancer, and DO's quirks."""
from __future__ import annotations

import copy
import threading
import time
import uuid

from simulator.doapi import validate
from simulator.doapi.errors import ApiError, not_found

LB_ID = "4de7ac8b-495b-4884-9a69-1050c6793cd6"
REGION = {"name": "New York 3", "slug": "nyc3", "available": True,
          "features": ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"],
          "sizes": ["s-1vcpu-1gb", "s-2vcpu-4gb"]}
VPC_UUID = str(uuid.UUID(int=7))
PROJECT_ID = str(uuid.UUID(int=11))          # the account's default project
# The replica's nodes as droplets (ids fixed so configs and tests can name them).
DROPLETS = {101: ("blue-1", "magento-blue"), 102: ("blue-2", "magento-blue"),
            201: ("green-1", "magento-green"), 202: ("green-2", "magento-green")}

# What a full-replace PUT resets a writable field to when the body leaves it out.
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
    "tls_cipher_policy": "DEFAULT",
    "firewall": {"deny": [], "allow": []},
    "domains": [],
    "glb_settings": {},
    "target_load_balancer_ids": [],
    "project_id": PROJECT_ID,
    "vpc_uuid": VPC_UUID,
}
# Set at creation and never changed: a PUT that leaves them out would reset them, which DO refuses.
LB_IMMUTABLE = {"network": "EXTERNAL", "network_stack": "IPV4", "type": "REGIONAL"}
LB_READ_ONLY = ("id", "ip", "ipv6", "status", "created_at", "region")
# Sent by GET for LBs created before size_unit existed; a PUT may carry one of the two, not both.
LEGACY_SIZE = {1: "lb-small", 3: "lb-medium", 6: "lb-large"}
SIZE_UNITS = {v: k for k, v in LEGACY_SIZE.items()}


def droplet_object(did: int, name: str, tag: str) -> dict:
    """A droplet as GET /v2/droplets returns it: every field DO's schema marks required."""
    size = {"slug": "s-2vcpu-4gb", "memory": 4096, "vcpus": 2, "disk": 80, "transfer": 4.0,
            "price_monthly": 24.0, "price_hourly": 0.03571, "regions": [REGION["slug"]], "available": True,
            "description": "Basic"}
    return {
        "id": did, "name": name, "memory": 4096, "vcpus": 2, "disk": 80,
        "disk_info": [{"type": "local", "size": {"amount": 80, "unit": "gib"}}],
        "locked": False, "status": "active", "kernel": None, "created_at": "2026-11-01T00:00:00Z",
        "features": ["monitoring", "private_networking"], "backup_ids": [], "next_backup_window": None,
        "snapshot_ids": [], "volume_ids": [], "vpc_uuid": VPC_UUID,
        "image": {"id": 129211873, "name": "12 x64", "distribution": "Debian", "slug": "debian-12-x64",
                  "public": True, "regions": [REGION["slug"]], "created_at": "2023-06-12T00:00:00Z",
                  "type": "base", "min_disk_size": 15, "size_gigabytes": 0.42, "description": "Debian 12 x64",
                  "tags": [], "status": "available"},
        "size": size, "size_slug": size["slug"],
        "networks": {"v4": [
            {"ip_address": "127.0.0.1", "netmask": "255.0.0.0", "gateway": "127.0.0.1", "type": "public"},
            {"ip_address": f"10.10.0.{did % 256}", "netmask": "255.255.0.0", "gateway": "", "type": "private"}],
            "v6": []},
        "region": copy.deepcopy(REGION), "tags": [tag],
    }


def initial_lb(droplet_ids: list[int]) -> dict:
    lb = {"id": LB_ID, "name": "magento-lb", "ip": "127.0.0.1", "ipv6": "", "status": "active",
          "created_at": "2026-11-01T00:00:00Z", "region": copy.deepcopy(REGION), "size": "lb-small",
          "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http",
                                "target_port": 80, "certificate_id": "", "tls_passthrough": False}],
          **copy.deepcopy(LB_DEFAULTS), **LB_IMMUTABLE, "droplet_ids": list(droplet_ids), "tag": ""}
    lb["health_check"] = {"protocol": "http", "port": 80, "path": "/healthz", "check_interval_seconds": 10,
                          "response_timeout_seconds": 5, "healthy_threshold": 5, "unhealthy_threshold": 3}
    return lb


class Account:
    def __init__(self, backend, initial_ids: list[int], apply_delay: float = 1.0):
        self.lock = threading.RLock()
        self.backend = backend
        self.apply_delay = apply_delay
        self.applying_until = 0.0
        self.apply_failed = False   # the backend refused the last change (DO: status "errored")
        self.droplets = {i: droplet_object(i, n, t) for i, (n, t) in DROPLETS.items()}
        # DO's tags are resources of their own: tagging with a tag nobody created is 404.
        self.tags = {t for d in self.droplets.values() for t in d["tags"]}
        self.lb = initial_lb(initial_ids)
        self.backend.apply(list(initial_ids), copy.deepcopy(self.lb["health_check"]), self.lb_settings())

    # -- reads -------------------------------------------------------------------------------------
    def get_lb(self, lb_id: str) -> dict:
        self._need_lb(lb_id)
        with self.lock:
            lb = copy.deepcopy(self.lb)
        # While a change is being applied the LB reads as "new" (and refuses further updates with 403).
        lb["status"] = "new" if self.applying_until else ("errored" if self.apply_failed else "active")
        # DO reports no per-droplet health; the tag form lists the tagged droplets' ids.
        if lb["tag"]:
            lb["droplet_ids"] = self._tagged(lb["tag"])
        return lb

    def lb_settings(self) -> dict:
        """What the data plane needs besides the droplet set: stickiness and the idle timeout."""
        return {k: copy.deepcopy(self.lb[k]) for k in ("sticky_sessions", "http_idle_timeout_seconds")}

    def _tagged(self, tag: str) -> list[int]:
        return [i for i, d in sorted(self.droplets.items()) if tag in d["tags"]]

    def droplets_by_tag(self, tag: str | None) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(d) for i, d in sorted(self.droplets.items()) if tag is None or tag in d["tags"]]

    def droplet(self, did: int) -> dict:
        if did not in self.droplets:
            raise not_found()
        return copy.deepcopy(self.droplets[did])

    # -- writes ------------------------------------------------------------------------------------
    def _need_lb(self, lb_id: str) -> None:
        if lb_id != LB_ID:
            raise not_found()

    def _not_busy(self) -> None:
        if self.applying_until:
            raise ApiError(403, "forbidden", "Load Balancer can't be updated while it processes previous actions")

    def put_lb(self, lb_id: str, body: dict) -> dict:
        self._need_lb(lb_id)
        validate.load_balancer_update(body)
        if body["region"] != REGION["slug"]:
            raise validate.unprocessable(f"region '{body['region']}' does not match the load balancer's region")
        ids = list(body.get("droplet_ids") or [])
        if any(i not in self.droplets for i in ids):
            raise validate.unprocessable("droplet_ids contains an unknown droplet")
        with self.lock:
            self._not_busy()
            new = {k: copy.deepcopy(self.lb[k]) for k in LB_READ_ONLY}
            new["name"] = self.lb["name"]
            new.update(copy.deepcopy(LB_DEFAULTS))      # full replace: what is not sent goes back to default
            new.update(LB_IMMUTABLE)
            for k in (*LB_DEFAULTS, *LB_IMMUTABLE, "name", "forwarding_rules"):
                if k in body:
                    new[k] = copy.deepcopy(body[k])
            changed = [k for k in LB_IMMUTABLE if new[k] != self.lb[k]]
            if changed:
                raise validate.unprocessable(f"{changed[0]} cannot be updated after the load balancer is created "
                                             f"(it is {self.lb[changed[0]]!r})")
            if "size" in body:                          # the deprecated form, translated as DO does
                new["size_unit"] = SIZE_UNITS[body["size"]]
            new["size"] = LEGACY_SIZE.get(new["size_unit"], "")
            new["health_check"] = {**LB_DEFAULTS["health_check"], **new["health_check"]}
            new["droplet_ids"], new["tag"] = (ids, "") if ids else ([], body["tag"])
            self.lb = new
            self._schedule_apply()
            return self.get_lb(lb_id)

    def add_droplets(self, lb_id: str, ids: list[int], add: bool) -> None:
        self._need_lb(lb_id)
        if any(i not in self.droplets for i in ids):
            raise validate.unprocessable("droplet_ids contains an unknown droplet")
        with self.lock:
            if self.lb["tag"]:
                raise validate.unprocessable("droplets cannot be managed individually when the load balancer "
                                             "uses a tag")
            self._not_busy()
            cur = list(self.lb["droplet_ids"])
            self.lb["droplet_ids"] = sorted(set(cur) | set(ids)) if add else [i for i in cur if i not in ids]
            self._schedule_apply()

    def create_tag(self, tag: str) -> dict:
        validate.tag_name(tag)
        with self.lock:
            self.tags.add(tag)
            return {"name": tag, "resources": {"count": len(self._tagged(tag)),
                                               "droplets": {"count": len(self._tagged(tag))}}}

    def delete_tag(self, tag: str) -> None:
        """DELETE /v2/tags/{tag}: the tag goes, and with it from every resource."""
        with self.lock:
            if tag not in self.tags:
                raise not_found()
            self.tags.discard(tag)
            for d in self.droplets.values():
                if tag in d["tags"]:
                    d["tags"].remove(tag)
            if self.lb["tag"] == tag:
                self._schedule_apply()

    def tag_resources(self, tag: str, ids: list[int], add: bool) -> None:
        validate.tag_name(tag)
        with self.lock:
            if tag not in self.tags or any(i not in self.droplets for i in ids):
                raise not_found()
            for i in ids:
                tags = self.droplets[i]["tags"]
                if add and tag not in tags:
                    tags.append(tag)
                elif not add and tag in tags:
                    tags.remove(tag)
            if self.lb["tag"] == tag:
                self._schedule_apply()

    def _schedule_apply(self) -> None:
        """DO applies LB changes asynchronously; until done, further updates get 403."""
        self.applying_until = float("inf")  # busy until the backend has really applied the change
        lb = self.get_lb(LB_ID)
        target, hc, settings = lb["droplet_ids"], lb["health_check"], self.lb_settings()

        def later():
            time.sleep(self.apply_delay)
            try:
                self.backend.apply(target, hc, settings)
                self.apply_failed = False
            except Exception:  # noqa: BLE001 - surfaced as status "errored", as DO does
                self.apply_failed = True
            finally:
                with self.lock:
                    self.applying_until = 0.0

        threading.Thread(target=later, daemon=True).start()

    # -- droplet power (fault hooks) ----------------------------------------------------------------
    def set_power(self, did: int, on: bool) -> None:
        """A droplet powered off: status 'off', its health checks fail, the LB takes it out after
        unhealthy_threshold failures (and sends it traffic that fails until then)."""
        if did not in self.droplets:
            raise not_found()
        with self.lock:
            self.droplets[did]["status"] = "active" if on else "off"
        self.backend.set_power(did, on)
