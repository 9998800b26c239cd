"""The one /healthz probe: every "is this node / load balancer healthy, and who answered?" goes through here."""
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


def healthz_url(base_url: str) -> str:
    return base_url.rstrip("/") + HEALTH_PATH


def probe(base_url: str, *, timeout: float = 2.0, client: httpx.Client | None = None) -> Health:
    """GET <base_url>/healthz once. Never raises for network trouble: the answer says what happened."""
    url = healthz_url(base_url)
    try:
        r = client.get(url, timeout=timeout) if client is not None else httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return Health(url, None, type(exc).__name__)
    return Health(url, r.status_code, "", {k.lower(): v for k, v in r.headers.items()})


def wait_healthy(base_url: str, *, what: str, timeout: float, release: str = "", release_header: str = "X-Release",
                 interval: float = 0.5) -> tuple[bool, object]:
    """Probe until /healthz answers 200 (from `release`, when given and the header is present). (ok, last problem)."""
    def check() -> Health:
        h = probe(base_url)
        if not h.ok:
            raise RuntimeError(f"/healthz answered {h.status}" if h.status is not None else h.error)
        got = h.header(release_header)
        if release and got and got != release:
            raise RuntimeError(f"/healthz served by release {got!r}, expected {release!r}")
        return h

    return succeeds_within(check, what=what, timeout=timeout, interval=interval)
