"""Customer tokens must work on both colours: since 2.4.4 they are JWTs signed with the newest key of env.php
crypt/key, so a colour holding another key list answers 401 to every token the other colour issued (customers
logged in before the switch, or after a rollback, are thrown out)."""
from __future__ import annotations

import uuid

import httpx

from harness.targets.base import Node


def token_portable(issuer: Node, verifier: Node, *, email_domain: str, run_id: str,
                   timeout: float = 10) -> tuple[bool, str]:
    """A new customer's token from `issuer` must answer `GET /V1/customers/me` on `verifier` as that customer."""
    email = f"{run_id}-tok-{uuid.uuid4().hex[:8]}@{email_domain}"
    password = "Gl-" + uuid.uuid4().hex[:12] + "!"
    a, b = issuer.url.rstrip("/") + "/rest/V1", verifier.url.rstrip("/") + "/rest/V1"
    try:
        with httpx.Client(timeout=timeout) as c:
            r = c.post(f"{a}/customers", json={"customer": {"email": email, "firstname": "Token", "lastname": "Check"},
                                               "password": password})
            if r.status_code != 200:
                return False, f"{issuer.name}: creating a customer answered {r.status_code}"
            r = c.post(f"{a}/integration/customer/token", json={"username": email, "password": password})
            if r.status_code != 200:
                return False, f"{issuer.name}: issuing a customer token answered {r.status_code}"
            token = r.json()
            r = c.get(f"{b}/customers/me", headers={"Authorization": f"Bearer {token}"})
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"{issuer.name} → {verifier.name}: {type(exc).__name__}: {exc}"
    if r.status_code != 200:
        return False, (f"a customer token issued by {issuer.name} is refused by {verifier.name} (HTTP {r.status_code}): "
                       "the colours sign tokens with different crypt keys (env.php crypt/key must be the same list)")
    if not isinstance(r.json(), dict) or r.json().get("email") != email:
        return False, f"{verifier.name} answered a token from {issuer.name} for another customer"
    return True, ""
