"""The local docker-compose replica as a target kind: HAProxy's runtime API is the router, docker exec reaches the
nodes (the fleet), the replica's own Magento deployer deploys over exec, the DB is published on loopback."""
from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator

from harness.config.kinds import OpenOptions, TargetKind, register
from harness.targets import lock
from harness.targets.base import (
    COLOURS,
    Capability,
    ExecResult,
    Fleet,
    Node,
    Router,
    Target,
    TargetError,
    other_colour,
)
from harness.targets.db import DbAccess
from harness.targets.replica import ssh as replica_ssh
from harness.targets.replica import stack
from harness.targets.replica.haproxy import HAProxyError, RuntimeAPI
from harness.targets.retry import succeeds_within

LIVE_MAP = "/etc/haproxy/live.map"
NODE_PORTS = {"blue-1": 8081, "blue-2": 8082, "green-1": 8083, "green-2": 8084}
KILL_GRACE_S = 5          # after the timeout's TERM, KILL this much later
HOST_GRACE_S = 5          # then the host stops waiting (the container is frozen: its `timeout` is too)
CONTAINER_ID = re.compile(r"[Cc]ontainer [0-9a-f]{12,64}")
TIMEOUT_RCS = (124, 137)
SWITCH_RETRY_S = 30       # an LB that restarts during a switch is back within this  # coreutils timeout: TERM'd (124) or KILLed (128 + 9)


def _port(var: str, default: int) -> int:
    return int(os.environ.get(var, str(default)))


class DockerFleet(Fleet):
    """The replica's containers, reached with docker exec / put_archive / get_archive."""

    def __init__(self):
        self._docker = None

    def nodes(self, colour: str) -> list[Node]:
        if colour not in COLOURS:
            raise TargetError(f"unknown colour {colour!r}")
        out = []
        for i in (1, 2):
            name = f"{colour}-{i}"
            port = _port(f"GREENLIGHT_{colour.upper()}{i}_PORT", NODE_PORTS[name])
            # testinfra reaches the node over SSH like a droplet when this run has a key, else docker://.
            spec = replica_ssh.testinfra_url(name) or f"docker://{stack.container(name)}"
            out.append(Node(name=name, colour=colour, url=f"http://127.0.0.1:{port}",
                            address=stack.container(name), meta={"testinfra": spec}))
        return out

    def _container(self, node: Node):
        if self._docker is None:
            import docker  # imported late: it pulls in requests, which must stay out of Locust processes

            # The API timeout is only a backstop: the command itself is killed in the container by `timeout`.
            self._docker = docker.from_env(timeout=3600)
        try:
            return self._docker.containers.get(node.address)
        except Exception as exc:  # noqa: BLE001 - docker.errors.NotFound / APIError (docker is imported late)
            raise TargetError(f"container {node.address} not reachable: {exc}") from None

    def exec(self, node: Node, argv: list[str], timeout: float = 120) -> ExecResult:
        """Run argv in the container under coreutils `timeout`, so a hung command is killed where it runs (a
        docker exec has no timeout of its own and would stall a cutover while the load keeps running). A frozen
        container (docker pause) freezes `timeout` too: the host stops waiting a grace period later and reports
        the command timed out. A container that is paused or not running is a TargetError, in one line."""
        wrapped = ["timeout", "-k", str(KILL_GRACE_S), f"{timeout:g}", *argv]
        container = self._container(node)
        t0 = time.monotonic()
        box: dict = {}

        def run() -> None:
            try:
                box["res"] = container.exec_run(wrapped, demux=True)
            except Exception as exc:  # noqa: BLE001 - docker.errors.APIError (docker is imported late)
                box["exc"] = exc

        # A daemon thread: if the node stays frozen, its exec finishes (or not) on its own after we moved on.
        t = threading.Thread(target=run, name=f"exec-{node.name}", daemon=True)
        t.start()
        t.join(timeout + KILL_GRACE_S + HOST_GRACE_S)
        if t.is_alive():
            return ExecResult(124, "", f"greenlight: {argv[0]} on {node.name} did not return within "
                                       f"{timeout + KILL_GRACE_S + HOST_GRACE_S:g} s (node frozen?)", True)
        if "exc" in box:
            why = getattr(box["exc"], "explanation", None) or str(box["exc"])
            why = CONTAINER_ID.sub("the container", str(why)).strip()  # "Container <64 hex> is paused, …"
            raise TargetError(f"{node.name}: cannot run {argv[0]}: {why[:200]}")
        res = box["res"]
        out, err = res.output if isinstance(res.output, tuple) else (res.output, b"")
        timed_out = res.exit_code in TIMEOUT_RCS and time.monotonic() - t0 >= timeout - 0.5
        stderr = (err or b"").decode(errors="replace")
        if timed_out:
            stderr += f"\ngreenlight: {argv[0]} killed after its {timeout:g} s timeout on {node.name}"
        return ExecResult(res.exit_code, (out or b"").decode(errors="replace"), stderr, timed_out)

    def put_tar(self, node: Node, dest_dir: str, tar_bytes: bytes) -> None:
        if not self._container(node).put_archive(dest_dir, tar_bytes):
            raise TargetError(f"{node.name}: copying into {dest_dir} failed")

    def get_tar(self, node: Node, path: str) -> bytes:
        try:
            stream, _ = self._container(node).get_archive(path)
        except Exception as exc:  # noqa: BLE001 - docker.errors.NotFound (docker is imported late)
            raise TargetError(f"{node.name}: cannot read {path}: {exc}") from None
        return b"".join(stream)


class HAProxyRouter(Router):
    """HAProxy's runtime API: the live colour is one map entry; a switch rewrites it (no reload)."""

    def __init__(self, fleet: DockerFleet):
        self.lb_url = f"http://127.0.0.1:{stack.front_port()}"  # Varnish when it is on (customers come in there)
        self.api = RuntimeAPI("127.0.0.1", _port("GREENLIGHT_LB_ADMIN_PORT", 9999))
        self._fleet = fleet

    def live_colour(self) -> str:
        try:
            backend = self.api.show_map(LIVE_MAP).get("live", "bk_blue")
        except HAProxyError as exc:
            raise TargetError(f"cannot read the live colour: {exc}; is the replica up? (`greenlight up`)") from None
        if backend in ("bk_blue", "bk_green"):
            return backend[3:]
        # The pool backend (the DO simulator's): the colour of the servers taking traffic.
        colours = {s["name"].split("-")[0] for s in self.api.servers("bk_pool") if not s["maint"]}
        if len(colours) != 1:
            raise TargetError(f"the load balancer serves {sorted(colours) or 'no colour'}: expected exactly one")
        return colours.pop()

    def switch(self, to_colour: str) -> None:
        if to_colour not in COLOURS:
            raise TargetError(f"unknown colour {to_colour!r}")
        backend = f"bk_{to_colour}"
        lb = Node(name="lb", colour="", url="", address=stack.container("lb"))

        def persist() -> None:
            r = self._fleet.exec(lb, ["sh", "-c", f"echo 'live {backend}' > {LIVE_MAP}"], timeout=10)
            if not r.ok:
                raise TargetError((r.stderr or r.stdout).strip()[:200] or f"exit {r.rc}")

        def apply() -> None:
            self.api.set_map(LIVE_MAP, "live", backend)
            if self.api.show_map(LIVE_MAP).get("live") != backend:  # a restart between set and show read the file
                raise TargetError(f"the LB does not serve {backend} yet")

        # The map file first (a restarted HAProxy reads it), then the running one: an LB restarting in the middle of
        # a switch comes back on the new colour either way. Both are retried while the LB is down (a restart takes
        # a second or two).
        for what, step in (("persisting the live map", persist), ("switching the running LB", apply)):
            ok, last = succeeds_within(step, what=what, timeout=SWITCH_RETRY_S, interval=0.25)
            if not ok:
                raise TargetError(f"switch to {to_colour}: {what} failed for {SWITCH_RETRY_S} s: {last}")

    def ready(self, colour: str, timeout: float = 30) -> tuple[bool, str]:
        """HAProxy's own health checks see every server of the colour UP."""
        def check():
            servers = self.api.servers(f"bk_{colour}")
            down = [s["name"] for s in servers if not s["up"] or s["maint"]]
            if down:
                raise RuntimeError(f"HAProxy sees {', '.join(down)} down")
            return servers

        ok, last = succeeds_within(check, what=f"bk_{colour} healthy", timeout=timeout)
        return (True, "") if ok else (False, f"load balancer: {last}")


def replica_db() -> DbAccess:
    return DbAccess(host="127.0.0.1", port=_port("GREENLIGHT_DB_PORT", 3307), user="magento", name="magento",
                    password=stack.db_password())


# (stop, start) on a node: its crontab off and its consumers stopped / its crontab on (images/node/greenlight-node).
REPLICA_COMMANDS = ("greenlight-node cron off && greenlight-node consumers stop", "greenlight-node cron on")


def cron_on_live_colour_only(t: Target) -> None:
    """A node starts with a crontab only on the first live colour (blue); containers recreated later do not know
    which colour is live. An idle node that does not answer runs nothing now (the gate's cron_one_colour judges it
    before any switch); a live node that cannot start cron is an error."""
    live = t.live_colour()
    stop, start = REPLICA_COMMANDS
    for colour, cmd in ((other_colour(live), stop), (live, start)):
        for n in t.nodes(colour):
            try:
                r = t.exec(n, ["sh", "-c", cmd], timeout=60)
            except TargetError:
                if colour == live:
                    raise
                continue
            if not r.ok and (colour == live or not (r.timed_out or r.unreachable)):
                raise TargetError(f"{n.name}: {cmd!r} failed: {(r.stderr or r.stdout).strip()[:160] or r.rc}")


LOCK_DIR = "/var/lib/greenlight-locks"


class LbFileLocker:
    """The replica's lock marks: one empty file per holder in the load balancer's container (the part every run
    on this replica switches), so runs from any checkout or shell on this machine see each other."""

    def __init__(self, fleet: DockerFleet):
        self._fleet = fleet
        self._lb = Node(name="lb", colour="", url="", address=stack.container("lb"))

    def _sh(self, script: str) -> str:
        r = self._fleet.exec(self._lb, ["sh", "-c", script], timeout=15)
        if not r.ok:
            raise TargetError(f"the replica's lock ({LOCK_DIR} on the lb): {(r.stderr or r.stdout).strip()[:160]}")
        return r.stdout

    def marks(self) -> list[str]:
        return self._sh(f"mkdir -p {LOCK_DIR} && ls -1 {LOCK_DIR}").split()

    def add(self, mark: str) -> None:
        self._sh(f"mkdir -p {LOCK_DIR} && : > {LOCK_DIR}/'{mark}'")

    def remove(self, mark: str) -> None:
        self._sh(f"rm -f {LOCK_DIR}/'{mark}'")


def replica_target() -> Target:
    """The running replica as a Target (it must be up)."""
    fleet = DockerFleet()
    return Target(kind="compose", router=HAProxyRouter(fleet), fleet=fleet,
                  db=replica_db(), capabilities=frozenset({Capability.LB_READY, Capability.GET_FILES}),
                  background_job_commands=REPLICA_COMMANDS,
                  locker=LbFileLocker(fleet), lock_where=f"the replica {stack.project()}",
                  details={"project": stack.project(),
                           "nodes": {c: [n.url for n in fleet.nodes(c)] for c in COLOURS}})


@contextlib.contextmanager
def open_replica(cfg, opts: OpenOptions) -> Iterator[Target]:
    """Start the replica when it is down, and stop it again afterwards (unless told not to manage it), so the
    machine is left as it was found."""
    was_up = stack.is_up()
    if not was_up:
        stack.up()
    try:
        t = replica_target()
        # A run in progress owns cron (it hands it over at its switch): a second process opening the replica, if
        # only to be refused its lock, must not move it.
        if not any(not h.stale() for h in lock.holders(t.locker)):
            cron_on_live_colour_only(t)
        yield t
    finally:
        if opts.manage_stack and not was_up:
            stack.down()


def list_replica_nodes(cfg) -> list[Node]:
    """The replica's nodes: its fleet's node list needs nothing running."""
    fleet = DockerFleet()
    return [n for c in COLOURS for n in fleet.nodes(c)]


register(TargetKind("compose", open_replica, list_nodes=list_replica_nodes, doc="the local docker-compose replica"))
