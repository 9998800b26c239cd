"""told_orders over columns must say exactly what the per-record loop said (kept here as the oracle): duplicated
ids, failed confirmations, orders without what the customer was told or with part of it, two writer processes."""
from __future__ import annotations

import random

import orjson
import pytest

from harness.ledger.records import load
from harness.verdicts import orders


def told_orders_per_record(led) -> tuple[dict, set]:
    told, dups = {}, set()
    for i, raw in led.sparse["order_id"].items():
        if led.cols["status"][i] != 200:
            continue
        oid = int(raw)
        if oid in told:
            dups.add(oid)
        said = led.sparse["order"].get(i)
        told[oid] = {"ts": led.cols["ts"][i], "node": led.cols["served_by"][i], "release": led.cols["release"][i],
                     **(said if isinstance(said, dict) else {})}
    return told, dups


@pytest.mark.parametrize("seed", range(30))
def test_told_orders_over_columns_equal_the_per_record_loop(tmp_path, seed):
    rnd = random.Random(seed)
    for k in range(2):
        recs = []
        for i in range(rnd.randrange(5, 60)):
            r = {"ts": 1.0 + i, "user": "u", "journey": "g", "step": "s", "method": "GET", "name": "/x",
                 "status": rnd.choice([200, 200, 200, 500, None]), "ms": 1.0, "bytes": 1,
                 "served_by": rnd.choice(["blue-1", None]), "release": "r1", "session": None, "error": None}
            if rnd.random() < 0.6:
                oid = rnd.randrange(30)
                r["order_id"] = oid
                if rnd.random() < 0.8:
                    said = {"id": oid, "grand_total": rnd.choice([10.0, 20.0, 10]), "items": {"A": rnd.choice([1.0, 2])}}
                    if rnd.random() < 0.2:
                        del said["items"]
                    r["order"] = said
            recs.append(r)
        (tmp_path / f"requests-h-{k}.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    told, dups = orders.told_orders(load(tmp_path))
    assert (told, dups) == told_orders_per_record(load(tmp_path))
    db = {i: {"grand_total": 10.0, "items": {"A": 1.0}} for i in range(0, 30, 2)}
    v = orders.orders_reconciled(load(tmp_path), db, 0)
    assert v.passed == (not dups and all(
        oid in db and t.get("grand_total", 10.0) == 10.0 and t.get("items", {"A": 1.0}) == {"A": 1.0}
        for oid, t in told.items()) and set(db) <= set(told))


@pytest.mark.parametrize("seed", range(30))
def test_reconciling_over_columns_equals_order_by_order(tmp_path, seed):
    """The columnar reconciliation (compact DB orders, arrays) says what the dict-per-order one says: same value,
    detail and evidence, whatever the DB holds (missing, other totals or items, id-only, odd shapes, extra)."""
    rnd = random.Random(seed)
    recs = []
    for i in range(rnd.randrange(5, 80)):
        r = {"ts": 1.0 + i, "user": "u", "journey": "g", "step": "s", "method": "GET", "name": "/x",
             "status": rnd.choice([200, 200, 200, 500]), "ms": 1.0, "bytes": 1, "served_by": "blue-1",
             "release": "r1", "session": None, "error": None}
        if rnd.random() < 0.7:
            oid = rnd.randrange(40)
            r["order_id"] = oid
            if rnd.random() < 0.9:
                said = {"id": oid, "grand_total": rnd.choice([10.0, 20.0, 10, True, 10.004]),
                        "items": rnd.choice([{"A": 1.0}, {"A": 1.0, "B": 2.0}, {"B": 2.0, "A": 1.0}, {"A": 1}, None])}
                for key in ("items", "grand_total"):
                    if rnd.random() < 0.1:
                        del said[key]
                r["order"] = said if rnd.random() < 0.95 else "not an object"
        recs.append(r)
    (tmp_path / "requests-h-0.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    db = {}
    for oid in rnd.sample(range(50), rnd.randrange(0, 50)):
        db[oid] = rnd.choice([{"grand_total": 10.0, "items": {"A": 1.0}}, {"grand_total": 20.0, "items": {"A": 1.0,
                              "B": 2.0}}, {"grand_total": 10.0, "items": {"A": 2.0}}, {}, {"grand_total": 10.0},
                              {"grand_total": 10.0, "items": {}}])
    led = load(tmp_path)
    columns = orders._reconcile_columns(led, orders.StoredOrders.from_orders(db.items()))
    dicts = orders._reconcile_dicts(led, db)
    assert columns is not None
    for f in ("placed", "problems", "unexpected", "dups", "checked"):
        assert getattr(columns, f) == getattr(dicts, f), f
    for oid in columns.problems:
        assert columns.told(oid) == dicts.told(oid)
    stored = orders.StoredOrders.from_orders(db.items())
    assert dict(stored.items()) == db and len(stored) == len(db) and (51 in stored) is False
    v_columns, v_dicts = orders.orders_reconciled(led, stored, 0), orders.orders_reconciled(led, db, 0)
    assert (v_columns.passed, v_columns.value, v_columns.detail, v_columns.evidence) == \
        (v_dicts.passed, v_dicts.value, v_dicts.detail, v_dicts.evidence)


def test_stored_orders_from_db_rows_read_as_the_db_answered():
    """The DB's rows (Decimal totals and quantities, an order without items) read back as the dicts they were."""
    from decimal import Decimal
    rows = [(7, Decimal("30.00"), "A", Decimal("1.0000")), (7, Decimal("30.00"), "B", Decimal("2.0000")),
            (7, Decimal("30.00"), "A", Decimal("1.0000")), (3, Decimal("0.00"), None, None),
            (9, Decimal("30.00"), "B", Decimal("2.0000")), (9, Decimal("30.00"), "A", Decimal("2.0000"))]
    stored = orders.StoredOrders.from_rows(rows)
    assert dict(stored) == {7: {"grand_total": 30.0, "items": {"A": 2.0, "B": 2.0}},
                            3: {"grand_total": 0.0, "items": {}},
                            9: {"grand_total": 30.0, "items": {"B": 2.0, "A": 2.0}}}
    assert list(stored) == [3, 7, 9] and stored.get(8) is None and "7" not in stored and len(stored.item_sets) == 3
