"""The storefront through the real replica: Magento's shapes, state shared across nodes and colours, errors."""
import re
import uuid

import docker
import httpx
import pytest

from harness.checks.form_key import browser_form_key
from harness.targets.health import wait_healthy
from harness.targets.replica import stack

pytestmark = pytest.mark.replica
ADDRESS = {"firstname": "Ann", "lastname": "Lee", "street": ["1 Main St"], "city": "Austin", "postcode": "78701",
           "country_id": "US", "telephone": "5125550100"}


@pytest.fixture(scope="module")
def urls(gl_target):
    return {n.name: n.url for c in ("blue", "green") for n in gl_target.nodes(c)}


def _checkout_guest(c: httpx.Client, base: str, qty=1) -> int:
    cart = c.post(f"{base}/rest/V1/guest-carts").json()
    assert re.fullmatch(r"[0-9a-f]{32}", cart)
    item = c.post(f"{base}/rest/V1/guest-carts/{cart}/items", json={"cartItem": {"sku": "GL-0003", "qty": qty, "quote_id": cart}}).json()
    assert {"item_id", "sku", "qty", "name", "price", "product_type", "quote_id"} <= set(item)
    totals = c.get(f"{base}/rest/default/V1/guest-carts/{cart}/totals").json()
    assert {"grand_total", "subtotal", "items_qty", "items", "total_segments", "quote_currency_code"} <= set(totals)
    methods = c.post(f"{base}/rest/V1/guest-carts/{cart}/estimate-shipping-methods", json={"address": {"country_id": "US"}}).json()
    assert {"carrier_code", "method_code", "carrier_title", "method_title", "amount", "available"} <= set(methods[0])
    info = c.post(f"{base}/rest/V1/guest-carts/{cart}/shipping-information", json={"addressInformation": {
        "shipping_address": ADDRESS, "billing_address": ADDRESS, "shipping_carrier_code": "flatrate",
        "shipping_method_code": "flatrate"}}).json()
    assert info["payment_methods"][0]["code"] == "checkmo" and info["totals"]["shipping_amount"] == 5 * qty
    order = c.post(f"{base}/rest/V1/guest-carts/{cart}/payment-information",
                   json={"email": f"replica-{uuid.uuid4().hex[:6]}@smoke.greenlight.test", "paymentMethod": {"method": "checkmo"}})
    assert order.status_code == 200, order.text
    assert isinstance(order.json(), int)
    return cart


def _stock(sku: str) -> float:
    db = docker.from_env().containers.get(stack.container("db"))
    r = db.exec_run(["mariadb", "-N", "magento", "-e", f"SELECT qty FROM catalog_product_entity WHERE sku = '{sku}'"])
    assert r.exit_code == 0, r.output
    return float(r.output.decode().strip())


def test_guest_checkout_returns_magento_shapes_and_an_order_once(urls):
    with httpx.Client(timeout=10) as c:
        before = _stock("GL-0003")
        cart = _checkout_guest(c, urls["blue-1"])
        assert _stock("GL-0003") <= before - 1   # the order took its stock (other tests' orders may take more)
        # The order is visible from another node and colour: the cart is gone, a second order is refused.
        again = c.post(f"{urls['green-2']}/rest/V1/guest-carts/{cart}/payment-information",
                       json={"email": "x@smoke.greenlight.test", "paymentMethod": {"method": "checkmo"}})
        assert again.status_code == 404
        assert again.json() == {"message": "No such entity with %fieldName = %fieldValue",
                                "parameters": {"fieldName": "cartId", "fieldValue": cart}}


def test_customer_checkout_across_nodes(urls):
    email = f"replica-{uuid.uuid4().hex[:8]}@greenlight.test"
    with httpx.Client(timeout=10) as c:
        cust = c.post(f"{urls['blue-1']}/rest/V1/customers",
                      json={"customer": {"email": email, "firstname": "Rep", "lastname": "Lica"}, "password": "Secret123!"})
        assert cust.status_code == 200 and cust.json()["email"] == email
        assert c.post(f"{urls['blue-2']}/rest/V1/integration/customer/token",
                      json={"username": email, "password": "wrong-pass"}).status_code == 401
        tok = c.post(f"{urls['green-1']}/rest/V1/integration/customer/token",
                     json={"username": email, "password": "Secret123!"}).json()
        h = {"Authorization": f"Bearer {tok}"}
        assert c.get(f"{urls['green-2']}/rest/V1/customers/me", headers=h).json()["email"] == email
        assert isinstance(c.post(f"{urls['blue-1']}/rest/V1/carts/mine", headers=h).json(), int)
        c.post(f"{urls['blue-2']}/rest/V1/carts/mine/items", headers=h, json={"cartItem": {"sku": "GL-0004", "qty": 2}})
        c.post(f"{urls['green-1']}/rest/V1/carts/mine/shipping-information", headers=h, json={"addressInformation": {
            "shipping_address": ADDRESS, "billing_address": ADDRESS, "shipping_carrier_code": "flatrate",
            "shipping_method_code": "flatrate"}})
        order = c.post(f"{urls['green-2']}/rest/V1/carts/mine/payment-information", headers=h,
                       json={"paymentMethod": {"method": "checkmo"}})
        assert order.status_code == 200 and isinstance(order.json(), int)


def test_storefront_session_started_on_blue_is_the_same_on_green(urls):
    email = f"replica-{uuid.uuid4().hex[:8]}@greenlight.test"
    with httpx.Client(timeout=10) as c:
        c.post(f"{urls['blue-1']}/rest/V1/customers",
               json={"customer": {"email": email, "firstname": "Sess", "lastname": "Ion"}, "password": "Secret123!"})
        c.get(f"{urls['blue-1']}/customer/account/login/")
        fk = browser_form_key(c.cookies.jar, urls["blue-1"])  # as Magento's form-key-provider.js makes it
        r = c.post(f"{urls['blue-1']}/customer/account/loginPost/",
                   data={"login[username]": email, "login[password]": "Secret123!", "form_key": fk})
        assert r.status_code == 302 and r.headers["location"] == "/customer/account/"
        c.post(f"{urls['blue-2']}/checkout/cart/add", data={"product": "5", "qty": "2", "form_key": fk})
        sections = c.get(f"{urls['green-2']}/customer/section/load/?sections=cart,customer")
        assert sections.headers["X-Served-By"] == "green-2"
        assert "no-cache" in sections.headers["cache-control"]
        s = sections.json()
        assert s["customer"]["fullname"] == "Sess Ion"
        assert [(i["product_sku"], i["qty"]) for i in s["cart"]["items"]] == [("GL-0005", 2)]


@pytest.mark.parametrize("body, status, fragment", [
    ("{not json", 400, "Decoding error"),
    ('{"cartItem": {"qty": 1}}', 400, '"%fieldName" is required'),
    ('{"cartItem": {"sku": "NOPE", "qty": 1}}', 404, "requested doesn't exist"),
    ('{"cartItem": {"sku": "GL-0001", "qty": 0}}', 400, "greater than 0"),
    # Finite stock: a sold-out product, and more than the last few.
    ('{"cartItem": {"sku": "GL-0031", "qty": 1}}', 400, "Product that you are trying to add is not available."),
    ('{"cartItem": {"sku": "GL-0032", "qty": 4}}', 400, "The requested qty is not available"),
])
def test_bad_input_is_a_4xx_with_magento_error_body(urls, body, status, fragment):
    with httpx.Client(timeout=10) as c:
        cart = c.post(f"{urls['green-1']}/rest/V1/guest-carts").json()
        r = c.post(f"{urls['green-1']}/rest/V1/guest-carts/{cart}/items", content=body,
                   headers={"Content-Type": "application/json"})
        assert r.status_code == status, r.text
        assert fragment in r.json()["message"]
        assert r.headers["X-Release"]


def test_unknown_route_is_magentos_404(urls):
    r = httpx.get(f"{urls['blue-1']}/rest/V1/no-such-thing", timeout=5)
    assert r.status_code == 404 and r.json() == {"message": "Request does not match any route."}


@pytest.mark.parametrize("service, part", [("redis", "redis"), ("db", "db")])
def test_healthz_turns_503_when_a_dependency_stops(gl_target, urls, service, part):
    # Magento's own pub/health_check.php: an empty 200 while the DB and cache answer.
    stock = httpx.get(f"{urls['blue-1']}/health_check.php", timeout=10)
    assert stock.status_code == 200 and stock.content == b"" and stock.headers["X-Release"]
    c = docker.from_env().containers.get(stack.container(service))
    c.pause()
    try:
        r = httpx.get(f"{urls['blue-1']}/healthz", timeout=10)
        assert r.status_code == 503, r.text
        assert r.json()[part] == "down" and part in r.json()["failing"]
        assert httpx.get(f"{urls['blue-1']}/health_check.php", timeout=10).status_code == 500  # and a 500
    finally:
        c.unpause()
    # Leave the replica as the next test expects it: every node healthy again AND the LB serving (HAProxy puts
    # the nodes back only after its `rise` checks pass, a few seconds after the nodes themselves recover).
    for name, base in [*urls.items(), ("the LB", f"http://127.0.0.1:{stack.lb_port()}")]:
        ok, problem = wait_healthy(base, what=f"{name} healthy after {service} came back", timeout=60)
        assert ok, f"{name} did not recover after {service} came back: {problem}"


def test_a_configurable_line_is_one_line_of_the_order_not_two(gl_target):
    """Magento stores a configurable product's line as a parent row and a child row of the same SKU and quantity:
    the order Greenlight reads from the DB holds it once."""
    db = docker.from_env().containers.get(stack.container("db"))
    sql = ("INSERT INTO sales_order (increment_id, quote_id, customer_id, customer_email, grand_total, created_at, "
           "release_id) VALUES ('cfg-test', 4000000000 + FLOOR(RAND() * 1000000), NULL, 'cfg@smoke.greenlight.test', "
           "29.00, NOW(6), 'r1'); SET @o = LAST_INSERT_ID(); "
           "INSERT INTO sales_order_item (order_id, product_type, sku, qty_ordered, price, row_total) "
           "VALUES (@o, 'configurable', 'MH01-XS-Black', 2, 12, 24); SET @p = LAST_INSERT_ID(); "
           "INSERT INTO sales_order_item (order_id, parent_item_id, product_type, sku, qty_ordered, price, row_total) "
           "VALUES (@o, @p, 'simple', 'MH01-XS-Black', 2, 0, 0); SELECT @o;")
    r = db.exec_run(["mariadb", "-N", "magento", "-e", sql])
    assert r.exit_code == 0, r.output
    order_id = int(r.output.decode().split()[-1])
    stored = gl_target.db.orders(ids=[order_id])
    assert stored[order_id]["items"] == {"MH01-XS-Black": 2.0}
