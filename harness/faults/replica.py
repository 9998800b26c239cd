"""How faults reach the local replica: the Docker SDK for containers, and the host's `nsenter` into a container's
network or mount namespace for what a container may not do to itself (traffic control, firewall rules, mounts).

Only the project's own containers (this lane's compose project) are ever touched."""
from __future__ import annotations

import subprocess
import time

from harness.targets.base import TargetError
from harness.targets.replica import stack


class Replica:
    def __init__(self):
        self._client = None

    @property
    def docker(self):
        if self._client is None:
            import docker  # late: it pulls in requests, which must stay out of Locust processes

            self._client = docker.from_env()
        return self._client

    def container(self, service: str):
        if service not in stack.SERVICES:
            raise TargetError(f"unknown replica service {service!r}: one of {', '.join(stack.SERVICES)}")
        try:
            return self.docker.containers.get(stack.container(service))
        except Exception as exc:  # noqa: BLE001 - docker.errors.NotFound / APIError (docker imported late)
            raise TargetError(f"container {stack.container(service)} not found: {exc}") from None

    def status(self, service: str) -> str:
        c = self.container(service)
        c.reload()
        return c.status  # running / paused / exited / restarting

    def pid(self, service: str) -> int:
        c = self.container(service)
        c.reload()
        pid = int(c.attrs["State"]["Pid"] or 0)
        if not pid or c.status != "running":
            raise TargetError(f"{c.name} is not running ({c.status})")
        return pid

    def ip(self, service: str) -> str:
        c = self.container(service)
        c.reload()
        nets = c.attrs["NetworkSettings"]["Networks"]
        for net in nets.values():
            if net.get("IPAddress"):
                return net["IPAddress"]
        raise TargetError(f"{c.name} has no IP address")

    def exec(self, service: str, argv: list[str], user: str = "") -> tuple[int, str]:
        res = self.container(service).exec_run(argv, user=user or "")
        return res.exit_code, (res.output or b"").decode(errors="replace")

    def nsenter(self, service: str, argv: list[str], *, net: bool = True, mnt: bool = False,
                check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a binary inside the container's namespaces: -n (network: the host's tc/iptables), or -m -p (mounts,
        and the pid namespace so that /proc/self means something to mount tools; binaries from the container)."""
        flags = (["-n"] if net else []) + (["-m", "-p"] if mnt else [])
        p = subprocess.run(["nsenter", "-t", str(self.pid(service)), *flags, *argv], text=True,
                           capture_output=True, timeout=timeout, check=False)
        if check and p.returncode != 0:
            raise TargetError(f"{service}: {' '.join(argv[:3])} failed: {(p.stderr or p.stdout).strip()[:200]}")
        return p

    def wait_running(self, service: str, timeout: float = 60) -> None:
        """Running and, where the image has a health check, healthy."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            c = self.container(service)
            c.reload()
            health = (c.attrs["State"].get("Health") or {}).get("Status", "none")
            last = f"{c.status}/{health}"
            if c.status == "running" and health in ("healthy", "none"):
                return
            time.sleep(0.3)
        raise TargetError(f"{stack.container(service)} not healthy within {timeout:.0f} s ({last})")
