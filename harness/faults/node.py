"""Faults of one web node ("droplet"): killed, frozen, PHP gone while nginx answers, disk full."""
from __future__ import annotations

import time

from harness.faults.base import Fault, FaultError
from harness.faults.replica import Replica

NODES = ("blue-1", "blue-2", "green-1", "green-2")


class NodeFault(Fault):
    family = "node"
    charges = "node"

    def __init__(self, node: str, **params):
        if node not in NODES:
            raise FaultError(f"unknown node {node!r}: one of {', '.join(NODES)}")
        super().__init__(node=node, **params)
        self.node = node
        self.replica = Replica()


class NodeKill(NodeFault):
    """The node's container is killed (SIGKILL to every process: a droplet losing power). Docker does not restart
    a killed container; heal starts it again and waits until it is healthy."""
    kind = "node-kill"
    summary = "kill a web node (SIGKILL; stays down until healed)"

    def inject(self) -> dict:
        self.replica.container(self.node).kill()
        return {}

    def heal(self, state: dict) -> None:
        c = self.replica.container(self.node)
        c.reload()
        if c.status == "paused":
            c.unpause()
        elif c.status != "running":
            c.start()
        self.replica.wait_running(self.node, timeout=90)

    def in_effect(self, state: dict) -> bool:
        return self.replica.status(self.node) != "running"


class NodePause(NodeFault):
    """Every process of the node frozen (cgroup freezer): connections are accepted by the kernel and never
    answered — the hardest failure for a load balancer to see."""
    kind = "node-pause"
    summary = "freeze a web node (docker pause)"

    def inject(self) -> dict:
        # The cgroup freezer can time out on a busy machine ("unable to freeze"): try again a few times.
        for attempt in range(4):
            try:
                self.replica.container(self.node).pause()
                return {}
            except Exception:
                if attempt == 3 or self.replica.status(self.node) == "paused":
                    if self.replica.status(self.node) == "paused":
                        return {}
                    raise
                time.sleep(0.5)
        return {}

    def heal(self, state: dict) -> None:
        if self.replica.status(self.node) == "paused":
            self.replica.container(self.node).unpause()
        self.replica.wait_running(self.node, timeout=60)

    def in_effect(self, state: dict) -> bool:
        return self.replica.status(self.node) == "paused"


PHP_FPM_PID = "/run/php/php8.2-fpm.pid"


class PhpFpmStop(NodeFault):
    """php-fpm stops (SIGQUIT: graceful) while nginx stays up: nginx answers 502 for everything dynamic, static
    files keep working, /healthz (PHP) fails."""
    kind = "php-fpm-stop"
    summary = "stop php-fpm inside a node while nginx stays up"

    def _running(self) -> bool:
        rc, _ = self.replica.exec(self.node, ["pgrep", "-f", "php-fpm: master"])
        return rc == 0

    def inject(self) -> dict:
        rc, out = self.replica.exec(self.node, ["sh", "-c", f"kill -QUIT $(cat {PHP_FPM_PID})"])
        if rc != 0:
            raise FaultError(f"{self.node}: could not stop php-fpm: {out.strip()[:200]}")
        deadline = time.monotonic() + 15
        while self._running() and time.monotonic() < deadline:
            time.sleep(0.2)
        return {}

    def heal(self, state: dict) -> None:
        if self.replica.status(self.node) != "running":
            NodeKill(node=self.node).heal({})  # the container itself went away meanwhile
        if not self._running():
            rc, out = self.replica.exec(self.node, ["php-fpm8.2"])
            if rc != 0:
                raise FaultError(f"{self.node}: php-fpm did not start: {out.strip()[:200]}")
        self.replica.wait_running(self.node, timeout=60)

    def in_effect(self, state: dict) -> bool:
        return not self._running()


class DiskFill(NodeFault):
    """The node's scratch filesystem (/tmp: PHP's temp dir, uploads, file locks) fills to the last byte. It is a
    size-limited tmpfs mounted over /tmp in the container's mount namespace, so the host's own disk is never
    filled; heal unmounts it and the original /tmp is back untouched."""
    kind = "disk-fill"
    summary = "fill a node's disk (its /tmp, to 100 %)"
    MOUNT = "/tmp"

    def __init__(self, node: str, size_mb: int = 8, **params):
        super().__init__(node=node, size_mb=int(size_mb), **params)
        self.size_mb = int(size_mb)

    def _mounted(self) -> bool:
        # Read from the host: the container's init process sees its own mount namespace.
        with open(f"/proc/{self.replica.pid(self.node)}/mounts") as fh:
            return any(line.startswith(f"greenlight_fill {self.MOUNT} tmpfs") for line in fh)

    def inject(self) -> dict:
        # The mount's source name (greenlight_fill) lets heal find exactly this mount.
        self.replica.nsenter(self.node, ["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m,mode=1777",
                                         "greenlight_fill", self.MOUNT], net=False, mnt=True)
        # dd stops with ENOSPC once the filesystem is full: that is the point.
        self.replica.nsenter(self.node, ["dd", "if=/dev/zero", f"of={self.MOUNT}/greenlight-fill", "bs=1M"],
                             net=False, mnt=True, check=False)
        return {"mount": self.MOUNT}

    def heal(self, state: dict) -> None:
        if self.replica.status(self.node) != "running":
            NodeKill(node=self.node).heal({})
            return  # a restarted container has a fresh mount namespace
        for _ in range(5):  # stacked mounts (an inject retried) come off one by one
            if not self._mounted():
                return
            self.replica.nsenter(self.node, ["umount", "-l", self.MOUNT], net=False, mnt=True)
        raise FaultError(f"{self.node}: {self.MOUNT} still has the fill mount")

    def in_effect(self, state: dict) -> bool:
        return self._mounted()
