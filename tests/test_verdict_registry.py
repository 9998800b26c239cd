"""The verdict registry: one registration makes a verdict judged, reported and watched live; 'not judged' is
reported with its reason and never fails a run."""
import pytest

from harness import verdicts
from harness.config.bounds import Bounds
from harness.ledger.records import Ledger
from harness.run.watch import breach_of
from harness.verdicts import NotJudged, Verdict, evaluate, registry
from harness.verdicts.context import RunContext


@pytest.fixture
def scratch_verdict():
    """Register a verdict for one test and take it out again."""
    added = []

    def add(name, result=None, **kw):
        verdicts.verdict(name, family="test", **kw)(result or (lambda led, ctx, bounds: Verdict(name, True)))
        added.append(name)

    yield add
    for name in added:
        registry.REGISTRY.pop(name, None)


def _ledger(tmp_path, events=()):
    return Ledger(path=tmp_path, cols={c: [] for c in ("ts", "status", "ms", "served_by", "release", "user",
                                                         "method", "name", "journey", "step", "error", "session")},
                  sparse={s: {} for s in ("order_id", "probe", "page_release", "asset")}, events=list(events))


def test_a_registered_verdict_is_judged_and_watched_live(tmp_path, scratch_verdict):
    scratch_verdict("no_teapots", result=lambda led, ctx, b: Verdict("no_teapots", False, 1, 0, "a teapot"),
                    live=lambda rec: "teapot" if rec.get("status") == 418 else None)
    out = {v.name: v for v in evaluate(_ledger(tmp_path), Bounds(), RunContext())}
    assert out["no_teapots"].status == "fail" and out["no_teapots"].detail == "a teapot"
    assert breach_of({"ts": 5, "status": 418}, 1) == "teapot"
    assert breach_of({"ts": 0, "status": 418}, 1) is None


def test_not_judged_is_reported_with_its_reason_and_never_fails(tmp_path, scratch_verdict):
    def judge(led, ctx, bounds):
        raise NotJudged("the run had no widgets")
    scratch_verdict("widgets_ok", result=judge)
    v = {v.name: v for v in evaluate(_ledger(tmp_path), Bounds(), RunContext())}["widgets_ok"]
    assert v.skipped == "the run had no widgets" and v.passed and v.status == "skip"
    # Built-in: no rollback in the run -> rollback_converged is not judged; no outcome -> gate is not judged.
    out = {v.name: v for v in evaluate(_ledger(tmp_path), Bounds(), RunContext())}
    assert out["rollback_converged"].skipped and out["gate"].skipped
    assert not out["converged"].passed and not out["converged"].skipped  # applies, evidence missing: a fail


def test_a_name_registers_once_and_a_judge_returns_its_own_name(tmp_path, scratch_verdict):
    with pytest.raises(ValueError, match="registered twice"):
        verdicts.verdict("zero_5xx", family="again")(lambda led, ctx, b: Verdict("zero_5xx", True))
    scratch_verdict("misnamed", result=lambda led, ctx, b: Verdict("other", True))
    with pytest.raises(ValueError, match="misnamed"):
        evaluate(_ledger(tmp_path), Bounds(), RunContext())


def test_window_rules_reach_the_watch(tmp_path, scratch_verdict):
    from harness.run.watch import LedgerTail, Watch

    scratch_verdict("few_requests", live_window=lambda recs: "burst" if len(recs) >= 3 else None)
    shard = tmp_path / "requests-h-1.jsonl"
    shard.write_bytes(b'{"ts": 5, "status": 200}\n' * 3)

    class NoNodes:
        def nodes(self, colour):
            return []
    w = Watch(target=NoNodes(), colour="green", tail=LedgerTail(tmp_path), since_ts=1)
    assert w.check() == "burst"


def test_bounds_overrides_are_validated():
    assert Bounds().replace(converged_s="7").converged_s == 7.0
    with pytest.raises(ValueError, match="converged_s"):
        Bounds().replace(converged_s="-1")
    with pytest.raises(ValueError, match="no_such_bound"):
        Bounds().replace(no_such_bound=1)


def test_rehearsal_through_a_deploy_hook_is_reported_plainly_as_not_done(tmp_path):
    """On DigitalOcean the user's hook migrates the DB: the old-code/new-schema rehearsal is not done, and the report
    says so (SKIP "NOT DONE: …"), never a pass; a rehearsal that ran and failed is a failure."""
    spec = registry.REGISTRY["old_code_new_schema_rehearsal"]
    hook = _ledger(tmp_path, [{"event": "deploy_start"}, {"event": "rehearsal_skipped", "reason": "the deploy hook "
                                                          "migrates the shop DB itself"}, {"event": "deploy_done"}])
    v = registry.judge_one(spec, hook, RunContext(), Bounds())
    assert v.skipped and v.skipped.startswith("NOT DONE: the deploy hook migrates") and v.status != "pass"
    failed = _ledger(tmp_path, [{"event": "rehearsal", "live_smoke_ok": False, "node": "blue-1"}])
    assert registry.judge_one(spec, failed, RunContext(), Bounds()).status == "fail"
