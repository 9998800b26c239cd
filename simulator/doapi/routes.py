"""The simulator's routes: a table of (method, path pattern, handler), one small handler per DO call.

A handler takes the parsed Request and returns (status, body) or raises ApiError."""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import partial
from urllib.parse import quote

from simulator.doapi import validate
from simulator.doapi.errors import ApiError, not_found

Handler = Callable[["Request"], tuple[int, object]]   # noqa: F821 - Request lives in server.py


# -- the DO API ------------------------------------------------------------------------------------
def get_lb(req):
    return 200, {"load_balancer": req.account.get_lb(req.params["lb"])}


def put_lb(req):
    return 200, {"load_balancer": req.account.put_lb(req.params["lb"], req.json())}


def lb_droplets(req, add: bool):
    """POST adds, DELETE removes: one handler, bound per method in the table below."""
    ids = validate.droplet_ids(req.body().get("droplet_ids"))
    req.account.add_droplets(req.params["lb"], ids, add=add)
    return 204, None


def list_droplets(req):
    q = req.query
    tag = (q.get("tag_name") or [None])[0]
    if tag is not None:
        validate.tag_name(tag)
        if q.get("name") or q.get("type"):
            raise validate.unprocessable("tag_name cannot be combined with name or type")
    per_page, page = validate.paging(q)
    everything = req.account.droplets_by_tag(tag)
    last = max(1, -(-len(everything) // per_page))
    base = (f"http://{req.host}/v2/droplets?" + (f"tag_name={quote(tag)}&" if tag else "")
            + f"per_page={per_page}&page=")
    pages = {}
    if page > 1:
        pages.update(first=base + "1", prev=base + str(min(page - 1, last)))
    if page < last:
        pages.update(next=base + str(page + 1), last=base + str(last))
    return 200, {"droplets": everything[(page - 1) * per_page: page * per_page],
                 "links": {"pages": pages} if pages else {}, "meta": {"total": len(everything)}}


def get_droplet(req):
    return 200, {"droplet": req.account.droplet(int(req.params["id"]))}


def tag_resources(req, add: bool):
    """POST tags, DELETE untags."""
    ids = validate.tag_resources(req.json())
    req.account.tag_resources(req.params["tag"], ids, add=add)
    return 204, None


def create_tag(req):
    name = req.body().get("name")
    return 201, {"tag": req.account.create_tag(name)}


def delete_tag(req):
    req.account.delete_tag(req.params["tag"])
    return 204, None


def reserved_ip_action(req):
    body = req.body()
    if body.get("type") not in ("assign", "unassign"):
        raise validate.unprocessable("type must be one of assign, unassign")
    if body["type"] == "assign":
        did = body.get("droplet_id")
        if not validate.is_int(did) or did not in req.account.droplets:
            raise validate.unprocessable("droplet_id must be the integer id of one of your droplets")
    return 201, {"action": {"id": int(time.time()), "status": "in-progress", "type": f"{body['type']}_ip",
                            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "completed_at": None,
                            "resource_id": 0, "resource_type": "reserved_ip", "region_slug": "nyc3"}}


API: list[tuple[str, str, Handler]] = [
    ("GET", r"/v2/load_balancers/(?P<lb>[^/]+)", get_lb),
    ("PUT", r"/v2/load_balancers/(?P<lb>[^/]+)", put_lb),
    ("POST", r"/v2/load_balancers/(?P<lb>[^/]+)/droplets", partial(lb_droplets, add=True)),
    ("DELETE", r"/v2/load_balancers/(?P<lb>[^/]+)/droplets", partial(lb_droplets, add=False)),
    ("GET", r"/v2/droplets", list_droplets),
    ("GET", r"/v2/droplets/(?P<id>\d+)", get_droplet),
    ("POST", r"/v2/tags", create_tag),
    ("DELETE", r"/v2/tags/(?P<tag>[^/]+)", delete_tag),
    ("POST", r"/v2/tags/(?P<tag>[^/]+)/resources", partial(tag_resources, add=True)),
    ("DELETE", r"/v2/tags/(?P<tag>[^/]+)/resources", partial(tag_resources, add=False)),
    ("POST", r"/v2/reserved_ips/(?P<ip>[^/]+)/actions", reserved_ip_action),
]


# -- the control plane (/_sim/, no auth): fault hooks for tests and the chaos suite ------------------
def set_faults(req):
    body = req.body()
    sim = req.sim
    unknown = [k for k in body if k not in (*sim.faults.COUNTERS, "apply_delay", "droplet_off", "droplet_on")]
    if unknown:                       # refuse the whole request: a typo must not half-apply a fault
        raise validate.unprocessable(f"unknown fault {unknown[0]!r}")
    with sim.faults.lock:
        for k, v in body.items():
            if k == "apply_delay":
                sim.account.apply_delay = float(v)
            elif k in ("droplet_off", "droplet_on"):     # the same as POST /_sim/droplets/{id}/power
                sim.account.set_power(int(v), on=k == "droplet_on")
            else:
                setattr(sim.faults, k, v)
    return 200, {"ok": True}


def reset(req):
    req.sim.faults.reset()
    req.sim.requests.clear()
    return 200, {"ok": True}


def requests_seen(req):
    return 200, {"requests": list(req.sim.requests)}


def power(req):
    """{"on": false} powers a droplet off (status 'off', checks fail, traffic to it fails until the LB notices)."""
    on = req.body().get("on")
    if not isinstance(on, bool):
        raise validate.unprocessable('send {"on": true} or {"on": false}')
    req.account.set_power(int(req.params["id"]), on)
    return 200, {"ok": True}


def health(req):
    """What takes traffic now, by droplet id: the simulator's view (DO's API never shows it)."""
    backend = req.account.backend
    return 200, {"up": backend.checker.up(), "assigned": req.account.get_lb(req.account.lb["id"])["droplet_ids"]}


CONTROL: list[tuple[str, str, Handler]] = [
    ("POST", r"/_sim/faults", set_faults),
    ("POST", r"/_sim/reset", reset),
    ("GET", r"/_sim/requests", requests_seen),
    ("POST", r"/_sim/droplets/(?P<id>\d+)/power", power),
    ("GET", r"/_sim/health", health),
]


def dispatch(table, req):
    """Run the handler whose method and pattern match; an ApiError (or a value of the wrong type deep in a
    body) becomes DO's error answer."""
    for method, pattern, handler in table:
        m = re.fullmatch(pattern, req.path)
        if m and method == req.method:
            req.params = m.groupdict()
            try:
                return handler(req)
            except ApiError as e:
                return e
            except (ValueError, TypeError, AttributeError, KeyError):
                return validate.unprocessable("the request body has invalid values")
    return not_found()
