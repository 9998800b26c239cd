"""told_orders over columns must say exactly what the per-record loop said (kept here as the oracle): duplicated
ids, failed confirmations, orders without what the customer was told or with part of it, two writer processes."""
from __future__ import annotations

import random

import orjson
import pytest

from harness.ledger import load
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
