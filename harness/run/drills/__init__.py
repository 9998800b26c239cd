"""Chaos drills: a plan (TOML) of cutovers with faults injected at chosen phases, each judged against its
hypothesis (steady state, per-fault error budgets, verdicts that must trip, the engine's reaction, nothing left
behind). `greenlight drill PLAN.toml` and `pytest -m chaos` both run plans through run_plan()."""
from __future__ import annotations

import json
from pathlib import Path

from harness import PROJECT_ROOT
from harness.run.drills.output import append_history, history, write_junit
from harness.run.drills.plan import Drill, FaultStep, PlanError, load_plan, parse_plan
from harness.run.drills.runner import run_drill, summary

ROOT = PROJECT_ROOT
PLANS = ROOT / "plans"


def run_drill_on(target, drill: Drill, out_dir: str | Path, api: str = "") -> dict:
    """One drill on the local replica, or (doapi = true) through the DO API simulator in front of the same replica."""
    if not drill.doapi:
        return run_drill(target, drill, out_dir, api=api)
    from harness.run.drills.doapi_env import simulated_do

    with simulated_do(out_dir) as (do_target, do_api):
        return run_drill(do_target, drill, out_dir, api=do_api)


def run_plan(target, drills: list[Drill], out_dir: str | Path, *, history_path: str | Path | None = None,
             junit_path: str | Path | None = None, only: list[str] | None = None, api: str = "",
             echo=print) -> list[dict]:
    out_dir = Path(out_dir)
    history_path = Path(history_path or out_dir / "history.jsonl")
    results = []
    for d in drills:
        if only and d.name not in only:
            continue
        echo(f"drill {d.name}: {', '.join(s.label() for s in d.faults)}")
        r = run_drill_on(target, d, out_dir / d.name, api=api)
        append_history(history_path, r)
        r["history"] = history(history_path, d.name)
        (out_dir / d.name / "drill.json").write_text(json.dumps(r, indent=2, default=str))
        echo(summary(r))
        results.append(r)
    write_junit(junit_path or out_dir / "junit.xml", results)
    return results


__all__ = ["PLANS", "Drill", "FaultStep", "PlanError", "load_plan", "parse_plan", "run_drill", "run_plan", "summary"]
