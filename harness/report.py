"""The report: report.json for machines, report.html (a timeline people look at), a console summary."""
from __future__ import annotations

import dataclasses
import html
import json
from collections import defaultdict
from pathlib import Path

from harness.bounds import Bounds
from harness.context import RunContext
from harness.ledger import Ledger
from harness.verdicts import REGISTRY, Verdict

EVENT_MARKS = ("deploy_start", "deploy_done", "gate_pass", "gate_fail", "switch_start", "converged", "breach",
               "rollback_start", "rollback_converged", "fault_on", "fault_off", "safety_switch")
PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


def _verdict_facts(verdicts: list[Verdict]) -> dict[str, dict]:
    """What each registered verdict contributes to the report's sections (its `facts` hook), merged."""
    merged: dict[str, dict] = {"totals": {}, "switch": {}}
    for v in verdicts:
        spec = REGISTRY.get(v.name)
        if spec is None or spec.facts is None or v.skipped:
            continue
        for section, values in spec.facts(v).items():
            merged.setdefault(section, {}).update(values)
    return merged


def lowered_minimums(bounds: Bounds | None) -> dict:
    """Evidence minimums the user lowered below the defaults: the report says the run was judged on less."""
    if bounds is None:
        return {}
    default = Bounds()
    return {f.name: {"value": getattr(bounds, f.name), "default": getattr(default, f.name)}
            for f in dataclasses.fields(Bounds) if f.name.startswith("min_")
            and getattr(bounds, f.name) < getattr(default, f.name)}


def build_report(verdicts: list[Verdict], led: Ledger, context: RunContext, bounds: Bounds | None = None) -> dict:
    st = led.cols.get("status", [])
    facts = _verdict_facts(verdicts)
    out = context.outcome_dict()
    return {
        "passed": all(v.passed for v in verdicts),
        "verdicts": {v.name: v.to_dict() for v in verdicts},
        # Verdicts that could not judge for want of evidence (they fail), and what would let them judge.
        "inconclusive": {v.name: v.inconclusive for v in verdicts if v.inconclusive},
        "bounds": dataclasses.asdict(bounds) if bounds is not None else None,
        "minimums_lowered": lowered_minimums(bounds),
        "totals": {
            "requests": len(led),
            "errors_5xx": sum(1 for s in st if s is not None and s >= 500),
            "transport_errors": sum(1 for s in st if s == 0),
            "sessions_checked": 0, "sessions_lost": 0, "orders_placed": 0, "orders_in_db": 0,
            **facts["totals"],
            "locust_total": context.locust_total,
        },
        "switch": {
            "from": context.from_colour, "to": context.to_colour,
            "from_release": context.old_release, "to_release": context.new_release,
            "started_at": led.event_ts("switch_start"), "converged_s": None, "mixed_window_s": None,
            **facts["switch"],
            "switched": out.get("switched"), "refused": out.get("refused") or "",
            "rolled_back": out.get("rolled_back") or "", "final_colour": out.get("final_colour"),
        },
        "gate": out.get("gate", []),
        "events": led.events,
        "ledger": str(led.path),
        "run_id": context.run_id,
        "target": context.target,
    }


def write_report(report_dir: str | Path, verdicts: list[Verdict], led: Ledger, context: RunContext,
                 bounds: Bounds | None = None) -> dict:
    d = Path(report_dir)
    d.mkdir(parents=True, exist_ok=True)
    rep = build_report(verdicts, led, context, bounds)
    (d / "report.json").write_text(json.dumps(rep, indent=2, default=str))
    (d / "report.html").write_text(render_html(rep, led))
    return {"json": str(d / "report.json"), "html": str(d / "report.html")}


def summary(rep: dict) -> str:
    sw, t = rep["switch"], rep["totals"]
    lines = [f"Greenlight: {'PASSED' if rep['passed'] else 'FAILED'} — {sw['from_release']} ({sw['from']}) -> "
             f"{sw['to_release']} ({sw['to']}), {t['requests']} requests, {t['errors_5xx']} 5xx, "
             f"{t['transport_errors']} transport errors, {t['sessions_checked']} sessions checked, "
             f"{t['sessions_lost']} lost, {t['orders_placed']} orders"]
    if sw.get("refused"):
        lines.append(f"  refused: {sw['refused']}")
    if rep.get("minimums_lowered"):
        lines.append("  judged on less evidence than the defaults: " + ", ".join(
            f"{k}={v['value']} (default {v['default']})" for k, v in rep["minimums_lowered"].items()))
    if sw.get("rolled_back"):
        lines.append(f"  rolled back: {sw['rolled_back']}")
    for name, v in rep["verdicts"].items():
        lines.append(f"  [{_mark(v)}] {name}: {v['detail']}")
    return "\n".join(lines)


def _mark(v: dict) -> str:
    if v.get("skipped"):
        return "SKIP"
    if v.get("inconclusive"):
        return "INCONCLUSIVE"
    return "PASS" if v["passed"] else "FAIL"


def _timeline_svg(led: Ledger, events: list[dict]) -> str:
    """Requests per second, stacked by release, with errors in red and the run's events as vertical lines."""
    ts = led.cols.get("ts", [])
    if not ts:
        return "<p>No requests were recorded.</p>"
    t0, t1 = min(ts), max(ts)
    for e in events:
        t0, t1 = min(t0, e.get("ts", t0)), max(t1, e.get("ts", t1))
    n = int(t1 - t0) + 1
    per_rel: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    errors = [0] * n
    for i, t in enumerate(ts):
        b = int(t - t0)
        s = led.cols["status"][i]
        if s == 0 or (s is not None and s >= 500):
            errors[b] += 1
        else:
            per_rel[led.cols["release"][i] or "unknown"][b] += 1
    rels = sorted(per_rel)
    peak = max(max(sum(per_rel[r][b] for r in rels) + errors[b] for b in range(n)), 1)
    W, H, L, B = 960, 300, 50, 40
    x = lambda s: L + (W - L - 10) * s / max(n, 1)  # noqa: E731
    y = lambda v: H - B - (H - B - 20) * v / peak  # noqa: E731
    bw = max((W - L - 10) / max(n, 1) - 0.5, 0.5)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
             f'<line x1="{L}" y1="{H - B}" x2="{W - 10}" y2="{H - B}" stroke="#333"/>',
             f'<line x1="{L}" y1="20" x2="{L}" y2="{H - B}" stroke="#333"/>',
             f'<text x="5" y="24">{peak}/s</text><text x="{L}" y="{H - 22}">0 s</text>'
             f'<text x="{W - 60}" y="{H - 22}">{n} s</text>']
    for b in range(n):
        base = 0
        for k, r in enumerate(rels):
            v = per_rel[r][b]
            if v:
                parts.append(f'<rect x="{x(b):.1f}" y="{y(base + v):.1f}" width="{bw:.1f}" height="{y(base) - y(base + v):.1f}" fill="{PALETTE[k % len(PALETTE)]}"/>')
                base += v
        if errors[b]:
            parts.append(f'<rect x="{x(b):.1f}" y="{y(base + errors[b]):.1f}" width="{bw:.1f}" height="{y(base) - y(base + errors[b]):.1f}" fill="#d62728"><title>{errors[b]} errors</title></rect>')
    for j, e in enumerate(ev for ev in events if ev.get("event") in EVENT_MARKS):
        ex = x(e["ts"] - t0)
        parts.append(f'<line x1="{ex:.1f}" y1="20" x2="{ex:.1f}" y2="{H - B}" stroke="#555" stroke-dasharray="3,3"/>'
                     f'<text x="{ex + 2:.1f}" y="{30 + 12 * (j % 6)}">{html.escape(e["event"])}</text>')
    for k, r in enumerate(rels):
        parts.append(f'<rect x="{L + 110 * k}" y="{H - 14}" width="10" height="10" fill="{PALETTE[k % len(PALETTE)]}"/>'
                     f'<text x="{L + 14 + 110 * k}" y="{H - 5}">{html.escape(r)}</text>')
    parts.append(f'<rect x="{L + 110 * len(rels)}" y="{H - 14}" width="10" height="10" fill="#d62728"/>'
                 f'<text x="{L + 14 + 110 * len(rels)}" y="{H - 5}">5xx / dropped</text></svg>')
    return "".join(parts)


def render_html(rep: dict, led: Ledger) -> str:
    e = html.escape
    rows = "".join(
        f"<tr class={_mark(v).lower()}><td>{e(n)}</td><td>{_mark(v)}</td>"
        f"<td>{e(json.dumps(v['value'], default=str))[:200]}</td><td>{e(str(v['bound']))}</td><td>{e(v['detail'])}</td></tr>"
        for n, v in rep["verdicts"].items())
    evidence = ""
    for n, v in rep["verdicts"].items():
        if not v["passed"] and v.get("evidence"):
            keys = sorted({k for row in v["evidence"] for k in row})
            body = "".join("<tr>" + "".join(f"<td>{e(json.dumps(r.get(k), default=str))}</td>" for k in keys) + "</tr>"
                           for r in v["evidence"])
            evidence += (f"<h3>Evidence: {e(n)}</h3><table><tr>{''.join(f'<th>{e(k)}</th>' for k in keys)}</tr>"
                         f"{body}</table>")
    sw, t = rep["switch"], rep["totals"]
    gate = "".join(f"<tr class={'pass' if g['ok'] else 'fail'}><td>{e(g['check'])}</td><td>{e(g['node'])}</td>"
                   f"<td>{e(g['detail'])}</td></tr>" for g in rep.get("gate", []))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Greenlight report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left}}.pass td:nth-child(2){{color:#2ca02c}}.skip td:nth-child(2){{color:#888}}
.fail td:nth-child(2),.fail td:first-child{{color:#d62728;font-weight:bold}}h1 span{{color:{'#2ca02c' if rep['passed'] else '#d62728'}}}</style>
</head><body><h1>Greenlight: <span>{'PASSED' if rep['passed'] else 'FAILED'}</span></h1>
<p>{e(str(sw['from_release']))} ({e(str(sw['from']))}) → {e(str(sw['to_release']))} ({e(str(sw['to']))}) —
{t['requests']} requests, {t['errors_5xx']} 5xx, {t['transport_errors']} transport errors,
{t['sessions_checked']} sessions checked, {t['sessions_lost']} lost, {t['orders_placed']} orders placed,
{t['orders_in_db']} in the DB. Converged in {e(str(sw['converged_s']))} s; mixed window {e(str(sw['mixed_window_s']))} s.
{('<br>Refused: ' + e(sw['refused'])) if sw.get('refused') else ''}{('<br>Rolled back: ' + e(sw['rolled_back'])) if sw.get('rolled_back') else ''}</p>
<h2>Timeline</h2>{_timeline_svg(led, rep.get('events', []))}
<h2>Verdicts</h2><table><tr><th>verdict</th><th>result</th><th>value</th><th>bound</th><th>detail</th></tr>{rows}</table>
{evidence}
<h2>Gate</h2><table><tr><th>check</th><th>node</th><th>detail</th></tr>{gate}</table>
<p>Run {e(str(rep.get('run_id')))}; ledger: {e(rep['ledger'])}</p></body></html>"""
