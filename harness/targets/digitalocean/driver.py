"""DigitalOcean droplets behind a DigitalOcean Load Balancer, driven through the v2 API with httpx.

Switches are full-replace PUTs built from the current LB (every field kept), or tag changes, or add/remove calls.
Retries only what DO asks to retry (429, 403 "processes previous actions", 5xx, timeouts), all through
harness.targets.retry. The token is read from the environment variable the config names and never printed."""
from __future__ import annotations

import copy
import os
import shlex
import subprocess
import time
from collections.abc import Callable

import httpx

from harness.config import Config
from harness.targets import health
from harness.targets.base import COLOURS, ExecResult, Fleet, Node, Router, TargetError
from harness.targets.db import DbAccess
from harness.targets.retry import GaveUp, RetryAfter, retry

# Fields GET returns that a PUT must not send (DO sets them). Everything else goes back, or DO resets it.
READ_ONLY = ("id", "ip", "ipv6", "status", "created_at")
BUSY = "processes previous actions"


SSH_FAILED = 255  # ssh's exit code when it could not run the command at all

class _Retryable(Exception):
    pass


def _summary(body: dict | None) -> str:
    """What a write sends, briefly (for the plan): the target and how many other fields are kept."""
    if not body:
        return ""
    if set(body) == {"droplet_ids"}:
        return f" droplet_ids={body['droplet_ids']}"
    target = f"droplet_ids={body['droplet_ids']}" if "droplet_ids" in body else f"tag={body.get('tag')!r}"
    return f" (full replace: {target}, region={body.get('region')}, {len(body) - 2} other fields kept)"


class DigitalOceanTarget(Router, Fleet):
    """The DigitalOcean driver: router (the LB) and fleet (droplets over SSH) of the digitalocean target kind."""

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
        # The probes ask what the LB asks (a store's own pub/health_check.php, say).
        self.health_path = self.do.health_check.path if self.do.health_check else health.HEALTH_PATH
        self.dry_run = dry_run
        self.allow_hosts = tuple(do.allow_hosts)   # load may go to these (the user's own staging LB) besides loopback
        self.plan: list[str] = []                # every write call, made or (dry run) not made
        self._client = httpx.Client(base_url=do.api_base.rstrip("/"), timeout=do.timeout_s, transport=transport,
                                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        self._redact = lambda text: text.replace(token, "[token]")   # belt and braces: no message carries it
        self.lb_url = do.lb_url or ""
        self._names: dict[str, str] = {}         # droplet name -> colour, as last listed
        self._last_live: str | None = None       # the colour last read as live (for messages when the API fails)
        try:
            self._check()
        except BaseException:
            self._client.close()
            raise

    def _check(self) -> None:
        """Token, LB id, region and both colours' droplets, read before anything else (reads only)."""
        do = self.do
        lb = self.load_balancer()
        if do.region and lb["region"]["slug"] != do.region:
            raise TargetError(f"load balancer {do.lb_id} is in {lb['region']['slug']}, not {do.region}: fix "
                              "digitalocean.region")
        self.lb_url = self.lb_url or f"http://{lb['ip']}"
        for colour in COLOURS:
            if not self._droplets(colour):
                raise TargetError(f"no droplets for {colour} ({self._colour_desc(colour)}): check the tags or ids")

    @classmethod
    def from_config(cls, cfg: Config, **kw) -> DigitalOceanTarget:
        return cls(cfg, **kw)

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:  # never the token
        return f"DigitalOceanTarget(api={self.do.api_base}, lb={self.do.lb_id})"

    # -- HTTP with DO's retry rules ----------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None) -> httpx.Response | None:
        try:
            return self._call_once(method, path, body)
        except TargetError as exc:
            raise TargetError(self._redact(str(exc))) from None

    def _call_once(self, method: str, path: str, body: dict | None) -> httpx.Response | None:
        if method != "GET":
            self.plan.append(f"{method} {path}{_summary(body)}")
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
        tag = getattr(self.do, f"{colour}_tag")
        out, path = [], f"/v2/droplets?tag_name={tag}&per_page=200"
        if ids is not None:
            out, path = [self._call("GET", f"/v2/droplets/{i}").json()["droplet"] for i in ids], None
        while path:
            data = self._call("GET", path).json()
            out += data["droplets"]
            nxt = (data.get("links") or {}).get("pages", {}).get("next")
            path = nxt[nxt.index("/v2/"):] if nxt else None
        self._names.update({d["name"]: colour for d in out})
        return out

    def nodes(self, colour: str) -> list[Node]:
        if colour not in COLOURS:
            raise TargetError(f"unknown colour {colour!r}")
        out = []
        for d in self._droplets(colour):
            ip = next((n["ip_address"] for n in d["networks"]["v4"] if n["type"] == "public"), "")
            url = self.do.node_urls.get(d["name"]) or self.do.node_url.format(ip=ip, name=d["name"])
            ssh = f"ssh://{self.do.ssh.user}@{ip}:{self.do.ssh.ports.get(d['name'], self.do.ssh.port)}?timeout=10"
            if self.do.ssh.key:
                ssh += f"&ssh_identity_file={os.path.expanduser(self.do.ssh.key)}"
            if self.do.ssh.config:
                ssh += f"&ssh_config={os.path.expanduser(self.do.ssh.config)}"
            out.append(Node(name=d["name"], colour=colour, url=url, address=ip, meta={"id": d["id"], "testinfra": ssh}))
        return out

    def _colour_of(self, lb: dict) -> str:
        """'blue', 'green', 'both' or 'none': what the LB object targets (no refusal, no traffic)."""
        if lb.get("tag"):
            return next((c for c in COLOURS if lb["tag"] == getattr(self.do, f"{c}_tag")), "none")
        served = set(lb.get("droplet_ids") or [])
        colours = [c for c in COLOURS if served & {d["id"] for d in self._droplets(c)}]
        return colours[0] if len(colours) == 1 else ("both" if colours else "none")

    def live_colour(self) -> str:
        lb = self.load_balancer()
        if (lb.get("sticky_sessions") or {}).get("type") == "cookies":
            raise TargetError("the load balancer pins clients with DO sticky cookies: at a switch those clients lose "
                              "their droplet; turn sticky sessions off (sessions belong in shared Redis)")
        colour = self._colour_of(lb)
        if colour == "both":
            raise TargetError("the load balancer serves ['blue', 'green'] at steady state: both releases would answer "
                              "customers; point it at exactly one colour first")
        if colour == "none":
            raise TargetError("the load balancer serves no colour: its droplets/tag match neither blue nor green; "
                              "point it at exactly one colour first")
        self._last_live = colour
        return colour

    # -- switching ----------------------------------------------------------------------------------
    def _put_body(self, lb: dict, **target) -> dict:
        """A full-replace PUT body from the LB as read: every field GET returned except the read-only ones (DO
        resets whatever a PUT leaves out), the region as its slug, size_unit without the deprecated size, and the
        target (droplet_ids or tag) replaced."""
        body = {k: copy.deepcopy(v) for k, v in lb.items() if k not in READ_ONLY and k not in ("droplet_ids", "tag")}
        body["region"] = lb["region"]["slug"] if isinstance(lb["region"], dict) else lb["region"]
        if "size_unit" in body:
            body.pop("size", None)
        if self.do.health_check is not None:
            body["health_check"] = self.do.health_check.model_dump()
        body.update(target)
        return body

    def _settled(self) -> dict:
        """The LB once DO has finished applying earlier changes (status 'new' while it applies): writing before
        that only earns a 403."""
        if self.dry_run:
            return self.load_balancer()
        try:
            lb = retry(self.load_balancer, what="load balancer applying its last change", timeout=self.do.give_up_s,
                       interval=0.2, backoff=1.5, max_interval=3.0, retry_on=(), until=lambda x: x.get("status") != "new")
        except GaveUp:
            raise TargetError(f"the load balancer stayed in status 'new' for {self.do.give_up_s:.0f} s") from None
        if lb.get("status") == "errored":
            raise TargetError("the load balancer is in status 'errored' at DigitalOcean")
        return lb

    def _traffic_names(self, probes: int = 8) -> set[str]:
        """Droplet names seen answering at the LB URL (the identity header), from a few quick probes."""
        seen = set()
        with httpx.Client(timeout=2) as client:
            for _ in range(probes):
                h = health.probe(self.lb_url, client=client, path=self.health_path)
                if h.ok and h.header(self.served_by_header):
                    seen.add(h.header(self.served_by_header))
        return seen

    def _traffic_colours(self, probes: int = 6) -> set[str]:
        """Colours seen answering at the LB URL. Node names come from the last droplet listing, so this works
        while the API does not."""
        return {self._names[n] for n in self._traffic_names(probes) if n in self._names}

    def _where_now(self, before: str) -> str:
        """One clause saying which colour is live after a failed switch, from the API if it answers, else traffic."""
        try:
            r = self._client.get(f"/v2/load_balancers/{self.do.lb_id}", timeout=3)
            if r.status_code == 200:
                return f"the API says the LB serves {self._colour_of(r.json()['load_balancer'])}"
        except Exception:  # noqa: BLE001, S110 - best effort: the API may be what failed; traffic tells next
            pass
        try:
            seen = self._traffic_colours()
        except Exception:  # noqa: BLE001
            seen = set()
        if seen:
            return f"traffic at {self.lb_url} shows {' and '.join(sorted(seen))} (was {before})"
        return f"the live colour could not be confirmed (was {before}): check the LB before retrying"

    def _wait_serving(self, colour: str) -> None:
        """New droplets start DOWN until they pass healthy_threshold checks, and DO's API never says when: wait
        until traffic through the LB has been answered by every droplet of the colour."""
        names = {n for n, c in self._names.items() if c == colour}
        self.plan.append(f"wait until traffic at {self.lb_url} is answered by every {colour} droplet")
        if self.dry_run:
            return
        seen: set[str] = set()

        def probe() -> set[str]:
            seen.update(self._traffic_names())
            return seen

        try:
            retry(probe, what=f"traffic showing every {colour} droplet", timeout=self.do.give_up_s, interval=0.25,
                  backoff=1.5, max_interval=2.0, retry_on=(), until=lambda s: names <= s)
        except GaveUp:
            missing = sorted(names - seen)
            raise TargetError(f"{colour} never answered through the LB within {self.do.give_up_s:.0f} s "
                              f"({', '.join(missing)} stayed DOWN: check their health check path)") from None

    def switch(self, to_colour: str) -> None:
        """Point the LB at to_colour. On failure the error says which colour is live; nothing half-done is left
        when it can be undone (the new droplets are taken out again)."""
        if to_colour not in COLOURS:
            raise TargetError(f"unknown colour {to_colour!r}")
        before = self._last_live or "unknown"
        try:
            lb = self._settled()
            before = self._colour_of(lb)
            new_ids = [d["id"] for d in self._droplets(to_colour)]
            overlap = self.do.switch_strategy == "overlap"
            if self.do.switch_mode == "add_remove":
                self._add_remove(lb, new_ids, to_colour, overlap)
            else:
                final = ({"droplet_ids": new_ids} if self.do.switch_mode == "droplet_ids"
                         else {"tag": getattr(self.do, f"{to_colour}_tag")})
                if overlap:
                    lb = self._overlap(lb, new_ids, to_colour)
                self._call("PUT", self._lb_path, self._put_body(lb, **final))
            self._settled()
        except TargetError as exc:
            raise TargetError(f"switch {before} -> {to_colour} aborted: {exc}; {self._where_now(before)}") from None

    @property
    def _lb_path(self) -> str:
        return f"/v2/load_balancers/{self.do.lb_id}"

    def _overlap(self, lb: dict, new_ids: list[int], to_colour: str) -> dict:
        """PUT both colours' droplets, wait until the new ones serve, and return the LB as it is then. When they
        never do, PUT the LB back as it was."""
        current = list(lb.get("droplet_ids") or [])
        self._call("PUT", self._lb_path, self._put_body(lb, droplet_ids=sorted(set(current) | set(new_ids))))
        try:
            settled = self._settled()
            self._wait_serving(to_colour)
            return settled
        except TargetError as exc:
            back = {"tag": lb["tag"]} if lb.get("tag") else {"droplet_ids": current}
            try:
                self._settled()
                self._call("PUT", self._lb_path, self._put_body(lb, **back))
                self._settled()   # the LB applies asynchronously: return only once the old colour alone serves
            except TargetError as undo:
                raise TargetError(f"{exc}; putting the LB back failed too ({undo})") from None
            raise TargetError(f"{exc}; put the LB back on {back}") from None

    def _add_remove(self, lb: dict, new_ids: list[int], to_colour: str, overlap: bool) -> None:
        if lb.get("tag"):
            raise TargetError(f"switch_mode 'add_remove' needs an LB that lists droplet ids, but it targets tag "
                              f"{lb['tag']!r}: use switch_mode = 'tag'")
        want = self.do.health_check.model_dump() if self.do.health_check else None
        have = lb.get("health_check") or {}
        if want and {k: have.get(k) for k in want} != want:
            raise TargetError("the LB's health check differs from digitalocean.health_check and add/remove calls "
                              "cannot change it: fix the LB or use switch_mode = 'droplet_ids'")
        path = f"{self._lb_path}/droplets"
        current = list(lb.get("droplet_ids") or [])
        added = [i for i in new_ids if i not in current]
        old = [i for i in current if i not in new_ids]
        if added:
            self._call("POST", path, {"droplet_ids": added})
            try:
                self._settled()
                if overlap:
                    self._wait_serving(to_colour)
            except TargetError as exc:
                try:
                    self._call("DELETE", path, {"droplet_ids": added})   # undo: the old colour alone again
                    self._settled()
                except TargetError as undo:
                    raise TargetError(f"{exc}; taking {added} out again failed too ({undo})") from None
                raise TargetError(f"{exc}; took {added} out again") from None
        if old:
            self._settled()
            self._call("DELETE", path, {"droplet_ids": old})

    # -- nodes: deploy hook, SSH --------------------------------------------------------------------
    def deploy_release(self, release, colour: str, event: Callable[..., None]) -> None:
        """The user's own deploy (Ansible, deployer, a script) for the idle colour."""
        if not self.do.deploy_hook:
            raise TargetError("no digitalocean.deploy_hook configured: Greenlight deploys droplets through your hook")
        hosts = ",".join(n.address for n in self.nodes(colour))
        cmd = self.do.deploy_hook.format(colour=colour, release=release.id, release_dir=shlex.quote(str(release.path)),
                                         hosts=hosts)
        event("deploy_start", release=release.id, colour=colour, hook=self.do.deploy_hook)
        event("rehearsal_skipped", reason="the deploy hook migrates the shop DB itself; Greenlight did not rehearse "
                                          "the live release on a migrated copy before it (see examples/digitalocean)")
        self.plan.append(f"deploy hook for {colour}")
        if self.dry_run:
            return
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=1800, check=False)
        if p.returncode != 0:
            tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or [f"exit {p.returncode}"]
            raise TargetError(f"deploy hook failed for {colour}: {tail[0][:200]}")
        event("deploy_done", release=release.id, colour=colour)

    def _ssh(self, node: Node) -> list[str]:
        argv = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-o", "ConnectTimeout=10",
                "-p", str(self.do.ssh.ports.get(node.name, self.do.ssh.port))]
        if self.do.ssh.config:
            argv += ["-F", os.path.expanduser(self.do.ssh.config)]
        if self.do.ssh.key:
            argv += ["-i", os.path.expanduser(self.do.ssh.key)]
        return [*argv, f"{self.do.ssh.user}@{node.address}"]

    def exec(self, node: Node, argv: list[str], timeout: float = 120) -> ExecResult:
        """The command runs under coreutils `timeout` on the droplet (killed there, not only its SSH session);
        the local SSH client gets a little longer as a backstop."""
        remote = f"timeout -k 5 {timeout:g} {shlex.join(argv)}"
        try:
            p = subprocess.run([*self._ssh(node), remote], capture_output=True, text=True, timeout=timeout + 15,
                               check=False)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return ExecResult(124, out, f"greenlight: {argv[0]} on {node.name} timed out after {timeout:g} s", True)
        # 124: coreutils timeout's own code; 255: ssh's (connection refused or timed out, auth failed).
        return ExecResult(p.returncode, p.stdout, p.stderr, timed_out=p.returncode == 124,
                          unreachable=p.returncode == SSH_FAILED)

    def put_tar(self, node: Node, dest_dir: str, tar_bytes: bytes) -> None:
        d = shlex.quote(dest_dir)
        p = subprocess.run([*self._ssh(node), f"mkdir -p {d} && tar -x -C {d}"], input=tar_bytes,
                           capture_output=True, timeout=300, check=False)
        if p.returncode != 0:
            tail = p.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {p.returncode}"]
            raise TargetError(f"{node.name}: unpacking into {dest_dir} over SSH failed: {tail[0][:200]}")

    def db(self) -> DbAccess | None:
        d = self.do.database
        if d is None:
            return None
        return DbAccess(host=d.host, port=d.port, user=d.user, name=d.name, password=os.environ.get(d.password_env, ""))

    def describe(self) -> dict:
        return {"kind": "digitalocean", "api": self.do.api_base, "lb_id": self.do.lb_id, "lb": self.lb_url,
                "switch_mode": self.do.switch_mode, "switch_strategy": self.do.switch_strategy}
