"""Deploy a release to the idle colour, without touching what customers are using.

Order matters and mirrors a careful Magento pipeline:
1. check the release's module versions against the live colour (a bump the live code cannot tolerate is refused
   before anything changes);
2. ship the artifact to every idle node (not active yet);
3. rehearse: copy the shop DB, apply the migrations to the copy, and run the LIVE release's smoke checkout
   against the copy — old code / new schema — so an incompatible migration is refused before the real schema changes;
   steps 1 and 3 run on the first live node that answers (healthy ones first): a live node that is frozen, dead or
   times out is skipped with a `live_node_skipped` event, never a failed deploy;
4. migrate the shared DB once (setup:upgrade from the first idle node);
5. on each idle node: deploy static content, activate (atomic symlink + graceful reloads), run the release's
   deploy steps (cache:clean cleans that colour's cache only). Static content is never shared between colours:
   as with Magento's nginx rules, each node serves what its own pub/static holds (harness/checks/static_digests.py).
"""
from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from harness.checks import live_nodes as on_live
from harness.config.catalogue import catalogue
from harness.config.release import Release
from harness.targets.base import Capability, Deployer, ExecResult, Node, Target, TargetError

RELEASES_ROOT = "/srv/storefront/releases"
CURRENT = "/srv/storefront/current"
REHEARSAL_DB = "magento_rehearsal"
STATIC_DEPLOY = "setup:static-content:deploy"
# Commands on a LIVE node are bounded: past these, the node is skipped for the next live one (harness/checks/live_nodes.py).
LIVE_STATUS_S = 60
LIVE_SMOKE_S = 120

EventFn = Callable[..., None]


class DeployRefused(RuntimeError):
    """The deploy stopped before it could hurt the live colour; the message says why, in one line. `check` names the
    step that refused ("rehearsal": the migrations on a copy of the DB; "" otherwise), written into gate_fail."""

    def __init__(self, message: str, check: str = ""):
        super().__init__(message)
        self.check = check


@dataclass
class LiveStatus:
    release: str
    modules: dict
    blue_green_enabled: bool
    db_status: str
    static_version: int = 0


def _magento(target: Target, node: Node, root: str, *args: str, timeout: float = 300):
    return target.exec(node, ["php", f"{root}/bin/magento", *args], timeout=timeout)


def _version_tuple(v: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in v.split("."))


def live_status(target: Target, node: Node) -> LiveStatus:
    r = on_live.answered(_magento(target, node, CURRENT, "greenlight:status", "--json", timeout=LIVE_STATUS_S),
                         node, "greenlight:status")
    if not r.ok:
        raise TargetError(f"{node.name}: greenlight:status failed: {(r.stderr or r.stdout).strip()[:200]}")
    d = json.loads(r.stdout)
    return LiveStatus(release=d.get("release", ""), modules=d.get("modules", {}) or {},
                      blue_green_enabled=bool(d.get("blue_green_enabled")), db_status=d.get("db_status", ""),
                      static_version=int(d.get("static_version") or 0))


def module_bumps(live: LiveStatus, release: Release) -> list[str]:
    """Modules whose version the release raises above what the live code declares."""
    bumps = []
    for mod, ver in sorted(release.modules.items()):
        old = live.modules.get(mod)
        if old is None or _version_tuple(ver) > _version_tuple(old):
            bumps.append(f"{mod} {old or '(new)'} -> {ver}")
    return bumps


def check_module_compatibility(live: LiveStatus, release: Release) -> None:
    bumps = module_bumps(live, release)
    if bumps and not live.blue_green_enabled:
        raise DeployRefused(
            f"release {release.id} bumps {', '.join(bumps)} but the live release {live.release} runs without "
            "deployment.blue_green.enabled: after setup:upgrade it would answer \"Please update your modules\" "
            "once its cache is cleaned; enable the flag on the live colour first")


def ship(target: Target, node: Node, release: Release, artifact: bytes) -> None:
    dest = f"{RELEASES_ROOT}/{release.id}"
    staging = f"{dest}.incoming"
    r = target.exec(node, ["sh", "-c", f"rm -rf {shlex.quote(staging)} && mkdir -p {shlex.quote(staging)}"])
    if not r.ok:
        raise TargetError(f"{node.name}: cannot prepare {staging}: {r.stderr.strip()[:200]}")
    target.put_tar(node, staging, artifact)
    # Replace any earlier copy of the same id in one rename, so a node never holds half a release.
    r = target.exec(node, ["sh", "-c", f"rm -rf {shlex.quote(dest)} && mv {shlex.quote(staging)} {shlex.quote(dest)}"])
    if not r.ok:
        raise TargetError(f"{node.name}: cannot install {dest}: {r.stderr.strip()[:200]}")


def rehearse(target: Target, release: Release, idle: Node, live_nodes: list[Node], event: EventFn) -> None:
    """Old code / new schema on a copy of the DB, before the real migration."""
    db = target.db
    if db is None:
        event("rehearsal_skipped", reason=target.lacks(Capability.DB))
        return
    # Even without migrations: setup:upgrade also records module versions and imports the config (hashes),
    # which the live code checks on every request.
    tables = db.clone(REHEARSAL_DB)
    root = f"{RELEASES_ROOT}/{release.id}"
    r = _magento(target, idle, root, "setup:upgrade", f"--db-name={REHEARSAL_DB}")
    if not r.ok:
        raise DeployRefused(f"release {release.id}: its migrations fail on a copy of the shop DB: "
                            f"{(r.stderr or r.stdout).strip()[:200]}", check="rehearsal")

    def live_smoke(node: Node) -> tuple[Node, ExecResult]:
        r = _magento(target, node, CURRENT, "greenlight:smoke", f"--db-name={REHEARSAL_DB}",
                     f"--sku={catalogue(target).skus[0]}", timeout=LIVE_SMOKE_S)
        return node, on_live.answered(r, node, "greenlight:smoke")

    live, r = on_live.first_answering(live_nodes, "live release's smoke checkout", live_smoke, event)
    event("rehearsal", tables=tables, live_smoke_ok=r.ok, node=live.name)
    if not r.ok:
        raise DeployRefused(f"release {release.id}: its migrations break the live release's checkout "
                            f"(old code / new schema rehearsal on {live.name}): "
                            f"{(r.stdout or r.stderr).strip().splitlines()[-1][:200] if (r.stdout or r.stderr).strip() else 'exit ' + str(r.rc)}",
                            check="rehearsal")


def deploy(target: Target, release: Release, colour: str, event: EventFn) -> None:
    """Put `release` live on the idle `colour` nodes (not yet receiving traffic)."""
    idle = target.nodes(colour)
    live_nodes = target.nodes("green" if colour == "blue" else "blue")
    if not idle:
        raise TargetError(f"no {colour} nodes to deploy to")
    event("deploy_start", release=release.id, colour=colour, nodes=[n.name for n in idle])
    live_nodes = on_live.in_order(target, live_nodes)
    live = on_live.first_answering(live_nodes, "status check", lambda n: live_status(target, n), event) \
        if live_nodes else None
    if live is not None:
        check_module_compatibility(live, release)
    artifact = release.artifact()
    for node in idle:
        ship(target, node, release, artifact)
    event("deploy_shipped", release=release.id, bytes=len(artifact))
    if live_nodes:
        rehearse(target, release, idle[0], live_nodes, event)
    root = f"{RELEASES_ROOT}/{release.id}"
    r = _magento(target, idle[0], root, "setup:upgrade")
    if not r.ok:
        raise TargetError(f"{idle[0].name}: setup:upgrade failed: {(r.stderr or r.stdout).strip()[:200]}")
    event("migrated", release=release.id, migrations=list(release.migrations))
    for node in idle:
        r = _magento(target, node, root, STATIC_DEPLOY)
        if not r.ok:
            raise TargetError(f"{node.name}: static content deploy failed: {(r.stderr or r.stdout).strip()[:200]}")
        r = target.exec(node, ["greenlight-node", "activate", release.id])
        if not r.ok:
            raise TargetError(f"{node.name}: activating {release.id} failed: {(r.stderr or r.stdout).strip()[:200]}")
        for step in release.deploy_steps:
            if step == STATIC_DEPLOY:
                continue
            r = _magento(target, node, CURRENT, *shlex.split(step))
            if not r.ok:
                raise TargetError(f"{node.name}: deploy step {step} failed: {(r.stderr or r.stdout).strip()[:200]}")
    event("deploy_done", release=release.id, colour=colour)


class ExecDeployer(Deployer):
    """The Magento deploy above, over the fleet's exec (the local replica; droplets reachable by SSH could use it)."""

    def deploy(self, target: Target, release: Release, colour: str, event: EventFn) -> None:
        deploy(target, release, colour, event)


def deploy_release(target: Target, release: Release, colour: str, event: EventFn) -> None:
    """Each kind deploys its own way: its declared deployer (the user's hook on DigitalOcean), else Greenlight's own
    exec deployer above (the replica)."""
    (target.deployer or ExecDeployer()).deploy(target, release, colour, event)
