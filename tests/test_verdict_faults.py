"""Each verdict passes on clean traffic and FAILS on the one fault it claims to catch.

Ledgers are generated with hypothesis: random clean traffic around a switch must pass every verdict; the same
traffic with one injected fault must fail exactly the verdict for that fault."""
import copy

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.ledger.records import load
from harness.verdicts import REGISTRY, Bounds, evaluate
from harness.verdicts.context import RunContext
from harness.verdicts.registry import judge_one

T0 = 1_800_000_000.0
SWITCH, CONVERGED, END = T0 + 10, T0 + 11, T0 + 30
JOURNEYS = ("guest", "customer", "session", "browse")
# What the deploy learnt from each release's nodes: static version and sha256 of each file (no marker in them).
CSS, JS = "frontend/Greenlight/luma/en_US/css/styles.css", "frontend/Greenlight/luma/en_US/js/app.js"
DIGESTS = {"r1": {"version": "101", "assets": {CSS: "a" * 64, JS: "c" * 64}},
           "r2": {"version": "102", "assets": {CSS: "b" * 64, JS: "c" * 64}}}


def asset_of(release: str, path: str = CSS) -> dict:
    d = DIGESTS[release]
    return {"url": f"/static/version{d['version']}/{path}", "sha256": d["assets"][path]}


STEPS = {"guest": "add item", "customer": "my account", "session": "session check", "browse": "home page"}
KINDS = ("session", "token", "guest_cart")
TOLD = {"grand_total": 27.0, "items": {"GL-0001": 1.0}}  # what every generated order's customer was told
# Small generated ledgers: the evidence minimums are lowered explicitly, as a user would for a short run.
SMALL = Bounds(converged_s=5, min_crossings=3, min_orders=1, min_step_requests=10, min_phase_samples=10,
               min_latency_samples=5)


def _rec(ts, k=0, journey="guest", **extra):
    new = ts >= SWITCH
    return {"ts": ts, "user": f"u{k % 7}", "journey": journey, "step": STEPS.get(journey, "s"), "method": "GET",
            "name": "/x", "status": 200, "ms": 20.0, "bytes": 100,
            "served_by": ("green-" if new else "blue-") + str(1 + k % 2), "release": "r2" if new else "r1",
            "session": f"s{k % 7}", "error": None, **extra}


@st.composite
def clean_runs(draw, min_n: int = 60):
    """(records, events, db_order_ids) for a clean blue→green switch, of min_n to 300 requests."""
    n = draw(st.integers(min_n, 300))
    # Traffic all through the run (as a load generator makes it), each request at a random point of its slot.
    jitter = draw(st.lists(st.floats(0, 0.999), min_size=n, max_size=n))
    times = [T0 + (k + jitter[k]) * (END - T0) / n for k in range(n)]
    records, orders = [], []
    for k, ts in enumerate(times):
        rec = _rec(ts, k, JOURNEYS[k % 4], status=draw(st.sampled_from([200, 200, 200, 302])),
                   ms=draw(st.floats(20, 60)))
        if k % 11 == 0:
            rec["status"] = 200
            rec["order_id"] = 1000 + k
            rec["order"] = {"id": 1000 + k, **TOLD}
            orders.append(1000 + k)
        if k % 5 == 0:
            rec["status"] = 200
            rec["page_release"] = rec["release"]
            rec["asset"] = asset_of(rec["release"], CSS if k % 2 else JS)
        records.append(rec)
    # Session probes: every session user probed before and after the switch, all fine.
    for u in range(3):
        for ts in (T0 + 2 + u, SWITCH + 5 + u):
            records.append({**_rec(ts, u, "session"), "user": f"sess{u}", "name": "/customer/section/load/",
                            "session": f"php{u}",
                            "probe": {"ok": True, "expected": {"fullname": f"U {u}"}, "observed": {"fullname": f"U {u}"}}})
    # Credentials of each kind issued before the switch and honoured after it; carts whose history crosses it.
    for c in range(4):
        for kind in KINDS:
            for ts in (T0 + 1 + c * 0.1, SWITCH + 2 + c * 0.1):
                records.append(_rec(ts, c, "customer", creds={kind: f"{kind}:{c}"}))
        cart = f"cart:{c}"
        records.append(_rec(T0 + 3 + c * 0.1, c, cart_op={"cart": cart, "op": "add", "sku": "GL-0001", "qty": 1.0}))
        for ts in (T0 + 4 + c * 0.1, SWITCH + 3 + c * 0.1):
            records.append(_rec(ts, c, cart_op={"cart": cart, "op": "read", "items": {"GL-0001": 1.0}}))
    events = [{"ts": T0 + 5, "event": "deploy_start"},
              *({"ts": T0 + 6, "event": "static_digests", "release": r, **d} for r, d in DIGESTS.items()),
              {"ts": SWITCH, "event": "switch_start"}, {"ts": CONVERGED, "event": "converged"}]
    return records, events, orders


def _judge(tmp_path, records, events, db_ids, bounds=SMALL, only=None, releases=("r1", "r2")):
    d = tmp_path / f"l{len(list(tmp_path.iterdir()))}"
    d.mkdir()
    half = len(records) // 2  # two writer processes
    for name, part in (("requests-a-1.jsonl", records[:half]), ("requests-b-2.jsonl", records[half:])):
        (d / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in part))
    (d / "events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    led = load(d)
    db_orders = None if db_ids is None else {o: {"grand_total": TOLD["grand_total"], "items": dict(TOLD["items"])}
                                               for o in db_ids}
    ctx = RunContext(old_release=releases[0], new_release=releases[1], from_colour="blue", to_colour="green",
                     old_nodes=["blue-1", "blue-2"], new_nodes=["green-1", "green-2"], db_order_ids=db_ids,
                     db_orders=db_orders, locust_total=len(records))
    if only:
        return {name: judge_one(REGISTRY[name], led, ctx, bounds) for name in only}
    return {v.name: v for v in evaluate(led, bounds, ctx)}


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(run=clean_runs())
def test_clean_traffic_passes_every_verdict(tmp_path, run):
    v = _judge(tmp_path, *run)
    failing = {k: x.detail for k, x in v.items() if not x.passed}
    assert not failing


def _mutated(run, fn):
    records, events, orders = copy.deepcopy(run)
    fn(records, orders)
    return records, events, orders


@SETTINGS
@given(run=clean_runs(), status=st.sampled_from([500, 502, 503, 504]), where=st.floats(0, 1))
def test_one_5xx_fails_zero_5xx(tmp_path, run, status, where):
    def fault(records, orders):
        r = records[int(where * (len(records) - 1))]
        r["status"] = status
        r.pop("order_id", None) and orders.pop()  # a failed place-order creates no order
    records, events, orders = _mutated(run, fault)
    orders[:] = [o for o in orders if any(r.get("order_id") == o for r in records)]
    v = _judge(tmp_path, records, events, orders)
    assert not v["zero_5xx"].passed and v["zero_5xx"].value == 1
    assert v["zero_5xx"].evidence[0]["status"] == status
    assert v["zero_transport_errors"].passed


@SETTINGS
@given(run=clean_runs())
def test_one_dropped_connection_fails_zero_transport_errors(tmp_path, run):
    def fault(records, orders):
        r = next(r for r in records if "order_id" not in r and "probe" not in r and "page_release" not in r)
        r.update(status=0, error="ConnectionResetError(104)")
    v = _judge(tmp_path, *_mutated(run, fault))
    assert not v["zero_transport_errors"].passed
    assert "ConnectionResetError" in v["zero_transport_errors"].evidence[0]["error"]
    assert v["zero_5xx"].passed


@SETTINGS
@given(run=clean_runs(), after=st.booleans())
def test_one_lost_session_fails_sessions_intact(tmp_path, run, after):
    def fault(records, orders):
        probes = [r for r in records if "probe" in r and (r["ts"] > SWITCH) == after]
        probes[0]["probe"] = {"ok": False, "expected": {"fullname": "U 0"}, "observed": {"fullname": None}}
    v = _judge(tmp_path, *_mutated(run, fault))
    s = v["sessions_intact"]
    assert not s.passed and s.value["sessions_lost"] == 1
    assert s.evidence[0]["expected"] == {"fullname": "U 0"} and s.evidence[0]["observed"] == {"fullname": None}


@SETTINGS
@given(run=clean_runs(), kind=st.sampled_from(KINDS))
def test_no_credential_crossing_the_switch_is_inconclusive_not_a_pass(tmp_path, run, kind):
    records, events, orders = run
    records = [r for r in records if not (kind in (r.get("creds") or {}) and r["ts"] > SWITCH)]
    s = _judge(tmp_path, records, events, orders)["sessions_intact"]
    assert not s.passed and s.status == "inconclusive" and kind in s.inconclusive and "min_crossings" in s.detail
    # Lowered explicitly, the same evidence is judged (and passes: nothing was lost).
    assert _judge(tmp_path, records, events, orders, SMALL.replace(min_crossings=0))["sessions_intact"].passed


@SETTINGS
@given(run=clean_runs(), late=st.floats(6, 15))
def test_old_release_answering_late_fails_converged(tmp_path, run, late):
    def fault(records, orders):
        records.append({**records[0], "ts": SWITCH + late, "release": "r1", "served_by": "blue-1", "status": 200,
                        "order_id": None, "page_release": None, "asset": None})
        records.append({**records[0], "ts": SWITCH + late + 2, "release": "r2", "served_by": "green-1",
                        "order_id": None, "page_release": None, "asset": None})
    records, events, orders = _mutated(run, fault)
    v = _judge(tmp_path, records, events, orders)
    assert not v["converged"].passed and v["converged"].value > 5


@SETTINGS
@given(run=clean_runs(), every=st.floats(0.5, 2.0))
def test_old_pages_from_a_shared_cache_after_convergence_fail_converged(tmp_path, run, every):
    """A Varnish in front of both colours, not purged after the switch: the old release's cached pages keep
    being served to requests begun long after the load balancer converged — failed whatever converged_s allows."""
    def fault(records, orders):
        t = CONVERGED + 1.5
        while t < END - 0.5:
            records.append({**records[0], "ts": t, "release": "r1", "served_by": "blue-1", "status": 200,
                            "name": "/catalog/product/view/id/:id", "order_id": None, "page_release": None,
                            "asset": None})
            t += every
    records, events, orders = _mutated(run, fault)
    v = _judge(tmp_path, records, events, orders, SMALL.replace(converged_s=60), only=["converged"])["converged"]
    assert not v.passed and "page cache in front of both colours" in v.detail, v.detail
    assert "/catalog/product/view/id/:id" in v.detail


@SETTINGS
@given(run=clean_runs())
def test_a_straggler_just_after_convergence_is_not_a_shared_cache(tmp_path, run):
    def fault(records, orders):
        for dt in (1.2, 1.6):  # a load balancer still applying its change: two answers, then never again
            records.append({**records[0], "ts": CONVERGED + dt, "release": "r1", "served_by": "blue-1",
                            "status": 200, "order_id": None, "page_release": None, "asset": None})
    records, events, orders = _mutated(run, fault)
    v = _judge(tmp_path, records, events, orders, SMALL.replace(converged_s=60), only=["converged"])["converged"]
    assert v.passed, v.detail


def _same_release(records):
    """Certifying the live release again: both colours serve r1, only the node tells them apart."""
    for r in records:
        r["release"] = "r1"


@SETTINGS
@given(run=clean_runs(), late=st.floats(6, 15))
def test_same_release_cutover_is_judged_by_node(tmp_path, run, late):
    """A re-certification of the live release: a clean one converges (judged by X-Served-By, not by a release
    both colours share); the old colour answering late still fails it."""
    records, events, orders = _mutated(run, lambda recs, _o: _same_release(recs))
    v = _judge(tmp_path, records, events, orders, only=["converged"], releases=("r1", "r1"))["converged"]
    assert v.passed and v.value < 1, v.detail

    def late_old(recs, orders):
        _same_release(recs)
        recs.append({**recs[0], "ts": SWITCH + late, "served_by": "blue-2", "order_id": None, "page_release": None,
                     "asset": None})
        recs.append({**recs[0], "ts": SWITCH + late + 2, "served_by": "green-1", "order_id": None,
                     "page_release": None, "asset": None})
    records, events, orders = _mutated(run, late_old)
    v = _judge(tmp_path, records, events, orders, only=["converged"], releases=("r1", "r1"))["converged"]
    assert not v.passed and v.value > 5 and "blue-1/blue-2" in v.detail, v.detail


@SETTINGS
@given(run=clean_runs())
def test_same_release_without_node_identity_is_inconclusive(tmp_path, run):
    def anonymous(recs, _o):
        _same_release(recs)
        for r in recs:
            r["served_by"] = None
    records, events, orders = _mutated(run, anonymous)
    v = _judge(tmp_path, records, events, orders, only=["converged"], releases=("r1", "r1"))["converged"]
    assert v.inconclusive and "X-Served-By" in v.detail, v.detail


@SETTINGS
@given(run=clean_runs(), kind=st.sampled_from(["missing", "unexpected", "doubled"]))
def test_order_faults_fail_orders_reconciled(tmp_path, run, kind):
    def fault(records, orders):
        if kind == "missing":
            orders.pop()
        elif kind == "unexpected":
            orders.append(999_999)
        else:
            first = next(r for r in records if "order_id" in r)
            records.append({**first, "ts": first["ts"] + 0.01})
    v = _judge(tmp_path, *_mutated(run, fault))
    o = v["orders_reconciled"]
    assert not o.passed
    assert o.value[{"missing": "missing", "unexpected": "unexpected", "doubled": "duplicated"}[kind]] == 1


@SETTINGS
@given(run=clean_runs())
def test_orders_without_db_access_are_not_a_pass(tmp_path, run):
    records, events, _orders = run
    assert not _judge(tmp_path, records, events, None)["orders_reconciled"].passed


@SETTINGS
@given(run=clean_runs(), factor=st.floats(5, 50))
def test_slow_after_switch_fails_latency(tmp_path, run, factor):
    def fault(records, orders):
        for r in records:
            if r["ts"] > CONVERGED:
                r["ms"] = r["ms"] * factor + 300  # above the absolute floor, whatever the baseline
    records, events, orders = _mutated(run, fault)
    v = _judge(tmp_path, records, events, orders)
    lat = v["latency_by_phase"]
    assert lat.status == "fail", lat.detail  # judged and failed, never "too few samples" on a generated ledger
    assert lat.value["p99_ratio"] > 3


def test_small_slowdowns_under_the_floor_are_not_regressions(tmp_path):
    from harness.ledger.records import Ledger
    from harness.verdicts import latency_by_phase

    n = 200
    led = Ledger(path=tmp_path, cols={"ts": [T0 + i * 0.1 for i in range(n)], "ms": [10.0 if i < 100 else 40.0 for i in range(n)],
                                      "status": [200] * n}, sparse={}, events=[{"ts": T0 + 10, "event": "switch_start"},
                                                                               {"ts": T0 + 10.5, "event": "converged"}])
    assert latency_by_phase(led, 3.0).passed            # x4 but 40 ms: noise, not a regression
    led.cols["ms"] = [10.0 if i < 100 else 400.0 for i in range(n)]
    assert not latency_by_phase(led, 3.0).passed        # x40 and 400 ms: a regression


def _stall_ledger(tmp_path, nodes_held, at=T0 + 30.0, held_s=2.0):
    """Steady traffic on blue (before) and green (after a switch at T0+10), and one instant at which every request
    in flight on `nodes_held` is held `held_s` seconds (a machine-wide stall looks like this; so does a release
    that locks up)."""
    from harness.ledger.records import Ledger

    ts, ms, node = [], [], []
    for i in range(600):
        t = T0 + i * 0.1
        ts.append(t)
        node.append(("blue-" if t < T0 + 10 else "green-") + str(1 + i % 2))
        ms.append(20.0)
    # The mixed window: the old colour's node still answers a few requests after the switch.
    for k in range(40):
        ts.append(at - 0.3 + k * 0.01)
        node.append(nodes_held[k % len(nodes_held)])
        ms.append(held_s * 1000)
    cols = {"ts": ts, "ms": ms, "status": [200] * len(ts), "served_by": node}
    return Ledger(path=tmp_path, cols=cols, sparse={}, events=[{"ts": T0 + 10, "event": "switch_start"},
                                                               {"ts": T0 + 45, "event": "converged"}])


def _ctx(workers=None):
    return RunContext(old_nodes=["blue-1", "blue-2"], new_nodes=["green-1", "green-2"], workers=workers)


def test_a_stall_of_the_whole_machine_is_inconclusive_not_a_slower_release(tmp_path):
    from harness.verdicts import latency_by_phase

    # Held at one instant on both colours: the old code was held too, so the host stalled.
    v = latency_by_phase(_stall_ledger(tmp_path, ["blue-1", "green-1", "green-2"]), 3.0, ctx=_ctx())
    assert v.inconclusive and "on both colours" in v.detail and "blue-1" in v.detail, v.detail
    # The new colour alone held: the release's, a failure.
    v = latency_by_phase(_stall_ledger(tmp_path, ["green-1", "green-2"]), 3.0, ctx=_ctx())
    assert v.status == "fail" and "machine_stall" not in v.value, v.detail
    # The new colour alone held, while the load generator was saturated at that instant: the generator's.
    hot = {"workers": [{"name": "w-1", "cpu": [[T0 + 29.5 + k * 0.5, 97.0] for k in range(3)]}]}
    v = latency_by_phase(_stall_ledger(tmp_path, ["green-1", "green-2"]), 3.0, ctx=_ctx(hot))
    assert v.inconclusive and "load generator w-1" in v.detail, v.detail
    cool = {"workers": [{"name": "w-1", "cpu": [[T0 + 29.5 + k * 0.5, 30.0] for k in range(3)]}]}
    assert latency_by_phase(_stall_ledger(tmp_path, ["green-1", "green-2"]), 3.0, ctx=_ctx(cool)).status == "fail"


def test_slow_requests_spread_over_the_window_are_never_a_stall(tmp_path):
    """A release that is slower all the time holds no single instant: never excused as the host's."""
    from harness.verdicts import latency_by_phase

    led = _stall_ledger(tmp_path, ["green-1"])
    led.cols["ms"] = [20.0 if t < T0 + 10 else (900.0 if i % 3 == 0 else 20.0) for i, t in enumerate(led.cols["ts"])]
    led.cols["served_by"] = ["blue-1" if t < T0 + 10 or i % 2 else "green-1" for i, t in enumerate(led.cols["ts"])]
    v = latency_by_phase(led, 3.0, ctx=_ctx())
    assert v.status == "fail", v.detail


def _static_fault(run, change):
    def fault(records, orders):
        r = next(r for r in records if "page_release" in r and r["page_release"] == "r1" and r["asset"]["url"].endswith("css"))
        change(r)
    return _mutated(run, fault)


def _has_r1_css_page(run):
    return any(r.get("page_release") == "r1" and r["asset"]["url"].endswith("css") for r in run[0])


@SETTINGS
@given(run=clean_runs(), kind=st.sampled_from(["404", "other release's file", "other release's version",
                                               "file the release never deployed", "unknown bytes"]))
def test_asset_not_of_its_pages_release_fails_static(tmp_path, run, kind):
    """No asset carries a marker: the verdict judges bytes and URL against the page's release's learnt digests."""
    from hypothesis import assume
    assume(_has_r1_css_page(run))
    change = {
        "404": lambda r: r.update(status=404),
        # Magento's nginx serves the other colour's pub/static file under this page's URL (mixed window).
        "other release's file": lambda r: r["asset"].update(sha256=DIGESTS["r2"]["assets"][CSS]),
        # A page of r1 linking r2's static version: the other colour's full-page cache entry served here.
        "other release's version": lambda r: r["asset"].update(url=asset_of("r2")["url"]),
        "file the release never deployed": lambda r: r["asset"].update(url=r["asset"]["url"].replace("styles", "gift")),
        "unknown bytes": lambda r: r["asset"].update(sha256="f" * 64),
    }[kind]
    v = _judge(tmp_path, *_static_fault(run, change))["static_assets_consistent"]
    assert not v.passed and v.value["bad"] == 1, v
    if kind == "other release's file":
        assert "r2's" in v.detail


@SETTINGS
@given(run=clean_runs())
def test_static_without_learnt_digests_is_not_a_pass(tmp_path, run):
    records, events, orders = run
    events = [e for e in events if e["event"] != "static_digests"]
    v = _judge(tmp_path, records, events, orders)["static_assets_consistent"]
    assert not v.passed and "none could be judged" in v.detail


@SETTINGS
@given(run=clean_runs())
def test_ledger_shorter_than_locust_total_fails(tmp_path, run):
    records, _events, orders = run
    d = tmp_path / f"x{len(list(tmp_path.iterdir()))}"
    d.mkdir()
    (d / "requests-a-1.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records) + b'{"ts": 1, "sta')
    led = load(d)
    assert led.skipped_lines == 1 and len(led) == len(records)
    v = {x.name: x for x in evaluate(led, Bounds(), RunContext(locust_total=len(records) + 1, db_order_ids=orders))}
    assert not v["ledger_complete"].passed


def test_empty_ledger_fails(tmp_path):
    v = _judge(tmp_path, [], [{"ts": T0, "event": "switch_start"}], [])
    assert not v["latency_by_phase"].passed and not v["sessions_intact"].passed


def test_bounds_from_greenlight_toml_change_the_outcome(tmp_path):
    """[bounds] of a target file reaches the verdicts: the same run passes the default bound and fails a tight one."""
    from harness.config import bounds_for

    records = [{"ts": T0 + i * 0.5, "status": 200, "ms": 5.0, "served_by": "blue-1" if T0 + i * 0.5 < SWITCH + 3
                else "green-1", "release": "r1" if T0 + i * 0.5 < SWITCH + 3 else "r2"} for i in range(60)]
    events = [{"ts": SWITCH, "event": "switch_start"}, {"ts": SWITCH + 3, "event": "converged"}]
    toml = tmp_path / "greenlight.toml"
    toml.write_text('[target]\nkind = "compose"\n[bounds]\nconverged_s = 1.5\n')
    assert bounds_for(str(toml)).converged_s == 1.5 and bounds_for("local") == Bounds()

    def judge(bounds):
        d = tmp_path / f"b{bounds.converged_s}"
        d.mkdir()
        (d / "requests-a-1.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        (d / "events.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
        return {v.name: v for v in evaluate(load(d), bounds, RunContext(old_release="r1", new_release="r2"))}

    assert judge(Bounds())["converged"].passed
    tight = judge(bounds_for(str(toml)))["converged"]
    assert not tight.passed and tight.bound == 1.5 and tight.value > 1.5
