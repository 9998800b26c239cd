"""The one health probe: every "is this node / load balancer healthy, and who answered?" goes through here. The
path is the target's (Target.health_path: the replica's /healthz, a store's [digitalocean.health_check] path, e.g.
Magento's own /health_check.php)."""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from harness.targets.retry import succeeds_within

HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class Health:
    url: str
    status: int | None                       # None: no HTTP answer at all
    error: str = ""                          # the transport error's type when status is None
    headers: dict[str, str] = field(default_factory=dict)   # lower-cased names

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def problem(self) -> str:
        """One word or two for messages: 'HTTP 503', 'ConnectError', or '' when healthy."""
        if self.status is None:
            return self.error
        return "" if self.ok else f"HTTP {self.status}"

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def healthz_url(base_url: str, path: str = HEALTH_PATH) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def probe(base_url: str, *, timeout: float = 2.0, client: httpx.Client | None = None,
          path: str = HEALTH_PATH) -> Health:
    """GET <base_url><path> once. Never raises for network trouble: the answer says what happened."""
    url = healthz_url(base_url, path)
    try:
        r = client.get(url, timeout=timeout) if client is not None else httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return Health(url, None, type(exc).__name__)
    return Health(url, r.status_code, "", {k.lower(): v for k, v in r.headers.items()})


def wait_healthy(base_url: str, *, what: str, timeout: float, release: str = "", release_header: str = "X-Release",
                 interval: float = 0.5, path: str = HEALTH_PATH) -> tuple[bool, object]:
    """Probe until the health path answers 200 (from `release`, when given and the header is present). (ok, last
    problem)."""
    def check() -> Health:
        h = probe(base_url, path=path)
        if not h.ok:
            raise RuntimeError(f"{path} answered {h.status}" if h.status is not None else h.error)
        got = h.header(release_header)
        if release and got and got != release:
            raise RuntimeError(f"{path} served by release {got!r}, expected {release!r}")
        return h

    return succeeds_within(check, what=what, timeout=timeout, interval=interval)
