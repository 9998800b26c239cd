"""The report: report.json for machines, report.html for people, a console summary, JUnit for CI.

Verdicts are rendered generically (status, value, bound, detail, evidence), whatever verdicts a run produced;
the charts and tables (per step, per kind of session, per node) come from the ledger itself (facts.py)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from harness.config.bounds import Bounds
from harness.ledger.records import Ledger
from harness.report import facts as facts_mod
from harness.report.rollback_timing import rollback_timing
from harness.verdicts import REGISTRY, Verdict
from harness.verdicts.context import RunContext

STATUSES = ("passed", "failed", "inconclusive", "skipped")
_SHORT = {"pass": "passed", "fail": "failed", "skip": "skipped", "inconclusive": "inconclusive"}
REPORT_JSON, REPORT_HTML = "report.json", "report.html"
# The run context as report.json keeps it, so `greenlight report DIR` can re-render the run later.
CONTEXT_KEYS = ("run_id", "old_release", "new_release", "from_colour", "to_colour", "old_nodes", "new_nodes",
                "locust_total", "rollback_drill")


def verdict_status(v: dict) -> str:
    """passed | failed | inconclusive | skipped, from whatever a verdict says: an explicit status, `skipped`
    (the reason it was not judged), `inconclusive`, else passed=True/False."""
    st = v.get("status")
    if st in STATUSES or st in _SHORT:
        return _SHORT.get(st, st)
    if v.get("skipped"):
        return "skipped"
    if v.get("inconclusive"):
        return "inconclusive"
    return "passed" if v.get("passed") else "failed"


def overall_status(verdicts: dict) -> str:
    """failed when any verdict failed; else inconclusive when any was; else passed (skipped ones do not count)."""
    seen = {verdict_status(v) for v in verdicts.values()}
    if "failed" in seen or not verdicts:
        return "failed"
    return "inconclusive" if "inconclusive" in seen else "passed"


def _as_dict(v) -> dict:
    d = v.to_dict() if isinstance(v, Verdict) else dict(v)
    d["status"] = verdict_status(d)
    return d


def _as_verdict(d: dict) -> Verdict:
    names = {f.name for f in dataclasses.fields(Verdict)}
    return Verdict(**{k: v for k, v in d.items() if k in names})


def _registry_facts(verdicts: list[dict]) -> dict[str, dict]:
    """What each registered verdict contributes to the report's totals and switch sections (its `facts` hook)."""
    merged: dict[str, dict] = {"totals": {}, "switch": {}}
    for d in verdicts:
        spec = REGISTRY.get(d["name"])
        if spec is None or spec.facts is None or d["status"] == "skipped":
            continue
        for section, values in spec.facts(_as_verdict(d)).items():
            merged.setdefault(section, {}).update(values)
    return merged


def context_dict(context: RunContext) -> dict:
    """The run context as plain data (report.json, and what facts.py reads)."""
    d = {k: getattr(context, k) for k in CONTEXT_KEYS}
    d["outcome"] = context.outcome_dict()
    d["target"] = context.target
    return d


def lowered_minimums(bounds: Bounds | None) -> dict:
    """Evidence minimums (min_*) set below their defaults: the run was judged on less evidence, on purpose."""
    if bounds is None:
        return {}
    default = Bounds()
    return {f.name: {"value": getattr(bounds, f.name), "default": getattr(default, f.name)}
            for f in dataclasses.fields(Bounds)
            if f.name.startswith("min_") and getattr(bounds, f.name) < getattr(default, f.name)}


def build_report(verdicts: list, led: Ledger, context: RunContext, bounds: Bounds | None = None) -> dict:
    """`verdicts`: Verdict objects or their dicts, in registry order; `bounds`: what the run was held to."""
    ds = [_as_dict(v) for v in verdicts]
    vd = {d["name"]: d for d in ds}
    ctx = context_dict(context)
    facts = facts_mod.all_facts(led, ctx)
    hooks = _registry_facts(ds)
    out = ctx["outcome"]
    conv = facts["convergence"]
    status = overall_status(vd)
    orders = led.sparse_col("order_id").rows
    confirmed = int((led.np("status")[orders] == 200).sum()) if len(orders) else 0
    return {
        "status": status,
        "passed": status == "passed",
        "verdicts": vd,
        # What could not be judged for want of evidence (each fails the run), and which bound sets that minimum.
        "inconclusive": {name: d.get("inconclusive") or d.get("detail", "") for name, d in vd.items()
                         if d["status"] == "inconclusive"},
        "bounds": dataclasses.asdict(bounds) if bounds is not None else None,
        "minimums_lowered": lowered_minimums(bounds),
        "totals": {
            **facts["totals"],
            "sessions_crossed": sum(k["crossed"] for k in facts["crossings"]["kinds"].values()),
            "orders_confirmed": confirmed,
            **hooks["totals"],
            "locust_total": context.locust_total,
        },
        "switch": {
            "from": context.from_colour, "to": context.to_colour,
            "from_release": context.old_release, "to_release": context.new_release,
            "started_at": led.event_ts("switch_start"), "converged_s": conv.get("converged_s"),
            "mixed_window_s": conv.get("mixed_window_s"),
            **hooks["switch"],
            "switched": out.get("switched"), "refused": out.get("refused") or "",
            "rolled_back": out.get("rolled_back") or "", "drill": bool(out.get("drill") or context.rollback_drill),
            "final_colour": out.get("final_colour"), "error": out.get("error") or "",
            # A caught release: how fast it left service, from the first request it failed (None: no rollback).
            "rollback_timing": None if out.get("drill") else rollback_timing(led, context.new_nodes),
        },
        "gate": out.get("gate", []),
        "events": led.events,
        "facts": facts,
        "ledger": str(led.path),
        "run_id": context.run_id,
        "target": context.target,
        "context": {k: v for k, v in ctx.items() if k not in ("target",)},
    }


def write_files(report_dir: str | Path, rep: dict) -> dict:
    from harness.report.page import render_html

    d = Path(report_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / REPORT_JSON).write_text(json.dumps(rep, indent=1, default=str))
    (d / REPORT_HTML).write_text(render_html(rep))
    return {"json": str(d / REPORT_JSON), "html": str(d / REPORT_HTML)}


def write_report(report_dir: str | Path, verdicts: list, led: Ledger, context: dict) -> dict:
    return write_files(report_dir, build_report(verdicts, led, context))


def summary(rep: dict) -> str:
    sw, t = rep["switch"], rep["totals"]
    lines = [(f"Greenlight: {rep.get('status', 'passed' if rep['passed'] else 'failed').upper()} — "
              f"{sw['from_release']} ({sw['from']}) -> {sw['to_release']} ({sw['to']}), {t['requests']} requests, "
              f"{t.get('failed', 0)} failed ({t['errors_5xx']} 5xx, {t['transport_errors']} without response), "
              f"{t.get('sessions_crossed', 0)} sessions crossed the {_pivot(rep)}, "
              f"{t.get('orders_confirmed', 0)} orders")]
    for key, label in (("refused", "refused"), ("rolled_back", "rolled back"), ("error", "engine error")):
        if sw.get(key):
            lines.append(f"  {label}: {sw[key]}")
    if rep.get("minimums_lowered"):
        lines.append("  judged on less evidence than the defaults: " + ", ".join(
            f"{k}={v['value']} (default {v['default']})" for k, v in rep["minimums_lowered"].items()))
    for name, v in rep["verdicts"].items():
        lines.append(f"  {verdict_status(v).upper():<12} {name}: {v.get('detail', '')}")
    return "\n".join(lines)


def _pivot(rep: dict) -> str:
    return ((rep.get("facts") or {}).get("crossings") or {}).get("pivot") or "switch"


def load_report(run_dir: str | Path) -> dict:
    p = Path(run_dir) / REPORT_JSON
    return json.loads(p.read_text())


def context_of(old: dict) -> RunContext:
    """The RunContext a report.json recorded (older reports: rebuilt from their switch section)."""
    from harness.verdicts.context import Outcome

    sw = old.get("switch", {})
    ctx = dict(old.get("context") or {})
    ctx.setdefault("run_id", old.get("run_id") or "")
    for key, fallback in (("old_release", sw.get("from_release")), ("new_release", sw.get("to_release")),
                          ("from_colour", sw.get("from")), ("to_colour", sw.get("to")),
                          ("locust_total", (old.get("totals") or {}).get("locust_total"))):
        if ctx.get(key) is None:
            ctx[key] = fallback
    stored = ctx.pop("outcome", None) or {k: sw.get(k) for k in ("switched", "refused", "rolled_back", "final_colour",
                                                                   "error") if sw.get(k) is not None}
    fields = {f.name for f in dataclasses.fields(Outcome)}
    outcome = Outcome(**{"ledger_dir": Path(old.get("ledger") or "."), "run_id": ctx["run_id"],
                         "from_colour": ctx["from_colour"] or "", "to_colour": ctx["to_colour"] or "",
                         "from_release": ctx["old_release"] or "", "to_release": ctx["new_release"] or "",
                         **{k: v for k, v in stored.items() if k in fields and k != "ledger_dir"},
                         "gate": old.get("gate", [])})
    known = {f.name for f in dataclasses.fields(RunContext)}
    return RunContext(**{k: v for k, v in ctx.items() if k in known and v is not None and k != "outcome"},
                      outcome=outcome, target=old.get("target", {}))


def context_from_ledger(led: Ledger) -> RunContext:
    """What a run's own ledger says about it, for a run that died before writing report.json: the release and
    colour the deploy named, and the release most answers came from before it."""
    import numpy as np

    deploy = led.event("deploy_start") or led.event("switch_start") or {}
    new, to = deploy.get("release") or "", deploy.get("colour") or deploy.get("to") or ""
    old = ""
    if len(led):
        rel = led.strs("release")
        before = led.np("ts") < deploy["ts"] if deploy else np.ones(len(led), dtype=bool)
        counts = np.bincount(rel.codes[before].astype(np.int64), minlength=len(rel.values))
        counts[0] = 0  # no release header
        if counts.any():
            old = str(rel.values[int(counts.argmax())])
    start = led.event("load_start") or {}
    return RunContext(run_id=str(start.get("run_id") or ""), old_release=old, new_release=new,
                      from_colour={"blue": "green", "green": "blue"}.get(to, ""), to_colour=to)


def rerender(run_dir: str | Path, out_dir: str | Path | None = None) -> dict:
    """Re-render a run's report from its ledger (run_dir/ledger) and the verdicts its report.json recorded; a run
    that died before writing report.json is judged again from its ledger alone (the engine's own verdicts are
    then not judged: its observations died with it)."""
    from harness.ledger import records as ledger_mod
    from harness.verdicts import Bounds, evaluate

    run_dir = Path(run_dir)
    ledger_dir = run_dir / "ledger" if (run_dir / "ledger").is_dir() else run_dir
    led = ledger_mod.load(ledger_dir)
    if (run_dir / REPORT_JSON).is_file():
        old = load_report(run_dir)
        rep = build_report(list(old.get("verdicts", {}).values()), led, context_of(old))
    else:
        ctx = context_from_ledger(led)
        rep = build_report(evaluate(led, Bounds(), ctx), led, ctx)
    return write_files(out_dir or run_dir, rep)
