"""The verdicts over what customers experience: each FAILS on the fault it claims to catch (and the clean runs of
test_verdict_faults pass them all). Ledgers come from the same hypothesis generator."""
from __future__ import annotations

import copy
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_verdict_faults import CONVERGED, KINDS, SMALL, SWITCH, T0, TOLD, _judge, _rec, clean_runs

from harness.verdicts import LiveScope, live_judges
from harness.verdicts.harm import FreezeLive
from harness.verdicts.journeys import LatencyLive, StepsLive
from harness.verdicts.orders import OrdersLive

SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def mutated(run, fn):
    records, events, orders = copy.deepcopy(run)
    fn(records, orders)
    return records, events, orders


def after_switch(records, journey):
    return [r for r in records if r["ts"] > CONVERGED and r["journey"] == journey and not r.get("creds")
            and not r.get("cart_op") and "order_id" not in r and "probe" not in r and "page_release" not in r]


# -- journey steps --------------------------------------------------------------------------------------------------
@SETTINGS
@given(run=clean_runs(), status=st.sampled_from([400, 401, 403, 404, 409, 422, 429]))
def test_a_step_failing_with_4xx_after_the_switch_fails_journey_steps(tmp_path, run, status):
    def fault(records, orders):
        for r in after_switch(records, "guest")[:3]:
            r.update(status=status, failed_checks=[{"check": "status", "reason": f"HTTP {status}"}])
    v = _judge(tmp_path, *mutated(run, fault), only=("journey_steps", "zero_5xx"))
    j = v["journey_steps"]
    assert j.status == "fail" and "guest/add item" in j.detail and "never failed before" in j.detail
    assert j.evidence[0]["colour"] == "green" and j.evidence[0]["release"] == "r2" and j.evidence[0]["status"] == status
    assert v["zero_5xx"].passed  # the old verdicts never saw it


@SETTINGS
@given(run=clean_runs(), check=st.sampled_from(["error_payload", "error_page", "item_in_cart", "totals_sum"]))
def test_a_200_failing_its_content_check_fails_journey_steps(tmp_path, run, check):
    def fault(records, orders):
        for r in after_switch(records, "browse")[:3]:
            r["failed_checks"] = [{"check": check, "reason": "the page says 'There has been an error'"}]
    v = _judge(tmp_path, *mutated(run, fault), only=("journey_steps",))
    j = v["journey_steps"]
    assert j.status == "fail" and "browse/home page" in j.detail
    assert j.evidence[0]["status"] in (200, 302) and j.evidence[0]["failed_checks"][0]["check"] == check


@SETTINGS
@given(run=clean_runs())
def test_failures_at_the_same_rate_before_and_after_are_baseline_not_breach(tmp_path, run):
    def fault(records, orders):
        guest = [r for r in records if r["journey"] == "guest" and not r.get("creds") and not r.get("cart_op")
                 and "order_id" not in r and "page_release" not in r]
        before = [r for r in guest if r["ts"] < SWITCH]
        after = [r for r in guest if r["ts"] >= SWITCH]
        for r in before[::2] + after[::2]:  # half of them, before and after alike
            r["status"] = 404
    records, events, orders = mutated(run, fault)
    j = _judge(tmp_path, records, events, orders, only=("journey_steps",))["journey_steps"]
    before = sum(1 for r in records if r["status"] == 404 and r["ts"] < SWITCH)
    assert j.passed, j.detail
    assert before > 0 and j.value["baseline_failures"] == before and "already in the baseline" in j.detail


@SETTINGS
@given(run=clean_runs(min_n=150), status=st.sampled_from([0, 302, 400, 404, 422]), fixed=st.booleans())
def test_a_step_that_never_worked_is_inconclusive_not_unchanged(tmp_path, run, status, fixed):
    """A journey that never worked on this store (a product not salable, no payment method for the address):
    failing 100 % before and after is not 'unchanged', it proves nothing past that step. A release that makes it
    work is judged as usual."""
    def fault(records, orders):
        for r in records:
            if r["journey"] == "guest" and (r["ts"] < SWITCH or not fixed):
                r.update(status=status, failed_checks=[{"check": "status", "reason": f"HTTP {status}"}])
    j = _judge(tmp_path, *mutated(run, fault), only=("journey_steps",))["journey_steps"]
    if fixed:
        assert j.passed, j.detail
        return
    assert j.inconclusive and not j.passed and "guest/add item" in j.detail and "never succeeded" in j.detail, j.detail
    assert "[catalogue]" in j.detail and j.value["never_worked"][0]["step"] == "add item"


@SETTINGS
@given(run=clean_runs())
def test_too_few_requests_after_the_switch_is_inconclusive(tmp_path, run):
    j = _judge(tmp_path, *run, SMALL.replace(min_step_requests=100_000), only=("journey_steps",))["journey_steps"]
    assert j.status == "inconclusive" and not j.passed and "min_step_requests" in j.detail


# -- latency per step -----------------------------------------------------------------------------------------------
@SETTINGS
@given(run=clean_runs(min_n=200), factor=st.floats(3, 10))   # enough of the step a side for the test to reach alpha
def test_one_step_three_times_slower_after_the_switch_fails_latency_by_step(tmp_path, run, factor):
    def fault(records, orders):
        for r in records:
            if r["journey"] == "customer":
                r["ms"] = 150 + 2.5 * (r["ms"] - 20)  # a step around 150-250 ms
                if r["ts"] >= SWITCH:
                    r["ms"] *= factor
    v = _judge(tmp_path, *mutated(run, fault), only=("latency_by_step",))
    lat = v["latency_by_step"]
    assert lat.status == "fail" and "customer/my account" in lat.detail, lat.detail
    assert [b["step"] for b in lat.value["breaches"]] == ["my account"]  # only the slow step


@SETTINGS
@given(run=clean_runs(), factor=st.floats(1.5, 4))
def test_a_small_step_slower_under_the_floor_is_not_a_regression(tmp_path, run, factor):
    def fault(records, orders):
        for r in records:
            if r["journey"] == "customer" and r["ts"] >= SWITCH:
                r["ms"] *= factor  # 20-60 ms -> at most 240 ms: p95 never 250 ms higher
    v = _judge(tmp_path, *mutated(run, fault), only=("latency_by_step",))
    assert v["latency_by_step"].passed, v["latency_by_step"].detail


def with_rare_step(records, before: int, after: int, ms: list[float], factor: float = 1.0,
                   step: str = "estimate shipping", journey: str = "guest", steady: bool = True):
    """Adds a checkout step taken once per checkout: `before` answers before the switch, `after` after it (x factor).
    The other steps answer in a steady 30 ms: a generated ledger's few samples per step would otherwise make the
    store's drift (median over steps of median after / before) wander by +-40 %, and hide or fake a 3x."""
    for r in records if steady else ():
        r["ms"] = 30.0
    for k in range(before + after):
        ts = T0 + 0.5 + k * (SWITCH - T0 - 1) / before if k < before else CONVERGED + 0.5 + (k - before) * 0.9
        records.append(_rec(ts, k, journey, step=step, name=f"/{step}", method="POST",
                            ms=ms[k % len(ms)] * (factor if k >= before else 1.0)))


# Rare steps are judged with the default sample minimums (the generated ledgers lower them for the other verdicts).
RARE = SMALL.replace(min_latency_samples=20, min_latency_rare=8)


@SETTINGS
@given(run=clean_runs(), after=st.integers(8, 19), factor=st.floats(3, 10),
       ms=st.lists(st.floats(200, 400), min_size=30, max_size=30))
def test_a_rare_step_three_times_slower_fails_latency_by_step_by_exceedances(tmp_path, run, after, factor, ms):
    def fault(records, orders):
        with_rare_step(records, 30, after, ms, factor)
    lat = _judge(tmp_path, *mutated(run, fault), RARE, only=("latency_by_step",))["latency_by_step"]
    assert lat.status == "fail" and "guest/estimate shipping" in lat.detail, lat.detail
    (b,) = lat.value["breaches"]
    assert b["rule"] == "exceedance" and b["n"]["after"] == after and "above the baseline's p75" in b["why"]


@SETTINGS
@given(run=clean_runs(), after=st.integers(8, 19), ms=st.lists(st.floats(200, 400), min_size=30, max_size=30),
       shift=st.integers(0, 29))
def test_a_rare_step_as_fast_as_before_passes_and_a_rarer_one_is_listed_not_judged(tmp_path, run, after, ms, shift):
    def fault(records, orders):
        with_rare_step(records, 30, after, ms[shift:] + ms[:shift])  # the same distribution, another order
    lat = _judge(tmp_path, *mutated(run, fault), RARE, only=("latency_by_step",))["latency_by_step"]
    assert lat.passed, lat.detail
    assert "guest/estimate shipping" not in lat.value["not_judged"] and "rare ones by exceedances" in lat.detail

    def rarer(records, orders):
        with_rare_step(records, 30, after, ms)
        with_rare_step(records, 30, 5, ms, 10.0, step="totals", steady=False)  # 10x slower, but 5 answers: too few, and said so
    lat = _judge(tmp_path, *mutated(run, rarer), RARE, only=("latency_by_step",))["latency_by_step"]
    assert "guest/totals" in lat.value["not_judged"] and "guest/estimate shipping" not in lat.value["not_judged"]
    assert lat.passed and "too rare to judge" in lat.detail, lat.detail


@SETTINGS
@given(run=clean_runs(), factor=st.floats(3, 10), ms=st.lists(st.floats(200, 400), min_size=30, max_size=30))
def test_a_step_too_rare_in_each_journey_is_judged_over_all_journeys(tmp_path, run, factor, ms):
    def fault(records, orders):  # 5 estimates after the switch in each journey: too few alone, 10 together
        with_rare_step(records, 15, 5, ms, factor, journey="guest")
        with_rare_step(records, 15, 5, ms[7:] + ms[:7], factor, journey="customer", steady=False)
    lat = _judge(tmp_path, *mutated(run, fault), RARE, only=("latency_by_step",))["latency_by_step"]
    assert lat.status == "fail" and "any journey/estimate shipping" in lat.detail, lat.detail
    assert {"guest/estimate shipping", "customer/estimate shipping"} <= set(lat.value["not_judged"])


@SETTINGS
@given(run=clean_runs())
def test_a_burst_of_a_few_slow_requests_on_a_rare_step_is_not_a_regression(tmp_path, run):
    """A long-tailed step (p50 80 ms, p95 ~350 ms), then 8 answers on a busy host: 4 twice the median, 4 far beyond
    the baseline's tail. The exact test alone would call it (p < 0.001), but the typical request is only 86 ms
    slower, under the floor: no breach (seen on this host: a false rollback for guest/add item)."""
    base = [60.0 + (k * 37) % 41 for k in range(150)]
    for k in range(0, 150, 10):
        base[k] = 300.0 + k % 100  # one in ten: the tail
    judged = [165.0, 170.0, 160.0, 168.0, 700.0, 710.0, 720.0, 730.0]

    def fault(records, orders):
        with_rare_step(records, 150, 0, base)
        for k, v in enumerate(judged):
            records.append(_rec(CONVERGED + 1 + k, k, "guest", step="estimate shipping", name="/estimate shipping",
                                method="POST", ms=v))
    lat = _judge(tmp_path, *mutated(run, fault), RARE, only=("latency_by_step",))["latency_by_step"]
    assert lat.passed, lat.detail
    assert "guest/estimate shipping" not in lat.value["not_judged"]


# -- credentials and carts ------------------------------------------------------------------------------------------
@SETTINGS
@given(run=clean_runs(), kind=st.sampled_from(KINDS))
def test_a_credential_refused_after_the_switch_fails_sessions_intact(tmp_path, run, kind):
    check = {"session": "session_kept", "token": "token_honoured", "guest_cart": "cart_honoured"}[kind]

    def fault(records, orders):
        r = next(r for r in records if (r.get("creds") or {}).get(kind) and r["ts"] > SWITCH)
        r.update(status=401 if kind == "token" else 404 if kind == "guest_cart" else 200,
                 failed_checks=[{"check": check, "reason": "refused"}])
    v = _judge(tmp_path, *mutated(run, fault), only=("sessions_intact",))
    s = v["sessions_intact"]
    assert not s.passed and s.value["kinds"][kind]["lost"] == 1
    assert s.evidence[0]["kind"] == kind and s.evidence[0]["refused"]["release"] == "r2"


@SETTINGS
@given(run=clean_runs(), anomaly=st.sampled_from(["lost", "doubled"]))
def test_a_cart_that_loses_or_doubles_a_line_fails_sessions_intact(tmp_path, run, anomaly):
    def fault(records, orders):
        r = next(r for r in records if (r.get("cart_op") or {}).get("op") == "read" and r["ts"] > SWITCH)
        r["cart_op"]["items"] = {} if anomaly == "lost" else {"GL-0001": 2.0}
    v = _judge(tmp_path, *mutated(run, fault), only=("sessions_intact",))
    s = v["sessions_intact"]
    assert not s.passed and s.value["kinds"]["cart_contents"]["lost"] == 1
    assert s.evidence[0]["anomaly"] == anomaly and s.evidence[0]["history"][-1]["release"] == "r2"


# -- orders by content ----------------------------------------------------------------------------------------------
@SETTINGS
@given(run=clean_runs(), what=st.sampled_from(["total", "items", "qty"]))
def test_an_order_stored_with_other_content_fails_orders_reconciled(tmp_path, run, what):
    def fault(records, orders):
        r = next(r for r in records if "order" in r)
        told = r["order"]
        if what == "total":
            told["grand_total"] = TOLD["grand_total"] + 5  # the DB keeps 27.00, the customer was told 32.00
        elif what == "items":
            told["items"] = {"GL-0001": 1.0, "GL-0002": 1.0}
        else:
            told["items"] = {"GL-0001": 2.0}
    v = _judge(tmp_path, *mutated(run, fault), only=("orders_reconciled",))
    o = v["orders_reconciled"]
    assert o.status == "fail" and o.value["content_differs"] == 1 and "other content" in o.detail
    assert o.evidence[0]["told"]["grand_total"] != o.evidence[0]["stored"]["grand_total"] or what != "total"


@SETTINGS
@given(run=clean_runs())
def test_fewer_orders_than_the_minimum_is_inconclusive(tmp_path, run):
    o = _judge(tmp_path, *run, SMALL.replace(min_orders=10_000), only=("orders_reconciled",))["orders_reconciled"]
    assert o.status == "inconclusive" and "min_orders" in o.detail


# -- the live colour during the deploy ------------------------------------------------------------------------------
@SETTINGS
# From 6 s: the freeze bound (3 s) is stretched by the store's drift, and a generated run's noise alone can make the
# deploy window's medians 1.5x the baseline's (hypothesis found one): then 4.5 s is, by design, not a freeze.
@given(run=clean_runs(), seconds=st.floats(6, 20))
def test_requests_frozen_during_the_deploy_fail_live_colour_unharmed(tmp_path, run, seconds):
    def fault(records, orders):
        records.extend(_rec(T0 + 7 + k * 0.05, k, "guest", ms=seconds * 1000) for k in range(6))
    records, events, orders = mutated(run, fault)
    events.append({"ts": T0 + 6, "event": "deploy_shipped"})
    events.append({"ts": T0 + 8.5, "event": "migrated"})
    v = _judge(tmp_path, records, events, orders, only=("live_colour_unharmed", "zero_5xx", "journey_steps"))
    h = v["live_colour_unharmed"]
    assert h.status == "fail" and re.search(r"6 requests took over \d+ ms during the deploy", h.detail), h.detail
    assert 3000 <= h.value["freeze_threshold_ms"] < seconds * 1000
    assert h.value["first_harm"]["deploy_step"] == "after deploy_shipped, before migrated"
    assert v["zero_5xx"].passed and v["journey_steps"].passed  # nothing else noticed a frozen checkout


@SETTINGS
@given(run=clean_runs())
def test_a_step_failing_on_the_live_colour_during_the_deploy_fails_live_colour_unharmed(tmp_path, run):
    def fault(records, orders):
        records.extend(_rec(T0 + 6 + k * 0.1, k, "session", status=200, failed_checks=[
            {"check": "session_kept", "reason": "the session shows customer None"}]) for k in range(4))
    h = _judge(tmp_path, *mutated(run, fault), only=("live_colour_unharmed",))["live_colour_unharmed"]
    assert h.status == "fail" and "session/session check" in h.detail


# -- the same rules, live --------------------------------------------------------------------------------------------
def scope(**kw) -> LiveScope:
    return LiveScope(baseline_until=SWITCH, judged_from=SWITCH, bounds=SMALL, **kw)


def test_live_step_rule_breaches_on_the_third_new_failure_only():
    judge = StepsLive(scope())
    for k in range(10):  # 2 of 2 failing after 0 of 10 before is not yet significant (p=0.015); 3 never-before are
        judge.observe(_rec(T0 + k * 0.2, k))
    assert judge.breach() is None
    for k in range(3):
        judge.observe(_rec(SWITCH + 1 + k, k, status=400, failed_checks=[{"check": "status", "reason": "HTTP 400"}]))
        why = judge.breach()
        assert (why is None) == (k < 2)
    assert "guest/add item" in why and "never failed before" in why and "green" in why and "HTTP 400" in why


def test_live_latency_rule_breaches_on_a_slow_step():
    judge = LatencyLive(scope())
    for k in range(30):
        judge.observe(_rec(T0 + k * 0.2, k, ms=100.0 + k))
        judge.observe(_rec(T0 + k * 0.2, k, "browse", ms=50.0 + k))
    for k in range(30):
        judge.observe(_rec(SWITCH + k * 0.2, k, "browse", ms=50.0 + k))
        judge.observe(_rec(SWITCH + k * 0.2, k, ms=(100.0 + k) * 4))
    why = judge.breach()
    assert why and "guest/add item" in why


def test_live_order_rule_asks_the_db_and_breaches_on_a_wrong_total():
    stored = {7: {"grand_total": 22.0, "items": {"GL-0001": 1.0}}, 8: {"grand_total": 27.0, "items": {"GL-0001": 1.0}}}
    asked = []
    judge = OrdersLive(scope(orders=lambda ids: asked.append(ids) or {i: stored[i] for i in ids if i in stored}))
    judge.observe(_rec(SWITCH + 1, order={"id": 8, **TOLD}))
    assert judge.breach() is None and asked == [[8]]
    judge.last_look = 0
    judge.observe(_rec(SWITCH + 2, order={"id": 7, **TOLD}))
    why = judge.breach()
    assert why and "order 7" in why and "22.00" in why and "27.00" in why


def test_live_freeze_rule_and_the_registry_builds_every_live_judge():
    judge = FreezeLive(scope(deploy_steps=[{"ts": T0, "event": "deploy_start"}, {"ts": SWITCH + 10, "event": "migrated"}]))
    for k in range(5):
        assert judge.breach() is None
        judge.observe(_rec(SWITCH + k, k, ms=6000.0))
    assert "5 requests took over 3000 ms" in judge.breach() and "before migrated" in judge.breach()
    kinds = {type(j).__name__ for j in live_judges(scope(orders=lambda ids: {}))}
    assert {"StepsLive", "LatencyLive", "FreezeLive", "OrdersLive"} <= kinds
    assert "OrdersLive" not in {type(j).__name__ for j in live_judges(scope())}  # no DB, no live order rule


def test_a_step_too_rare_for_its_test_to_reach_alpha_is_not_called_compared():
    """With 5 samples a side the smallest Mann-Whitney p is 1/C(10,5) = 0.004: at alpha 0.001 no slow-down could
    ever breach, so the step is not judged by it (it was once "compared" and passed whatever happened)."""
    from harness.verdicts.step_compare import LatencyRule

    strict = LatencyRule(alpha=0.001, min_samples=5, min_few=5)
    assert strict.judged_by(5, 5) is None
    assert strict.judged_by(8, 8) == "mann-whitney"          # 1/C(16,8) = 0.00008
    assert LatencyRule(alpha=0.01, min_samples=5, min_few=5).judged_by(5, 5) == "mann-whitney"
    assert LatencyRule(alpha=0.01).judged_by(8, 8) == "exceedance"
