"""Magento 2.4's routes as data (harness/load/data/magento24_routes.toml), and a matcher: which stock route a request
(a path, or a ledger template like /rest/V1/guest-carts/:cartId/items) is, or None when a real store has no such
route. The contract tests hold the traffic and the smoke checks to it."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROUTES_FILE = Path(__file__).resolve().parent / "data" / "magento24_routes.toml"
_REST = re.compile(r"^/rest(?:/[a-z0-9_]+)?(/V1/.*)$")


@dataclass(frozen=True)
class Route:
    kind: str       # rest | storefront
    method: str
    path: str
    auth: str = ""
    module: str = ""

    def pattern(self) -> re.Pattern:
        parts = []
        for seg in self.path.split("/"):
            if seg == "*":
                parts.append(".+")
            else:  # ":param" stands for one segment or, inside one, for its variable part ("version:v")
                parts.append("".join(r"[^/]+" if p.startswith(":") else re.escape(p)
                                     for p in re.split(r"(:[A-Za-z]+)", seg) if p))
        return re.compile("^" + "/".join(parts) + "$")


@lru_cache(maxsize=1)
def routes() -> tuple[Route, ...]:
    data = tomllib.loads(ROUTES_FILE.read_text())
    return tuple(Route(kind, r["method"], r["path"], r.get("auth", ""), r.get("module", ""))
                 for kind in ("rest", "storefront") for r in data.get(kind, []))


def match(method: str, path: str) -> Route | None:
    """The stock route for this request, or None. `path` may be a concrete URL path or a ledger template."""
    path = path.split("?", 1)[0]
    m = _REST.match(path)
    kind, p = ("rest", m.group(1)) if m else ("storefront", path)
    for r in routes():
        if r.kind == kind and r.method == method.upper() and r.pattern().match(p):
            return r
    return None
