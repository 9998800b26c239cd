"""Smoke checks straight against one node (bypassing the load balancer).

A guest REST checkout to a real order, and a storefront page with its static assets. Every step is bounded in
time, so a node that answers slowly fails the smoke as surely as one that answers 500.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

import httpx

from harness.checks.page_scripts import on_load_requests
from harness.config.checkout import Checkout

SMOKE_EMAIL_DOMAIN = "smoke.greenlight.test"   # the replica's; a real store's comes from its catalogue
# A page's static assets, relative or (as Magento renders them) absolute on the store's or a CDN's host: the path is
# asked of the node under test.
_ASSET = re.compile(r"""(?:href|src)=["'](?:https?://[^/"']+)?(/static/[^"']+)["']""")


@dataclass
class SmokeResult:
    node: str
    ok: bool
    step: str = ""
    detail: str = ""
    order_id: int | None = None
    release: str = ""
    served_by: str = ""
    steps: list[dict] = field(default_factory=list)

    def reason(self) -> str:
        return f"{self.node}: {self.step} failed: {self.detail}"


class _StepFailed(Exception):
    pass


def _call(client: httpx.Client, res: SmokeResult, step: str, method: str, url: str, *, max_ms: float,
          expect=(200,), **kw) -> httpx.Response:
    t0 = time.monotonic()
    try:
        resp = client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        res.step, res.detail = step, f"{type(exc).__name__}: {exc}"
        raise _StepFailed from None
    ms = (time.monotonic() - t0) * 1000
    res.steps.append({"step": step, "status": resp.status_code, "ms": round(ms, 1)})
    if resp.status_code not in expect:
        res.step, res.detail = step, f"HTTP {resp.status_code} {resp.text[:160]!r}"
        raise _StepFailed
    if ms > max_ms:
        res.step, res.detail = step, f"took {ms:.0f} ms (bound {max_ms:.0f} ms)"
        raise _StepFailed
    return resp


def smoke_checkout(node_name: str, base_url: str, *, sku: str, run_id: str = "smoke",
                   email_domain: str = SMOKE_EMAIL_DOMAIN, max_step_ms: float = 2000, timeout: float = 10,
                   served_by_header: str = "X-Served-By", release_header: str = "X-Release",
                   health_path: str = "/healthz", checkout: Checkout | None = None,
                   headers: dict | None = None) -> SmokeResult:
    """Guest checkout to an order, directly on one node, paying and shipping as the target's [checkout] says.
    Orders use a smoke e-mail domain, so verdicts can tell them from the load's orders."""
    pay = checkout or Checkout()
    res = SmokeResult(node=node_name, ok=False)
    rest = base_url.rstrip("/") + "/rest/V1"
    address = {**pay.address, "firstname": "Smoke", "lastname": "Check",
               "email": f"{run_id}-{uuid.uuid4().hex[:8]}@{email_domain}"}
    with httpx.Client(timeout=timeout, headers=headers) as c:  # the store's Host (Target.store_headers)
        try:
            r = _call(c, res, "healthz", "GET", base_url.rstrip("/") + "/" + health_path.lstrip("/"),
                      max_ms=max_step_ms)
            res.release = r.headers.get(release_header, "")
            res.served_by = r.headers.get(served_by_header, "")
            cart = _call(c, res, "create_cart", "POST", f"{rest}/guest-carts", max_ms=max_step_ms).json()
            _call(c, res, "add_item", "POST", f"{rest}/guest-carts/{cart}/items", max_ms=max_step_ms,
                  json={"cartItem": {"sku": sku, "qty": 1, "quote_id": cart}})
            _call(c, res, "totals", "GET", f"{rest}/guest-carts/{cart}/totals", max_ms=max_step_ms)
            methods = _call(c, res, "estimate_shipping", "POST",
                            f"{rest}/guest-carts/{cart}/estimate-shipping-methods", max_ms=max_step_ms,
                            json={"address": {k: address[k] for k in ("country_id", "postcode", "region_id")
                                              if k in address}}).json()
            offered = [m for m in methods if isinstance(m, dict) and m.get("available", True)]
            wanted = [m for m in offered if f"{m.get('carrier_code')}_{m.get('method_code')}" == pay.shipping_method]
            if not offered or (pay.shipping_method and not wanted):
                res.step, res.detail = "estimate_shipping", (
                    f"shipping method {pay.shipping_method} not offered for the address" if offered
                    else "no shipping methods offered")
                raise _StepFailed
            m = (wanted or offered)[0]
            _call(c, res, "shipping_information", "POST", f"{rest}/guest-carts/{cart}/shipping-information",
                  max_ms=max_step_ms, json={"addressInformation": {
                      "shipping_address": address, "billing_address": address,
                      "shipping_carrier_code": m["carrier_code"], "shipping_method_code": m["method_code"]}})
            order = _call(c, res, "place_order", "POST", f"{rest}/guest-carts/{cart}/payment-information",
                          max_ms=max_step_ms, json={"email": address["email"],
                                                    "paymentMethod": {"method": pay.payment_method},
                                                    "billingAddress": address}).json()
            if not isinstance(order, int) and not (isinstance(order, str) and order.isdigit()):
                res.step, res.detail = "place_order", f"expected an order id, got {order!r:.80}"
                raise _StepFailed
            res.order_id = int(order)
            res.ok = True
        except _StepFailed:
            pass
        except (ValueError, KeyError, TypeError) as exc:  # a body that is not Magento's shape
            res.step = res.step or "parse"
            res.detail = f"unexpected response shape: {exc}"
    return res


def _page_scripts(c: httpx.Client, res: SmokeResult, base: str, html: str, max_step_ms: float) -> None:
    """The page's on-load requests, all at once on its session as a browser fires them (harness/checks/page_scripts.py):
    more than the session lock's max_concurrency waiting → 503 from errors/503.php."""
    urls = on_load_requests(html)
    if not urls:
        return
    results: list[str | None] = [None] * len(urls)

    def one(k: int) -> None:
        mine = SmokeResult(node=res.node, ok=False)  # one per thread: _call writes the failure into it
        try:
            _call(c, mine, "page_scripts", "GET", base + urls[k], max_ms=max_step_ms)
        except _StepFailed:
            results[k] = mine.detail
        res.steps.extend(mine.steps)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(len(urls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failed = [why for why in results if why]
    if failed:
        # An error status says more than a slow answer (requests waiting on the session lock are both).
        first = next((why for why in failed if why.startswith("HTTP")), failed[0])
        res.step = "page_scripts"
        res.detail = (f"{len(failed)} of the {len(urls)} requests the product page's scripts fire at once on one "
                      f"session failed: {first}")
        raise _StepFailed


def smoke_storefront(node_name: str, base_url: str, *, product_id: int, static=None, max_step_ms: float = 2000,
                     timeout: float = 10, release_header: str = "X-Release",
                     headers: dict | None = None) -> SmokeResult:
    """A product page and every static asset it references answer 200; with `static` (the page's release's
    learnt digests, harness/checks/static_digests.py) each asset must also be that release's own file and version.
    `headers`: the store's Host (Target.store_headers), so the node answers as it does behind the LB."""
    from harness.checks.static_digests import judge_asset

    res = SmokeResult(node=node_name, ok=False)
    base = base_url.rstrip("/")
    with httpx.Client(timeout=timeout, headers=headers) as c:
        try:
            # A browser that already has a session: the cart page starts one (cached pages, the login page among
            # them, do not).
            _call(c, res, "session", "GET", f"{base}/checkout/cart/", max_ms=max_step_ms)
            page = _call(c, res, "product_page", "GET", f"{base}/catalog/product/view/id/{product_id}",
                         max_ms=max_step_ms)
            res.release = page.headers.get(release_header, "")
            if "form_key" not in page.text:
                res.step, res.detail = "product_page", "no form_key in the page"
                raise _StepFailed
            _page_scripts(c, res, base, page.text, max_step_ms)
            for path in sorted(set(_ASSET.findall(page.text))):
                a = _call(c, res, "static_asset", "GET", base + path, max_ms=max_step_ms)
                if static is not None:
                    why = judge_asset({static.release: static}, static.release, path,
                                      hashlib.sha256(a.content).hexdigest())
                    if why:
                        res.step, res.detail = "static_asset", f"{path}: {why}"
                        raise _StepFailed
            res.ok = True
        except _StepFailed:
            pass
    return res
