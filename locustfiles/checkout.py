"""Checkout traffic for a Magento 2 store, as shoppers make it:

- guests fill carts, leave them, come back to them later and check some of them out (REST);
- households of registered customers use the store from several devices (one bearer token each) and check out
  (REST);
- logged-in shoppers keep several browser sessions, add to cart from product pages, and check out through the
  checkout page to the success page;
- visitors browse pages and their static assets.

    locust -f locustfiles/checkout.py -H http://127.0.0.1:8080

Every request becomes one ledger line (gl_ledger). Every step checks what the shopper needs from the answer, not
only its status (gl_checks); a failed check is written on the ledger line with its name and reason. What users
hold (carts, tokens, sessions) is used again later, so a cutover is crossed by many of each; the ledger lines carry
the facts verdicts need to judge each customer's history (creds, cart_op, order). Settings: gl_settings.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import random
import re
import socket
import time
from http.cookiejar import CookieJar
from urllib.parse import urlsplit

import gevent
import gl_checks as check
from gl_checks import CheckFailed
from locust import FastHttpUser, between, events, task
from locust.exception import RescheduleTask, StopUser

import gl_distributed
import gl_lease  # noqa: F401  (quits when the harness that started it is gone)
import gl_ledger
import gl_settings as cfg
from harness.checks.form_key import browser_form_key
from harness.checks.page_scripts import on_load_requests

LEDGER = gl_ledger.attach(events, served_by_header=cfg.SERVED_BY_HEADER, release_header=cfg.RELEASE_HEADER)
HOST = socket.gethostname()
_user_seq = itertools.count(1)

ASSET_RE = re.compile(r'<link\b[^>]*\bhref="([^"]+)"|<script\b[^>]*\bsrc="([^"]+)"', re.I)
STATIC_VERSION_RE = re.compile(r"/static/version\d+/")
TOKEN_CLOCK_S = 1.05  # a JWT's iat has a resolution of one second (a little more: the store's clock is not ours)


def least_recently_used(held: list, last_used, n: int) -> list:
    """The n held things (carts, devices, browsers) left alone longest: a shopper comes back to what they have not
    looked at for a while, so everything held when a switch happens is used again soon after it."""
    return sorted(held, key=last_used)[:n]


class StepFailed(RescheduleTask):
    """The journey cannot go on (the failed request is already on the ledger); start it again after a wait."""


def fingerprint(kind: str, secret: str) -> str:
    """A stable id for a credential (token, cart id, session id) that never reveals it."""
    return f"{kind}:" + hashlib.sha256(secret.encode()).hexdigest()[:16]


def note(response, **fields) -> None:
    """Add fields to the ledger record of this response (it is written when its with-block ends)."""
    response.request_meta["context"].update(fields)


def content_type(response) -> str:
    return (getattr(response, "headers", None) or {}).get("content-type") or ""


def parsed(response):
    if response.status_code == 0 or "json" not in content_type(response):
        return None
    try:
        return response.json()
    except ValueError:
        return None


class RedirectRefused(ConnectionError):
    """A redirect to a host outside the allow-list: the request fails with the reason; it is never followed."""


def hold_to_allow_list(agent) -> None:
    """Every hop of every request goes through the user agent's _urlopen: a redirect to another host (a staging
    store whose DB still holds the production base URL) is refused there, before a byte is sent to it."""
    from harness.load.hosts import HostRefused, check_host

    urlopen = agent._urlopen

    def held(request):
        u = request.url_split
        where = f"{u.scheme}://{u.host}" + (f":{u.port}" if u.port else "")
        try:
            check_host(where, cfg.ALLOW_HOSTS)
        except HostRefused as exc:
            raise RedirectRefused(f"redirect to {u.host} not followed: {exc}") from None
        return urlopen(request)

    agent._urlopen = held


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
        hold_to_allow_list(self.client.client)

    def context(self) -> dict:
        return {"user": self.uid, "journey": self.journey, "session": self.session_id}

    def session_id(self) -> str | None:
        return self.session

    def cookie(self, name: str) -> str | None:
        for c in self.client.cookiejar:
            if c.name == name:
                return c.value
        return None

    def take_messages(self) -> str | None:
        """The `mage-messages` cookie, consumed as the page's JavaScript does."""
        value = self.cookie("mage-messages")
        if value is not None:
            for c in list(self.client.cookiejar):
                if c.name == "mage-messages":
                    self.client.cookiejar.clear(c.domain, c.path, c.name)
        return value

    def call(self, step: str, method: str, path: str, name: str | None = None, check_with=None,
             creds: dict | None = None, refused: str | None = None, context: dict | None = None, **kwargs):
        """One request, one ledger record. `check_with(response, body)` checks the answer and returns what the
        journey needs; the generic checks (status, error body, error page, error message) run first. `creds`
        ({kind: fingerprint}) are the credentials the request presents; `refused` names the check that fails when
        the store no longer knows them (401/404). Any failed check marks the step failed and raises StepFailed."""
        ctx = {"step": step, **(context or {})}
        if creds:
            ctx["creds"] = creds
        with self.client.request(method, path, name=name or path, catch_response=True, context=ctx,
                                 **kwargs) as resp:
            self.last_status = resp.status_code
            body = parsed(resp)
            failures = [] if resp.status_code == 0 else check.generic(
                resp.status_code, content_type(resp), resp.text or "", body, self.take_messages())
            if refused and resp.status_code in (401, 404):
                failures.append(check.failure(refused, f"HTTP {resp.status_code}: a credential this store issued "
                                                       "was refused"))
            value = None
            if not failures and resp.status_code and check_with is not None:
                try:
                    value = check_with(resp, body)
                except CheckFailed as exc:
                    failures.append(check.failure(exc.check, exc.reason))
            if failures:
                note(resp, failed_checks=failures)
                resp.failure("; ".join(f"{f['check']}: {f['reason']}" for f in failures))
            elif resp.status_code == 0:
                why = getattr(resp, "error", None)   # the transport's own reason (a refused redirect says where)
                resp.failure(f"{step}: no response" + (f": {why}" if why else ""))
        if failures or resp.status_code == 0:
            raise StepFailed()
        return value

    def line_items(self) -> list[tuple[str, int]]:
        count = random.randint(1, 3)
        return [(random.choice(cfg.SKUS), 2 if random.random() < cfg.QTY2_SHARE else 1) for _ in range(count)]

    def add_lines(self, lines: dict, sku: str, qty: float) -> None:
        lines[sku] = lines.get(sku, 0.0) + float(qty)

    def place_order(self, cart: Cart, url: str, name: str, told: dict, **kw) -> int:
        """Place the order; the ledger records what the customer was told (total, items) beside the order id."""
        items = dict(cart.lines) if cart.lines is not None else None  # what they put in and saw in the cart

        def placed(resp, body):
            oid = check.order_id(body)
            note(resp, order_id=oid, order={"id": oid, "grand_total": float(told["grand_total"]), "items": items},
                 cart_op={"cart": cart.key, "op": "order", "order_id": oid})
            return oid

        return self.call("place order", "POST", url, name, check_with=placed, **kw)


class Cart:
    """A cart the shopper knows: its key on the ledger and the lines they put in it (None: unknown, re-learn)."""

    def __init__(self, key: str, masked_id: str | None = None):
        self.key, self.masked_id = key, masked_id
        self.lines: dict[str, float] | None = {}
        self.used = time.monotonic()

    def read(self, observed: dict[str, float]) -> dict:
        """The history fact of a read, checked against the lines the shopper put in (adopting them if unknown)."""
        if self.lines is None:
            self.lines = dict(observed)
        else:
            check.same_lines("cart_contents", self.lines, observed)
        return {"cart": self.key, "op": "read", "items": observed}


class RestCheckout(GreenlightUser):
    """The REST checkout steps guests and customers share: add items, read the cart, totals, shipping, order."""

    abstract = True

    def add_items(self, cart: Cart, url: str, name: str, **kw):
        for sku, qty in self.line_items():
            op = {"cart": cart.key, "op": "add", "sku": sku, "qty": float(qty)}
            item = {"sku": sku, "qty": qty, **({"quote_id": cart.masked_id} if cart.masked_id else {})}
            try:
                self.call("add item", "POST", f"{url}/items", f"{name}/items", context={"cart_op": op},
                          check_with=lambda r, b, s=sku, q=qty: check.added_item(b, s, q),
                          json={"cartItem": item}, **kw)
            except StepFailed:
                cart.lines = None  # the item may or may not be in the cart now
                raise
            if cart.lines is not None:
                self.add_lines(cart.lines, sku, qty)

    def read_cart(self, step: str, cart: Cart, url: str, name: str, **kw):
        def observe(resp, body):
            observed = check.cart_lines(check.json_object(body).get("items"))
            note(resp, cart_op={"cart": cart.key, "op": "read", "items": observed})
            cart.read(observed)

        self.call(step, "GET", url, name, check_with=observe, **kw)

    def check_out(self, cart: Cart, url: str, name: str, **kw) -> int:
        lines = dict(cart.lines or {})
        self.call("totals", "GET", f"{url}/totals", f"{name}/totals",
                  check_with=lambda r, b: check.totals(b, lines if cart.lines is not None else None), **kw)
        carrier, method = self.call(
            "estimate shipping", "POST", f"{url}/estimate-shipping-methods", f"{name}/estimate-shipping-methods",
            check_with=lambda r, b: check.shipping_methods(b, cfg.SHIPPING_METHOD),
            json={"address": {"country_id": cfg.ADDRESS["country_id"], "postcode": cfg.ADDRESS["postcode"]}}, **kw)
        told = self.call("shipping information", "POST", f"{url}/shipping-information",
                         f"{name}/shipping-information",
                         check_with=lambda r, b: check.totals(check.json_object(b).get("totals"), None, True),
                         json={"addressInformation": {"shipping_address": cfg.ADDRESS, "billing_address": cfg.ADDRESS,
                                                      "shipping_carrier_code": carrier, "shipping_method_code": method}},
                         **kw)
        return self.place_order(cart, f"{url}/payment-information", f"{name}/payment-information", told,
                                json=self.payment(), **kw)

    def payment(self) -> dict:
        return {"paymentMethod": {"method": cfg.PAYMENT_METHOD}, "billingAddress": cfg.ADDRESS}


class GuestCheckout(RestCheckout):
    """A guest fills carts, leaves them, comes back to them later, and checks some of them out."""

    journey = "guest"
    weight = cfg.weight("guest", 3)
    abstract = weight == 0

    def __init__(self, environment):
        super().__init__(environment)
        self.carts: list[Cart] = []  # oldest first

    @task
    def shop(self):
        for _ in range(min(cfg.FILL_PER_ROUND, cfg.HELD_CARTS - len(self.carts))):
            self.fill_new_cart()
        for cart in self.carts_to_revisit():
            self.come_back_to(cart)
        if len(self.carts) >= cfg.HELD_CARTS or random.random() < cfg.CHECKOUT_SHARE:
            self.check_out_guest(self.carts.pop(0))

    def fill_new_cart(self):
        cart = self.call("create cart", "POST", f"{cfg.REST}/guest-carts", check_with=self._new_cart)
        self.carts.append(cart)
        self.add_items(cart, *self.where(cart))
        self.read_cart("cart", cart, *self.where(cart), **self.held(cart))

    def _new_cart(self, response, body) -> Cart:
        masked = check.json_string(body)
        cart = Cart(fingerprint("cart", masked), masked)
        self.session = cart.key  # the cart id identifies this guest's REST session
        note(response, creds={"guest_cart": cart.key})
        return cart

    def carts_to_revisit(self) -> list[Cart]:
        return least_recently_used(self.carts, lambda c: c.used, cfg.REVISITS)

    def come_back_to(self, cart: Cart):
        """The guest returns to a cart they left: it is still theirs and holds what they put in."""
        self.session, cart.used = cart.key, time.monotonic()
        try:
            self.read_cart("return to cart", cart, *self.where(cart), **self.held(cart))
        except StepFailed:
            self.carts.remove(cart)
            raise

    def check_out_guest(self, cart: Cart):
        self.session = cart.key
        self.check_out(cart, *self.where(cart), **self.held(cart))

    def payment(self) -> dict:
        return {"email": f"{cfg.RUN_ID}-{self.uid}-guest@{cfg.EMAIL_DOMAIN}", **super().payment()}

    @staticmethod
    def where(cart: Cart) -> tuple[str, str]:
        return f"{cfg.REST}/guest-carts/{cart.masked_id}", f"{cfg.REST}/guest-carts/:cartId"

    @staticmethod
    def held(cart: Cart) -> dict:
        return {"creds": {"guest_cart": cart.key}, "refused": "cart_honoured"}


class Account:
    """One customer of a household: their log-in, and the cart their account keeps whichever device they use."""

    def __init__(self, email: str, password: str):
        self.email, self.password = email, password
        self.cart = Cart(f"customer:{email.split('@')[0]}")
        self.cart.lines = None  # a customer's cart outlives devices: learn it on the first read
        self.last_login = -TOKEN_CLOCK_S

    def may_log_in(self) -> bool:
        # Never two log-ins of one customer in one second: Magento's JWT carries only uid, type, iat and exp (no jti),
        # so both would get the same token — one credential, not two.
        return time.monotonic() - self.last_login >= TOKEN_CLOCK_S


class Device:
    """A phone, tablet or computer signed in to one account: its bearer token and when it was last used."""

    def __init__(self, account: Account, token: str):
        self.account, self.token, self.used = account, token, time.monotonic()


class CustomerCheckout(RestCheckout):
    """A household of registered customers, each signed in on several of its devices (one bearer token each): a
    customer looks at their account on the devices left alone longest, fills their cart and checks out.

    Each account signs in on one more device a round until the household holds HELD_TOKENS; from then on, now and
    then one of them signs out of the device they just used and in again (a new token). Several accounts, because
    one customer gets at most one new token a second: the household holds all its devices within a few rounds, long
    before a switch, so the tokens that cross it are the ones held, not those a race against the clock produced."""

    journey = "customer"
    weight = cfg.weight("customer", 2)
    abstract = weight == 0

    def __init__(self, environment):
        super().__init__(environment)
        self.emails = itertools.count(1)
        self.password = "Gl-" + os.urandom(9).hex()  # never written anywhere
        self.accounts: list[Account] = []
        self.devices: list[Device] = []

    @task
    def shop(self):
        while len(self.accounts) < cfg.HOUSEHOLD_ACCOUNTS:
            self.sign_up()
        self.sign_in()
        for device in self.devices_to_revisit():
            self.who_am_i(device)
        if not self.devices or random.random() >= cfg.CART_SHARE:
            return
        device = random.choice(self.devices)
        account = device.account
        try:
            self.fill_cart(device)
            if random.random() < cfg.CHECKOUT_SHARE:
                self.check_out(account.cart, *self.mine(), **self.held(device))
                account.cart = Cart(account.cart.key)  # the ordered cart is closed; the next one starts empty
        except StepFailed:
            self.forget_if_refused(device)
            raise

    def sign_up(self):
        email = f"{cfg.RUN_ID}-{self.uid}-{next(self.emails)}@{cfg.EMAIL_DOMAIN}"
        self.call("create account", "POST", f"{cfg.REST}/customers", check_with=lambda r, b: check.json_object(b),
                  json={"customer": {"email": email, "firstname": "Green", "lastname": "Customer"},
                        "password": self.password})
        self.accounts.append(Account(email, self.password))  # only once created: a failed create retries afresh

    def sign_in(self):
        """One more device for each account that may log in, up to HELD_TOKENS for the household; once it holds
        them, in RELOGIN_SHARE of the rounds the device used last is signed out of and in again."""
        ready = sorted((a for a in self.accounts if a.may_log_in()), key=lambda a: a.last_login)
        room = cfg.HELD_TOKENS - len(self.devices)
        for account in ready[:max(room, 0)]:
            token = self.log_in(account)
            if token is not None:
                self.devices.append(Device(account, token))
        if room <= 0 and random.random() < cfg.RELOGIN_SHARE:
            # The device just used (after the switch: one already seen on the new colour), never one left alone.
            again = max((d for d in self.devices if d.account.may_log_in()), key=lambda d: d.used, default=None)
            if again is not None:
                token = self.log_in(again.account)
                if token is not None:
                    again.token, again.used = token, time.monotonic()

    def log_in(self, account: Account) -> str | None:
        """A new token for the account (None: the store handed out one the household holds, the same second)."""
        token = self.call("get token", "POST", f"{cfg.REST}/integration/customer/token",
                          check_with=lambda r, b: self._issued(r, check.json_string(b)),
                          json={"username": account.email, "password": account.password})
        account.last_login = time.monotonic()
        return None if any(d.token == token for d in self.devices) else token

    def _issued(self, response, token: str) -> str:
        self.session = fingerprint("tok", token)
        note(response, creds={"token": self.session})
        return token

    def devices_to_revisit(self) -> list[Device]:
        return least_recently_used(self.devices, lambda d: d.used, cfg.TOKEN_REVISITS)

    def who_am_i(self, device: Device):
        """A device comes back: its token still means this customer."""
        self.session, device.used = fingerprint("tok", device.token), time.monotonic()
        try:
            self.call("my account", "GET", f"{cfg.REST}/customers/me",
                      check_with=lambda r, b: check.customer_is(b, device.account.email), **self.held(device))
        except StepFailed:
            self.forget_if_refused(device)
            raise

    def forget_if_refused(self, device: Device):
        if self.last_status == 401 and device in self.devices:
            self.devices.remove(device)  # refused: the account signs in on another device some other round

    def fill_cart(self, device: Device):
        self.session = fingerprint("tok", device.token)
        self.call("my cart", "POST", f"{cfg.REST}/carts/mine", check_with=lambda r, b: check.order_id(b),
                  **self.held(device))
        self.add_items(device.account.cart, *self.mine(), **self.held(device))
        self.read_cart("cart", device.account.cart, *self.mine(), **self.held(device))

    @staticmethod
    def mine() -> tuple[str, str]:
        return f"{cfg.REST}/carts/mine", f"{cfg.REST}/carts/mine"

    @staticmethod
    def held(device: Device) -> dict:
        return {"creds": {"token": fingerprint("tok", device.token)}, "refused": "token_honoured",
                "headers": {"Authorization": f"Bearer {device.token}"}}


class BrowserSession:
    """One browser: its cookies, the account logged in there, and the cart the shopper expects to see."""

    def __init__(self, email: str, fullname: str, password: str):
        self.jar = CookieJar()
        self.email, self.fullname, self.password = email, fullname, password
        self.cart = Cart(f"customer:{email.split('@')[0]}")
        self.cart.lines = None  # learnt on the first look after logging in (the saved cart is restored)
        self.used = time.monotonic()


class StorefrontUser(GreenlightUser):
    """A user with several browsers on the storefront: each browser (anything with a `jar`) is its cookies, and its
    PHPSESSID cookie is the credential it holds, of kind `credential` (fingerprinted with `tag`)."""

    abstract = True
    credential, tag = "session", "sess"

    def session_id(self) -> str | None:
        return self.cookie("PHPSESSID")

    def use(self, browser):
        self.client.cookiejar = browser.jar  # switch browsers: the session and the user agent share one jar
        self.client.client.cookiejar = browser.jar

    def held(self) -> dict:
        sid = self.cookie("PHPSESSID")
        return {"creds": {self.credential: fingerprint(self.tag, sid)}} if sid else {}

    def form_key(self) -> str:
        """The browser's own form key, as Magento's form-key-provider.js makes it (harness/checks/form_key.py)."""
        return browser_form_key(self.client.cookiejar, self.host)

    def on_product_page(self, browser, html: str):
        """What else the browser does when a product page loads (nothing, unless a journey says so)."""

    def add_from_product_page(self, browser):
        """A product page's add-to-cart form, posted as the browser posts it (its action, the browser's form key,
        the page as Referer). The store then sends the shopper to the cart page (checkout/cart/redirect_to_cart) or
        back to the product page, whose mini-cart reloads (customer-data's cart section): either way they must
        then see the item in their cart. `browser.cart.lines` None: the cart's content is not known (not checked)."""
        product = random.choice(cfg.PRODUCT_IDS)
        sku, qty = cfg.SKU_BY_PRODUCT_ID[product], random.choice((1, 2))
        page_path, page = f"/catalog/product/view/id/{product}", {}

        def product_page(resp, _body):
            page["html"] = resp.text
            return check.add_to_cart_action(resp.text, product)

        action = self.call("product page", "GET", page_path, "/catalog/product/view/id/:id",
                           check_with=product_page, **self.held())
        self.on_product_page(browser, page.get("html", ""))
        expected = None if browser.cart.lines is None else dict(browser.cart.lines)
        if expected is not None:
            self.add_lines(expected, sku, qty)
        op = {"cart": browser.cart.key, "op": "add", "sku": sku, "qty": float(qty)}

        def landed(resp, _body):
            where = check.landed_after_add(resp.text, product)
            # A guest's first add starts the session (a cacheable product page sets no cookie): the credential is
            # the one this answer issued.
            if where == "cart":
                observed = check.cart_page_lines(resp.text)
                note(resp, cart_op={**op, "after": observed}, **self.held())  # the write, and the cart then seen
                if expected is not None:
                    check.same_lines("item_in_cart", expected, observed)
            else:
                note(resp, **self.held())
            return where

        try:
            where = self.call("add to cart", "POST", urlsplit(action).path, "/checkout/cart/add", check_with=landed,
                              context={"cart_op": op}, headers={"Referer": self.host.rstrip("/") + page_path},
                              data={"product": product, "qty": qty, "form_key": self.form_key()}, **self.held())
            if where == "product":
                self.mini_cart(browser, expected)
        except StepFailed:
            browser.cart.lines = None
            raise
        browser.cart.lines = expected

    def mini_cart(self, browser, expected: dict | None):
        """Back on the product page after adding: customer-data reloads the cart section the add invalidated."""
        def shows_item(resp, body):
            _who, observed = check.sections(body)
            note(resp, cart_op={"cart": browser.cart.key, "op": "read", "items": observed})
            if expected is not None:
                check.same_lines("item_in_cart", expected, observed)

        self.call("mini cart", "GET", "/customer/section/load/?sections=cart&force_new_section_timestamp=true",
                  "/customer/section/load/", check_with=shows_item, **self.held())


class StorefrontSession(StorefrontUser):
    """A logged-in shopper with several browser sessions: each comes back to check it still shows this customer
    and cart, adds to cart from a product page (then sees it in the cart), and sometimes checks out through the
    checkout page to the success page."""

    journey = "session"
    weight = cfg.weight("session", 2)
    abstract = weight == 0

    def __init__(self, environment):
        super().__init__(environment)
        self.accounts = itertools.count(1)
        self.password = "Gl-" + os.urandom(9).hex()
        self.browsers: list[BrowserSession] = []


    @task
    def shop(self):
        if len(self.browsers) < cfg.HELD_SESSIONS:
            self.open_a_browser()
        for browser in self.browsers_to_revisit():
            self.come_back(browser)
            if (browser.cart.lines is not None and sum(browser.cart.lines.values()) < cfg.SESSION_MAX_QTY
                    and random.random() < cfg.SESSION_ADD_SHARE):
                self.add_from_product_page(browser)
            if browser.cart.lines and random.random() < cfg.CHECKOUT_SHARE / 2:
                self.check_out(browser)

    def open_a_browser(self):
        tag = os.urandom(5).hex()
        first, last = f"Gl{tag}", "Session"
        email = f"{cfg.RUN_ID}-{self.uid}-{next(self.accounts)}@{cfg.EMAIL_DOMAIN}"
        self.call("create account", "POST", f"{cfg.REST}/customers", check_with=lambda r, b: check.json_object(b),
                  json={"customer": {"email": email, "firstname": first, "lastname": last}, "password": self.password})
        browser = BrowserSession(email, f"{first} {last}", self.password)
        self.log_in(browser)
        self.browsers.append(browser)
        self.come_back(browser)  # learns the cart the store restored at log-in
        self.add_from_product_page(browser)

    def log_in(self, browser: BrowserSession):
        self.use(browser)
        browser.jar.clear()
        self.call("login page", "GET", "/customer/account/login/",
                  check_with=lambda r, b: check.page_is(r.text, "Customer Login"))
        self.call("log in", "POST", "/customer/account/loginPost/", check_with=self._landed_logged_in,
                  data={"form_key": self.form_key(), "login[username]": browser.email,
                        "login[password]": browser.password})

    def _landed_logged_in(self, response, _body):
        check.page_is(response.text, "My Account")  # a refused log-in lands back on the login page
        note(response, **self.held())

    def browsers_to_revisit(self) -> list[BrowserSession]:
        return least_recently_used(self.browsers, lambda b: b.used, cfg.SESSION_REVISITS)

    def come_back(self, browser: BrowserSession):
        """The private content sections still show this customer and the cart they filled."""
        self.use(browser)
        browser.used = time.monotonic()
        resync = browser.cart.lines is None

        def same_session(resp, body):
            who, observed = check.sections(body)
            expected = {"fullname": browser.fullname, "cart": observed if resync else browser.cart.lines}
            seen = {"fullname": who, "cart": observed}
            note(resp, cart_op={"cart": browser.cart.key, "op": "read", "items": observed},
                 probe={"ok": seen == expected, "expected": expected, "observed": seen})
            check.session_kept(who, browser.fullname)
            browser.cart.read(observed)

        try:
            self.call("resync" if resync else "session check", "GET", "/customer/section/load/?sections=cart,customer",
                      "/customer/section/load/", check_with=same_session, **self.held())
        except StepFailed:
            if self.last_status and self.last_status < 400:
                self.browsers.remove(browser)  # a lost session: this browser starts over with a new one
            raise

    def on_product_page(self, browser: BrowserSession, html: str):
        self.run_page_scripts(browser, html)

    def run_page_scripts(self, browser: BrowserSession, html: str):
        """What the page's scripts request on load (its private-content section reloads), all at once on this
        browser's session, as a browser does: concurrent requests wait on the session's lock."""
        failed = []

        def one(url: str):
            def shows_customer(_resp, body):
                who, _ = check.sections(body)
                if "customer" in url.split("sections=", 1)[-1].split(","):
                    check.session_kept(who, browser.fullname)

            try:
                self.call("page sections", "GET", url, "/customer/section/load/", check_with=shows_customer,
                          **self.held())
            except StepFailed:
                failed.append(url)

        gevent.joinall([gevent.spawn(one, url) for url in on_load_requests(html)])
        if failed:
            raise StepFailed()

    def check_out(self, browser: BrowserSession):
        """Checkout page → shipping and payment through the page's REST calls (session cookie) → success page."""
        cart = browser.cart
        lines = dict(cart.lines)
        self.call("checkout page", "GET", "/checkout/", "/checkout/", **self.held(),
                  check_with=lambda r, b: check.totals(check.checkout_config(r.text).get("totalsData"), lines))
        rest, ajax = cfg.STOREFRONT_REST, {"X-Requested-With": "XMLHttpRequest"}
        # The shipping step asks for the methods of the address as it is filled in (Magento_Checkout's rate
        # processor), then saves the one chosen.
        carrier, method = self.call(
            "estimate shipping", "POST", f"{rest}/carts/mine/estimate-shipping-methods",
            f"{rest}/carts/mine/estimate-shipping-methods", headers=ajax, **self.held(),
            check_with=lambda r, b: check.shipping_methods(b, cfg.SHIPPING_METHOD),
            json={"address": {k: cfg.ADDRESS[k] for k in ("country_id", "postcode", "region_id") if k in cfg.ADDRESS}})
        told = self.call("shipping information", "POST", f"{rest}/carts/mine/shipping-information",
                         f"{rest}/carts/mine/shipping-information", headers=ajax, **self.held(),
                         check_with=lambda r, b: check.totals(check.json_object(b).get("totals"), lines, True),
                         json={"addressInformation": {"shipping_address": cfg.ADDRESS, "billing_address": cfg.ADDRESS,
                                                      "shipping_carrier_code": carrier,
                                                      "shipping_method_code": method}})
        order = self.place_order(cart, f"{rest}/carts/mine/payment-information",
                                         f"{rest}/carts/mine/payment-information", told, headers=ajax,
                                         json={"paymentMethod": {"method": cfg.PAYMENT_METHOD},
                                               "billingAddress": cfg.ADDRESS},
                                         **self.held())
        cart.lines = {}  # the ordered cart is closed; the session's next cart starts empty
        self.call("success page", "GET", "/checkout/onepage/success/", "/checkout/onepage/success/", **self.held(),
                  check_with=lambda r, b: (check.page_is(r.text, "Success Page"), check.order_number(r.text, order)))


class GuestVisitor:
    """One guest's browser: its cookies (the session holds the cart: no account, no REST cart id) and the lines the
    guest put in."""

    def __init__(self):
        self.jar = CookieJar()
        self.cart = Cart(f"guest-storefront:{os.urandom(6).hex()}")
        self.used = time.monotonic()


class GuestStorefrontCart(StorefrontUser):
    """Guests on the storefront: each adds to cart from a product page (then sees it in the cart), leaves, and comes
    back later to a page whose mini-cart (customer-data's cart section) must still show what they put in. The
    session cookie is the guest's only credential: a release that cannot read the old colour's sessions empties
    every guest's cart at the switch."""

    journey = "guest_storefront"
    weight = cfg.weight("guest_storefront", 2)
    abstract = weight == 0
    credential, tag = "guest_session", "gsess"

    def __init__(self, environment):
        super().__init__(environment)
        self.visitors: list[GuestVisitor] = []


    @task
    def shop(self):
        for _ in range(min(cfg.VISITOR_FILL, cfg.HELD_VISITORS - len(self.visitors))):
            self.visit()
        for visitor in least_recently_used(self.visitors, lambda v: v.used, cfg.VISITOR_REVISITS):
            self.come_back(visitor)
        if len(self.visitors) >= cfg.HELD_VISITORS and random.random() < cfg.CHECKOUT_SHARE:
            self.visitors.pop(0)  # an abandoned cart: the guest never comes back

    def visit(self):
        visitor = GuestVisitor()
        self.use(visitor)
        self.visitors.append(visitor)
        try:
            self.add_from_product_page(visitor)
        except StepFailed:
            self.visitors.remove(visitor)
            raise

    def come_back(self, visitor: GuestVisitor):
        """The mini-cart on the guest's next page still shows what they put in."""
        self.use(visitor)
        visitor.used = time.monotonic()

        def still_theirs(resp, body):
            _who, observed = check.sections(body)
            note(resp, cart_op={"cart": visitor.cart.key, "op": "read", "items": observed})
            if visitor.cart.lines and not observed:
                raise CheckFailed("guest_session_kept", f"the guest's session shows an empty cart, not "
                                                        f"{visitor.cart.lines}: the session was not found")
            visitor.cart.read(observed)

        try:
            self.call("return to cart", "GET", "/customer/section/load/?sections=cart", "/customer/section/load/",
                      check_with=still_theirs, **self.held())
        except StepFailed:
            self.visitors.remove(visitor)
            raise


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
        page_release, assets = self.call(step, "GET", path, name, check_with=self._page)
        for asset in assets:
            self.call("static asset", "GET", asset, STATIC_VERSION_RE.sub("/static/version:v/", asset),
                      check_with=lambda r, b, url=asset: self._asset(r, url), context={"page_release": page_release})

    def _page(self, response, _body) -> tuple[str | None, list[str]]:
        assets = []
        for m in ASSET_RE.finditer(response.text or ""):
            parts = urlsplit(m.group(1) or m.group(2))
            if parts.path.startswith("/static/"):
                url = parts.path + (f"?{parts.query}" if parts.query else "")
                if url not in assets:
                    assets.append(url)
        if not assets:
            raise CheckFailed("page_assets", "the page references no static assets")
        return response.headers.get(cfg.RELEASE_HEADER), assets

    def _asset(self, response, url: str) -> None:
        # Judged later against the digests learnt from the page's release's nodes (no marker in real assets).
        note(response, asset={"url": url, "sha256": hashlib.sha256(response.content or b"").hexdigest()})
