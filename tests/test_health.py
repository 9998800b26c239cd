"""The one /healthz probe: it says who answered, and never raises for a node that is down."""
import socket

from harness.targets import health


def test_probe_of_a_closed_port_reports_the_transport_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h = health.probe(f"http://127.0.0.1:{port}", timeout=1)
    assert h.status is None and not h.ok and h.problem == "ConnectError"


def test_wait_healthy_gives_up_with_the_last_problem():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ok, last = health.wait_healthy(f"http://127.0.0.1:{port}", what="n", timeout=0.3, interval=0.1)
    assert not ok and "ConnectError" in str(last)


def test_the_probes_ask_the_targets_health_path():
    """A store's health path is its own (Magento ships pub/health_check.php): the probe, the gate's wait and the
    smoke checkout ask that path, and a path the store does not serve fails them."""
    from test_traffic_fakestore import FakeStore

    from harness.checks.smoke import smoke_checkout

    store = FakeStore().start()
    try:
        assert health.probe(store.url, path="/health_check.php").ok
        assert health.probe(store.url, path="/no-such-check").problem == "HTTP 404"
        ok, last = health.wait_healthy(store.url, what="fake", timeout=0.5, interval=0.1, path="/no-such-check")
        assert not ok and "/no-such-check answered 404" in str(last)
        assert smoke_checkout("fake-1", store.url, sku="GL-0001", health_path="/health_check.php").ok
        failed = smoke_checkout("fake-1", store.url, sku="GL-0001", health_path="/no-such-check")
        assert not failed.ok and failed.step == "healthz"
    finally:
        store.stop()


def test_the_smoke_checkout_pays_and_ships_as_the_targets_checkout_says():
    from test_traffic_fakestore import FakeStore

    from harness.checks.smoke import smoke_checkout
    from harness.config.checkout import Checkout

    store = FakeStore().start()
    store.shipping_methods, store.payment_methods = [("flatrate", "flatrate"), ("tablerate", "bestway")], ["free"]
    try:
        assert smoke_checkout("fake-1", store.url, sku="GL-0001",
                              checkout=Checkout(payment_method="free", shipping_method="tablerate_bestway")).ok
        refused = smoke_checkout("fake-1", store.url, sku="GL-0001", checkout=Checkout())  # checkmo: not on here
        assert not refused.ok and refused.step == "place_order" and "Payment Method" in refused.detail
        absent = smoke_checkout("fake-1", store.url, sku="GL-0001",
                                checkout=Checkout(payment_method="free", shipping_method="ups_GND"))
        assert not absent.ok and absent.step == "estimate_shipping" and "ups_GND" in absent.detail
    finally:
        store.stop()
