"""Magento 2.4 behaviours that break real cutovers, through the real replica: Cm_RedisSession locking, JWT customer
tokens, ConfigChangeDetector, the built-in full-page cache and its id_prefix, setup:upgrade's cache flush, the
stock nginx static rule, and cron/consumers on the live colour only."""
import base64
import concurrent.futures as cf
import json
import re
import shlex
import sys
import time
import uuid
from pathlib import Path

import docker
import httpx
import pytest

from harness.checks.form_key import browser_form_key
from harness.targets.base import other_colour
from harness.targets.replica import stack

pytestmark = pytest.mark.replica


@pytest.fixture(scope="module")
def nodes(gl_target):
    return {n.name: n for c in ("blue", "green") for n in gl_target.nodes(c)}


def _sh(service: str, cmd: str) -> str:
    c = docker.from_env().containers.get(stack.container(service))
    r = c.exec_run(["sh", "-c", cmd])
    assert r.exit_code == 0, r.output.decode(errors="replace")
    return r.output.decode(errors="replace")


def _redis(cmd: str, db: int = 2) -> str:
    return _sh("redis", f"redis-cli -n {db} {cmd}").strip()


def _customer(c: httpx.Client, base: str) -> tuple[str, str]:
    email, pw = f"replica-{uuid.uuid4().hex[:8]}@smoke.greenlight.test", "Passw0rd-" + uuid.uuid4().hex[:6]
    r = c.post(f"{base}/rest/V1/customers", json={"customer": {"email": email, "firstname": "Ann", "lastname": "Lee"},
                                                  "password": pw})
    assert r.status_code == 200, r.text
    return email, pw


def test_sessions_are_cm_redis_hashes_and_too_many_waiters_get_503(nodes):
    base = nodes["blue-1"].url
    with httpx.Client(timeout=20) as c:
        c.get(f"{base}/checkout/cart/")  # not page-cached: it starts a session
        sid = c.cookies["PHPSESSID"]
    key = f"sess_{sid}"
    assert _redis(f"type {key}") == "hash" and "_form_key" in _redis(f"hget {key} data")
    # A request stuck holding the lock: six waiters queue (max_concurrency), the seventh and later get 503.
    _redis(f"hset {key} lock 1 pid stuck-request")
    def one(_):
        with httpx.Client(timeout=20, cookies={"PHPSESSID": sid}) as c:
            return c.get(f"{base}/customer/section/load/", params={"sections": "customer"}).status_code
    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(9) as pool:
        statuses = sorted(pool.map(one, range(9)))
    assert statuses.count(503) >= 1, statuses
    # The waiters got through once break_after_frontend (5 s) broke the stuck lock.
    assert statuses.count(200) >= 1 and time.monotonic() - t0 >= 4, statuses
    assert _redis(f"hget {key} lock") == "0"


def test_jwt_customer_tokens_work_on_every_node_and_tampering_is_401(nodes):
    with httpx.Client(timeout=10) as c:
        email, pw = _customer(c, nodes["blue-1"].url)
        token = c.post(f"{nodes['blue-1'].url}/rest/V1/integration/customer/token",
                       json={"username": email, "password": pw}).json()
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header["alg"] == "HS256" and header["kid"] == "0"
        for n in nodes.values():
            me = c.get(f"{n.url}/rest/V1/customers/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["email"] == email
        forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        assert c.get(f"{nodes['green-1'].url}/rest/V1/customers/me",
                     headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_a_changed_config_file_makes_old_code_answer_500_but_healthz_stays_200(nodes):
    base = nodes["green-2"].url
    try:
        _sh("db", "mariadb magento -e \"REPLACE INTO flag VALUES ('config_hash', '{\\\"system\\\":\\\"x\\\"}', NOW())\"")
        r = httpx.get(f"{base}/customer/section/load/", params={"sections": "customer"}, timeout=10)
        assert r.status_code == 500 and "The configuration file has changed" in r.text
        rest = httpx.post(f"{base}/rest/V1/guest-carts", timeout=10)
        assert rest.status_code == 500
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200   # health_check.php skips the plugin
    finally:
        _sh("green-2", "php /srv/storefront/current/bin/magento app:config:import")
    assert httpx.get(f"{base}/customer/section/load/", params={"sections": "customer"}, timeout=10).status_code == 200


def test_full_page_cache_is_shared_by_installs_on_one_path_and_setup_upgrade_flushes_it(nodes, gl_target):
    url = "/catalog/product/view/id/7"
    store = {"Host": "shop.greenlight.test"}  # one store host, as the load balancer passes it to every node
    first = httpx.get(nodes["green-1"].url + url, headers=store, timeout=10)
    assert first.status_code == 200
    # green-2 runs the same release from the same path: same derived id_prefix, so green-1's entry is a hit there.
    again = httpx.get(nodes["green-2"].url + url, headers=store, timeout=10)
    assert again.headers.get("X-Magento-Cache-Debug") == "HIT"
    form_keys = r'value="[A-Za-z0-9]{16}"'  # each page's form key is filled in per visitor
    assert re.sub(form_keys, "", again.text) == re.sub(form_keys, "", first.text)
    # The identifier is the whole URL: another host name is another entry, and so is a logged-in context.
    assert httpx.get(nodes["green-2"].url + url, timeout=10).headers.get("X-Magento-Cache-Debug") == "MISS"
    vary = httpx.get(nodes["green-2"].url + url, headers=store, cookies={"X-Magento-Vary": "abc"}, timeout=10)
    assert vary.headers.get("X-Magento-Cache-Debug") == "MISS"
    # setup:upgrade empties the whole cache backend, whatever the prefix: every install's pages go cold.
    _sh("green-1", "php /srv/storefront/current/bin/magento setup:upgrade")
    cold = httpx.get(nodes["green-2"].url + url, headers=store, timeout=10)
    assert cold.headers.get("X-Magento-Cache-Debug") == "MISS"


def test_static_version_segment_is_stripped_and_missing_files_404(nodes):
    base = nodes["blue-2"].url
    path = "frontend/Greenlight/luma/en_US/css/styles.css"
    a = httpx.get(f"{base}/static/version1/{path}", timeout=10)
    b = httpx.get(f"{base}/static/version999999/{path}", timeout=10)
    assert a.status_code == b.status_code == 200 and a.content == b.content
    assert "greenlight-release" not in a.text          # no marker: judged by digests
    assert a.headers["X-Served-By"] == "blue-2" and "public" in a.headers.get("Cache-Control", "")
    assert httpx.get(f"{base}/static/version1/frontend/Greenlight/luma/en_US/js/nope.js", timeout=10).status_code == 404


def test_cron_on_the_idle_colour_is_found_by_the_infra_check(gl_target):
    import testinfra

    from suites.infra.test_background_jobs import background_job_problems

    hosts = {n.name: testinfra.get_host(f"docker://{n.address}") for c in ("blue", "green") for n in gl_target.nodes(c)}
    assert background_job_problems(gl_target, hosts) == []
    idle = gl_target.nodes(other_colour(gl_target.live_colour()))[0]
    _sh(idle.name, "greenlight-node cron on")
    try:
        problems = background_job_problems(gl_target, hosts, wait_s=5)
        assert any(idle.name in p and "crontab" in p for p in problems), problems
    finally:
        _sh(idle.name, "greenlight-node cron off && greenlight-node consumers stop")


# -- the storefront as Magento's templates and controllers make it (tests/test_magento_markup.py holds the parsers) --
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "locustfiles"))
import gl_checks as check  # noqa: E402


def _sql(statement: str) -> str:
    return _sh("db", f"mariadb -N magento -e {shlex.quote(statement)}")


def _logged_in(c: httpx.Client, base: str) -> str:
    email, pw = _customer(c, base)
    c.get(f"{base}/customer/account/login/")
    r = c.post(f"{base}/customer/account/loginPost/", data={
        "form_key": browser_form_key(c.cookies.jar, base), "login[username]": email, "login[password]": pw})
    assert r.status_code == 302 and "/customer/account/login" not in r.headers["location"], r.headers
    return email


def test_magento_never_sets_a_form_key_cookie_and_a_cached_pages_key_is_nobodys(nodes):
    base = nodes["blue-1"].url
    with httpx.Client(timeout=10) as c:
        for path in ("/customer/account/login/", "/catalog/product/view/id/3", "/checkout/cart/", "/"):
            for _ in range(2):  # a miss, then a hit of the full-page cache
                r = c.get(base + path)
                assert r.status_code == 200, path
                assert not [h for h in r.headers.get_list("set-cookie") if h.startswith("form_key=")], path
        # A plain client that posts the key a cached page carries is refused, as on Magento: it is not its session's.
        scraped = re.search(r'name="form_key" type="hidden" value="([^"]+)"', c.get(f"{base}/catalog/product/view/id/3").text)
        r = c.post(f"{base}/checkout/cart/add", data={"product": "3", "qty": "1", "form_key": scraped.group(1)})
        assert r.status_code == 302 and r.headers["location"].endswith("/checkout/cart/")
        assert check.error_messages(c.cookies.get("mage-messages")) == ["Your session has expired"]
        assert check.cart_page_lines(c.get(f"{base}/checkout/cart/").text) == {}
        # The browser's own cookie key is taken as the session's (RegisterFormKeyFromCookie), on any node.
        key = browser_form_key(c.cookies.jar, base)
        r = c.post(f"{nodes['green-2'].url}/checkout/cart/add", data={"product": "3", "qty": "1", "form_key": key})
        assert r.status_code == 302
        assert check.cart_page_lines(c.get(f"{base}/checkout/cart/").text) == {"GL-0003": 1.0}


def test_add_to_cart_goes_back_where_the_shopper_was_unless_redirect_to_cart_is_set(nodes):
    base = nodes["blue-2"].url
    page = f"{base}/catalog/product/view/id/4"
    with httpx.Client(timeout=10) as c:
        html = c.get(page).text
        action = check.add_to_cart_action(html, 4)
        assert action.startswith(f"{base}/checkout/cart/add/uenc/")
        post = {"product": "4", "qty": "1", "form_key": browser_form_key(c.cookies.jar, base)}
        assert c.post(action, data=post).headers["location"] == page              # the form's uenc
        assert c.post(f"{base}/checkout/cart/add", data=post, headers={"Referer": page}).headers["location"] == page
        # A referer outside the store: the base URL, never another host.
        foreign = c.post(f"{base}/checkout/cart/add", data=post, headers={"Referer": "http://evil.invalid/x"})
        assert foreign.headers["location"] == f"{base}/"
        ajax = c.post(action, data=post, headers={"X-Requested-With": "XMLHttpRequest"})
        assert ajax.status_code == 200 and ajax.json() == {}
        _sql("REPLACE INTO core_config_data (scope, scope_id, path, value) "
             "VALUES ('default', 0, 'checkout/cart/redirect_to_cart', '1')")
        try:
            assert c.post(action, data=post).headers["location"] == f"{base}/checkout/cart/"
            assert c.post(action, data=post, headers={"X-Requested-With": "XMLHttpRequest"}).json() == {
                "backUrl": f"{base}/checkout/cart/"}
        finally:
            _sql("DELETE FROM core_config_data WHERE path = 'checkout/cart/redirect_to_cart'")
        assert check.cart_page_lines(c.get(f"{base}/checkout/cart/").text) == {"GL-0004": 6.0}


def test_cart_checkout_and_success_pages_read_as_magentos_and_show_the_increment_id(nodes):
    base = nodes["green-1"].url
    with httpx.Client(timeout=10) as c:
        _logged_in(c, base)
        key = browser_form_key(c.cookies.jar, base)
        for product, qty in ((2, 1), (6, 2), (2, 1)):
            c.post(f"{base}/checkout/cart/add", data={"product": str(product), "qty": str(qty), "form_key": key})
        cart = c.get(f"{base}/checkout/cart/").text
        assert 'data-role="cart-item-qty"' in cart
        assert check.cart_page_lines(cart) == {"GL-0002": 2.0, "GL-0006": 2.0}
        config = check.checkout_config(c.get(f"{base}/checkout/").text)
        assert config["isCustomerLoggedIn"] is True and float(config["totalsData"]["items_qty"]) == 4
        address = {"firstname": "Ann", "lastname": "Lee", "street": ["1 Main St"], "city": "Austin",
                   "postcode": "78701", "country_id": "US", "telephone": "5125550100"}
        ajax = {"X-Requested-With": "XMLHttpRequest"}
        c.post(f"{base}/rest/default/V1/carts/mine/shipping-information", headers=ajax, json={"addressInformation": {
            "shipping_address": address, "billing_address": address, "shipping_carrier_code": "flatrate",
            "shipping_method_code": "flatrate"}})
        order = c.post(f"{base}/rest/default/V1/carts/mine/payment-information", headers=ajax,
                       json={"paymentMethod": {"method": "checkmo"}, "billingAddress": address}).json()
        assert isinstance(order, int)
        success = c.get(f"{base}/checkout/onepage/success/").text
        increment = check.order_number(success, order)
        assert re.fullmatch(r"\d{9}", increment) and int(increment) != order
        assert _sql(f"SELECT increment_id FROM sales_order WHERE entity_id = {order}").strip() == increment
