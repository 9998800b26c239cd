"""Checkout traffic for a Magento 2 store: guest REST checkout, customer REST checkout, a long-lived storefront
session that keeps checking it is still itself, and a browser fetching pages and their static assets.

    locust -f locustfiles/checkout.py -H http://127.0.0.1:8080

Every request becomes one ledger line (gl_ledger); the per-user fields come from User.context(), the per-call
ones (step, order_id, probe, page_release, asset) from the request context. Settings: gl_settings.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import random
import re
import socket
from urllib.parse import urlsplit

from locust import FastHttpUser, between, events, task
from locust.exception import RescheduleTask, StopUser

import gl_distributed
import gl_lease  # noqa: F401  (quits when the harness that started it is gone)
import gl_ledger
import gl_settings as cfg

LEDGER = gl_ledger.attach(events, served_by_header=cfg.SERVED_BY_HEADER, release_header=cfg.RELEASE_HEADER)
HOST = socket.gethostname()
_user_seq = itertools.count(1)

FORM_KEY_RE = re.compile(r'name="form_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_key"')
ASSET_RE = re.compile(r'<link\b[^>]*\bhref="([^"]+)"|<script\b[^>]*\bsrc="([^"]+)"', re.I)
STATIC_VERSION_RE = re.compile(r"/static/version\d+/")


class StepFailed(RescheduleTask):
    """The journey cannot go on (the failed request is already on the ledger); start it again after a wait."""


def fingerprint(secret: str) -> str:
    """A stable id for a bearer token that never reveals it."""
    return "tok:" + hashlib.sha256(secret.encode()).hexdigest()[:16]


def note(response, **fields) -> None:
    """Add fields to the ledger record of this response (it is written when its with-block ends)."""
    response.request_meta["context"].update(fields)


def json_string(response) -> str:
    value = response.json()
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty JSON string, got {value!r:.80}")
    return value


def json_object(response) -> dict:
    value = response.json()
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def json_list(response) -> list:
    value = response.json()
    if not isinstance(value, list):
        raise ValueError(f"expected a JSON list, got {type(value).__name__}")
    return value


def order_id(response) -> int | str:
    value = response.json()
    if isinstance(value, bool) or not str(value).isdigit():
        raise ValueError(f"expected an order id, got {value!r:.80}")
    note(response, order_id=int(value))
    return int(value)


def pick_carrier(methods: list) -> tuple[str, str]:
    available = [m for m in methods if isinstance(m, dict) and m.get("available", True)]
    if not available:
        return "flatrate", "flatrate"
    return available[0]["carrier_code"], available[0]["method_code"]


class GreenlightUser(FastHttpUser):
    """Common plumbing: identity for the ledger, and `call`, one checked request per journey step."""

    abstract = True
    journey = "?"
    wait_time = between(cfg.WAIT_MIN_S, cfg.WAIT_MAX_S)
    network_timeout = float(os.environ.get("GREENLIGHT_TIMEOUT_S", "30"))
    connection_timeout = float(os.environ.get("GREENLIGHT_CONNECT_TIMEOUT_S", "5"))

    def __init__(self, environment):
        super().__init__(environment)
        self.uid = f"{HOST}-{os.getpid()}-{next(_user_seq)}"
        self.session: str | None = None
        self.last_status = None

    def on_start(self):
        # Every process checks the allow-list itself (a worker may run on another machine): no request otherwise.
        if gl_distributed.guard(self.environment) is not None or gl_distributed.guard(self) is not None:
            raise StopUser()

    def context(self) -> dict:
        return {"user": self.uid, "journey": self.journey, "session": self.session_id}

    def session_id(self) -> str | None:
        return self.session

    def cookie(self, name: str) -> str | None:
        for c in self.client.cookiejar:
            if c.name == name:
                return c.value
        return None

    def call(self, step: str, method: str, path: str, name: str | None = None, expect=None,
             context: dict | None = None, **kwargs):
        """One request, one ledger record. `expect(response)` parses/validates a 2xx/3xx answer and returns what
        the journey needs; any problem marks the request failed and raises StepFailed."""
        with self.client.request(method, path, name=name or path, catch_response=True,
                                 context={"step": step, **(context or {})}, **kwargs) as resp:
            self.last_status = resp.status_code
            ok = 200 <= resp.status_code < 400
            value = None
            if ok and expect is not None:
                try:
                    value = expect(resp)
                except Exception as exc:  # noqa: BLE001 - a wrong body is a failed step, not a crashed user
                    resp.failure(f"{step}: {exc}")
                    ok = False
        if not ok:
            raise StepFailed()
        return value

    def line_items(self) -> list[tuple[str, int]]:
        count = random.randint(1, 3)
        return [(random.choice(cfg.SKUS), 2 if random.random() < cfg.QTY2_SHARE else 1) for _ in range(count)]


class GuestCheckout(GreenlightUser):
    """A guest fills a REST cart and places the order: cart → items → totals → shipping → payment → order id."""

    journey = "guest"
    weight = cfg.weight("guest", 3)
    abstract = weight == 0

    @task
    def checkout(self):
        self.session = None  # a new guest cart is a new REST session
        cart = self.call("create cart", "POST", f"{cfg.REST}/guest-carts", expect=self._new_cart)
        url, name = f"{cfg.REST}/guest-carts/{cart}", f"{cfg.REST}/guest-carts/:cartId"
        for sku, qty in self.line_items():
            self.call("add item", "POST", f"{url}/items", f"{name}/items", expect=json_object,
                      json={"cartItem": {"sku": sku, "qty": qty, "quote_id": cart}})
        self.call("totals", "GET", f"{url}/totals", f"{name}/totals", expect=json_object)
        methods = self.call("estimate shipping", "POST", f"{url}/estimate-shipping-methods",
                            f"{name}/estimate-shipping-methods", expect=json_list,
                            json={"address": {"country_id": cfg.ADDRESS["country_id"],
                                              "postcode": cfg.ADDRESS["postcode"]}})
        carrier, method = pick_carrier(methods)
        self.call("shipping information", "POST", f"{url}/shipping-information", f"{name}/shipping-information",
                  expect=json_object, json={"addressInformation": {
                      "shipping_address": cfg.ADDRESS, "billing_address": cfg.ADDRESS,
                      "shipping_carrier_code": carrier, "shipping_method_code": method}})
        self.call("place order", "POST", f"{url}/payment-information", f"{name}/payment-information",
                  expect=order_id, json={"email": f"{cfg.RUN_ID}-{self.uid}-guest@{cfg.EMAIL_DOMAIN}",
                                         "paymentMethod": {"method": "checkmo"}, "billingAddress": cfg.ADDRESS})

    def _new_cart(self, response) -> str:
        self.session = json_string(response)  # the masked cart id identifies this guest's REST session
        return self.session


class CustomerCheckout(GreenlightUser):
    """A registered customer: account → token → me → cart → items → shipping → payment → order id."""

    journey = "customer"
    weight = cfg.weight("customer", 2)
    abstract = weight == 0

    def __init__(self, environment):
        super().__init__(environment)
        self.accounts = itertools.count(1)
        self.email = None
        self.password = "Gl-" + os.urandom(9).hex()  # never written anywhere
        self.token = None

    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def sign_up_and_log_in(self):
        if self.email is None:
            email = f"{cfg.RUN_ID}-{self.uid}-{next(self.accounts)}@{cfg.EMAIL_DOMAIN}"
            self.call("create account", "POST", f"{cfg.REST}/customers", expect=json_object,
                      json={"customer": {"email": email, "firstname": "Green", "lastname": "Customer"},
                            "password": self.password})
            self.email = email  # only once created: a failed create retries with a fresh address
        self.call("get token", "POST", f"{cfg.REST}/integration/customer/token", expect=self._token,
                  json={"username": self.email, "password": self.password})

    def _token(self, response) -> str:
        self.token = json_string(response)
        self.session = fingerprint(self.token)
        return self.token

    @task
    def checkout(self):
        try:
            if self.token is None:
                self.sign_up_and_log_in()
            mine = f"{cfg.REST}/carts/mine"
            self.call("my account", "GET", f"{cfg.REST}/customers/me", expect=self._is_me, headers=self.auth())
            self.call("my cart", "POST", mine, expect=lambda r: int(r.json()), headers=self.auth())
            for sku, qty in self.line_items():
                self.call("add item", "POST", f"{mine}/items", expect=json_object, headers=self.auth(),
                          json={"cartItem": {"sku": sku, "qty": qty}})
            methods = self.call("estimate shipping", "POST", f"{mine}/estimate-shipping-methods", expect=json_list,
                                headers=self.auth(), json={"address": {"country_id": cfg.ADDRESS["country_id"],
                                                                       "postcode": cfg.ADDRESS["postcode"]}})
            carrier, method = pick_carrier(methods)
            self.call("shipping information", "POST", f"{mine}/shipping-information", expect=json_object,
                      headers=self.auth(), json={"addressInformation": {
                          "shipping_address": cfg.ADDRESS, "billing_address": cfg.ADDRESS,
                          "shipping_carrier_code": carrier, "shipping_method_code": method}})
            self.call("place order", "POST", f"{mine}/payment-information", expect=order_id, headers=self.auth(),
                      json={"paymentMethod": {"method": "checkmo"}, "billingAddress": cfg.ADDRESS})
        except StepFailed:
            if self.last_status == 401:
                self.token = None  # the token was refused: log in again on the next round
            raise

    def _is_me(self, response) -> dict:
        me = json_object(response)
        if me.get("email") != self.email:
            raise ValueError(f"token answered for another customer ({me.get('email')!r})")
        return me


class StorefrontSession(GreenlightUser):
    """A shopper who stays logged in across the switch: log in, add to cart, then keep loading the private
    content sections and checking they still show *this* customer and *this* cart."""

    journey = "session"
    weight = cfg.weight("session", 2)
    abstract = weight == 0

    def __init__(self, environment):
        super().__init__(environment)
        self.accounts = itertools.count(1)
        self.password = "Gl-" + os.urandom(9).hex()
        self.email = None
        self.fullname = None
        self.expected: dict | None = None  # None: not logged in (yet, or again after a lost session)
        self.resync = False  # an add-to-cart whose outcome is unknown: adopt the next observed cart

    def session_id(self) -> str | None:
        return self.cookie("PHPSESSID")

    @task
    def shop(self):
        if self.expected is None:
            self.log_in_and_fill_cart()
        elif (sum(self.expected["cart"].values()) < cfg.SESSION_MAX_QTY
              and random.random() < cfg.SESSION_ADD_SHARE):
            self.add_to_cart()
        self.check_session()

    def create_account(self):
        tag = os.urandom(5).hex()
        first, last = f"Gl{tag}", "Session"
        email = f"{cfg.RUN_ID}-{self.uid}-{next(self.accounts)}@{cfg.EMAIL_DOMAIN}"
        self.call("create account", "POST", f"{cfg.REST}/customers", expect=json_object,
                  json={"customer": {"email": email, "firstname": first, "lastname": last},
                        "password": self.password})
        self.email, self.fullname = email, f"{first} {last}"

    def log_in_and_fill_cart(self):
        if self.email is None:
            self.create_account()
        self.client.cookiejar.clear()  # a fresh browser session
        self.expected, self.resync = None, False
        form_key = self.call("login page", "GET", "/customer/account/login/", expect=self._form_key)
        self.call("log in", "POST", "/customer/account/loginPost/", expect=self._logged_in, allow_redirects=False,
                  data={"form_key": form_key, "login[username]": self.email, "login[password]": self.password})
        self.expected = {"fullname": self.fullname, "cart": {}}
        self.add_to_cart()
        # A customer's cart outlives their sessions (the quote is kept and merged on login): the next check
        # learns its content while still checking who is logged in.
        self.resync = True

    def add_to_cart(self):
        product = random.choice(cfg.PRODUCT_IDS)
        sku, qty = cfg.SKU_BY_PRODUCT_ID[product], random.choice((1, 2))
        form_key = self.call("product page", "GET", f"/catalog/product/view/id/{product}",
                             "/catalog/product/view/id/:id", expect=self._form_key)
        try:
            self.call("add to cart", "POST", "/checkout/cart/add", expect=self._added, allow_redirects=False,
                      data={"product": product, "qty": qty, "form_key": form_key})
        except StepFailed:
            self.resync = True  # the item may or may not be in the cart now
            raise
        cart = self.expected["cart"]
        cart[sku] = cart.get(sku, 0.0) + float(qty)

    def check_session(self):
        with self.client.request("GET", "/customer/section/load/?sections=cart,customer",
                                 name="/customer/section/load/", catch_response=True,
                                 context={"step": "resync" if self.resync else "session check"}) as resp:
            self.last_status = resp.status_code
            if not 200 <= resp.status_code < 300:
                return  # status failure, recorded as such; the session itself is judged on the next check
            try:
                observed = self.observe(resp.json())
            except Exception as exc:  # noqa: BLE001 - any unreadable answer is a failed check, not a crashed user
                resp.failure(f"session check: unreadable sections: {exc}")
                return
            if self.resync:  # the cart is whatever the store says; who is logged in is still checked
                self.resync = False
                self.expected = {"fullname": self.fullname, "cart": dict(observed["cart"])}
            ok = observed == self.expected
            note(resp, probe={"ok": ok, "expected": self.expected, "observed": observed})
            if not ok:
                resp.failure("session check: the store no longer shows this customer's session")
                self.expected = None  # like a real shopper: log in again and start a new cart

    @staticmethod
    def observe(sections: dict) -> dict:
        customer = sections.get("customer") or {}
        items = (sections.get("cart") or {}).get("items") or []
        cart: dict[str, float] = {}
        for item in items:
            cart[item["product_sku"]] = cart.get(item["product_sku"], 0) + float(item["qty"])
        return {"fullname": customer.get("fullname") if isinstance(customer, dict) else None, "cart": cart}

    def _form_key(self, response) -> str:
        m = FORM_KEY_RE.search(response.text or "")
        key = (m.group(1) or m.group(2)) if m else self.cookie("form_key")
        if not key:
            raise ValueError("no form_key on the page")
        return key

    def _logged_in(self, response) -> None:
        where = response.headers.get("location") or ""
        if response.status_code != 302 or "/customer/account/login" in where:
            raise ValueError(f"login refused (status {response.status_code}, to {where or '-'})")

    def _added(self, response) -> None:
        if response.status_code not in (200, 302):
            raise ValueError(f"unexpected status {response.status_code}")


class Browse(GreenlightUser):
    """A visitor: home page and a product page, each with every /static/ asset the page references."""

    journey = "browse"
    weight = cfg.weight("browse", 1)
    abstract = weight == 0

    def session_id(self) -> str | None:
        return self.cookie("PHPSESSID")

    @task
    def browse(self):
        self.view("home page", "/", "/")
        product = random.choice(cfg.PRODUCT_IDS)
        self.view("product page", f"/catalog/product/view/id/{product}", "/catalog/product/view/id/:id")

    def view(self, step: str, path: str, name: str):
        page_release, assets = self.call(step, "GET", path, name, expect=self._page)
        for asset in assets:
            self.call("static asset", "GET", asset, STATIC_VERSION_RE.sub("/static/version:v/", asset),
                      expect=lambda r, url=asset: self._asset(r, url), context={"page_release": page_release})

    def _page(self, response) -> tuple[str | None, list[str]]:
        assets = []
        for m in ASSET_RE.finditer(response.text or ""):
            parts = urlsplit(m.group(1) or m.group(2))
            if parts.path.startswith("/static/"):
                url = parts.path + (f"?{parts.query}" if parts.query else "")
                if url not in assets:
                    assets.append(url)
        return response.headers.get(cfg.RELEASE_HEADER), assets

    def _asset(self, response, url: str) -> None:
        # Judged later against the digests learnt from the page's release's nodes (no marker in real assets).
        note(response, asset={"url": url, "sha256": hashlib.sha256(response.content or b"").hexdigest()})
