"""The per-record history judgement as it was before the columnar rewrite (harness/verdicts/history.py at 48f2ff3), kept as
the oracle the array version must agree with (tests/test_history_equivalence.py). Not used by the harness."""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.ledger.records import Ledger

CREDENTIAL_KINDS = ("session", "token", "guest_cart")
# The check a journey fails when the store no longer honours a credential it issued.
REFUSAL_CHECKS = {"session": "session_kept", "token": "token_honoured", "guest_cart": "cart_honoured"}
# A write whose answer failed only because the cart it shows is wrong was still acknowledged by the store.
CART_CONTENT_CHECKS = {"item_in_cart", "cart_contents"}
HISTORY_SHOWN = 8
QTY_EPS = 1e-6


NONE: frozenset = frozenset()


def failed_checks(led: Ledger, i: int) -> frozenset:
    found = led.sparse["failed_checks"].get(i)
    if not found:  # the common case, kept cheap: a night's ledger asks this a million times
        return NONE
    return frozenset(f.get("check") for f in found if isinstance(f, dict))


def plain(led: Ledger, name: str) -> list:
    """A column as a Python list (None where missing), made once per ledger: these loops index it per row."""
    cache = led.__dict__.setdefault("_plain_columns", {})
    if name not in cache:
        cache[name] = list(led.cols[name])
    return cache[name]


def acknowledged(led: Ledger, i: int) -> bool:
    st = plain(led, "status")[i]
    return st is not None and 200 <= st < 400 and (i not in led.sparse["failed_checks"]
                                                   or failed_checks(led, i) <= CART_CONTENT_CHECKS)


@dataclass
class Switch:
    """When the switch happened and what answered on each side (identity headers, when present)."""
    at: float | None
    old_release: str = ""
    new_release: str = ""
    end: float | None = None  # a rollback ends the period in which the new colour is judged

    def before(self, led: Ledger, i: int) -> bool:
        return self.at is None or plain(led, "ts")[i] < self.at

    def on_new(self, led: Ledger, i: int) -> bool:
        """Answered after the switch by the new colour (by its release header when responses carry one)."""
        ts = plain(led, "ts")[i]
        if self.at is None or ts < self.at or (self.end is not None and ts >= self.end):
            return False
        rel = plain(led, "release")[i]
        return rel == self.new_release if rel and self.new_release else True


@dataclass
class KindCount:
    issued: int = 0
    checked: int = 0  # crossed the switch: honoured before it, used again on the new colour
    lost: int = 0     # honoured once, refused later
    evidence: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"issued": self.issued, "checked": self.checked, "lost": self.lost}


def continuity(led: Ledger, switch: Switch, evidence_max: int = 10) -> dict[str, KindCount]:
    """Per credential kind: how many were issued, crossed the switch, and were later refused."""
    uses: dict[tuple[str, str], list[int]] = {}
    for i, creds in led.sparse["creds"].items():
        if isinstance(creds, dict):
            for kind, cid in creds.items():
                if kind in REFUSAL_CHECKS and cid:
                    uses.setdefault((kind, cid), []).append(i)
    out = {k: KindCount() for k in CREDENTIAL_KINDS}
    ts = plain(led, "ts")
    for (kind, cid), rows in uses.items():
        rows.sort(key=lambda i: (ts[i], i))
        count = out[kind]
        count.issued += 1
        crossed, refused_at = _credential_history(led, switch, REFUSAL_CHECKS[kind], rows)
        if crossed:
            count.checked += 1
        if refused_at is not None:
            count.lost += 1
            if len(count.evidence) < evidence_max:
                count.evidence.append({"kind": kind, "credential": cid, "first_used": led.cols["ts"][rows[0]],
                                       "refused": _op_view(led, refused_at),
                                       "history": [_op_view(led, i) for i in rows[-HISTORY_SHOWN:]]})
    return out


def _credential_history(led: Ledger, switch: Switch, refusal: str, rows: list[int]) -> tuple[bool, int | None]:
    """(honoured before the switch and used again on the new colour, the first refusal after being honoured)."""
    checks = led.sparse["failed_checks"]
    status, ts = plain(led, "status"), plain(led, "ts")
    honoured_before = honoured_after = False
    refused_at = None
    for i in rows:
        flagged = i in checks
        refused = flagged and refusal in failed_checks(led, i)
        st = status[i]
        ok = st is not None and 200 <= st < 400 and (not flagged or failed_checks(led, i) <= CART_CONTENT_CHECKS)
        if refused and (honoured_before or honoured_after) and refused_at is None:
            refused_at = i
        if ok and (switch.at is None or ts[i] < switch.at):
            honoured_before = True
        elif (ok or refused) and honoured_before and not honoured_after and switch.on_new(led, i):
            honoured_after = True
    return honoured_before and honoured_after, refused_at


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
    ops: dict[str, list[int]] = {}
    for i, op in led.sparse["cart_op"].items():
        if isinstance(op, dict) and op.get("cart"):
            ops.setdefault(op["cart"], []).append(i)
    res = CartHistories(carts=len(ops))
    ts = plain(led, "ts")
    for key, rows in ops.items():
        rows.sort(key=lambda i: (ts[i], i))
        _judge_cart(led, key, rows, switch, res)
    res.anomalies.sort(key=lambda a: a["at"])
    del res.anomalies[evidence_max * 5:]
    return res


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


def _judge_cart(led: Ledger, key: str, rows: list[int], switch: Switch, res: CartHistories) -> None:
    cart = _Cart(led, key, switch, res)
    status = plain(led, "status")
    for i in rows:
        op = led.sparse["cart_op"][i]
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
        elif extra > QTY_EPS and not _subset_sum([q for s, q in pending if s == sku], extra):
            out.append({"anomaly": "doubled" if want > 0 else "never written", "sku": sku,
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
