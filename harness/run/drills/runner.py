"""Run a drill: a certification (load + cutover) with the drill's faults injected at its phases, then the
hypothesis judged, what was left behind checked, and a report written (drill.json next to the run's report)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from harness.config.bounds import parse_bounds
from harness.faults import Journal
from harness.load import lease
from harness.run.drills.hypothesis import detection_s, judge
from harness.run.drills.plan import Drill
from harness.run.drills.scheduler import FaultScheduler
from harness.targets import health
from harness.targets.base import Target, other_colour


def role_map(target: Target, live: str) -> dict[str, str]:
    out = {}
    for role, colour in (("live", live), ("new", other_colour(live))):
        for i, n in enumerate(target.nodes(colour), 1):
            out[f"{role}-{i}"] = n.name
    return out


def final_state(target: Target, run_id: str) -> dict:
    """What the drill left behind: the live colour and its health, journaled faults, load of this run."""
    deadline = time.monotonic() + 20
    load = [p for p in lease.load_processes() if p["run_id"] == run_id]
    while load and time.monotonic() < deadline:  # the lease needs a moment after the harness let go
        time.sleep(0.5)
        load = [p for p in lease.load_processes() if p["run_id"] == run_id]
    try:
        live = target.live_colour()
        healthy = all(health.probe(n.url, timeout=5, path=target.health_path).ok for n in target.nodes(live))
    except Exception as exc:  # noqa: BLE001 - reported as an unhealthy end, never raised past the drill
        live, healthy = f"unknown ({type(exc).__name__})", False
    return {"live": live, "live_healthy": healthy,
            "faults_left": [e.description or e.kind for e in Journal().entries()],
            "load_left": [p["pid"] for p in load]}


def run_drill(target: Target, drill: Drill, out_dir: str | Path, api: str = "") -> dict:
    from harness.ledger.records import load as load_ledger
    from harness.run.certify import certify, default_release

    out_dir = Path(out_dir)
    t0 = time.monotonic()
    live = target.live_colour()
    sched = FaultScheduler(drill.faults, role_map(target, live), api=api)
    release = default_release(target) if drill.release == "next" else drill.release
    cert, error = None, ""
    try:
        cert = certify(target, release=release, users=drill.users, load_seconds=drill.load_seconds,
                       watch_s=drill.watch_s, report_dir=out_dir, on_event=sched.on_event,
                       bounds=parse_bounds(drill.bounds))
    except Exception as exc:  # noqa: BLE001 - a drill reports an engine failure as its result
        error = f"{type(exc).__name__}: {exc}"
    finally:
        sched.heal_all()
    wall = round(time.monotonic() - t0, 1)
    if cert is None:
        result = {"drill": drill.name, "passed": False, "reasons": [f"the run did not complete: {error}"],
                  "wall_s": wall, "faults": [], "hypothesis": _hypothesis(drill)}
    else:
        led = load_ledger(out_dir / "ledger")
        final = final_state(target, cert.outcome.run_id)
        j = judge(drill, sched.applied, cert.verdicts, cert.outcome, led, final, detect_s=detection_s())
        lat = cert.verdicts.get("latency_by_phase", {}).get("value") or {}
        conv = cert.verdicts.get("converged", {})
        result = {
            "drill": drill.name, "description": drill.description, "passed": j.passed, "reasons": j.reasons,
            "wall_s": wall, "engine": j.engine, "release": cert.outcome.to_release,
            "from_colour": cert.outcome.from_colour, "to_colour": cert.outcome.to_colour,
            "final": final, "errors_outside_faults": j.errors_outside,
            "convergence_s": conv.get("value") if not conv.get("skipped") else None,
            "p99_ms": (max((lat.get(p, {}).get("p99", 0) for p in ("before", "during", "after")), default=None)
                       if isinstance(lat, dict) else None),
            "budget": {"allowed": sum(f.budget_errors for f in j.faults),
                       "spent": sum(f.spent_errors or 0 for f in j.faults)},
            "faults": [asdict(f) for f in j.faults],
            "verdicts": {k: {"passed": v["passed"], "detail": v["detail"], "skipped": v.get("skipped", "")}
                         for k, v in cert.verdicts.items()},
            "hypothesis": _hypothesis(drill),
            "report": str(cert.paths.get("html", "")),
        }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "drill.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def _hypothesis(d: Drill) -> dict:
    return {"must_hold": d.must_hold, "must_trip": d.must_trip, "engine": d.engine, "final_live": d.final_live,
            "errors_outside_faults": d.errors_outside_faults,
            "faults": [{"fault": s.label(), "budget_errors": s.budget_errors} for s in d.faults]}


def summary(result: dict) -> str:
    head = (f"{'PASS' if result['passed'] else 'FAIL'} {result['drill']} ({result['wall_s']} s, "
            f"engine {result.get('engine', '?')}, converged {result.get('convergence_s')} s, p99 {result.get('p99_ms')} ms)")
    lines = [head]
    for f in result["faults"]:
        spent = "not injected" if f["spent_errors"] is None else f"spent {f['spent_errors']}"
        lines.append(f"    {f['label']}: budget {f['budget_errors']} errors, {spent}")
    lines += [f"    ✗ {r}" for r in result["reasons"]]
    return "\n".join(lines)
