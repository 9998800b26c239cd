"""Customer state judged as histories, the way Jepsen judges a database.

Two views of the ledger, both pure functions of it:
- continuity: each credential one colour handed out (storefront session, bearer token, guest cart id) and used
  again after the switch must still be honoured; `crossings` counts and names them per kind.
- cart histories: the operations on each cart (add, read, order) in order; every read after a write reflects it
  (read-your-writes across colours), nothing acknowledged disappears (a lost line), nothing appears that was
  never written or twice (a doubled line). An add whose outcome is unknown (no answer, 5xx, refused) may or may
  not show; reads settle it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from harness.ledger.records import Ledger
from harness.ledger.schema import CREDENTIAL_KINDS

# The check a journey fails when the store no longer honours a credential it issued.
REFUSAL_CHECKS = {"session": "session_kept", "token": "token_honoured", "guest_cart": "cart_honoured",
                  "guest_session": "guest_session_kept"}
# A write whose answer failed only because the cart it shows is wrong was still acknowledged by the store.
CART_CONTENT_CHECKS = {"item_in_cart", "cart_contents"}
HISTORY_SHOWN = 8
QTY_EPS = 1e-6


NONE: frozenset = frozenset()


def failed_checks(led: Ledger, i: int) -> frozenset:
    return row_flags(led).get(i, NONE)


def _arrays(led: Ledger) -> dict:
    return led.__dict__.setdefault("_history_arrays", {})


def row_flags(led: Ledger) -> dict[int, frozenset]:
    """{row: the checks it failed} for the (few) rows listed in failed_checks, made once per ledger."""
    cache = _arrays(led)
    if "flags" not in cache:
        fc = led.sparse_col("failed_checks")
        cache["flags"] = {r: frozenset(f.get("check") for f in v if isinstance(f, dict)) if v else NONE
                          for r, v in zip(fc.rows.tolist(), map(fc.value, range(len(fc.rows))), strict=True)}
    return cache["flags"]


def acknowledged_rows(led: Ledger) -> np.ndarray:
    """`acknowledged` of every row at once (a bool array, made once per ledger)."""
    cache = _arrays(led)
    if "ack" not in cache:
        st = led.np("status")
        ack = (st >= 200) & (st < 400)
        for r, checks in row_flags(led).items():
            ack[r] &= checks <= CART_CONTENT_CHECKS
        cache["ack"] = ack
    return cache["ack"]


def plain(led: Ledger, name: str) -> list:
    """A column as a Python list (None where missing), made once per ledger: these loops index it per row."""
    cache = led.__dict__.setdefault("_plain_columns", {})
    if name not in cache:
        cache[name] = list(led.cols[name])
    return cache[name]


def acknowledged(led: Ledger, i: int) -> bool:
    return bool(acknowledged_rows(led)[i])


@dataclass
class Switch:
    """When the switch happened and what answered on each side (identity headers, when present)."""
    at: float | None
    old_release: str = ""
    new_release: str = ""
    end: float | None = None  # a rollback ends the period in which the new colour is judged
    new_nodes: tuple = ()     # the nodes of each colour (X-Served-By): they tell the colours apart on one release
    old_nodes: tuple = ()

    def before(self, led: Ledger, i: int) -> bool:
        return self.at is None or plain(led, "ts")[i] < self.at

    def on_new(self, led: Ledger, i: int) -> bool:
        """Answered after the switch by the new colour: by the node that served it when it is one of the run's,
        else by its release header when responses carry one and the releases differ."""
        ts = plain(led, "ts")[i]
        if self.at is None or ts < self.at or (self.end is not None and ts >= self.end):
            return False
        node = plain(led, "served_by")[i]
        if node in self.new_nodes:
            return True
        if node in self.old_nodes:
            return False
        rel = plain(led, "release")[i]
        return rel == self.new_release if rel and self.new_release and self.new_release != self.old_release else True

    def before_rows(self, led: Ledger) -> np.ndarray:
        ts = led.np("ts")
        return np.ones(len(ts), dtype=bool) if self.at is None else ts < self.at

    def on_new_rows(self, led: Ledger) -> np.ndarray:
        """`on_new` of every row at once."""
        ts = led.np("ts")
        if self.at is None:
            return np.zeros(len(ts), dtype=bool)
        m = ts >= self.at
        if self.end is not None:
            m &= ts < self.end
        by_node = np.zeros(len(ts), dtype=bool)
        if self.new_nodes or self.old_nodes:
            node = led.strs("served_by")
            new, known = node.isin(self.new_nodes), node.isin((*self.new_nodes, *self.old_nodes))
            m &= new | ~known
            by_node = known
        if self.new_release and self.new_release != self.old_release:
            rel = led.strs("release")
            truthy = np.array([bool(v) for v in rel.values], dtype=bool)
            m &= by_node | ~truthy[rel.codes] | rel.eq(self.new_release)
        return m


@dataclass
class KindCount:
    issued: int = 0
    checked: int = 0  # crossed the switch: honoured before it, used again on the new colour
    lost: int = 0     # honoured once, refused later
    evidence: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"issued": self.issued, "checked": self.checked, "lost": self.lost}


def time_rank(led: Ledger) -> np.ndarray:
    """Each row's place in (ts, row) order (NaN last), made once per ledger: sorting a history by key then time is
    then one argsort of key * rows + rank, several times faster than a lexsort over three keys."""
    cache = _arrays(led)
    if "rank" not in cache:
        ts = led.np("ts")
        order = np.argsort(ts, kind="stable")  # the shards are runs of ascending time: a merge, nearly linear
        rank = np.empty(len(ts), dtype=np.int32 if len(ts) < 1 << 31 else np.int64)
        rank[order] = np.arange(len(ts), dtype=rank.dtype)
        cache["rank"] = rank
    return cache["rank"]


def history_order(led: Ledger, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The permutation that sorts (keys, rows) by key, then time, then row: np.lexsort((rows, ts[rows], keys))."""
    n = len(led)
    if len(keys) and int(keys.max()) < (1 << 62) // max(n, 1):
        return np.argsort(keys.astype(np.int64) * n + time_rank(led)[rows])  # unique keys: any sort is this order
    return np.lexsort((rows, led.np("ts")[rows], keys))


def _groups(led: Ledger, keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows grouped by key, each group in (ts, row) order: (sorted rows, sorted keys, group start positions)."""
    order = history_order(led, keys, rows)
    rows, keys = rows[order], keys[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype=np.int64)
    return rows, keys, starts


def continuity(led: Ledger, switch: Switch, evidence_max: int = 10) -> dict[str, KindCount]:
    """Per credential kind: how many were issued, crossed the switch, and were later refused. Over arrays: a
    credential crossed when it was honoured before the switch and honoured (or refused) on the new colour after
    it; it was lost when it was refused after having been honoured (the rare refusals are replayed one by one)."""
    creds = led.sparse_col("creds")
    out = {k: KindCount() for k in CREDENTIAL_KINDS}
    if not len(creds):
        return out
    ok, before, on_new = acknowledged_rows(led), switch.before_rows(led), switch.on_new_rows(led)
    flags = row_flags(led)
    for kind, refusal in REFUSAL_CHECKS.items():
        col = creds.sub(kind)
        m = creds.truthy(kind)
        rows, cids, starts = _groups(led, col.codes[m].astype(np.int64), creds.rows[m])
        if not len(rows):
            continue
        count = out[kind]
        count.issued = len(starts)
        refused = np.zeros(len(rows), dtype=bool)
        for j in np.flatnonzero(np.isin(rows, np.fromiter(flags, dtype=np.int64, count=len(flags)))).tolist():
            refused[j] = refusal in flags[int(rows[j])]
        honoured_before = ok[rows] & before[rows]
        crossed = (np.logical_or.reduceat(honoured_before, starts)
                   & np.logical_or.reduceat((ok[rows] | refused) & on_new[rows], starts))
        count.checked = int(crossed.sum())
        first_ok = np.minimum.reduceat(np.where(honoured_before, np.arange(len(rows)), len(rows)), starts)
        ends = np.r_[starts[1:], len(rows)]
        group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(rows)]))
        lost: dict[int, int] = {}  # group -> position of its first refusal after being honoured
        for j in np.flatnonzero(refused).tolist():
            g = int(group_of[j])
            if first_ok[g] < j and g not in lost:
                lost[g] = j
        count.lost = len(lost)
        # Evidence in the order credentials first appear in the ledger.
        for g in sorted(lost, key=lambda g: int(rows[starts[g]:ends[g]].min()))[:evidence_max]:
            grp = rows[starts[g]:ends[g]].tolist()
            count.evidence.append({"kind": kind, "credential": col.values[int(cids[starts[g]])],
                                   "first_used": led.cols["ts"][grp[0]], "refused": _op_view(led, int(rows[lost[g]])),
                                   "history": [_op_view(led, i) for i in grp[-HISTORY_SHOWN:]]})
    return out


@dataclass
class CartHistories:
    carts: int = 0
    checked: int = 0  # written before the switch, read again on the new colour
    reads: int = 0
    anomalies: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"issued": self.carts, "checked": self.checked, "lost": len({a["cart"] for a in self.anomalies}),
                "reads": self.reads, "anomalies": len(self.anomalies)}


def cart_histories(led: Ledger, switch: Switch, evidence_max: int = 10) -> CartHistories:
    """Every cart's history. A cart whose writes were all acknowledged and whose every read shows exactly what was
    written is judged over arrays (_consistent_carts); any other cart — an add or order without a clear answer, a
    read that differs — is replayed operation by operation (_Cart), which finds and explains its anomalies."""
    ops = led.sparse_col("cart_op")
    pos = np.flatnonzero(ops.truthy("cart"))
    cart = ops.sub("cart")
    order = history_order(led, cart.codes[pos], ops.rows[pos])
    pos = pos[order]
    keys = cart.codes[pos]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(pos) else np.zeros(0, dtype=np.int64)
    res = CartHistories(carts=len(starts))
    if not len(pos):
        return res
    # Whole carts, about CART_CHUNK operations at a time: the event arrays cost ~100 bytes an operation, so a night's
    # ledger is judged in bounded memory (carts are independent: the chunks' answers are the whole pass's answers).
    fast, reads, crossed = (np.empty(len(starts), dtype=bool), np.empty(len(starts), dtype=np.int64),
                            np.empty(len(starts), dtype=bool))
    tables = _op_tables(ops)
    g0 = 0
    while g0 < len(starts):
        lo = int(starts[g0])
        g1 = int(np.searchsorted(starts, lo + CART_CHUNK, side="right"))  # > g0: starts[g0] == lo
        hi = int(starts[g1]) if g1 < len(starts) else len(pos)
        fast[g0:g1], reads[g0:g1], crossed[g0:g1] = _consistent_carts(led, ops, pos[lo:hi], starts[g0:g1] - lo,
                                                                       switch, tables)
        g0 = g1
    res.reads, res.checked = int(reads[fast].sum()), int(crossed[fast].sum())
    ends = np.r_[starts[1:], len(pos)]
    for g in np.flatnonzero(~fast).tolist():
        p = pos[starts[g]:ends[g]].tolist()
        _judge_cart(led, cart.values[int(keys[starts[g]])], [int(ops.rows[j]) for j in p],
                    [ops.value(j) for j in p], switch, res)
    res.anomalies.sort(key=lambda a: a["at"])
    del res.anomalies[evidence_max * 5:]
    return res


_MASK = (1 << 64) - 1
CART_CHUNK = 1 << 19  # cart operations judged at a time (a million-record ledger has ~400,000: one chunk)
_QTY_SCALE = 1000  # quantities compared in thousandths: a fractional one beyond that is replayed exactly


def _weight(sku) -> int:
    """A fixed pseudo-random 64-bit weight per SKU: a cart's content hashes to sum(weight * quantity) mod 2**64."""
    return int.from_bytes(hashlib.blake2b(repr(sku).encode(), digest_size=8).digest(), "little") | 1


def _qty(v) -> int | None:
    if type(v) not in (int, float) or v != v:
        return None
    q = v * _QTY_SCALE
    return int(q) if q == int(q) else None


def _content_hash(items, weights: dict) -> int | None:
    """A cart's content (as a read shows it) as one number; None when it cannot be hashed exactly."""
    if type(items) is not dict:
        return None
    h = 0
    for sku, v in items.items():
        q = _qty(v)
        if q is None:
            return None
        w = weights.get(sku)
        if w is None:
            w = weights[sku] = _weight(sku)
        h += w * q
    return h & _MASK


def _code_table(values: list, fn) -> tuple[np.ndarray, np.ndarray]:
    """fn over a StrCol's dictionary: (uint64 result per code, ok per code)."""
    out = [None if (r := fn(v)) is None else r & _MASK for v in values]
    return (np.array([0 if r is None else r for r in out], dtype=np.uint64),
            np.array([r is not None for r in out], dtype=bool))


def _op_tables(ops) -> dict:
    """Per dictionary code of the cart operations' keys: op kind, SKU weight, quantity and content hashes (each
    with whether it is exact), and whether items / after are objects. Made once for all chunks of carts."""
    weights: dict = {}
    opcol, sku, qty, items, after = ops.sub("op"), ops.sub("sku"), ops.sub("qty"), ops.sub("items"), ops.sub("after")
    return {
        "kind": np.array([{"add": 1, "read": 2, "order": 3}.get(v, 0) if type(v) is str else 0 for v in opcol.values],
                         dtype=np.int8),
        "w": _code_table(sku.values, lambda v: _weight(v) if v is not None else None),
        "q": _code_table(qty.values, _qty),
        "hi": _code_table(items.values, lambda v: _content_hash(v, weights)),
        "ha": _code_table(after.values, lambda v: _content_hash(v, weights)),
        "dict_items": np.array([type(v) is dict for v in items.values], dtype=bool),
        "dict_after": np.array([type(v) is dict for v in after.values], dtype=bool),
    }


def _consistent_carts(led: Ledger, ops, pos: np.ndarray, starts: np.ndarray,
                      switch: Switch, tables: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cart (group of `pos`, the cart operations in history order): (judged here: every write acknowledged and
    every read equal to the writes since the last read or order, number of reads, crossed the switch).

    A read equals the cart's state when their content hashes agree (sum of a 64-bit weight per SKU times the
    quantity, mod 2**64): adds accumulate with a cumulative sum; a read or an acknowledged order resets it. A
    different hash, or anything not hashable exactly, sends the cart to the exact replay."""
    rows = ops.rows[pos]
    n_ops, n_carts = len(pos), len(starts)
    cart_of = np.repeat(np.arange(n_carts), np.diff(np.r_[starts, n_ops]))
    ack, before, on_new = acknowledged_rows(led), switch.before_rows(led), switch.on_new_rows(led)
    kinds = tables["kind"][ops.sub("op").codes[pos]]
    is_add, is_read, is_order = kinds == 1, kinds == 2, kinds == 3
    sku, qty, items, after = ops.sub("sku"), ops.sub("qty"), ops.sub("items"), ops.sub("after")
    (w, w_ok), (q, q_ok), (hi, hi_ok), (ha, ha_ok) = tables["w"], tables["q"], tables["hi"], tables["ha"]
    is_dict_items = tables["dict_items"][items.codes[pos]]
    is_dict_after = tables["dict_after"][after.codes[pos]]
    acked = ack[rows]
    st = led.np("status")[rows]
    flags = row_flags(led)
    kept = np.ones(n_ops, dtype=bool)  # a read of this customer's own cart (not one another session showed)
    for j in np.flatnonzero(np.isin(rows, np.fromiter(flags, dtype=np.int64, count=len(flags)))).tolist():
        kept[j] = "session_kept" not in flags[int(rows[j])]
    counted_read = is_read & is_dict_items & kept & (st >= 200) & (st < 300)
    after_read = is_add & acked & is_dict_after
    bad = ((is_add & ~acked) | (is_order & ~acked)                           # outcome unknown: replay
           | (is_add & ~(w_ok[sku.codes[pos]] & q_ok[qty.codes[pos]]))
           | (counted_read & ~hi_ok[items.codes[pos]]) | (after_read & ~ha_ok[after.codes[pos]]))
    delta = np.where(is_add & acked, w[sku.codes[pos]] * q[qty.codes[pos]], np.uint64(0))
    # Events in history order: [cart start: reset to empty] then per op: its add, then its read (a read, or the
    # page an add landed on), or the reset of an acknowledged order.
    reset_at = np.zeros(n_ops, dtype=bool)
    reset_at[starts] = True
    # int32 positions and temporaries dropped as soon as used: a night's ledger has millions of events here.
    ev_pos = np.r_[starts, np.arange(n_ops), np.flatnonzero(counted_read | after_read | (is_order & acked))].astype(
        np.int32)
    ev_sub = np.r_[np.zeros(n_carts, np.int8), np.ones(n_ops, np.int8), np.full(len(ev_pos) - n_carts - n_ops, 2,
                                                                                  np.int8)]
    order = np.lexsort((ev_sub, ev_pos))
    ev_pos, ev_sub = ev_pos[order], ev_sub[order]
    del order
    is_reset = ev_sub != 1
    is_check = (ev_sub == 2) & ~is_order[ev_pos]
    value = np.zeros(len(ev_pos), dtype=np.uint64)  # the state a reset sets (empty for a start or an order)
    p2 = ev_pos[is_check]
    value[is_check] = np.where(is_read[p2], hi[items.codes[pos[p2]]], ha[after.codes[pos[p2]]])
    added = np.cumsum(np.where(ev_sub == 1, delta[ev_pos], np.uint64(0)), dtype=np.uint64)
    del delta
    last = np.maximum.accumulate(np.where(is_reset, np.arange(len(ev_pos), dtype=np.int32), np.int32(0)))
    prev = np.r_[np.int32(0), last[:-1]]  # the last reset strictly before each event
    del last
    state = added - added[prev]
    del added
    state += value[prev]
    del prev
    mismatch = is_check & (state != value)
    del state, value
    bad_cart = np.zeros(n_carts, dtype=bool)
    bad_cart[cart_of[np.flatnonzero(bad)]] = True
    bad_cart[cart_of[ev_pos[mismatch]]] = True
    reads = np.bincount(cart_of[ev_pos[is_check]], minlength=n_carts)
    written_before = np.zeros(n_carts, dtype=bool)
    written_before[cart_of[np.flatnonzero(is_add & acked & before[rows])]] = True
    read_new = np.zeros(n_carts, dtype=bool)
    read_new[cart_of[ev_pos[is_check & on_new[rows[ev_pos]]]]] = True
    return ~bad_cart, reads, written_before & read_new


class _Cart:
    """One cart's history replayed: what is known to be in it, adds whose outcome is unknown, and the ops so far."""

    def __init__(self, led: Ledger, key: str, switch: Switch, res: CartHistories):
        self.led, self.key, self.switch, self.res = led, key, switch, res
        self.state: dict[str, float] = {}
        self.pending: list[tuple[str, float]] = []  # adds whose outcome is unknown
        self.unknown = False                         # an order whose outcome is unknown: the cart may be new or not
        self.written_before = self.crossed = False
        self.seen: list[int] = []

    def add(self, i: int, op: dict) -> None:
        if acknowledged(self.led, i):
            self.state[op["sku"]] = self.state.get(op["sku"], 0.0) + float(op["qty"])
            self.written_before = self.written_before or self.switch.before(self.led, i)
        else:
            self.pending.append((op["sku"], float(op["qty"])))
        self.seen.append(i)
        if isinstance(op.get("after"), dict) and acknowledged(self.led, i):
            self.read(i, op["after"])  # the cart page a storefront add landed on

    def read(self, i: int, observed: dict) -> None:
        self.res.reads += 1
        if self.written_before and not self.crossed and self.switch.on_new(self.led, i):
            self.crossed = True
        if not self.unknown and (self.pending or observed != self.state):  # equal: the common, consistent read
            for anomaly in _compare(self.state, self.pending, observed):
                self.res.anomalies.append({"cart": self.key, "at": plain(self.led, "ts")[i], **anomaly, "history": [
                    _op_view(self.led, j) for j in (self.seen + [i])[-HISTORY_SHOWN:]]})
        if observed != self.state:
            self.state = {k: float(v) for k, v in observed.items()}
        self.pending, self.unknown = [], False

    def order(self, i: int) -> None:
        if acknowledged(self.led, i):
            self.state, self.pending = {}, []
        else:
            self.unknown = True
        self.seen.append(i)


def _judge_cart(led: Ledger, key: str, rows: list[int], ops: list[dict], switch: Switch,
                res: CartHistories) -> None:
    cart = _Cart(led, key, switch, res)
    status = plain(led, "status")
    for i, op in zip(rows, ops, strict=True):
        kind = op.get("op")
        if kind == "add":
            cart.add(i, op)
        elif kind == "read" and isinstance(op.get("items"), dict):
            if "session_kept" in failed_checks(led, i) or not (200 <= (status[i] or 0) < 300):
                continue  # not this customer's cart that was read
            cart.read(i, op["items"])
            cart.seen.append(i)
        elif kind == "order":
            cart.order(i)
    if cart.crossed:
        res.checked += 1


def _compare(state: dict, pending: list[tuple[str, float]], observed: dict) -> list[dict]:
    """Anomalies of one read: acknowledged quantities missing (lost), or more than acknowledged plus any
    combination of unknown adds (doubled / never written)."""
    out = []
    for sku in sorted(set(state) | set(observed)):
        have, want = float(observed.get(sku, 0.0)), state.get(sku, 0.0)
        extra = have - want
        if extra < -QTY_EPS:
            out.append({"anomaly": "lost", "sku": sku, "expected": want, "observed": have})
        elif extra > QTY_EPS and not _subset_sum(unsure := [q for s, q in pending if s == sku], extra):
            # An add whose answer never came may have happened: shown more often than that, the line is doubled.
            out.append({"anomaly": "doubled" if want > 0 or unsure else "never written", "sku": sku,
                        "expected": want, "observed": have})
    return out


def _subset_sum(values: list[float], target: float) -> bool:
    sums = {0.0}
    for v in values[:16]:
        sums |= {round(s + v, 6) for s in sums}
    return any(abs(s - target) <= QTY_EPS for s in sums)


def _op_view(led: Ledger, i: int) -> dict:
    c = led.cols
    view = {"ts": c["ts"][i], "step": c["step"][i], "status": c["status"][i], "node": c["served_by"][i],
            "release": c["release"][i]}
    op = led.sparse["cart_op"].get(i)
    if isinstance(op, dict):
        view.update({k: v for k, v in op.items() if k != "cart"})
    checks = led.sparse["failed_checks"].get(i)
    if checks:
        view["failed_checks"] = checks
    return view
