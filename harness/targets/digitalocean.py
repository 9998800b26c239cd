"""DigitalOcean droplets behind a DigitalOcean Load Balancer, driven through the v2 API with httpx.

Switches are full-replace PUTs built from the current LB (every field kept), or tag changes, or add/remove calls.
Retries only what DO asks to retry (429, 403 "processes previous actions", 5xx, timeouts), all through
harness.retry. The token is read from the environment variable the config names and never printed."""
from __future__ import annotations

import os
import shlex
import subprocess
import time
from typing import Callable

import httpx

from harness.config import Config
from harness.db import DbAccess
from harness.retry import GaveUp, RetryAfter, retry
from harness.targets.base import COLOURS, ExecResult, Node, TargetError

# Fields of a load balancer that a PUT must send back, or DO resets them to defaults.
KEEP = ("name", "size_unit", "size", "algorithm", "forwarding_rules", "health_check", "sticky_sessions",
        "redirect_http_to_https", "enable_proxy_protocol", "enable_backend_keepalive", "http_idle_timeout_seconds",
        "vpc_uuid", "project_id", "disable_lets_encrypt_dns_records", "firewall", "network", "type")
BUSY = "processes previous actions"


class _Retryable(Exception):
    pass


class DigitalOceanTarget:
    name = "digitalocean"

    def __init__(self, cfg: Config, *, dry_run: bool = False, transport: httpx.BaseTransport | None = None):
        do = cfg.digitalocean
        if do is None:
            raise TargetError("the config has no [digitalocean] section")
        token = os.environ.get(do.token_env, "")
        if not token:
            raise TargetError(f"environment variable {do.token_env} is not set: export your DigitalOcean API token there")
        self.cfg, self.do = cfg, do
        self.served_by_header, self.release_header = cfg.headers.served_by, cfg.headers.release
        self.dry_run = dry_run
        self.allow_hosts = tuple(do.allow_hosts)   # load may go to these (the user's own staging LB) besides loopback
        self.plan: list[str] = []                # every write call, made or (dry run) not made
        self._client = httpx.Client(base_url=do.api_base.rstrip("/"), timeout=do.timeout_s, transport=transport,
                                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        self.lb_url = do.lb_url or ""
        lb = self.load_balancer()                # validates token, LB id and region before anything else
        if do.region and lb["region"]["slug"] != do.region:
            raise TargetError(f"load balancer {do.lb_id} is in {lb['region']['slug']}, not {do.region}: fix "
                              "digitalocean.region")
        self.lb_url = self.lb_url or f"http://{lb['ip']}"
        for colour in COLOURS:
            if not self._droplets(colour):
                raise TargetError(f"no droplets for {colour} ({self._colour_desc(colour)}): check the tags or ids")

    @classmethod
    def from_config(cls, cfg: Config, **kw) -> "DigitalOceanTarget":
        return cls(cfg, **kw)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:  # never the token
        return f"DigitalOceanTarget(api={self.do.api_base}, lb={self.do.lb_id})"

    # -- HTTP with DO's retry rules ----------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None) -> httpx.Response | None:
        if method != "GET":
            self.plan.append(f"{method} {path}")
            if self.dry_run:
                return None

        def once() -> httpx.Response:
            try:
                r = self._client.request(method, path, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                raise _Retryable(f"{type(exc).__name__}") from None
            if r.status_code == 429:
                wait = r.headers.get("retry-after")
                reset = r.headers.get("ratelimit-reset")
                secs = float(wait) if wait else max(0.5, float(reset) - time.time()) if reset else 2.0
                raise RetryAfter(min(secs, 60), "429 rate limited")
            if r.status_code == 403 and BUSY in r.text:
                raise _Retryable("403: load balancer busy applying a previous change")
            if r.status_code >= 500:
                raise _Retryable(f"HTTP {r.status_code}")
            return r

        try:
            r = retry(once, what=f"{method} {path}", timeout=self.do.give_up_s, interval=0.5, backoff=2.0,
                      max_interval=8.0, retry_on=(_Retryable,))
        except GaveUp as exc:
            raise TargetError(f"DigitalOcean API {method} {path}: gave up after {self.do.give_up_s:.0f} s ({exc.last})") from None
        if r.status_code == 401:
            raise TargetError(f"DigitalOcean rejected the token in {self.do.token_env} (401): use a valid read/write token")
        if r.status_code == 404:
            raise TargetError(f"DigitalOcean API {method} {path}: not found (check digitalocean.lb_id and ids)")
        if r.status_code >= 400:
            msg = (r.json().get("message") if r.headers.get("content-type", "").startswith("application/json") else r.text)
            raise TargetError(f"DigitalOcean API {method} {path}: HTTP {r.status_code}: {str(msg)[:200]}")
        return r

    # -- reading ------------------------------------------------------------------------------------
    def load_balancer(self) -> dict:
        return self._call("GET", f"/v2/load_balancers/{self.do.lb_id}").json()["load_balancer"]

    def _colour_desc(self, colour: str) -> str:
        tag = getattr(self.do, f"{colour}_tag")
        ids = getattr(self.do, f"{colour}_ids")
        return f"ids {ids}" if ids is not None else f"tag {tag}"

    def _droplets(self, colour: str) -> list[dict]:
        ids = getattr(self.do, f"{colour}_ids")
        if ids is not None:
            return [self._call("GET", f"/v2/droplets/{i}").json()["droplet"] for i in ids]
        tag = getattr(self.do, f"{colour}_tag")
        out, path = [], f"/v2/droplets?tag_name={tag}&per_page=200"
        while path:
            data = self._call("GET", path).json()
            out += data["droplets"]
            nxt = (data.get("links") or {}).get("pages", {}).get("next")
            path = nxt[nxt.index("/v2/"):] if nxt else None
        return out

    def nodes(self, colour: str) -> list[Node]:
        if colour not in COLOURS:
            raise TargetError(f"unknown colour {colour!r}")
        out = []
        for d in self._droplets(colour):
            ip = next((n["ip_address"] for n in d["networks"]["v4"] if n["type"] == "public"), "")
            url = self.do.node_urls.get(d["name"]) or self.do.node_url.format(ip=ip, name=d["name"])
            ssh = f"ssh://{self.do.ssh.user}@{ip}:{self.do.ssh.port}"
            out.append(Node(name=d["name"], colour=colour, url=url, address=ip,
                            meta={"id": d["id"], "testinfra": ssh + "?timeout=10"}))
        return out

    def live_colour(self) -> str:
        lb = self.load_balancer()
        if (lb.get("sticky_sessions") or {}).get("type") == "cookies":
            raise TargetError("the load balancer pins clients with DO sticky cookies: at a switch those clients lose "
                              "their droplet; turn sticky sessions off (sessions belong in shared Redis)")
        served = set(lb.get("droplet_ids") or [])
        if lb.get("tag"):
            for c in COLOURS:
                if lb["tag"] == getattr(self.do, f"{c}_tag"):
                    return c
        colours = [c for c in COLOURS if served & {d["id"] for d in self._droplets(c)}]
        if len(colours) != 1:
            raise TargetError(f"the load balancer serves {colours or 'no colour'} at steady state: both releases "
                              "would answer customers; point it at exactly one colour first")
        return colours[0]

    # -- switching ----------------------------------------------------------------------------------
    def _put_body(self, lb: dict, **target) -> dict:
        body = {k: lb[k] for k in KEEP if k in lb}
        body["region"] = lb["region"]["slug"] if isinstance(lb["region"], dict) else lb["region"]
        if self.do.health_check is not None:
            body["health_check"] = self.do.health_check.model_dump()
        body.update(target)
        return body

    def switch(self, to_colour: str) -> None:
        if to_colour not in COLOURS:
            raise TargetError(f"unknown colour {to_colour!r}")
        lb = self.load_balancer()
        new_ids = [d["id"] for d in self._droplets(to_colour)]
        mode = self.do.switch_mode
        path = f"/v2/load_balancers/{self.do.lb_id}"
        if mode == "droplet_ids":
            self._call("PUT", path, self._put_body(lb, droplet_ids=new_ids))
        elif mode == "tag":
            self._call("PUT", path, self._put_body(lb, tag=getattr(self.do, f"{to_colour}_tag")))
        else:  # add the new colour, let it take traffic, then remove the old one
            old = [i for i in lb.get("droplet_ids") or [] if i not in new_ids]
            self._call("POST", f"{path}/droplets", {"droplet_ids": new_ids})
            if old:
                self._call("DELETE", f"{path}/droplets", {"droplet_ids": old})

    # -- nodes: deploy hook, SSH --------------------------------------------------------------------
    def deploy_release(self, release, colour: str, event: Callable[..., None]) -> None:
        """The user's own deploy (Ansible, deployer, a script) for the idle colour."""
        if not self.do.deploy_hook:
            raise TargetError("no digitalocean.deploy_hook configured: Greenlight deploys droplets through your hook")
        hosts = ",".join(n.address for n in self.nodes(colour))
        cmd = self.do.deploy_hook.format(colour=colour, release=release.id, release_dir=shlex.quote(str(release.path)),
                                         hosts=hosts)
        event("deploy_start", release=release.id, colour=colour, hook=self.do.deploy_hook)
        self.plan.append(f"deploy hook for {colour}")
        if self.dry_run:
            return
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=1800)
        if p.returncode != 0:
            tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or [f"exit {p.returncode}"]
            raise TargetError(f"deploy hook failed for {colour}: {tail[0][:200]}")
        event("deploy_done", release=release.id, colour=colour)

    def exec(self, node: Node, argv: list[str], timeout: float = 120) -> ExecResult:
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-p", str(self.do.ssh.port)]
        if self.do.ssh.key:
            ssh += ["-i", self.do.ssh.key]
        p = subprocess.run(ssh + [f"{self.do.ssh.user}@{node.address}", shlex.join(argv)], capture_output=True,
                           text=True, timeout=timeout)
        return ExecResult(p.returncode, p.stdout, p.stderr)

    def put_tar(self, node: Node, dest_dir: str, tar_bytes: bytes) -> None:
        ssh = ["ssh", "-o", "BatchMode=yes", "-p", str(self.do.ssh.port)] + (["-i", self.do.ssh.key] if self.do.ssh.key else [])
        p = subprocess.run(ssh + [f"{self.do.ssh.user}@{node.address}", f"tar -x -C {shlex.quote(dest_dir)}"],
                           input=tar_bytes, capture_output=True, timeout=300)
        if p.returncode != 0:
            raise TargetError(f"{node.name}: unpacking into {dest_dir} failed over SSH")

    def db(self) -> DbAccess | None:
        d = self.do.database
        if d is None:
            return None
        return DbAccess(host=d.host, port=d.port, user=d.user, name=d.name, password=os.environ.get(d.password_env, ""))

    def describe(self) -> dict:
        return {"kind": "digitalocean", "api": self.do.api_base, "lb_id": self.do.lb_id, "lb": self.lb_url,
                "switch_mode": self.do.switch_mode}
