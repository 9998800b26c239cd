"""What every target (local replica, DigitalOcean) offers the cutover engine.

A target answers questions about the live system from the system itself (the load balancer, the nodes),
never from a state file, and performs the few side effects a cutover needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

COLOURS = ("blue", "green")


class TargetError(RuntimeError):
    """A problem with the target the user can act on; the message is one line saying what to fix."""


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

    @property
    def ok(self) -> bool:
        return self.rc == 0


@runtime_checkable
class Target(Protocol):
    name: str
    lb_url: str                       # where customer traffic goes
    served_by_header: str             # response identity headers
    release_header: str

    def live_colour(self) -> str:
        """The colour the load balancer sends traffic to; TargetError when it serves both or none."""

    def nodes(self, colour: str) -> list[Node]:
        """The nodes of a colour."""

    def exec(self, node: Node, argv: list[str], timeout: float = 120) -> ExecResult:
        """Run a command on a node (docker exec locally, SSH on droplets)."""

    def put_tar(self, node: Node, dest_dir: str, tar_bytes: bytes) -> None:
        """Unpack a tar archive into dest_dir on a node."""

    def switch(self, to_colour: str) -> None:
        """Point the load balancer at to_colour (returns when the LB accepted the change)."""

    def describe(self) -> dict:
        """A secret-free description for reports."""
