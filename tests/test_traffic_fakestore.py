"""A tiny Magento-shaped HTTP server (stdlib, loopback) for testing the traffic without the replica.

It answers just the routes the journeys use (shared/reference/magento.md), keeps sessions in memory so a test
can lose them on purpose, and can be cut (listener closed) for a moment to produce transport errors.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import magento_markup as markup

RELEASE = "fake-r1"
NODE = "fake-1"
PAGE_ASSETS = ('<link rel="stylesheet" href="/static/version7/frontend/Greenlight/luma/en_US/css/styles.css">'
               '<script src="http://127.0.0.1/static/version7/frontend/Greenlight/luma/en_US/js/app.js"></script>'
               '<link rel="icon" href="/favicon.ico">')


class FakeStore:
    def __init__(self):
        self.lock = threading.Lock()
        self.carts: dict[str, dict] = {}  # masked id / "c:<email>" -> {sku: qty}
        self.customers: dict[str, dict] = {}  # email -> {password, firstname, lastname}
        self.tokens: dict[str, str] = {}  # token -> email
        self.logins: list[tuple[str, float, str]] = []  # (email, time, token) of every customer log-in
        self.secret = secrets.token_hex(8)
        self.sessions: dict[str, dict] = {}  # PHPSESSID -> data
        self.orders = 0
        self.seen: list[tuple[str, str]] = []  # (method, path) of every request, for the route contract tests
        self.server = None
        self.host = "127.0.0.1"   # another loopback address (127.0.0.2) stands for another droplet
        # Where add-to-cart sends the shopper: None as stock Magento does (checkout/cart/redirect_to_cart: the cart
        # page when set, else back to the page the form was on); a URL: a store whose DB holds another base URL.
        self.cart_redirect: str | None = None
        self.redirect_to_cart = False
        self.adds_lost = False  # a broken add-to-cart: the answer is the usual redirect, the cart unchanged
        self.shipping_methods = [("flatrate", "flatrate")]  # (carrier, method) offered for any address
        self.payment_methods = ["checkmo"]
        # A store with a base URL of its own: a storefront GET for another Host gets a 302 to it (Magento's
        # web/url/redirect_to_base), and with `secure` one that did not come in over https a 302 to https.
        self.base_host: str | None = None
        self.secure = False
        self.port = 0
        self._thread = None

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> FakeStore:
        store = self

        class Handler(_Handler):
            pass

        Handler.store = store
        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def cut(self, seconds: float) -> tuple[float, float]:
        """Close the listener for `seconds` (connections are refused), then listen again on the same port."""
        self.stop()
        began = time.time()
        time.sleep(seconds)
        ended = time.time()
        self.start()
        return began, ended

    def forget_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    store: FakeStore
    protocol_version = "HTTP/1.0"  # one request per connection: a cut refuses every new request

    def log_message(self, *args):  # quiet
        pass

    # -- plumbing ------------------------------------------------------------------------------------------------
    def _send(self, status: int, body, ctype="application/json", headers=None):
        data = body if isinstance(body, bytes) else (json.dumps(body) if ctype == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Served-By", NODE)
        self.send_header("X-Release", RELEASE)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if "json" in (self.headers.get("Content-Type") or ""):
            return json.loads(raw or b"null")
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

    def _session(self) -> tuple[str, dict, dict]:
        """(session id, data, headers to set) — a new session when the cookie is unknown."""
        cookies = dict(p.strip().split("=", 1) for p in (self.headers.get("Cookie") or "").split(";") if "=" in p)
        sid = cookies.get("PHPSESSID")
        with self.store.lock:
            known = sid in self.store.sessions
            if not known:
                sid = secrets.token_hex(13)
                self.store.sessions[sid] = {"form_key": secrets.token_hex(8), "cart": {}}
            data = self.store.sessions[sid]
        # RegisterFormKeyFromCookie: the browser's well-formed form_key cookie is the session's form key.
        if re.fullmatch(r"[A-Za-z0-9]{16}", cookies.get("form_key", "")):
            data["form_key"] = cookies["form_key"]
        return sid, data, {} if known else {"Set-Cookie": f"PHPSESSID={sid}; Path=/; HttpOnly"}

    def _page(self, title, data, extra=""):
        return (f'<html><head><title>{title}</title>{PAGE_ASSETS}</head><body>'
                f'<input type="hidden" name="form_key" value="{data["form_key"]}">{extra}</body></html>')

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    # -- routes --------------------------------------------------------------------------------------------------
    def _route(self, method):
        path = urlsplit(self.path).path
        self.store.seen.append((method, path))
        if path == "/healthz":
            return self._send(200, {"status": "ok"})
        if path == "/health_check.php":  # Magento's own: an empty 200
            return self._send(200, b"", "text/html")
        m = re.match(r"^/rest(?:/default)?/V1(/.*)$", path)
        if m:
            return self._rest(method, m.group(1))
        if path.startswith("/static/"):
            return self._send(200, "body{}\n", "text/css")
        base = self.store.base_host
        if method == "GET" and base and (self.headers.get("Host") != base or (
                self.store.secure and self.headers.get("X-Forwarded-Proto") != "https")):
            scheme = "https" if self.store.secure else "http"
            return self._send(302, b"", "text/html", {"Location": f"{scheme}://{base}{self.path}"})
        sid, data, set_cookie = self._session()
        html = "text/html"
        if method == "GET" and path in ("/", "/customer/account/login/"):
            return self._send(200, self._page("Home" if path == "/" else "Customer Login", data), html, set_cookie)
        m = re.match(r"^/catalog/product/view/id/(\d+)$", path)
        if method == "GET" and m:
            form = markup.product_form(self.store.url, int(m.group(1)), f"GL-{int(m.group(1)):04d}", data["form_key"])
            return self._send(200, self._page("Product", data, form), html, set_cookie)
        if method == "GET" and path == "/customer/account/":
            if "customer" not in data:
                return self._send(302, b"", html, {"Location": "/customer/account/login/", **set_cookie})
            return self._send(200, self._page("My Account", data), html, set_cookie)
        if method == "POST" and path == "/customer/account/loginPost/":
            form = self._body()
            cust = self.store.customers.get(form.get("login[username]"))
            if form.get("form_key") != data["form_key"] or not cust or cust["password"] != form.get("login[password]"):
                return self._send(302, b"", html, {"Location": "/customer/account/login/", **set_cookie})
            new_sid = secrets.token_hex(13)  # session id regenerated on login
            with self.store.lock:
                self.store.sessions.pop(sid, None)
                self.store.sessions[new_sid] = {**data, "customer": f'{cust["firstname"]} {cust["lastname"]}'}
            return self._send(302, b"", html, {"Location": "/customer/account/",
                                                "Set-Cookie": f"PHPSESSID={new_sid}; Path=/; HttpOnly"})
        if method == "POST" and re.match(r"^/checkout/cart/add(/|$)", path):
            form = self._body()
            if form.get("form_key") != data["form_key"]:
                return self._send(302, b"", html, {"Location": f"{self.store.url}/checkout/cart/", **set_cookie})
            sku = f"GL-{int(form['product']):04d}"
            if not self.store.adds_lost:
                data["cart"][sku] = data["cart"].get(sku, 0) + float(form["qty"])
            back = self.store.cart_redirect or (f"{self.store.url}/checkout/cart/" if self.store.redirect_to_cart
                                                else self.headers.get("Referer") or f"{self.store.url}/")
            return self._send(302, b"", html, {"Location": back, **set_cookie})
        if method == "GET" and path == "/checkout/cart/":
            items = [{"item_id": n, "product_id": int(s.rsplit("-", 1)[-1]), "sku": s, "name": s, "qty": q,
                      "price": price(s)} for n, (s, q) in enumerate(data["cart"].items(), 1)]
            page = self._page("Shopping Cart", data, markup.cart_page(self.store.url, data["form_key"], items))
            return self._send(200, page, html, set_cookie)
        if method == "GET" and path == "/checkout/":
            config = {"totalsData": totals(data["cart"]), "isCustomerLoggedIn": "customer" in data}
            return self._send(200, self._page("Checkout", data, markup.checkout_script(config)), html, set_cookie)
        if method == "GET" and path == "/checkout/onepage/success/":
            order = data.pop("last_order", None)
            if order is None:
                return self._send(302, b"", html, {"Location": "/checkout/cart/", **set_cookie})
            page = self._page("Success Page", data, markup.success_page(self.store.url, order, f"{order + 1000:09d}"))
            return self._send(200, page, html, set_cookie)
        if method == "GET" and path == "/customer/section/load/":
            customer = {"fullname": data["customer"]} if "customer" in data else {}
            items = [{"product_sku": s, "qty": q} for s, q in data["cart"].items()]
            return self._send(200, {"customer": customer, "cart": {"items": items}}, headers=set_cookie)
        return self._send(404, "<h1>Whoops</h1>", html)

    def _order(self, cart: dict) -> int:
        with self.store.lock:
            self.store.orders += 1
            return self.store.orders

    def _rest(self, method, path):
        store = self.store
        body = self._body() if method == "POST" else None
        auth = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if method == "POST" and path == "/guest-carts":
            masked = secrets.token_hex(16)
            store.carts[masked] = {}
            return self._send(200, masked)
        if method == "POST" and path == "/customers":
            c = body["customer"]
            if c["email"] in store.customers:
                return self._send(400, {"message": "A customer with the same email address already exists."})
            store.customers[c["email"]] = {"password": body["password"], **c}
            return self._send(200, {"id": len(store.customers), **c})
        if method == "POST" and path == "/integration/customer/token":
            cust = store.customers.get(body["username"])
            if not cust or cust["password"] != body["password"]:
                return self._send(401, {"message": "The account sign-in was incorrect"})
            # As Magento's JWT (uid, type, iat, exp; no jti): one customer's log-ins in the same second get one token.
            token = hashlib.sha256(f"{store.secret}:{body['username']}:{int(time.time())}".encode()).hexdigest()[:32]
            store.tokens[token] = body["username"]
            store.logins.append((body["username"], time.time(), token))
            return self._send(200, token)
        session = None
        m = re.match(r"^/guest-carts/([^/]+)(/[a-z-]+)?$", path)
        if m:
            key, action = m.group(1), m.group(2) or ""
            if key not in store.carts:
                return self._send(404, {"message": "No such entity with %fieldName = %fieldValue",
                                        "parameters": {"fieldName": "cartId", "fieldValue": key}})
            cart = store.carts[key]
        elif path.startswith("/customers/me") or path.startswith("/carts/mine"):
            if not auth:  # the storefront's own pages: the customer's session
                _sid, session, _set = self._session()
                if "customer" not in session:
                    return self._send(401, {"message": "The consumer isn't authorized to access %resources."})
                cart, action = session["cart"], path[len("/carts/mine"):]
            else:
                if auth not in store.tokens:
                    return self._send(401, {"message": "The consumer isn't authorized to access %resources.",
                                            "parameters": {"resources": "self"}})
                email = store.tokens[auth]
                if path == "/customers/me":
                    public = {k: v for k, v in store.customers[email].items() if k != "password"}
                    return self._send(200, {"id": 1, **public})
                key, action = f"c:{email}", path[len("/carts/mine"):]
                if action == "" and method == "POST":
                    store.carts.setdefault(key, {})
                    return self._send(200, 42)
                if key not in store.carts:
                    return self._send(404, {"message": "No such entity"})
                cart = store.carts[key]
        else:
            return self._send(404, {"message": "Request does not match any route."})
        if action == "" and method == "GET":
            return self._send(200, {"id": 42, "items": [{"sku": s, "qty": q} for s, q in cart.items()]})
        if action == "/items":
            item = body["cartItem"]
            cart[item["sku"]] = cart.get(item["sku"], 0) + item["qty"]
            return self._send(200, {"item_id": 1, "sku": item["sku"], "qty": item["qty"]})
        if action == "/totals":
            return self._send(200, totals(cart))
        if action == "/estimate-shipping-methods":
            return self._send(200, [{"carrier_code": c, "method_code": m, "available": True}
                                    for c, m in store.shipping_methods])
        if action == "/shipping-information":
            info = (body or {}).get("addressInformation") or {}
            if (info.get("shipping_carrier_code"), info.get("shipping_method_code")) not in store.shipping_methods:
                return self._send(400, {"message": "Carrier with such method not found: %1, %2"})
            return self._send(200, {"payment_methods": [{"code": p} for p in store.payment_methods],
                                    "totals": totals(cart, shipping=True)})
        if action == "/payment-information":
            if not cart:
                return self._send(400, {"message": "The shipping method is missing."})
            if ((body or {}).get("paymentMethod") or {}).get("method", "checkmo") not in store.payment_methods:
                return self._send(400, {"message": "The requested Payment Method is not available."})
            order = self._order(cart)
            cart.clear()
            if session is not None:
                session["last_order"] = order
            return self._send(200, order)
        return self._send(404, {"message": "Request does not match any route."})


def price(sku: str) -> float:
    """A stable price per SKU: GL-0003 costs 13.00; a real catalogue's SKU (any text) gets one from its letters."""
    tail = sku.rsplit("-", 1)[-1]
    return 10.0 + (int(tail) if tail.isdigit() else sum(map(ord, tail)) % 50)


def totals(cart: dict, shipping: bool = False) -> dict:
    """Magento-shaped totals that add up (5.00 shipping per item once a method is chosen)."""
    items = [{"name": s, "price": price(s), "qty": q, "row_total": round(price(s) * q, 2)} for s, q in cart.items()]
    sub = round(sum(i["row_total"] for i in items), 2)
    qty = sum(cart.values())
    ship = 5.0 * qty if shipping else 0.0
    return {"grand_total": round(sub + ship, 2), "subtotal": sub, "shipping_amount": ship, "items_qty": qty,
            "items": items}


def test_fake_store_answers_a_guest_checkout():
    # The fake must itself behave, or the traffic tests would prove nothing.
    store = FakeStore().start()
    try:
        with httpx.Client(base_url=store.url) as c:
            cart = c.post("/rest/V1/guest-carts").json()
            item = {"cartItem": {"sku": "GL-0001", "qty": 2}}
            assert c.post(f"/rest/V1/guest-carts/{cart}/items", json=item).status_code == 200
            pay = f"/rest/V1/guest-carts/{cart}/payment-information"
            assert c.get(f"/rest/V1/guest-carts/{cart}/totals").json()["grand_total"] == 22.0
            assert c.post(pay, json={"email": "a@b.c"}).json() == 1
            assert c.post(pay, json={"email": "a@b.c"}).status_code == 400  # the cart was emptied by the order
            assert c.get("/nope").headers["X-Release"] == RELEASE
    finally:
        store.stop()
