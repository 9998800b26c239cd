"""Customer histories judged against what actually happened to each customer, not against another implementation.

The runs are stories told with their outcome: the generator decides, for every credential and every cart, whether
the store honoured it after the switch, lost a line, doubled one or showed a line the customer never added — and
writes the requests a shopper would have seen. harness/verdicts/history.py must report exactly those outcomes.
Nothing here shares code with the judgement: the truth comes from the decisions, in the words of a shopper."""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import orjson
import pytest

from harness.ledger import records as ledger
from harness.ledger.records import load
from harness.ledger.schema import CREDENTIAL_KINDS
from harness.verdicts import history

T0 = 1_800_000_000.0
SWITCH = T0 + 60
SKUS = ("24-MB01", "24-MB04", "24-WG02", "MH01-XS-Black")
# The content check a request fails when the store no longer knows the customer's credential of that kind
# (the locustfile's names for them).
REFUSED_BY = {"session": "session_kept", "token": "token_honoured", "guest_cart": "cart_honoured",
              "guest_session": "guest_session_kept"}


@dataclass
class Truth:
    issued: dict = field(default_factory=lambda: dict.fromkeys(CREDENTIAL_KINDS, 0))
    crossed: dict = field(default_factory=lambda: dict.fromkeys(CREDENTIAL_KINDS, 0))
    lost: dict = field(default_factory=lambda: dict.fromkeys(CREDENTIAL_KINDS, 0))
    carts: int = 0
    carts_crossed: int = 0
    broken: dict = field(default_factory=dict)   # cart -> (what went wrong, sku) at its first wrong read


class Story:
    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.shards: list[list[dict]] = [[], []]
        self.truth = Truth()

    def request(self, ts: float, user: str, *, status: int = 200, checks=(), **extra) -> None:
        new = ts >= SWITCH
        rec = {"ts": ts, "user": user, "journey": "guest", "step": "s", "method": "GET", "name": "/x",
               "status": status, "ms": 12.0, "bytes": 10, "served_by": "green-1" if new else "blue-1",
               "release": "r2" if new else "r1", "session": None, "error": None, **extra}
        if checks:
            rec["failed_checks"] = [{"check": c, "reason": "as the story says"} for c in checks]
        self.shards[self.rnd.randrange(2)].append(rec)   # two writer processes, interleaved

    def credential(self, n: int) -> None:
        """A customer's credential: used before the switch (or not), maybe again after it, and after it honoured
        or refused."""
        rnd = self.rnd
        kind = rnd.choice(CREDENTIAL_KINDS)
        cid = f"{kind}-{n}"
        before = rnd.randrange(0, 4)
        after = rnd.randrange(0, 4)
        refused_from = rnd.randrange(after) if after and rnd.random() < 0.4 else None
        for _ in range(before):
            self.request(T0 + rnd.uniform(1, 59), f"c{n}", creds={kind: cid})
        times = sorted(SWITCH + rnd.uniform(1, 59) for _ in range(after))
        for j, ts in enumerate(times):
            refused = refused_from is not None and j >= refused_from
            self.request(ts, f"c{n}", creds={kind: cid}, checks=(REFUSED_BY[kind],) if refused else ())
        if before + after:
            self.truth.issued[kind] += 1
        if before and after:
            self.truth.crossed[kind] += 1         # worked on the old colour, presented to the new one
            if refused_from is not None:
                self.truth.lost[kind] += 1        # the new colour no longer knew it
        # Refused with no use before the switch: never honoured, so nothing was lost (a new customer's first try).

    def cart(self, n: int) -> None:
        """A cart filled before the switch, read back before it (as it should be), then read on the new colour:
        intact, or with a line lost, doubled, or never added. Sometimes an add whose answer never came (the
        customer cannot know whether it happened: either cart is right), and sometimes an order that empties it."""
        rnd = self.rnd
        key = f"cart-{n}"
        self.truth.carts += 1
        have: dict[str, float] = {}
        t = T0 + rnd.uniform(1, 20)
        for _ in range(rnd.randrange(1, 4)):
            sku, qty = rnd.choice(SKUS), float(rnd.choice((1, 2, 3)))
            self.request(t, f"k{n}", cart_op={"cart": key, "op": "add", "sku": sku, "qty": qty})
            have[sku] = have.get(sku, 0.0) + qty
            t += rnd.uniform(0.1, 2)
        self.request(t, f"k{n}", cart_op={"cart": key, "op": "read", "items": dict(have)})
        t += rnd.uniform(0.1, 2)
        unsure, happened = "", False
        if rnd.random() < 0.3:   # an add that timed out: status 0, no answer; the store may or may not have it
            sku = unsure = rnd.choice(SKUS)
            self.request(t, f"k{n}", status=0, cart_op={"cart": key, "op": "add", "sku": sku, "qty": 1.0})
            if rnd.random() < 0.5:
                have[sku] = have.get(sku, 0.0) + 1.0   # it did happen: the next read shows it, rightly
                happened = True
            t += rnd.uniform(0.1, 2)
        if rnd.random() < 0.2:   # the customer ordered: the cart is empty from then on
            self.request(t, f"k{n}", cart_op={"cart": key, "op": "order", "order_id": 5000 + n})
            have = {}
            t += rnd.uniform(0.1, 2)
        reads_after = rnd.randrange(0, 3)
        if reads_after:
            self.truth.carts_crossed += 1     # written before the switch, read again on the new colour
        # Only a line the customer KNOWS about can be lost or doubled: one that the unanswered add might explain is
        # no evidence either way (the shopper could not tell either), so the story breaks only the others.
        known = sorted(s for s in have if s != unsure)
        fate = rnd.choice(("intact", "intact", "lost", "doubled", "never written")) if reads_after and known else "intact"
        shown = dict(have)
        if fate == "lost":
            sku = rnd.choice(known)
            del shown[sku]
            self.truth.broken[key] = ("lost", sku)
        elif fate == "doubled":
            # Twice a line that holds the unanswered add which did happen is more than any answer explains.
            sku = rnd.choice(known + ([unsure] if happened and unsure in have else []))
            shown[sku] = have[sku] * 2
            self.truth.broken[key] = ("doubled", sku)
        elif fate == "never written":
            sku = "GL-STRANGER-1"    # a product this customer never added
            shown[sku] = 1.0
            self.truth.broken[key] = ("never written", sku)
        t = SWITCH + rnd.uniform(1, 30)
        for _ in range(reads_after):
            # After a wrong read the store's cart is what it showed: later reads of the same cart agree with it.
            self.request(t, f"k{n}", cart_op={"cart": key, "op": "read", "items": dict(shown)})
            t += rnd.uniform(0.1, 3)


def told(seed: int, tmp_path) -> tuple[ledger.Ledger, Truth]:
    story = Story(seed)
    for n in range(story.rnd.randrange(5, 30)):
        story.credential(n)
    for n in range(story.rnd.randrange(3, 20)):
        story.cart(n)
    for k, recs in enumerate(story.shards):
        (tmp_path / f"requests-s-{k}.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    return load(tmp_path), story.truth


@pytest.mark.parametrize("seed", range(40))
def test_credentials_crossed_and_lost_are_the_ones_the_story_lost(tmp_path, seed):
    led, truth = told(seed, tmp_path)
    got = history.continuity(led, history.Switch(SWITCH, "r1", "r2"))
    for kind in CREDENTIAL_KINDS:
        assert got[kind].to_dict() == {"issued": truth.issued[kind], "checked": truth.crossed[kind],
                                       "lost": truth.lost[kind]}, kind
        assert len(got[kind].evidence) == min(truth.lost[kind], 10)


@pytest.mark.parametrize("seed", range(40))
def test_carts_broken_at_the_switch_are_the_ones_the_story_broke(tmp_path, seed):
    led, truth = told(seed, tmp_path)
    got = history.cart_histories(led, history.Switch(SWITCH, "r1", "r2"))
    found = {}
    for a in got.anomalies:
        found.setdefault(a["cart"], (a["anomaly"], a["sku"]))
    assert found == truth.broken
    assert got.carts == truth.carts and got.checked == truth.carts_crossed


def test_the_stories_hold_every_outcome(tmp_path):
    """The two tests above mean something only if the stories hold each outcome often enough."""
    kinds = {"lost": 0, "doubled": 0, "never written": 0}
    lost = crossed = 0
    for seed in range(40):
        d = tmp_path / str(seed)
        d.mkdir()
        _, truth = told(seed, d)
        for what, _sku in truth.broken.values():
            kinds[what] += 1
        lost += sum(truth.lost.values())
        crossed += sum(truth.crossed.values())
    assert min(kinds.values()) >= 5 and lost >= 20 and crossed >= 60, (kinds, lost, crossed)


@pytest.mark.parametrize("seed", range(0, 40, 5))
def test_large_dictionaries_kept_as_texts_tell_the_same_story(tmp_path, monkeypatch, seed):
    """A night's cart ids and credentials stay JSON texts (ledger.TextValues): forced on for every dictionary, the
    histories still say what happened."""
    monkeypatch.setattr(ledger, "BIG_DICTIONARY", 1)
    led, truth = told(seed, tmp_path)
    assert isinstance(led.sparse_col("cart_op").sub("cart").values, ledger.TextValues)
    got = history.continuity(led, history.Switch(SWITCH, "r1", "r2"))
    assert {k: got[k].lost for k in CREDENTIAL_KINDS} == truth.lost
    carts = history.cart_histories(led, history.Switch(SWITCH, "r1", "r2"))
    assert {a["cart"] for a in carts.anomalies} == set(truth.broken)
