"""Every REST route and storefront URL the smoke checks call is one a stock Magento 2.4 store has (the table in
harness/load/data/magento24_routes.toml); the traffic's routes are held to the same table in test_traffic.py."""
import pytest
from test_traffic_fakestore import FakeStore

from harness.checks.sessions import page_cache_private, session_portable
from harness.checks.smoke import smoke_checkout, smoke_storefront
from harness.checks.tokens import token_portable
from harness.config.catalogue import Catalogue, CatalogueError
from harness.load.routes import match, routes
from harness.targets.base import Node


@pytest.fixture
def store():
    s = FakeStore().start()
    yield s
    s.stop()


def test_the_table_holds_magento_routes_and_refuses_others():
    assert len(routes()) > 20
    assert match("POST", "/rest/V1/guest-carts/0123abcd/payment-information").module == "Magento_Checkout"
    assert match("GET", "/rest/default/V1/carts/mine/totals").auth == "self"       # store code prefix
    assert match("POST", "/rest/V1/guest-carts/x/place-order") is None             # not a Magento route
    assert match("GET", "/rest/V1/carts/mine/orders") is None                      # no customer "mine" orders
    assert match("DELETE", "/rest/V1/guest-carts/x/items") is None                 # wrong method
    assert match("GET", "/customer/section/load/").kind == "storefront"


def test_every_call_of_the_smoke_checks_is_a_magento_route(store):
    node = Node("fake-1", "green", store.url)
    cat = Catalogue(skus=("SKU-A",), product_ids=(7,), email_domain="shop.example")
    assert smoke_checkout("fake-1", store.url, sku=cat.skus[0], email_domain=cat.smoke_email_domain).ok
    assert smoke_storefront("fake-1", store.url, product_id=cat.product_ids[0]).ok
    token_portable(node, node, email_domain=cat.smoke_email_domain, run_id="contract")
    session_portable(node, node, email_domain=cat.smoke_email_domain, run_id="contract")
    page_cache_private(node, product_id=cat.product_ids[0], email_domain=cat.smoke_email_domain, run_id="contract")
    called = sorted(set(store.seen))
    assert len(called) >= 8, called
    unknown = [c for c in called if match(*c) is None]
    assert not unknown, f"smoke checks call routes a real Magento 2.4 store does not have: {unknown}"


def test_catalogue_refuses_mismatched_ids_and_bad_domains():
    with pytest.raises(CatalogueError, match="product ids"):
        Catalogue(skus=("A", "B"), product_ids=(1,))
    with pytest.raises(CatalogueError, match="not a domain"):
        Catalogue(email_domain="not a domain")
    assert Catalogue(email_domain="shop.example").smoke_email_domain == "smoke.shop.example"


def _droplet_pair(shared: bool) -> tuple[FakeStore, FakeStore]:
    """Two 'droplets' on their own addresses (127.0.0.1, 127.0.0.2); `shared`: one session store (Redis) behind both."""
    a = FakeStore()
    b = FakeStore()
    b.host = "127.0.0.2"
    if shared:
        b.lock, b.sessions, b.customers, b.tokens, b.secret = a.lock, a.sessions, a.customers, a.tokens, a.secret
    return a.start(), b.start()


@pytest.mark.parametrize("shared", [True, False])
def test_session_portable_carries_the_session_between_hosts_on_purpose(shared):
    """A client never sends one host's cookie to another: on two droplets with their own addresses the gate must
    carry the session itself (as the load balancer's one host name does for a shopper), or every real pair is
    refused. Colours with separate session storage are still refused."""
    a, b = _droplet_pair(shared)
    try:
        na, nb = Node("blue-1", "blue", a.url), Node("green-1", "green", b.url)
        assert "127.0.0.2" in nb.url
        ok, why = session_portable(na, nb, email_domain="smoke.shop.example", run_id="pair")
    finally:
        a.stop()
        b.stop()
    assert ok is shared, why
    if not shared:
        assert "do not share session storage" in why


def test_node_checks_carry_the_store_host_as_the_load_balancer_would(store):
    """A real storefront answers a GET for another host with a 302 to its base URL, and a secure one sends plain
    http to https: checks that ask a node straight carry the store's Host and X-Forwarded-Proto
    (Target.store_headers), or every one of them meets the redirect."""
    from harness.targets.base import Router, Target

    class Lb(Router):
        lb_url = "https://shop.example.com"

        def live_colour(self):
            return "blue"

        def switch(self, to_colour):
            pass

    headers = Target(kind="x", router=Lb(), fleet=None).store_headers()
    assert headers == {"Host": "shop.example.com", "X-Forwarded-Proto": "https"}
    store.base_host, store.secure = "shop.example.com", True
    node = Node("fake-1", "green", store.url)
    args = {"email_domain": "smoke.shop.example", "run_id": "host"}
    assert smoke_storefront("fake-1", store.url, product_id=7, headers=headers).ok
    assert smoke_checkout("fake-1", store.url, sku="GL-0007", headers=headers).ok
    assert session_portable(node, node, headers=headers, **args) == (True, "")
    assert page_cache_private(node, product_id=7, headers=headers, **args) == (True, "")
    bare = smoke_storefront("fake-1", store.url, product_id=7)
    assert not bare.ok and "302" in bare.detail
    ok, why = session_portable(node, node, **args)
    assert not ok and "login page answered 302" in why
    plain = smoke_storefront("fake-1", store.url, product_id=7, headers={"Host": "shop.example.com"})
    assert not plain.ok  # the right host, but not over https
