"""Request validation as DigitalOcean does it: required fields, enums, ranges, integer ids, tag names, paging.

Every problem is an ApiError carrying DO's error body ({"id", "message"}): 422 `unprocessable_entity` for a body
that parses but is wrong, 400 `bad_request` for unusable query parameters."""
from __future__ import annotations

import re

from simulator.doapi.errors import ApiError

PROTOCOLS = ("http", "https", "http2", "tcp")
ENUMS = {
    "algorithm": ("round_robin", "least_connections"),
    "size": ("lb-small", "lb-medium", "lb-large"),
    "network": ("EXTERNAL", "INTERNAL"),
    "network_stack": ("IPV4", "DUALSTACK"),
    "type": ("REGIONAL", "REGIONAL_NETWORK", "GLOBAL"),
    "tls_cipher_policy": ("DEFAULT", "STRONG"),
}
BOOLS = ("redirect_http_to_https", "enable_proxy_protocol", "enable_backend_keepalive",
         "disable_lets_encrypt_dns_records")
RANGES = {"size_unit": (1, 100), "http_idle_timeout_seconds": (30, 600)}
HEALTH_RANGES = {"check_interval_seconds": (3, 300), "response_timeout_seconds": (3, 300),
                 "healthy_threshold": (2, 10), "unhealthy_threshold": (2, 10), "port": (1, 65535)}
TAG_NAME = re.compile(r"[A-Za-z0-9_:\-]{1,255}")
LB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,254}")
RESOURCE_TYPES = ("droplet", "image", "volume", "volume_snapshot", "database")


def unprocessable(message: str) -> ApiError:
    return ApiError(422, "unprocessable_entity", message)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_in(name: str, v, lo: int, hi: int) -> None:
    if not is_int(v) or not lo <= v <= hi:
        raise unprocessable(f"{name} must be an integer between {lo} and {hi}")


def _str(name: str, v) -> None:
    if not isinstance(v, str):
        raise unprocessable(f"{name} must be a string")


def droplet_ids(v, name: str = "droplet_ids", *, allow_empty: bool = False) -> list[int]:
    if not isinstance(v, list) or (not v and not allow_empty):
        raise unprocessable(f"{name} must be a non-empty array of droplet ids")
    if not all(is_int(i) and i > 0 for i in v):
        raise unprocessable(f"{name} must contain only integer droplet ids")
    return list(v)


def tag_name(v) -> str:
    if not isinstance(v, str) or not TAG_NAME.fullmatch(v):
        raise unprocessable("tag names may contain letters, numbers, colons, dashes and underscores, up to 255 "
                            "characters")
    return v


def forwarding_rules(v) -> None:
    if not isinstance(v, list) or not v:
        raise unprocessable("forwarding_rules must be a non-empty array")
    for i, rule in enumerate(v):
        if not isinstance(rule, dict):
            raise unprocessable(f"forwarding_rules[{i}] must be an object")
        for k in ("entry_protocol", "target_protocol"):
            if k not in rule:
                raise unprocessable(f"forwarding_rules[{i}].{k} is required")
            if rule[k] not in PROTOCOLS:
                raise unprocessable(f"forwarding_rules[{i}].{k} must be one of {', '.join(PROTOCOLS)}")
        for k in ("entry_port", "target_port"):
            if k not in rule:
                raise unprocessable(f"forwarding_rules[{i}].{k} is required")
            _int_in(f"forwarding_rules[{i}].{k}", rule[k], 1, 65535)
        if "certificate_id" in rule:
            _str(f"forwarding_rules[{i}].certificate_id", rule["certificate_id"])
        if "tls_passthrough" in rule and not isinstance(rule["tls_passthrough"], bool):
            raise unprocessable(f"forwarding_rules[{i}].tls_passthrough must be a boolean")


def health_check(v) -> None:
    if not isinstance(v, dict):
        raise unprocessable("health_check must be an object")
    if "protocol" in v and v["protocol"] not in ("http", "https", "tcp"):
        raise unprocessable("health_check.protocol must be one of http, https, tcp")
    for k, (lo, hi) in HEALTH_RANGES.items():
        if k in v:
            _int_in(f"health_check.{k}", v[k], lo, hi)
    if "path" in v:
        _str("health_check.path", v["path"])


def sticky_sessions(v) -> None:
    if not isinstance(v, dict) or v.get("type", "none") not in ("cookies", "none"):
        raise unprocessable("sticky_sessions.type must be one of cookies, none")
    if v.get("type") == "cookies":
        if not isinstance(v.get("cookie_name", ""), str):
            raise unprocessable("sticky_sessions.cookie_name must be a string")
        _int_in("sticky_sessions.cookie_ttl_seconds", v.get("cookie_ttl_seconds", 300), 1, 2_592_000)


def _lists_of(name: str, v, item_type: type) -> None:
    if not isinstance(v, list) or not all(isinstance(x, item_type) for x in v):
        raise unprocessable(f"{name} must be an array of {item_type.__name__ if item_type is not dict else 'objects'}")


def firewall(v) -> None:
    if not isinstance(v, dict):
        raise unprocessable("firewall must be an object")
    for k in ("allow", "deny"):
        if k in v:
            _lists_of(f"firewall.{k}", v[k], str)
            bad = [r for r in v[k] if not re.fullmatch(r"(ip|cidr):\S+", r)]
            if bad:
                raise unprocessable(f"firewall.{k}: rules look like ip:1.2.3.4 or cidr:1.2.0.0/16, not {bad[0]!r}")


def load_balancer_update(body) -> None:  # noqa: C901 - one check per DO validation rule, in DO's order
    """A PUT body (full replace): raises ApiError on the first problem, as DO answers one message."""
    if not isinstance(body, dict):
        raise unprocessable("the request body must be a JSON object")
    if not body.get("region"):
        raise unprocessable("region is required")
    _str("region", body["region"])
    if "forwarding_rules" not in body:
        raise unprocessable("forwarding_rules is required")
    forwarding_rules(body["forwarding_rules"])
    has_ids = bool(body.get("droplet_ids"))
    has_tag = bool(body.get("tag"))
    if has_ids == has_tag:
        raise unprocessable("exactly one of droplet_ids or tag must be set")
    if has_ids:
        droplet_ids(body["droplet_ids"])
    else:
        tag_name(body["tag"])
    if "name" in body and (not isinstance(body["name"], str) or not LB_NAME.fullmatch(body["name"])):
        raise unprocessable("name may contain only letters, numbers, periods and dashes")
    if "size" in body and "size_unit" in body:
        raise unprocessable("size and size_unit cannot both be set: size is deprecated, use size_unit")
    for k, allowed in ENUMS.items():
        if k in body and body[k] not in allowed:
            raise unprocessable(f"{k} must be one of {', '.join(allowed)}")
    for k in BOOLS:
        if k in body and not isinstance(body[k], bool):
            raise unprocessable(f"{k} must be a boolean")
    for k, (lo, hi) in RANGES.items():
        if k in body:
            _int_in(k, body[k], lo, hi)
    checks = {"health_check": health_check, "sticky_sessions": sticky_sessions, "firewall": firewall}
    for k, check in checks.items():
        if k in body:
            check(body[k])
    for k in ("vpc_uuid", "project_id"):
        if k in body:
            _str(k, body[k])
    if "domains" in body:
        _lists_of("domains", body["domains"], dict)
        if not all(isinstance(d.get("name"), str) and d["name"] for d in body["domains"]):
            raise unprocessable("domains[].name is required")
    if "target_load_balancer_ids" in body:
        _lists_of("target_load_balancer_ids", body["target_load_balancer_ids"], str)
    if "glb_settings" in body and not isinstance(body["glb_settings"], dict):
        raise unprocessable("glb_settings must be an object")


def tag_resources(body) -> list[int]:
    """POST/DELETE /v2/tags/{tag}/resources: droplet ids as strings, as DO's resources array carries them."""
    if not isinstance(body, dict) or not isinstance(body.get("resources"), list) or not body["resources"]:
        raise unprocessable("resources must be a non-empty array")
    ids = []
    for r in body["resources"]:
        if not isinstance(r, dict) or r.get("resource_type") not in RESOURCE_TYPES:
            raise unprocessable(f"resources[].resource_type must be one of {', '.join(RESOURCE_TYPES)}")
        rid = r.get("resource_id")
        if not isinstance(rid, str) or not rid.isdigit():
            raise unprocessable("resources[].resource_id must be the droplet id as a string")
        ids.append(int(rid))
    return ids


def paging(query: dict[str, list[str]]) -> tuple[int, int]:
    """per_page (1-200, default 20) and page (>= 1, default 1); 400 for anything else."""
    def one(name: str, default: int, lo: int, hi: int) -> int:
        raw = (query.get(name) or [str(default)])[0]
        if not re.fullmatch(r"\d+", raw) or not lo <= int(raw) <= hi:
            raise ApiError(400, "bad_request", f"{name} must be an integer between {lo} and {hi}")
        return int(raw)
    return one("per_page", 20, 1, 200), one("page", 1, 1, 10**9)
