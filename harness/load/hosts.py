"""Where load may go: loopback, the project's own containers, or hosts a target explicitly allows.

Standard library only: the harness checks the target before it starts Locust, and every Locust process (local,
forked worker, or a worker on another machine) checks it again before its first user sends a request."""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# Compose container names of this project (docker-compose.yml): greenlight-lb, greenlight-blue-1, ...
CONTAINER_HOST_RE = re.compile(r"^greenlight-[a-z0-9]+(-[0-9]+)?$")


class HostRefused(ValueError):
    """Load may only go to loopback or the project's own containers (or an explicit allow-list)."""


def check_host(host: str, allow_hosts: tuple[str, ...] | list[str] = ()) -> str:
    """Return the host URL when load may be sent there; raise HostRefused with one clear line otherwise."""
    parts = urlsplit(host or "")
    name = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not name:
        raise HostRefused(f"refusing load target {host!r}: expected http(s)://<host>[:port]")
    if name == "localhost" or CONTAINER_HOST_RE.match(name) or name in allow_hosts:
        return host
    try:
        if ipaddress.ip_address(name).is_loopback:
            return host
    except ValueError:
        pass
    raise HostRefused(f"refusing load target {name!r}: only loopback (127.0.0.1, ::1, localhost) or the "
                      f"project's containers (greenlight-*) may receive load")
