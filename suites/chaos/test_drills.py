"""`pytest -m chaos`: the chaos drills as tests, one per drill of the plan (plans/ci.toml by default, the nightly
plan with --gl-profile=nightly or --drill-plan). The drill's hypothesis is the assertion: every clause that failed
is in the message, next to each fault's budget and what it spent."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.run.drills import PLANS, load_plan, run_drill_on
from harness.run.drills.output import append_history

# Long (a cutover each): selected by `pytest -m chaos` and by `make test` (--gl-chaos); skipped in a plain `pytest`
# (see the nightly marker).
pytestmark = [pytest.mark.chaos, pytest.mark.replica, pytest.mark.nightly]


def _plan(config) -> Path:
    explicit = config.getoption("--drill-plan")
    if explicit:
        return Path(explicit)
    return PLANS / ("nightly.toml" if config.getoption("--gl-profile") == "nightly" else "ci.toml")


def pytest_generate_tests(metafunc):
    if "drill" in metafunc.fixturenames:
        drills = load_plan(_plan(metafunc.config))
        metafunc.parametrize("drill", drills, ids=[d.name for d in drills])


def test_drill_confirms_its_hypothesis(drill, gl_target, gl_options):
    out = gl_options["report_dir"] / "chaos"
    result = run_drill_on(gl_target, drill, out / drill.name)
    append_history(out / "history.jsonl", result)
    spent = "; ".join(f"{f['label']}: budget {f['budget_errors']}, spent {f['spent_errors']}" for f in result["faults"])
    assert result["passed"], "hypothesis failed:\n  " + "\n  ".join(result["reasons"]) + f"\n  ({spent})"
    # Whatever the hypothesis, a drill ends with nothing left behind.
    assert result["final"]["live_healthy"] and not result["final"]["faults_left"] and not result["final"]["load_left"]
