"""Benchmark: judging a large ledger. Aims: 1,000,000 records judged in < 1 s and < 300 MiB; 10,000,000 in < 1 GiB.

Generates a realistic ledger (4 shards, a switch in the middle, probes, orders, assets) in a temporary directory,
then measures, each in a fresh subprocess (so peak RSS is that step alone):
  read   the JSON lines' bytes, nothing else: what "the disk's speed" means on this machine right now
  index  the columnar index the harness builds WHILE the load runs (harness/columns.py): its rate must stay far
         above any request rate, since it runs beside the load
  judge  load (from the index) + every verdict: what happens after the run; the aimed figure
Prints each figure with its aim and as a ratio to it, and judge/read (how far from the disk's speed), from this run.

    .venv/bin/python bench/analysis.py [--records 1000000] [--big 10000000] [--no-big]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_800_000_000.0
MIB = 1024 * 1024

JOURNEYS = ("guest", "customer", "session", "browse")
USERS_PER_SHARD = 400
SKUS = [f"GL-{k:04d}" for k in range(1, 31)]
# Each journey's cycle as (step, method, route, what the record carries): the mix of a real certification's ledger
# (about 3 in 4 records present a credential, 4 in 10 carry a cart operation, 1 in 10 a storefront probe, a few
# in 100 a placed order and a static asset), so every verdict does the work it does on a real run.
CYCLES = {
    "guest": [("create cart", "POST", "/rest/V1/guest-carts", "creds"),
              ("add item", "POST", "/rest/V1/guest-carts/:cartId/items", "add"),
              ("add item", "POST", "/rest/V1/guest-carts/:cartId/items", "add"),
              ("cart", "GET", "/rest/V1/guest-carts/:cartId", "read"),
              ("add item", "POST", "/rest/V1/guest-carts/:cartId/items", "add"),
              ("return to cart", "GET", "/rest/V1/guest-carts/:cartId", "read"),
              ("totals", "GET", "/rest/V1/guest-carts/:cartId/totals", "creds"),
              ("place order", "POST", "/rest/V1/guest-carts/:cartId/payment-information", "order")],
    "customer": [("my account", "GET", "/rest/V1/customers/me", "creds"),
                 ("add item", "POST", "/rest/V1/carts/mine/items", "add"),
                 ("my cart", "GET", "/rest/V1/carts/mine", "read"),
                 ("my account", "GET", "/rest/V1/customers/me", "creds"),
                 ("add item", "POST", "/rest/V1/carts/mine/items", "add"),
                 ("my cart", "GET", "/rest/V1/carts/mine", "read"),
                 ("place order", "POST", "/rest/V1/carts/mine/payment-information", "order")],
    "session": [("login page", "GET", "/customer/account/login/", ""),
                ("product page", "GET", "/catalog/product/view/id/:id", "creds"),
                ("add to cart", "POST", "/checkout/cart/add/", "add_after"),
                ("resync", "GET", "/customer/section/load/", "probe"),
                ("product page", "GET", "/catalog/product/view/id/:id", "asset"),
                ("resync", "GET", "/customer/section/load/", "probe")],
    "browse": [("home page", "GET", "/", "asset"), ("product page", "GET", "/catalog/product/view/id/:id", ""),
               ("category", "GET", "/catalog/category/view/id/:id", "asset")],
}
CRED_KIND = {"guest": "guest_cart", "customer": "token", "session": "session"}
ASSET = {"url": "/static/version%s/frontend/Greenlight/luma/en_US/css/styles.css", "sha256": "5" * 64}


class Shopper:
    """One simulated user's state: its credential, its cart as the store holds it, its place in the cycle."""

    def __init__(self, name: str, journey: str):
        self.name, self.journey, self.step, self.round = name, journey, 0, 0
        self.items: dict[str, float] = {}

    def cred(self) -> str:
        # A cart lives one round; a token three; a storefront session five: many cross the switch, some do not.
        every = {"guest": 1, "customer": 3, "session": 5}[self.journey]
        return f"{self.journey[:4]}:{self.name}-{self.round // every}"

    def cart(self) -> str:
        return f"cart:{self.name}-{self.round}"


def generate(d: Path, n: int, shards: int = 4, dur: float = 600.0) -> dict:
    """A ledger of n records in `shards` shards with a switch in the middle; returns the orders the DB holds."""
    switch = T0 + dur / 2
    files = [open(d / f"requests-bench-{k}.jsonl", "wb", buffering=1 << 20) for k in range(shards)]
    shoppers = [Shopper(f"w{k}-{u}", JOURNEYS[u % 4]) for k in range(shards) for u in range(USERS_PER_SHARD)]
    orders: dict[int, dict] = {}
    dumps = orjson.dumps
    for i in range(n):
        ts = T0 + dur * i / n
        new = ts >= switch + 0.5
        rel = "r2" if new else "r1"
        shop = shoppers[(i % shards) * USERS_PER_SHARD + (i // shards) % USERS_PER_SHARD]
        cycle = CYCLES[shop.journey]
        step, method, route, kind = cycle[shop.step]
        shop.step += 1
        rec = {"ts": ts, "user": shop.name, "journey": shop.journey, "step": step, "method": method, "name": route,
               "status": 200, "ms": 3.0 + (i % 97) / 10, "bytes": 180 + i % 300,
               "served_by": ("green-%d" if new else "blue-%d") % (1 + i % 2), "release": rel,
               "session": shop.cart() if shop.journey == "guest" else f"s{shop.name}-{shop.round // 5}",
               "error": None}
        if shop.journey in CRED_KIND and kind != "add":
            rec["creds"] = {CRED_KIND[shop.journey]: shop.cred()}
        if kind in ("add", "add_after"):
            sku, qty = SKUS[i % len(SKUS)], float(1 + i % 2)
            shop.items[sku] = shop.items.get(sku, 0.0) + qty
            rec["cart_op"] = {"cart": shop.cart(), "op": "add", "sku": sku, "qty": qty}
            if kind == "add_after":
                rec["cart_op"]["after"] = dict(shop.items)
        elif kind in ("read", "probe"):
            rec["cart_op"] = {"cart": shop.cart(), "op": "read", "items": dict(shop.items)}
            if kind == "probe":
                seen = {"fullname": f"Shopper {shop.name}", "cart": dict(shop.items)}
                rec["probe"] = {"ok": True, "expected": seen, "observed": seen}
        elif kind == "order":
            oid = len(orders) + 1
            told = {"id": oid, "grand_total": 10.0 * sum(shop.items.values()), "items": dict(shop.items)}
            orders[oid] = {"grand_total": told["grand_total"], "items": told["items"]}
            rec.update(order_id=oid, cart_op={"cart": shop.cart(), "op": "order", "order_id": oid}, order=told)
            shop.items = {}
        elif kind == "asset":
            rec.update(page_release=rel, asset={"url": ASSET["url"] % rel[1:], "sha256": ASSET["sha256"]})
        if shop.step == len(cycle):
            shop.step, shop.round, shop.items = 0, shop.round + 1, {}  # each round shops in a new cart
        files[i % shards].write(dumps(rec) + b"\n")
    for f in files:
        f.close()
    digests = [{"ts": T0, "event": "static_digests", "release": r, "version": r[1:],
                "assets": {"frontend/Greenlight/luma/en_US/css/styles.css": "5" * 64}} for r in ("r1", "r2")]
    (d / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in digests)
                                    + json.dumps({"ts": switch, "event": "switch_start"}) + "\n"
                                    + json.dumps({"ts": switch + 1, "event": "converged"}) + "\n")
    (d / "bench-orders.json").write_bytes(orjson.dumps({str(k): v for k, v in orders.items()}))
    return orders


STEP = r"""
import json, resource, sys, time
step, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
out = {}
if step == "read":
    from pathlib import Path
    total = 0
    for p in sorted(Path(d).glob("requests-*.jsonl")):
        with open(p, "rb") as fh:
            while chunk := fh.read(1 << 24):
                total += chunk.count(b"\n")
    out["records"] = total
elif step == "index":
    from harness.ledger import column_index
    out["records"] = column_index(d).update()
else:
    # Imports once per process (the harness has them loaded long before a run ends): timed apart.
    from harness.context import RunContext
    from harness.ledger import load
    from harness.verdicts import Bounds, evaluate
    out["import_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    led = load(d)
    t1 = time.perf_counter()
    db = {int(k): v for k, v in json.loads(open(d + "/bench-orders.json").read()).items()}
    vs = evaluate(led, Bounds(), RunContext(old_release="r1", new_release="r2", locust_total=len(led),
                                            db_order_ids=sorted(db), db_orders=db))
    out.update(records=len(led), load_s=t1 - t0, failed=[v.name for v in vs if not v.passed])
out["seconds"] = time.perf_counter() - t0
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def step(name: str, d: Path, n: int) -> dict:
    done = subprocess.run([sys.executable, "-c", STEP, name, str(d), str(n)], capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def measure(n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="gl-analysis-") as tmp:
        d = Path(tmp)
        t = time.perf_counter()
        generate(d, n)
        gen_s = time.perf_counter() - t
        size = sum(p.stat().st_size for p in d.glob("requests-*.jsonl"))
        read = step("read", d, n)
        index = step("index", d, n)
        judge = step("judge", d, n)
        cols = sum(p.stat().st_size for p in (d / ".columns").rglob("*") if p.is_file())
    assert read["records"] == index["records"] == judge["records"] == n, (read, index, judge)
    return {"n": n, "gen_s": gen_s, "jsonl_mib": size / MIB, "columns_mib": cols / MIB, "read": read,
            "index": index, "judge": judge}


def ratio_line(label: str, value: float, aim: float, unit: str) -> str:
    r = value / aim
    return f"  {label:<34} {value:9.2f} {unit:<4} aim < {aim:g} {unit}: ratio {r:5.2f} ({'met' if r < 1 else 'MISSED'})"


def report(m: dict, time_aim: float | None, mem_aim: float) -> None:
    n, j = m["n"], m["judge"]
    print(f"{n:,} records: {m['jsonl_mib']:.0f} MiB of JSON lines, {m['columns_mib']:.0f} MiB of columns")
    print(f"  read the JSON lines (disk speed)   {m['read']['seconds']:9.2f} s")
    print(f"  index (while the load runs)        {m['index']['seconds']:9.2f} s = "
          f"{n / m['index']['seconds']:,.0f} records/s, peak {m['index']['peak_mib']:.0f} MiB")
    print(f"  judge = load {j['load_s']:.2f} s + verdicts {j['seconds'] - j['load_s']:.2f} s (imports, once per process: "
          f"{j['import_s']:.2f} s); failed verdicts: {j['failed']}")
    if time_aim is not None:
        print(ratio_line("judge time", j["seconds"], time_aim, "s"))
    print(ratio_line("judge peak memory", j["peak_mib"], mem_aim, "MiB"))
    print(f"  judge / reading the JSON lines     {j['seconds'] / m['read']['seconds']:9.2f} x (1 = the disk's speed)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--big", type=int, default=10_000_000)
    ap.add_argument("--no-big", action="store_true", help="skip the 10M run (~3 GB of temporary JSON)")
    args = ap.parse_args()
    print("before (issue 14, JSON loaded in Python): 1,000,000 records judged in 5.71 s, 225 MiB peak")
    report(measure(args.records), 1.0, 300)
    if not args.no_big:
        report(measure(args.big), None, 1024)
    return 0


if __name__ == "__main__":
    sys.exit(main())
