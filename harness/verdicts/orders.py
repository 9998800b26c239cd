"""Orders: the shop's database holds exactly the orders the customers were told were placed."""
from __future__ import annotations

from harness.context import RunContext
from harness.ledger import Ledger
from harness.verdicts.registry import EVIDENCE_MAX, Bounds, Verdict, verdict


def orders_reconciled(led: Ledger, db_order_ids: list[int] | None) -> Verdict:
    """Orders in the DB for this run equal the successful place-order responses: none lost, none doubled."""
    if db_order_ids is None:
        return Verdict("orders_reconciled", False, None, 0, "no database access: orders could not be reconciled")
    ok_ids: list[int] = []
    for i, oid in led.sparse["order_id"].items():
        if led.cols["status"][i] == 200:
            ok_ids.append(int(oid))
    seen, dups = set(), set()
    for o in ok_ids:
        (dups if o in seen else seen).add(o)
    db = set(db_order_ids)
    missing = sorted(seen - db)
    unexpected = sorted(db - seen)
    value = {"orders_placed": len(seen), "orders_in_db": len(db), "missing": len(missing),
             "unexpected": len(unexpected), "duplicated": len(dups)}
    ev = [{"missing": missing[:EVIDENCE_MAX], "unexpected": unexpected[:EVIDENCE_MAX],
           "duplicated": sorted(dups)[:EVIDENCE_MAX]}]
    if not seen and not db:
        return Verdict("orders_reconciled", False, value, 0, "no order was placed: nothing was reconciled")
    passed = not missing and not unexpected and not dups
    return Verdict("orders_reconciled", passed, value, 0,
                   f"{len(seen)} orders placed, {len(db)} in the DB" if passed else
                   f"{len(missing)} confirmed orders missing from the DB, {len(unexpected)} orders in the DB without a "
                   f"successful response, {len(dups)} order ids confirmed twice", ev if not passed else [])


def _facts(v: Verdict) -> dict:
    value = v.value or {}
    return {"totals": {"orders_placed": value.get("orders_placed", 0), "orders_in_db": value.get("orders_in_db", 0)}}


@verdict("orders_reconciled", family="orders", facts=_facts)
def _orders_reconciled(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Every confirmed order is in the DB once, and the DB has no order nobody was told about."""
    return orders_reconciled(led, ctx.db_order_ids)
