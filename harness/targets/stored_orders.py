"""The orders a run's customers placed, as the shop's database stores them, in a compact read-only mapping.

A night's run places hundreds of thousands of orders: as {id: {"grand_total", "items": {sku: qty}}} they cost
~500 bytes each (~240 MiB at 10M ledger records). Here an order is an id, a total and an items code into the few
distinct item sets the run's carts held (8 + 8 + 4 bytes), and it still reads as that dict: `get(oid)` rebuilds
one order, so the verdict and its evidence see exactly what the DB returned."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np

_NO_TOTAL = np.nan


class StoredOrders(Mapping):
    """{order id: {"grand_total": float, "items": {sku: qty}}} stored as columns: `ids` (sorted int64), `totals`
    (float64, NaN = no total: an id-only order reads as {}), `item_codes` (int32 code into `item_sets`). Orders of any
    other shape are kept as given in `odd` (their id is in `ids` too)."""

    def __init__(self, ids: np.ndarray, totals: np.ndarray, items: np.ndarray, item_sets: list, odd: dict):
        order = np.argsort(ids, kind="stable")
        self.ids, self.totals, self.item_codes = ids[order], totals[order], items[order]
        self.item_sets, self.odd = item_sets, odd

    @classmethod
    def from_orders(cls, orders: Iterable[tuple[int, dict]]) -> StoredOrders:
        """From (id, order dict) pairs; equal item sets are stored once."""
        ids, totals, codes, sets, odd = [], [], [], [], {}
        interned: dict = {}
        for raw_id, order in orders:
            oid = int(raw_id)
            ids.append(oid)
            gt, items = (order.get("grand_total"), order.get("items")) if type(order) is dict else (None, None)
            if (type(gt) is float and gt == gt and type(items) is dict and len(order) == 2
                    and all(type(q) is float for q in items.values())):
                key = tuple(items.items())  # order kept: the dict handed back iterates as the DB's did
                code = interned.get(key)
                if code is None:
                    code = interned[key] = len(sets)
                    sets.append(items)
                totals.append(gt)
                codes.append(code)
            else:
                odd[oid] = order
                totals.append(_NO_TOTAL)
                codes.append(-1)
        return cls(np.array(ids, dtype=np.int64), np.array(totals, dtype=np.float64),
                   np.array(codes, dtype=np.int32), sets, odd)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple]) -> StoredOrders:
        """From the DB's (entity_id, grand_total, sku, qty_ordered) rows, one per order item (sku None: no items)."""
        orders: dict[int, dict] = {}
        for oid, total, sku, qty in rows:
            order = orders.setdefault(int(oid), {"grand_total": float(total), "items": {}})
            if sku is not None:
                order["items"][sku] = order["items"].get(sku, 0.0) + float(qty)
        return cls.from_orders(orders.items())

    def position(self, oid) -> int:
        """Where `oid` is in `ids`, or -1."""
        if type(oid) is not int:
            if not isinstance(oid, (int, np.integer)) or isinstance(oid, bool):
                return -1
            oid = int(oid)
        j = int(np.searchsorted(self.ids, oid))
        return j if j < len(self.ids) and self.ids[j] == oid else -1

    def order_at(self, j: int) -> dict:
        oid = int(self.ids[j])
        if oid in self.odd:
            return self.odd[oid]
        return {"grand_total": float(self.totals[j]), "items": self.item_sets[int(self.item_codes[j])]}

    def __getitem__(self, oid) -> dict:
        j = self.position(oid)
        if j < 0:
            raise KeyError(oid)
        return self.order_at(j)

    def __contains__(self, oid) -> bool:
        return self.position(oid) >= 0

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids.tolist())

    def __len__(self) -> int:
        return len(self.ids)
