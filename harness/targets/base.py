"""What every target (local replica, DigitalOcean, …) offers the cutover engine, as roles:

- a **router**: the load balancer — which colour is live, switch, and (capability `lb_ready`) whether the LB itself
  sees a colour healthy;
- a **fleet**: the web nodes — list them, run a command with a real timeout, put files on them, and (capability
  `get_files`) copy files off them;
- a **deployer**: how a release gets onto the idle colour (None: Greenlight's own exec-based Magento deployer, as on the replica; the user's
  deploy hook on DigitalOcean);
- optionally a **db**: read access to the shop DB (capability `db`).

A target answers questions about the live system from the system itself (the load balancer, the nodes), never from
a state file. What a kind does not support is declared (`capabilities`), never probed: a stage that needs a missing
capability asks `target.lacks(...)` and reports the check as skipped with that reason.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from harness.config.release import Release
    from harness.targets.db import DbAccess

COLOURS = ("blue", "green")


class TargetError(RuntimeError):
    """A problem with the target the user can act on; the message is one line saying what to fix."""


class Capability(StrEnum):
    LB_READY = "lb_ready"      # router.ready(colour): the load balancer's own health view of a colour
    GET_FILES = "get_files"    # fleet.get_tar(node, path): copy files off a node
    DB = "db"                  # target.db: read access to the shop DB (orders, migration rehearsal)
    DRY_RUN = "dry_run"        # the kind can plan a cutover (every write it would make) without making it


class Unsupported(TargetError):
    """A role was asked for a capability its kind does not declare."""

    def __init__(self, capability: Capability, kind: str = ""):
        super().__init__(f"target {kind or '(this kind)'} does not support {capability.value}")
        self.capability = capability


def other_colour(colour: str) -> str:
    if colour not in COLOURS:
        raise TargetError(f"unknown colour {colour!r}: use one of {', '.join(COLOURS)}")
    return "green" if colour == "blue" else "blue"


@dataclass(frozen=True)
class Node:
    """One web node (a droplet, or a replica container)."""

    name: str                 # as it appears in X-Served-By
    colour: str
    url: str                  # http base URL reachable from this machine (loopback for the replica)
    address: str = ""         # host address (droplet IP, or container name)
    meta: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ExecResult:
    rc: int
    stdout: str
    stderr: str
    timed_out: bool = False   # the command was killed when its timeout ran out
    unreachable: bool = False  # the command never ran: the node could not be reached (ssh's own exit code 255)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out


class Router(ABC):
    """The load balancer in front of both colours."""

    lb_url: str                       # where customer traffic goes

    @abstractmethod
    def live_colour(self) -> str:
        """The colour the load balancer sends traffic to; TargetError when it serves both or none."""

    @abstractmethod
    def switch(self, to_colour: str) -> None:
        """Point the load balancer at to_colour (returns when the LB accepted the change)."""

    def ready(self, colour: str, timeout: float = 30) -> tuple[bool, str]:
        """Capability lb_ready: (True, '') once the LB's own checks see every server of `colour` up."""
        raise Unsupported(Capability.LB_READY)


class Fleet(ABC):
    """The web nodes of both colours."""

    @abstractmethod
    def nodes(self, colour: str) -> list[Node]:
        """The nodes of a colour."""

    @abstractmethod
    def exec(self, node: Node, argv: list[str], timeout: float = 120) -> ExecResult:
        """Run a command on a node; after `timeout` seconds it is killed and the result says timed_out."""

    @abstractmethod
    def put_tar(self, node: Node, dest_dir: str, tar_bytes: bytes) -> None:
        """Unpack a tar archive into dest_dir on a node."""

    def get_tar(self, node: Node, path: str) -> bytes:
        """Capability get_files: a tar archive of `path` on a node."""
        raise Unsupported(Capability.GET_FILES)


class Deployer(ABC):
    """How a release reaches the idle colour's nodes (nothing customers use may change)."""

    @abstractmethod
    def deploy(self, target: Target, release: Release, colour: str, event: Callable[..., None]) -> None:
        """Put `release` live on the `colour` nodes; DeployRefused (harness.run.deploy) when it must not go ahead."""


@dataclass
class Target:
    """One system under test, as roles. Built by its kind (harness/config/kinds.py)."""

    kind: str
    router: Router
    fleet: Fleet
    # None: Greenlight deploys over the fleet's exec itself (harness/run/deploy.py: rehearsed migrations, static
    # content, atomic switch of the release symlink), as on the replica; a kind with its own way names it here.
    deployer: Deployer | None = None
    db: DbAccess | None = None
    capabilities: frozenset[Capability] = frozenset()
    health_path: str = "/healthz"               # what the probes ask of each node and of the LB
    served_by_header: str = "X-Served-By"       # response identity headers
    release_header: str = "X-Release"
    allow_hosts: tuple[str, ...] = ()           # where load may go besides loopback and the project's containers
    details: dict = field(default_factory=dict)  # secret-free facts for reports (kind-specific)
    plan_log: list[str] | None = None           # capability dry_run: every write made, or (dry run) not made
    closers: list[Callable[[], None]] = field(default_factory=list)
    # Magento facts the harness needs on nodes: where the live code is (static digests are read there), the
    # (stop, start) shell commands that move cron and consumers at a switch (None: not moved by Greenlight),
    # and the store's catalogue (harness/config/catalogue.py; None: the replica's).
    magento_root: str = "/srv/storefront/current"
    background_job_commands: tuple[str, str] | None = None
    catalogue: object | None = None
    checkout: object | None = None               # [checkout] (harness/config/checkout.py; None: the replica's)
    # Where one-run-per-target marks live on the target (harness/targets/lock.py: marks/add/remove); None: the kind
    # has nowhere to keep them, and a run says it is not locked.
    locker: object | None = None
    lock_where: str = "the target"

    # -- capabilities --------------------------------------------------------------------------------
    def supports(self, capability: Capability) -> bool:
        """Declared by the kind; the db capability is the db role being there."""
        if capability is Capability.DB:
            return self.db is not None
        return capability in self.capabilities

    def lacks(self, capability: Capability) -> str:
        """'' when the target supports `capability`, else why a check needing it is skipped (one line)."""
        if self.supports(capability):
            return ""
        return f"target kind {self.kind!r} does not support {capability.value}"

    # -- the questions every stage asks, answered by the roles ----------------------------------------
    @property
    def lb_url(self) -> str:
        return self.router.lb_url

    def store_headers(self) -> dict[str, str]:
        """What a request straight to one node carries so the node answers as the store does behind its load
        balancer: the store's Host (a Magento storefront answers another host with a 302 to its base URL), and
        X-Forwarded-Proto when shoppers come in over https (a secure store sends plain http to https)."""
        u = urlsplit(self.lb_url)
        return {"Host": u.netloc, **({"X-Forwarded-Proto": "https"} if u.scheme == "https" else {})}

    def live_colour(self) -> str:
        return self.router.live_colour()

    def switch(self, to_colour: str) -> None:
        self.router.switch(to_colour)

    def nodes(self, colour: str) -> list[Node]:
        return self.fleet.nodes(colour)

    def exec(self, node: Node, argv: list[str], timeout: float = 120) -> ExecResult:
        return self.fleet.exec(node, argv, timeout=timeout)

    def put_tar(self, node: Node, dest_dir: str, tar_bytes: bytes) -> None:
        self.fleet.put_tar(node, dest_dir, tar_bytes)

    def describe(self) -> dict:
        """A secret-free description for reports."""
        return {"kind": self.kind, "lb": self.lb_url,
                "capabilities": sorted(c.value for c in Capability if self.supports(c)), **self.details}

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()
