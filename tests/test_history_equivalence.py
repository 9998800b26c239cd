"""The judgement of histories (harness/verdicts/history.py) on random runs full of what goes wrong — refused
credentials, adds and orders without a clear answer, reads that lose or double a line, other customers' carts,
fractional and zero quantities, missing release headers, a rollback, two writer processes — is the same whichever
way the ledger keeps its dictionaries. (What it must say is held to the stories of tests/test_history_oracle.py, an
oracle that shares no code with it.)"""
from __future__ import annotations

import random

import orjson
import pytest

from harness.ledger import records as ledger
from harness.ledger.records import load
from harness.verdicts import history

T0 = 1_800_000_000.0
SKUS = ["A", "B", "C", "D"]
STATUSES = [200] * 12 + [201, 302, 404, 500, 503, 0, None]
CHECKS = ["session_kept", "token_honoured", "cart_honoured", "item_in_cart", "cart_contents", "error_page"]
QTYS = [1, 2, 1.0, 2.0, 0.5, 3, 0.0001, 1e-7]


def random_run(seed: int) -> tuple[list[list[dict]], float, float | None]:
    rnd = random.Random(seed)
    switch = T0 + 50
    rollback = switch + 30 if rnd.random() < 0.3 else None
    shards: list[list[dict]] = [[], []]
    for c in range(rnd.randrange(3, 14)):
        clean = rnd.random() < 0.5  # a cart the array judgement settles alone (nothing unclear, nothing broken)
        # Unclean carts share keys and credentials (histories interleave); clean ones have their own.
        cart = f"cart:{seed}-{c}" if clean else f"cart:{seed}-{c % 9}"
        cred, kind = f"cred-{c}" if clean else f"cred-{c % 7}", rnd.choice(list(history.REFUSAL_CHECKS))
        state: dict[str, float] = {}
        n = rnd.randrange(1, 25)
        for ts in sorted(T0 + rnd.uniform(0, 100) for _ in range(n)):
            new = ts >= switch and not (rollback and ts >= rollback)
            status = 200 if clean else rnd.choice(STATUSES)
            r = {"ts": ts, "user": f"u{c % 5}", "journey": "guest", "step": "s", "method": "GET", "name": "/x",
                 "status": status, "ms": 5.0, "bytes": 1, "served_by": "green-1" if new else "blue-1",
                 "release": rnd.choice(["r2" if new else "r1"] * 5 + [None, ""]), "session": None, "error": None}
            if rnd.random() < 0.7:
                r["creds"] = {kind: cred} if rnd.random() < 0.95 else {kind: ""}
            if rnd.random() < 0.15 and not clean:
                r["failed_checks"] = [{"check": rnd.choice(CHECKS), "reason": "x"}] if rnd.random() < 0.9 else []
            op = rnd.random()
            if op < 0.45:
                sku, qty = rnd.choice(SKUS), rnd.choice(QTYS[:-2] if clean else QTYS)
                r["cart_op"] = {"cart": cart, "op": "add", "sku": sku, "qty": qty}
                state[sku] = state.get(sku, 0.0) + qty
                if rnd.random() < 0.3:
                    r["cart_op"]["after"] = dict(state)
            elif op < 0.85:
                seen = dict(state)
                if rnd.random() < 0.15 and seen and not clean:  # a lost or doubled line, or a stray zero
                    sku = rnd.choice(list(seen))
                    seen[sku] = rnd.choice([0, seen[sku] * 2, seen[sku] + 1])
                r["cart_op"] = {"cart": cart, "op": "read", "items": seen if clean or rnd.random() < 0.95 else "n/a"}
                state = {k: float(v) for k, v in seen.items()} if isinstance(seen, dict) else state
            elif op < 0.95:
                r["cart_op"] = {"cart": cart, "op": "order", "order_id": rnd.randrange(1000)}
                state = {}
            shards[rnd.randrange(2)].append(r)
    return shards, switch, rollback


@pytest.mark.parametrize("seed", range(60))
def test_messy_histories_judge_the_same_whatever_the_dictionary_representation(tmp_path, monkeypatch, seed):
    """Runs full of what goes wrong (refused credentials, unanswered adds and orders, reads that lose or double a
    line, other customers' carts, missing release headers, a rollback, two writers): the judgement over dictionaries
    kept as Python values and kept as JSON texts (ledger.TextValues, a night's ledger) says exactly the same, down
    to the evidence. What the judgement must say is held to what happened in tests/test_history_oracle.py."""
    shards, at, end = random_run(seed)
    for k, recs in enumerate(shards):
        (tmp_path / f"requests-h-{k}.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    sw = history.Switch(at, "r1", "r2", end)
    plain = load(tmp_path)
    assert not isinstance(plain.sparse_col("cart_op").sub("cart").values, ledger.TextValues)
    monkeypatch.setattr(ledger, "BIG_DICTIONARY", 1)
    texts = load(tmp_path)
    assert isinstance(texts.sparse_col("cart_op").sub("cart").values, ledger.TextValues)
    a, b = history.continuity(plain, sw), history.continuity(texts, sw)
    assert {k: (c.to_dict(), c.evidence) for k, c in a.items()} == {k: (c.to_dict(), c.evidence) for k, c in b.items()}
    ca, cb = history.cart_histories(load(tmp_path), sw), history.cart_histories(texts, sw)
    assert (ca.to_dict(), ca.anomalies) == (cb.to_dict(), cb.anomalies)


def test_the_random_runs_hold_what_the_comparison_is_about(tmp_path, monkeypatch):
    """The comparison means something only if the runs hold lost credentials, crossings and broken carts, and
    carts that the array judgement settles alone as well as ones it replays record by record."""
    lost = checked = anomalies = settled = 0
    replayed: list = []
    real = history._judge_cart
    monkeypatch.setattr(history, "_judge_cart", lambda *a: replayed.append(a[1]) or real(*a))
    for seed in range(0, 60, 3):
        d = tmp_path / str(seed)
        d.mkdir()
        shards, at, end = random_run(seed)
        for k, recs in enumerate(shards):
            (d / f"requests-h-{k}.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
        led, sw = load(d), history.Switch(at, "r1", "r2", end)
        counts = history.continuity(led, sw)
        lost += sum(c.lost for c in counts.values())
        checked += sum(c.checked for c in counts.values())
        before = len(replayed)
        carts = history.cart_histories(led, sw)
        anomalies += len(carts.anomalies)
        settled += carts.carts - (len(replayed) - before)
    assert lost > 5 and checked > 5 and anomalies > 5 and len(replayed) > 20 and settled > 20
