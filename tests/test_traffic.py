"""The checkout traffic, run for real: locust subprocesses against a fake Magento-shaped store on loopback."""
from __future__ import annotations

import hashlib
import itertools
import json
import time
from pathlib import Path

import pytest
from test_traffic_fakestore import RELEASE

from harness.load.routes import match
from harness.load.traffic import HostRefused, LoadRun, check_host, count_requests, wait_until_requests

FAST = {"GREENLIGHT_WAIT_MIN_S": "0.05", "GREENLIGHT_WAIT_MAX_S": "0.2", "GREENLIGHT_SESSION_ADD_SHARE": "0.3"}


def records(ledger_dir: Path) -> list[dict]:
    return [json.loads(line) for shard in sorted(ledger_dir.glob("requests-*.jsonl")) for line in shard.open()]


def run_load(store, tmp_path, seconds=3, users=6, **kw) -> LoadRun:
    run = LoadRun(store.url, tmp_path / "ledger", users=users, spawn_rate=users, run_time_s=seconds,
                  run_id="t1", extra_env={**FAST, **kw.pop("extra_env", {})}, stop_timeout_s=3, **kw)
    return run.start()


def test_every_request_is_on_the_ledger_and_journeys_complete(store, tmp_path):
    run = run_load(store, tmp_path, seconds=4, users=8)
    assert run.wait() == 0, run.log_path.read_text()
    assert "Traceback" not in run.log_path.read_text()  # no journey crashed
    recs = records(run.ledger_dir)
    # The ledger is complete: one line per request Locust counted.
    assert len(recs) == run.locust_total() > 50
    assert {r["journey"] for r in recs} == {"guest", "customer", "session", "browse", "guest_storefront"}
    # Guests on the storefront: their session holds the cart, and the mini-cart shows it when they come back.
    back = [r for r in recs if r["journey"] == "guest_storefront" and r["step"] == "return to cart"]
    assert back and all("guest_session" in r["creds"] and r["cart_op"]["items"] for r in back)
    assert all(r["status"] == 200 or r["status"] == 302 for r in recs), [r for r in recs if r["error"]][:3]
    assert all(r["served_by"] == "fake-1" and r["release"] == RELEASE for r in recs)
    # Orders: every place-order record carries the id the store gave; ids are distinct.
    orders = [r["order_id"] for r in recs if r["step"] == "place order"]
    assert orders and len(set(orders)) == len(orders) == store.orders
    # Templates, not raw URLs, name the requests.
    assert any(r["name"] == "/rest/V1/guest-carts/:cartId/items" for r in recs)
    assert not any("/guest-carts/" in r["name"] and ":cartId" not in r["name"] for r in recs)
    # Long-lived sessions are checked and intact.
    probes = [r["probe"] for r in recs if "probe" in r]
    assert probes and all(p["ok"] for p in probes)
    assert any(p["expected"]["cart"] for p in probes)
    # Static assets name the release of their page, their URL and the sha256 of the bytes received.
    assets = [r for r in recs if r["step"] == "static asset"]
    body = hashlib.sha256(b"body{}\n").hexdigest()
    assert assets and all(r["page_release"] == RELEASE and r["asset"]["url"].startswith("/static/")
                          and r["asset"]["sha256"] == body for r in assets)
    assert not any(r["name"].endswith("favicon.ico") for r in assets)  # only /static/ assets
    # Contract: every route the traffic called is a stock Magento 2.4 route (harness/load/data/magento24_routes.toml).
    unknown = sorted({(r["method"], r["name"]) for r in recs if match(r["method"], r["name"]) is None})
    assert not unknown, f"the traffic calls routes a real Magento 2.4 store does not have: {unknown}"
    # Sessions are identified, bearer tokens never written.
    assert all(r["session"] for r in recs if r["journey"] == "guest")
    customer_sessions = {r["session"] for r in recs if r["journey"] == "customer" and r["step"] != "create account"}
    assert customer_sessions and all(s.startswith("tok:") for s in customer_sessions)
    text = "".join(p.read_text() for p in run.ledger_dir.glob("requests-*.jsonl"))
    assert not any(token in text for token in store.tokens)
    assert not any(c["password"] in text for c in store.customers.values())


@pytest.mark.parametrize("to_cart, lost", [(False, False), (True, False), (False, True)],
                         ids=["back-to-the-product-page", "redirect-to-cart", "add-lost"])
def test_an_add_to_cart_is_checked_wherever_the_store_sends_the_shopper(store, tmp_path, to_cart, lost):
    """Stock Magento sends the shopper back to the product page (its mini-cart then reloads the cart section);
    with checkout/cart/redirect_to_cart, to the cart page. Either way the journey checks the item is in the cart,
    and an add the store answered as usual but never made fails the step."""
    store.redirect_to_cart, store.adds_lost = to_cart, lost
    run = run_load(store, tmp_path, seconds=4, users=6,
                   extra_env={"GREENLIGHT_WEIGHT_GUEST": "0", "GREENLIGHT_WEIGHT_CUSTOMER": "0",
                              "GREENLIGHT_WEIGHT_BROWSE": "0", "GREENLIGHT_WEIGHT_SESSION": "2"})
    assert run.wait() == 0, run.log_path.read_text()
    recs = records(run.ledger_dir)
    adds = [r for r in recs if r["step"] == "add to cart"]
    minis = [r for r in recs if r["step"] == "mini cart"]
    assert len(adds) >= 10 and all(r["status"] == 200 for r in adds)
    if to_cart:
        assert not minis and all("after" in r["cart_op"] and not r.get("failed_checks") for r in adds)
    elif not lost:
        assert all("after" not in r["cart_op"] and not r.get("failed_checks") for r in adds)
        assert len(minis) >= len(adds) - 6 and all(not r.get("failed_checks") for r in minis)
    else:
        assert minis and all(r["failed_checks"][0]["check"] == "item_in_cart" for r in minis), minis[:2]


def test_a_cut_shows_up_as_status_0_records_inside_the_cut(store, tmp_path):
    run = run_load(store, tmp_path, seconds=5, users=6)
    wait_until_requests(run.ledger_dir, 30, timeout=15, run=run)
    began, ended = store.cut(1.0)
    assert run.wait() == 0
    assert "Traceback" not in run.log_path.read_text()  # journeys survive dropped connections
    recs = records(run.ledger_dir)
    assert len(recs) == run.locust_total()
    cut = [r for r in recs if r["status"] == 0]
    assert cut, "no transport errors recorded during the cut"
    assert all(r["error"] for r in cut)
    # Every transport error started inside the cut (small slack for the listener closing).
    assert all(began - 0.2 <= r["ts"] <= ended + 0.1 for r in cut), [(r["ts"] - began) for r in cut]
    # Traffic resumed after the cut.
    assert any(r["status"] == 200 and r["ts"] > ended + 0.2 for r in recs)
    assert run.locust_failures() >= len(cut)


def _probes_so_far(ledger_dir: Path, since: float) -> list[tuple[str, dict]]:
    """(user, probe) of every complete ledger line written since `since` (the shard is still being appended to)."""
    out = []
    for shard in sorted(ledger_dir.glob("requests-*.jsonl")):
        for line in shard.read_text().splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue  # the line being written
            if "probe" in r and r["ts"] >= since:
                out.append((r["user"], r["probe"]))
    return out


def _lost_then_whole(probes: list[tuple[str, dict]]) -> bool:
    """Some shopper's probe failed, and every shopper has passed one since (so the last probes all pass)."""
    last: dict[str, bool] = {}
    lost = set()
    for user, p in probes:
        last[user] = p["ok"]
        if not p["ok"]:
            lost.add(user)
    return bool(lost) and all(last.values())


def test_a_lost_session_fails_its_probe(store, tmp_path):
    # Stopped when the shoppers have noticed and recovered, not after a fixed time: on a loaded machine 4 s of
    # load could end before a shopper probed again.
    run = run_load(store, tmp_path, seconds=120, users=4,
                   extra_env={"GREENLIGHT_WEIGHT_GUEST": "0", "GREENLIGHT_WEIGHT_CUSTOMER": "0",
                              "GREENLIGHT_WEIGHT_BROWSE": "0", "GREENLIGHT_HELD_SESSIONS": "1"})
    wait_until_requests(run.ledger_dir, 30, timeout=15, run=run)
    forgot = time.time()
    store.forget_sessions()  # what a flush of the session store does
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and not _lost_then_whole(_probes_so_far(run.ledger_dir, forgot)):
        time.sleep(0.3)
    run.stop()
    probes = [r["probe"] for r in records(run.ledger_dir) if "probe" in r]
    lost = [p for p in probes if not p["ok"]]
    assert lost, "the session loss went unnoticed"
    assert all(p["observed"]["fullname"] is None and p["expected"]["fullname"] for p in lost)
    # The shoppers logged in again and were whole afterwards: each one's last probe passed.
    last = {}
    for r in records(run.ledger_dir):
        if "probe" in r:
            last[r["user"]] = r["probe"]["ok"]
    assert last and all(last.values()), last


def test_stop_is_graceful_and_counts_match(store, tmp_path):
    run = run_load(store, tmp_path, seconds=120, users=5)
    wait_until_requests(run.ledger_dir, 40, timeout=15, run=run)
    assert run.is_running
    t0 = time.monotonic()
    run.stop()
    assert time.monotonic() - t0 < 10
    assert not run.is_running
    assert count_requests(run.ledger_dir) == run.locust_total() >= 40


@pytest.mark.parametrize("ending", ["run time", "stop"])
def test_two_workers_each_get_a_shard(store, tmp_path, ending):
    run = run_load(store, tmp_path, seconds=4 if ending == "run time" else 120, users=6, workers=2)
    if ending == "stop":  # SIGTERM to the master drains its workers before they quit
        wait_until_requests(run.ledger_dir, 60, timeout=15, run=run)
        assert run.stop() == 0, run.log_path.read_text()
    else:
        assert run.wait() == 0, run.log_path.read_text()
    shards = list(run.ledger_dir.glob("requests-*.jsonl"))
    assert len(shards) == 2
    assert count_requests(run.ledger_dir) == run.locust_total() > 20


def test_wait_until_requests_times_out_without_traffic(tmp_path):
    with pytest.raises(TimeoutError):
        wait_until_requests(tmp_path, 1, timeout=0.3)


@pytest.mark.parametrize("host", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:8081",
                                  "http://127.0.0.2:9", "http://greenlight-lb", "http://greenlight-blue-1:80"])
def test_loopback_and_project_containers_are_accepted(host):
    assert check_host(host) == host


@pytest.mark.parametrize("host", ["http://10.0.0.5:8080", "https://example.com", "http://192.168.1.1",
                                  "http://greenlight-lb.evil.com", "ftp://127.0.0.1", "127.0.0.1:8080"])
def test_other_hosts_are_refused_in_one_line(host, tmp_path):
    with pytest.raises(HostRefused) as err:
        LoadRun(host, tmp_path, users=1, spawn_rate=1, run_time_s=1, run_id="x")
    assert "\n" not in str(err.value) and "refusing" in str(err.value)
    assert not (tmp_path / "locust.log").exists()  # nothing was started


def test_an_explicit_allow_list_admits_a_named_host():
    assert check_host("http://203.0.113.10", allow_hosts=("203.0.113.10",)) == "http://203.0.113.10"


def crossing(recs: list[dict], at: float) -> set[str]:
    """Tokens presented (or issued) before `at` and presented again after it: what a switch at `at` would check."""
    before = {r["creds"]["token"] for r in recs if r["ts"] < at and r.get("creds", {}).get("token")}
    return before & {r["creds"]["token"] for r in recs if r["ts"] >= at and r.get("creds", {}).get("token")}


def test_a_household_holds_all_its_devices_within_seconds_and_each_crosses_any_later_moment(store, tmp_path):
    """Tokens cross a switch because they are held, not by luck of timing: the household's accounts fill its
    devices within seconds without ever logging one customer in twice in a second (the store would hand out the
    same token), and whatever moment after that a switch comes, every device held is used again after it."""
    only = {f"GREENLIGHT_WEIGHT_{j}": "0" for j in ("GUEST", "SESSION", "BROWSE")}
    run = run_load(store, tmp_path, seconds=14, users=1, extra_env={**only, "GREENLIGHT_CART_SHARE": "0.3"})
    assert run.wait() == 0, run.log_path.read_text()
    recs = [r for r in records(run.ledger_dir) if r["journey"] == "customer"]
    assert all(r["status"] == 200 for r in recs), [r for r in recs if r["status"] != 200][:3]
    by_account: dict[str, list[float]] = {}
    for email, t, _token in store.logins:
        by_account.setdefault(email, []).append(t)
    assert len(by_account) == 4
    gaps = [b - a for ts in by_account.values() for a, b in itertools.pairwise(ts)]
    assert gaps and min(gaps) >= 1.0  # never two log-ins of one customer in one second
    issued = [r for r in recs if r["step"] == "get token"]
    assert len({r["creds"]["token"] for r in issued}) == len(issued)  # every log-in a new device
    full = issued[19]["ts"]  # the 20th device
    assert full - issued[0]["ts"] < 8.0  # 4 accounts, a new device each a second (one customer alone: 20 s)
    end = recs[-1]["ts"]
    assert end - full > 4.5, (full - issued[0]["ts"], end - issued[0]["ts"])
    for at in (full + 0.5, full + 1.5, end - 3.0):  # 3 s after each: a few rounds, 8 devices looked at in each
        assert len(crossing(recs, at)) >= 19, at  # all 20 held (bar the one signed into again at that moment)


def test_a_redirect_to_a_host_outside_the_allow_list_is_never_followed(store, tmp_path):
    """A staging store whose DB still holds the production base URL redirects to it: that hop is a failed request
    with the reason, never sent (`.invalid` never resolves, so nothing could leave even if the guard broke)."""
    store.cart_redirect = "http://production.shop.invalid/checkout/cart/"
    run = run_load(store, tmp_path, seconds=4, users=6)
    assert run.wait() == 0, run.log_path.read_text()
    recs = records(run.ledger_dir)
    adds = [r for r in recs if r["step"] == "add to cart"]
    assert adds and all(r["status"] == 0 and "production.shop.invalid not followed" in (r["error"] or "")
                        for r in adds), adds[:2]
    assert all("only loopback" in r["error"] for r in adds)
    # Redirects within the store are followed as before (log-in lands on the account page).
    logins = [r for r in recs if r["step"] == "log in"]
    assert logins and all(r["status"] == 200 for r in logins)


def test_the_journeys_pay_and_ship_as_the_targets_checkout_says(store, tmp_path):
    """A store whose carriers are its own (tablerate) and whose payment is not Check / Money order: with [checkout]
    naming them, every order goes through; a shipping method the store does not offer fails the step, saying
    what it does offer."""
    from harness.config.checkout import Checkout

    store.shipping_methods = [("flatrate", "flatrate"), ("tablerate", "bestway")]
    store.payment_methods = ["purchaseorder_free"]
    pay = Checkout(payment_method="purchaseorder_free", shipping_method="tablerate_bestway",
                   address={"country_id": "DE", "postcode": "10115", "city": "Berlin", "street": ["Unter den Linden 1"],
                            "telephone": "+49301234567", "firstname": "G", "lastname": "L"})
    run = run_load(store, tmp_path / "ok", seconds=5, users=6, extra_env=pay.load_env())
    assert run.wait() == 0, run.log_path.read_text()
    recs = records(run.ledger_dir)
    orders = [r for r in recs if r["step"] == "place order"]
    assert orders and all(r["status"] == 200 for r in orders), orders[:2]
    assert not [r for r in recs if r.get("failed_checks")]
    # A method the store does not have for the address.
    absent = Checkout(payment_method="purchaseorder_free", shipping_method="ups_GND")
    run = run_load(store, tmp_path / "absent", seconds=4, users=6, extra_env=absent.load_env())
    assert run.wait() == 0, run.log_path.read_text()
    estimates = [r for r in records(run.ledger_dir) if r["step"] == "estimate shipping"]
    assert estimates and all(r["failed_checks"][0]["check"] == "shipping_offered"
                             and "ups_GND" in r["failed_checks"][0]["reason"]
                             and "tablerate_bestway" in r["failed_checks"][0]["reason"] for r in estimates)
