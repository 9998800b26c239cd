"""Customer histories (harness/verdicts/history.py): credentials crossing the switch, and carts judged as histories.
Each anomaly class is injected into an otherwise clean history and must be found, with the offending history."""
from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.ledger.records import load
from harness.verdicts.history import Switch, cart_histories, continuity

T0 = 1_800_000_000.0
SWITCH = T0 + 50
SW = Switch(at=SWITCH, old_release="r1", new_release="r2")


def rec(ts, step="s", status=200, **extra) -> dict:
    new = ts >= SWITCH
    return {"ts": ts, "user": "u1", "journey": "guest", "step": step, "method": "GET", "name": "/x",
            "status": status, "ms": 10.0, "bytes": 1, "served_by": "green-1" if new else "blue-1",
            "release": "r2" if new else "r1", "session": None, "error": None, **extra}


def ledger(tmp_path, records):
    d = tmp_path / f"l{len(list(tmp_path.iterdir()))}"
    d.mkdir()
    (d / "requests-h-1.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return load(d)


def add(ts, cart, sku, qty, status=200, **kw):
    return rec(ts, "add item", status, cart_op={"cart": cart, "op": "add", "sku": sku, "qty": qty}, **kw)


def read(ts, cart, items, status=200, **kw):
    return rec(ts, "cart", status, cart_op={"cart": cart, "op": "read", "items": items}, **kw)


# -- cart histories -------------------------------------------------------------------------------------------------
def test_a_clean_history_that_crosses_the_switch_has_no_anomaly(tmp_path):
    led = ledger(tmp_path, [add(T0 + 1, "c1", "A", 1), add(T0 + 2, "c1", "B", 2), read(T0 + 3, "c1", {"A": 1, "B": 2}),
                            read(SWITCH + 1, "c1", {"A": 1, "B": 2}), add(SWITCH + 2, "c1", "A", 1),
                            read(SWITCH + 3, "c1", {"A": 2, "B": 2}),
                            rec(SWITCH + 4, "place order", cart_op={"cart": "c1", "op": "order", "order_id": 5}),
                            read(SWITCH + 5, "c1", {})])
    h = cart_histories(led, SW)
    assert h.anomalies == [] and h.checked == 1 and h.carts == 1


def test_a_line_lost_after_the_switch_is_an_anomaly_with_its_history(tmp_path):
    led = ledger(tmp_path, [add(T0 + 1, "c1", "A", 1), add(T0 + 2, "c1", "B", 2), read(T0 + 3, "c1", {"A": 1, "B": 2}),
                            read(SWITCH + 1, "c1", {"B": 2})])
    h = cart_histories(led, SW)
    assert [(a["anomaly"], a["sku"], a["expected"], a["observed"]) for a in h.anomalies] == [("lost", "A", 1.0, 0.0)]
    shown = h.anomalies[0]["history"]
    assert [op["op"] for op in shown] == ["add", "add", "read", "read"]
    assert shown[-1]["release"] == "r2" and shown[-1]["node"] == "green-1"
    assert h.to_dict()["lost"] == 1


def test_a_read_that_misses_a_write_just_acknowledged_is_lost_even_within_one_colour(tmp_path):
    led = ledger(tmp_path, [add(T0 + 1, "c1", "A", 1), read(T0 + 1.5, "c1", {})])
    assert [a["anomaly"] for a in cart_histories(led, SW).anomalies] == ["lost"]


def test_a_doubled_line_is_an_anomaly(tmp_path):
    led = ledger(tmp_path, [add(T0 + 1, "c1", "A", 2), read(SWITCH + 1, "c1", {"A": 4})])
    assert [a["anomaly"] for a in cart_histories(led, SW).anomalies] == ["doubled"]


def test_a_line_nobody_wrote_is_an_anomaly(tmp_path):
    led = ledger(tmp_path, [add(T0 + 1, "c1", "A", 2), read(SWITCH + 1, "c1", {"A": 2, "Z": 1})])
    assert [a["anomaly"] for a in cart_histories(led, SW).anomalies] == ["never written"]


@pytest.mark.parametrize("status", [0, 500, 503])
@pytest.mark.parametrize("applied", [True, False])
def test_an_add_with_an_unknown_outcome_may_or_may_not_show(tmp_path, status, applied):
    led = ledger(tmp_path, [add(T0 + 1, "c1", "A", 1), add(T0 + 2, "c1", "A", 2, status=status),
                            read(SWITCH + 1, "c1", {"A": 3 if applied else 1})])
    assert cart_histories(led, SW).anomalies == []


def test_a_storefront_add_carries_the_cart_it_landed_on(tmp_path):
    op = {"cart": "c1", "op": "add", "sku": "A", "qty": 1, "after": {}}
    led = ledger(tmp_path, [rec(T0 + 1, "add to cart", cart_op=op,
                                failed_checks=[{"check": "item_in_cart", "reason": "cart holds {}"}])])
    h = cart_histories(led, SW)
    assert [a["anomaly"] for a in h.anomalies] == ["lost"]


def test_a_read_by_a_session_that_lost_its_customer_is_not_a_read_of_the_cart(tmp_path):
    lost = read(SWITCH + 1, "c1", {}, failed_checks=[{"check": "session_kept", "reason": "anonymous"}])
    led = ledger(tmp_path, [add(T0 + 1, "c1", "A", 1), lost])
    assert cart_histories(led, SW).anomalies == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from("ABC"), st.integers(1, 3), st.sampled_from([200, 200, 200, 0, 503])),
                min_size=1, max_size=12), st.data())
def test_random_histories_consistent_with_the_store_never_show_anomalies(tmp_path, adds, data):
    """A store that applies every acknowledged add and any subset of unknown ones is never accused."""
    cart, records, ts = {}, [], T0
    for sku, qty, status in adds:
        ts += 3
        records.append(add(ts, "c1", sku, qty, status=status))
        if status == 200 or data.draw(st.booleans()):
            cart[sku] = cart.get(sku, 0) + qty
        if data.draw(st.booleans()):
            records.append(read(ts + 1, "c1", dict(cart)))
    records.append(read(ts + 100, "c1", dict(cart)))
    assert cart_histories(ledger(tmp_path, records), SW).anomalies == []


# -- credentials ----------------------------------------------------------------------------------------------------
def use(ts, kind, cid, status=200, refused=False):
    extra = {"failed_checks": [{"check": {"token": "token_honoured", "guest_cart": "cart_honoured",
                                          "session": "session_kept"}[kind], "reason": "refused"}]} if refused else {}
    return rec(ts, "use", status, creds={kind: cid}, **extra)


@pytest.mark.parametrize("kind", ["token", "guest_cart", "session"])
def test_credentials_used_on_both_sides_of_the_switch_cross(tmp_path, kind):
    led = ledger(tmp_path, [use(T0 + 1, kind, "a"), use(SWITCH + 2, kind, "a"),   # crosses
                            use(T0 + 2, kind, "b"),                               # never used again
                            use(SWITCH + 3, kind, "c"), use(SWITCH + 4, kind, "c")])  # issued after
    c = continuity(led, SW)[kind]
    assert (c.issued, c.checked, c.lost) == (3, 1, 0)


@pytest.mark.parametrize("kind, status", [("token", 401), ("guest_cart", 404), ("session", 200)])
def test_a_credential_refused_by_the_new_colour_is_lost(tmp_path, kind, status):
    led = ledger(tmp_path, [use(T0 + 1, kind, "a"), use(T0 + 5, kind, "a"),
                            use(SWITCH + 2, kind, "a", status=status, refused=True)])
    c = continuity(led, SW)[kind]
    assert (c.checked, c.lost) == (1, 1)
    assert c.evidence[0]["refused"]["release"] == "r2" and len(c.evidence[0]["history"]) == 3


def test_a_use_before_the_switch_answered_by_nobody_new_does_not_count_as_crossing(tmp_path):
    # After the switch, but still answered by the old release (before convergence): not yet a crossing.
    late_old = use(SWITCH + 1, "token", "a")
    late_old.update(release="r1", served_by="blue-1")
    led = ledger(tmp_path, [use(T0 + 1, "token", "a"), late_old])
    assert continuity(led, SW)["token"].checked == 0


@pytest.mark.parametrize("kind", ["token", "guest_cart", "session"])
def test_on_one_release_the_node_says_which_colour_answered(tmp_path, kind):
    """Re-certifying the live release: both colours serve r1. A use after the switch answered by a blue node is
    not a crossing; one answered by a green node is (and a refusal there is a loss)."""
    same = Switch(at=SWITCH, old_release="r1", new_release="r1", new_nodes=("green-1",), old_nodes=("blue-1",))
    on_old, on_new = use(SWITCH + 1, kind, "a"), use(SWITCH + 1, kind, "b", refused=True)
    on_old.update(release="r1", served_by="blue-1")
    on_new.update(release="r1")
    led = ledger(tmp_path, [use(T0 + 1, kind, "a"), on_old, use(T0 + 2, kind, "b"), on_new])
    for r in led.cols["release"]:
        assert r == "r1"
    c = continuity(led, same)[kind]
    assert (c.checked, c.lost) == (1, 1)
    assert c.evidence[0]["refused"]["node"] == "green-1"
