"""Orders: the shop's database holds exactly the orders the customers were told were placed, with what they were
told — the grand total quoted to them and the items and quantities in their cart. Judged on the finished run and
live in the watch window (the watch asks the DB for each order as it is confirmed)."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np

from harness.ledger.records import Ledger
from harness.targets.stored_orders import StoredOrders
from harness.verdicts.context import RunContext
from harness.verdicts.registry import (
    EVIDENCE_MAX,
    Bounds,
    LiveJudge,
    LiveScope,
    NotJudged,
    Verdict,
    inconclusive,
    verdict,
)

MONEY_TOLERANCE = 0.011
QTY_TOLERANCE = 1e-6


def told_orders(led: Ledger) -> tuple[dict[int, dict], set[int]]:
    """{order id: what the customer was told} for confirmed orders, and the ids confirmed more than once."""
    told, dups = {}, set()
    ids, said_col = led.sparse_col("order_id"), led.sparse_col("order")
    keep = np.flatnonzero(led.np("status")[ids.rows] == 200)
    rows = ids.rows[keep]
    said_at = said_col.positions(rows).tolist()
    ts, node, release = led.np("ts")[rows].tolist(), led.strs("served_by"), led.strs("release")
    nodes, releases = [node.values[c] for c in node.codes[rows].tolist()], [release.values[c] for c in
                                                                            release.codes[rows].tolist()]
    said_keys = list(said_col.subs)
    # Each key of what the customers were told, as one list over the confirmed orders (one pass per key, not one
    # object rebuilt per order); an order whose `order` lacks a key or is no object is rebuilt on its own.
    at = np.array(said_at, dtype=np.int64)
    whole = (at >= 0) & (said_col.own.codes[np.maximum(at, 0)] == said_col.own.dict_code) if len(said_col) else \
        np.zeros(len(at), dtype=bool)
    columns = []
    for key in said_keys:
        codes = said_col.codes_at(key, at)
        whole &= codes > 0
        values = said_col.sub(key).values
        columns.append([values[c] for c in codes.tolist()])
    raw = [ids.own.values[c] if c != ids.own.dict_code else None for c in ids.own.codes[keep].tolist()]
    oids = [int(r if r is not None else ids.value(j)) for r, j in zip(raw, keep.tolist(), strict=True)]
    if whole.all():  # the common case: one dict per order straight from the columns (said's keys win, as below)
        keys = ("ts", "node", "release", *said_keys)
        told = dict(zip(oids, map(dict, map(partial(zip, keys), zip(ts, nodes, releases, *columns, strict=True))), strict=True))
    else:
        for k, oid in enumerate(oids):
            said = dict(zip(said_keys, [col[k] for col in columns], strict=True)) if whole[k] else \
                said_col.value(said_at[k]) if said_at[k] >= 0 else None
            told[oid] = {"ts": ts[k], "node": nodes[k], "release": releases[k],
                         **(said if isinstance(said, dict) else {})}
    if len(told) < len(oids):
        dups = {oid for oid, n in Counter(oids).items() if n > 1}
    return told, dups


def content_problem(told: dict, stored: dict | None) -> str | None:
    """Why a stored order is not what its customer was told, or None."""
    if stored is None:
        return "missing from the database"
    if "grand_total" not in stored:  # the target gave ids only: presence is all that can be checked
        return None
    if told.get("grand_total") == stored["grand_total"] and told.get("items") == stored.get("items"):
        return None  # exactly what the customer was told (the common case; the checks below allow for rounding)
    if "grand_total" in told and abs(float(told["grand_total"]) - stored["grand_total"]) > MONEY_TOLERANCE:
        return f"stored with grand_total {stored['grand_total']:.2f}, the customer was told {float(told['grand_total']):.2f}"
    items = told.get("items")
    if isinstance(items, dict):
        have = stored.get("items") or {}
        if set(items) != set(have) or any(abs(float(items[k]) - have[k]) > QTY_TOLERANCE for k in items):
            return f"stored with items {have}, the customer ordered {items}"
    return None


@dataclass
class _Reconciled:
    """What comparing the confirmed orders with the DB found (orders_reconciled's facts)."""
    placed: int
    problems: dict[int, str]   # order id -> why it is not what its customer was told
    unexpected: list[int]      # in the DB, never confirmed
    dups: set[int]             # confirmed more than once
    checked: int               # content compared (a total on both sides)
    told: Callable[[int], dict]  # what the customer of an order was told (for evidence)


def _reconcile_dicts(led: Ledger, db_orders: Mapping[int, dict]) -> _Reconciled:
    """Order by order, over dicts: any ledger and any DB answer (the columnar path's fallback and oracle)."""
    told, dups = told_orders(led)
    problems = {}
    for oid, t in told.items():
        stored = db_orders.get(oid)
        if (stored is not None and t.get("grand_total") == stored.get("grand_total", problems)
                and t.get("items") == stored.get("items")):
            continue  # exactly what the customer was told: content_problem's common case, without the call
        why = content_problem(t, stored)
        if why:
            problems[oid] = why
    checked = sum(1 for oid, t in told.items() if "grand_total" in t and "grand_total" in (db_orders.get(oid) or {}))
    return _Reconciled(len(told), problems, sorted(set(db_orders) - set(told)), dups, checked, told.__getitem__)


def _int_table(values: list) -> np.ndarray | None:
    """A dictionary of order ids as int64 per code (code 0 unused), or None when one is not a plain int."""
    body = values[1:]
    if not all(type(v) is int for v in body):
        return None
    try:
        return np.array([0, *body], dtype=np.int64)
    except OverflowError:
        return None


def _float_table(values: list) -> tuple[np.ndarray, np.ndarray]:
    """Per code: the value as float64, and whether comparing that float is comparing the value exactly."""
    exact = [type(v) is float or (type(v) is int and abs(v) <= 1 << 53) for v in values]
    return (np.array([float(v) if ok else np.nan for v, ok in zip(values, exact, strict=True)], dtype=np.float64),
            np.array(exact, dtype=bool))


def _reconcile_columns(led: Ledger, stored: StoredOrders) -> _Reconciled | None:
    """The same comparison over the ledger's columns and the DB's compact orders: no dict per order, so a night's
    ledger is reconciled in bounded memory. An order whose total and items equal the DB's exactly passes here;
    any other is rebuilt as a dict and judged by content_problem. None when an order id is not a plain int."""
    ids, said = led.sparse_col("order_id"), led.sparse_col("order")
    keep = np.flatnonzero(led.np("status")[ids.rows] == 200)
    codes = ids.own.codes[keep]
    table = _int_table(ids.own.values)
    if table is None or (codes == ids.own.dict_code).any() or (codes == 0).any():
        return None
    oids = table[codes.astype(np.int64)]
    rows = ids.rows[keep]
    # The last confirmation of an id is what its customer was told last (as a dict built in ledger order keeps).
    rev_ids, rev_first, counts = np.unique(oids[::-1], return_index=True, return_counts=True)
    last = len(oids) - 1 - rev_first
    dups = set(rev_ids[counts > 1].tolist())
    at = said.positions(rows[last]) if len(said) else np.full(len(last), -1)
    is_obj = (at >= 0) & (said.own.codes[np.maximum(at, 0)] == said.own.dict_code) if len(said) else at >= 0
    gt_code = np.where(is_obj, said.codes_at("grand_total", at), 0)
    items_code = np.where(is_obj, said.codes_at("items", at), 0)
    pos = np.searchsorted(stored.ids, rev_ids)
    pos[pos == len(stored.ids)] = 0
    has_total = ~np.isnan(stored.totals)
    for oid, order in stored.odd.items():
        has_total[stored.position(oid)] = "grand_total" in (order or {})
    if len(stored.ids):
        found = stored.ids[pos] == rev_ids
        db_total, db_items, has_total = stored.totals[pos], stored.item_codes[pos], has_total[pos]
    else:  # an empty DB: every confirmed order is missing
        found = has_total = np.zeros(len(rev_ids), dtype=bool)
        db_total, db_items = np.full(len(rev_ids), np.nan), np.full(len(rev_ids), -1, dtype=np.int32)
    gt_val, gt_exact = _float_table(said.sub("grand_total").values)
    plain = found & (db_items >= 0)
    same = plain & gt_exact[gt_code] & (gt_val[gt_code] == np.where(plain, db_total, np.nan))
    # Items compared once per distinct (what the customer was told, what the DB holds) pair.
    told_items = said.sub("items").values
    pair = items_code.astype(np.int64) * (len(stored.item_sets) + 1) + np.where(plain, db_items, -1) + 1
    pairs, inverse = np.unique(np.where(same, pair, -1), return_inverse=True)
    width = len(stored.item_sets) + 1
    equal = np.array([p >= 0 and told_items[p // width] == stored.item_sets[p % width - 1] for p in pairs.tolist()],
                     dtype=bool)
    same &= equal[inverse.reshape(-1)]
    row_of = dict(zip(rev_ids.tolist(), rows[last].tolist(), strict=True))

    def told(oid: int) -> dict:
        return _told_at(led, row_of[oid])

    problems = {}
    for k in np.flatnonzero(~same).tolist():
        oid = int(rev_ids[k])
        why = content_problem(told(oid), stored.order_at(int(pos[k])) if found[k] else None)
        if why:
            problems[oid] = why
    checked = int(((gt_code > 0) & found & has_total).sum())
    unexpected = np.setdiff1d(stored.ids, rev_ids).tolist()
    return _Reconciled(len(rev_ids), problems, unexpected, dups, checked, told)


def _told_at(led: Ledger, i: int) -> dict:
    """What the customer was told at row i (as told_orders builds it)."""
    said = led.sparse_col("order").get(i)
    return {"ts": led.cols["ts"][i], "node": led.cols["served_by"][i], "release": led.cols["release"][i],
            **(said if isinstance(said, dict) else {})}


def orders_reconciled(led: Ledger, db_orders: Mapping[int, dict] | None, min_orders: int = 0) -> Verdict:
    """Every confirmed order is in the DB once, with the total and items its customer was told; no other order."""
    name = "orders_reconciled"
    if db_orders is None:
        return inconclusive(name, None, 0, "no database access: orders could not be reconciled", "min_orders")
    stored = db_orders
    if not isinstance(stored, StoredOrders) and all(type(k) is int for k in db_orders):
        stored = StoredOrders.from_orders(db_orders.items())
    r = _reconcile_columns(led, stored) if isinstance(stored, StoredOrders) else None
    if r is None:
        r = _reconcile_dicts(led, db_orders)
    problems = r.problems
    missing = sorted(oid for oid, why in problems.items() if why.startswith("missing"))
    wrong = sorted(oid for oid in problems if oid not in missing)
    unexpected, dups, checked = r.unexpected, r.dups, r.checked
    value = {"orders_placed": r.placed, "orders_in_db": len(db_orders), "missing": len(missing),
             "content_differs": len(wrong), "content_checked": checked, "unexpected": len(unexpected),
             "duplicated": len(dups)}
    if not (missing or wrong or unexpected or dups) and r.placed < max(1, min_orders):
        return inconclusive(name, value, min_orders, f"only {r.placed} orders were placed", "min_orders")
    passed = not (missing or wrong or unexpected or dups)
    if passed:
        return Verdict(name, True, value, 0, f"{r.placed} orders placed, {len(db_orders)} in the DB, "
                                             f"{checked} matching what their customers were told")
    evidence = [{"order_id": oid, "problem": problems[oid], "told": r.told(oid),
                 "stored": db_orders.get(oid)} for oid in (wrong + missing)[:EVIDENCE_MAX]]
    evidence += [{"order_id": oid, "problem": "in the database, no customer was told of it",
                  "stored": db_orders[oid]} for oid in unexpected[:EVIDENCE_MAX]]
    evidence += [{"order_id": oid, "problem": "confirmed twice"} for oid in sorted(dups)[:EVIDENCE_MAX]]
    parts = [f"{n} {what}" for n, what in ((len(wrong), "orders stored with other content than the customer was told"),
                                          (len(missing), "confirmed orders missing from the DB"),
                                          (len(unexpected), "orders in the DB without a successful response"),
                                          (len(dups), "order ids confirmed twice")) if n]
    first = (wrong + missing)[:1]
    return Verdict(name, False, value, 0, "; ".join(parts) + (f" (order {first[0]}: {problems[first[0]]})" if first
                                                             else ""), evidence)


class OrdersLive(LiveJudge):
    """Confirmed orders since `judged_from`, looked up in the DB a moment later: one that is missing or differs
    from what its customer was told is a breach."""

    LOOK_EVERY_S = 1.0

    def __init__(self, scope: LiveScope):
        self.scope, self.pending, self.last_look = scope, {}, 0.0

    def observe(self, rec: dict) -> None:
        said = rec.get("order")
        if (isinstance(said, dict) and rec.get("status") == 200 and (rec.get("ts") or 0) >= self.scope.judged_from
                and said.get("id") is not None):
            self.pending[int(said["id"])] = {**said, "node": rec.get("served_by"), "release": rec.get("release")}

    def breach(self) -> str | None:
        now = time.monotonic()
        if not self.pending or now - self.last_look < self.LOOK_EVERY_S:
            return None
        self.last_look = now
        ids = sorted(self.pending)
        try:
            stored = self.scope.orders(ids)
        except Exception:  # noqa: BLE001 - the DB unreachable for a moment is not an order lost; look again later
            return None
        for oid in ids:
            told = self.pending.pop(oid)
            why = content_problem(told, stored.get(oid))
            if why:
                return f"order {oid} (confirmed by {told.get('node') or '?'}, {told.get('release') or '?'}) {why}"
        return None


def _live_orders(scope: LiveScope) -> OrdersLive | None:
    return OrdersLive(scope) if scope.orders is not None else None


def _facts(v: Verdict) -> dict:
    value = v.value or {}
    return {"totals": {"orders_placed": value.get("orders_placed", 0), "orders_in_db": value.get("orders_in_db", 0)}}


@verdict("orders_reconciled", family="orders", facts=_facts, live_state=_live_orders)
def _orders_reconciled(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Every confirmed order is in the DB once with the content its customer was told, and no other order."""
    stored = ctx.db_orders
    if stored is None and ctx.db_order_ids is None and ctx.target and "db" not in ctx.target.get("capabilities", ()):
        # Evidence this target cannot give (no database configured), not evidence the run lost: not judged.
        raise NotJudged("the target gives no read access to the shop DB: orders were not reconciled; give the "
                        "target a database section (e.g. [digitalocean.database]) to judge them")
    if stored is None and ctx.db_order_ids is not None:
        stored = {int(i): {} for i in ctx.db_order_ids}
    return orders_reconciled(led, stored, bounds.min_orders)
