"""A storefront session must be readable by both colours: a customer logged in on one colour is still logged in
(same name in customer/section/load) when the next request lands on the other. Sessions kept in node-local files,
or by another save handler or key format (phpredis's PHPREDIS_SESSION:<id> strings vs Cm_RedisSession's
sess_<id> hashes), are lost at the switch."""
from __future__ import annotations

import uuid

import httpx

from harness.checks.form_key import browser_form_key
from harness.targets.base import Node


def _log_in(c: httpx.Client, base: str, email: str, password: str) -> str | None:
    """Log in on the storefront as a browser does (the login page, then the form with the browser's own form key):
    None, or why it failed."""
    page = c.get(f"{base}/customer/account/login/")
    if page.status_code != 200:
        return f"the login page answered {page.status_code}"
    r = c.post(f"{base}/customer/account/loginPost/", data={
        "form_key": browser_form_key(c.cookies.jar, base), "login[username]": email, "login[password]": password})
    if r.status_code != 302 or "/customer/account/login" in r.headers.get("location", ""):
        return f"storefront log-in failed (HTTP {r.status_code})"
    return None


def session_portable(origin: Node, other: Node, *, email_domain: str, run_id: str,
                     timeout: float = 10, headers: dict | None = None) -> tuple[bool, str]:
    email = f"{run_id}-sess-{uuid.uuid4().hex[:8]}@{email_domain}"
    password = "Gl-" + uuid.uuid4().hex[:12] + "!"
    a, b = origin.url.rstrip("/"), other.url.rstrip("/")
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, headers=headers) as c:
            r = c.post(f"{a}/rest/V1/customers", json={
                "customer": {"email": email, "firstname": "Session", "lastname": uuid.uuid4().hex[:6]},
                "password": password})
            if r.status_code != 200:
                return False, f"{origin.name}: creating a customer answered {r.status_code}"
            fullname = f"Session {r.json()['lastname']}"
            why = _log_in(c, a, email, password)
            if why:
                return False, f"{origin.name}: {why}"
            # The session goes to the other node on purpose, as a load balancer's one host name would carry it: an
            # HTTP client never sends one host's cookies to another (two droplets have their own addresses).
            carried = "; ".join(f"{k.name}={k.value}" for k in c.cookies.jar)
        with httpx.Client(timeout=timeout, follow_redirects=False) as other_client:
            r = other_client.get(f"{b}/customer/section/load/", params={"sections": "customer"},
                                 headers={**(headers or {}), "Cookie": carried})
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return False, f"{origin.name} → {other.name}: {type(exc).__name__}: {exc}"
    if r.status_code != 200:
        return False, f"{other.name}: customer/section/load answered {r.status_code} for a session from {origin.name}"
    try:
        seen = (r.json().get("customer") or {}).get("fullname")
    except ValueError:
        seen = None
    if seen != fullname:
        return False, (f"a customer logged in on {origin.name} is not logged in on {other.name} (section/load shows "
                       f"{seen!r}): the colours do not share session storage and format")
    return True, ""


def _logged_in_client(base: str, email_domain: str, run_id: str, timeout: float,
                      headers: dict | None = None) -> tuple[httpx.Client, str]:
    """A client with a storefront session of a new customer on `base`; returns it and the customer's last name."""
    email = f"{run_id}-fpc-{uuid.uuid4().hex[:8]}@{email_domain}"
    password = "Gl-" + uuid.uuid4().hex[:12] + "!"
    last = "Fpc" + uuid.uuid4().hex[:8]
    c = httpx.Client(timeout=timeout, follow_redirects=False, headers=headers)
    r = c.post(f"{base}/rest/V1/customers", json={
        "customer": {"email": email, "firstname": "Private", "lastname": last}, "password": password})
    r.raise_for_status()
    why = _log_in(c, base, email, password)
    if why:
        raise ValueError(why)
    return c, last


def page_cache_private(node: Node, *, product_id: int, email_domain: str, run_id: str,
                       timeout: float = 10, headers: dict | None = None) -> tuple[bool, str]:
    """Two customers view the same product page: the second must not see the first one's name. The full-page cache
    keys logged-in pages by the HTTP context (X-Magento-Vary), shared by every customer of a group, so customer data
    in a cacheable block is served to other customers."""
    base = node.url.rstrip("/")
    url = f"{base}/catalog/product/view/id/{product_id}"
    clients = []
    try:
        a, a_name = _logged_in_client(base, email_domain, run_id, timeout, headers)
        clients.append(a)
        b, _ = _logged_in_client(base, email_domain, run_id, timeout, headers)
        clients.append(b)
        a.get(url)
        seen = b.get(url)
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"{node.name}: full-page cache privacy check could not run: {type(exc).__name__}: {exc}"
    finally:
        for c in clients:
            c.close()
    if a_name in seen.text:
        return False, (f"{node.name}: a customer was served another customer's name in {url.removeprefix(base)} "
                       f"(X-Magento-Cache-Debug {seen.headers.get('X-Magento-Cache-Debug', '?')}): customer data in a "
                       "cacheable page reaches everyone through the full-page cache")
    return True, ""
