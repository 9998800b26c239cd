"""report.html: one self-contained page (inline CSS and SVG, no script, nothing fetched).

Read top-down the way a release manager decides: the outcome in one line, the key numbers, every verdict in words
(its number, its bound, the first offending requests one click away), then the timeline, per step, per kind of
session, per node, the gate and the event log."""
from __future__ import annotations

import time
from html import escape as e

from harness.report import charts, verdict_status
from harness.report import facts as facts_mod
from harness.verdicts import REGISTRY

STATUS_WORD = {"passed": "Passed", "failed": "Failed", "inconclusive": "Inconclusive", "skipped": "Skipped"}
KIND_WORDS = {"session": "storefront session (cookie)", "customer": "customer token (REST)",
              "guest": "guest cart (REST)", "guest_storefront": "guest storefront cart (cookie)",
              "browse": "browser (pages and assets)"}
EVIDENCE_FIRST = ("ts", "node", "release", "status", "journey", "step", "method", "name", "user", "session",
                  "phase", "expected", "observed", "error")
EVENT_WORDS = {"load_start": "load starts", "deploy_start": "deploy {release} → {colour}", "deploy_done": "deployed",
               "gate_pass": "gate passed", "gate_fail": "gate refused", "switch_start": "switch → {to}",
               "converged": "converged", "watch_done": "watch done", "rollback_start": "rollback → {to}",
               "rollback_converged": "rollback converged", "fault_on": "fault: {fault}", "fault_off": "healed: {fault}",
               "safety_switch": "safety switch → {to}", "safety_switch_impossible": "no healthy colour",
               "error": "engine error", "load_stop": "load stops"}


def _num(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".") if abs(v) < 1e9 else f"{v:.0f}"
    return str(v)


def words(key: str) -> str:
    return key.replace("_", " ")


def fmt_value(v, depth: int = 0) -> str:
    """A verdict value in words: numbers as numbers, a mapping as 'key value' pairs, never raw JSON."""
    if v is None:
        return "—"
    if isinstance(v, dict):
        if not v:
            return "—"
        sep = " · " if depth == 0 else ", "
        parts = []
        for k, x in v.items():
            inner = fmt_value(x, depth + 1)
            parts.append(f"{words(k)}: ({inner})" if isinstance(x, dict) and depth == 0 else f"{words(k)} {inner}")
        return sep.join(parts)
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt_value(x, depth + 1) for x in v[:20]) + (f" … (+{len(v) - 20})" if len(v) > 20 else "") \
            if v else "none"
    return _num(v)


FOLD_ENTRIES = 4   # a table-like value with more rows than this is folded: the cell stays a glance, not a dump


def _is_table(v) -> bool:
    return isinstance(v, dict) and any(isinstance(x, dict) for x in v.values())


def value_html(v) -> str:
    """fmt_value for the page: a mapping of mappings (e.g. latency per phase) one line per entry; a larger table
    inside it (e.g. every journey step) folded behind its row count, one line per row when opened."""
    if not _is_table(v):
        return e(fmt_value(v))
    lines = []
    for k, x in v.items():
        if _is_table(x) and len(x) > FOLD_ENTRIES:
            rows = "<br>".join(e(f"{words(k2)}: {fmt_value(y, 1)}") for k2, y in x.items())
            lines.append(f"<details><summary>{e(words(k))}: {len(x)} rows</summary>{rows}</details>")
        else:
            lines.append(e(f"{words(k)}: {fmt_value(x, 1)}"))
    return "<br>".join(lines)


def _side(release, colour) -> str:
    """'r2 (green)'; only the colour when the release is unknown (the live node did not say)."""
    return f"{release} ({colour})" if release else str(colour or "?")


def _clock(ts: float, t0: float) -> str:
    return f"{charts.fmt_clock(ts - t0)} ({time.strftime('%H:%M:%S', time.gmtime(ts))} UTC)"


def _cell(key: str, v, t0: float) -> str:
    if isinstance(v, float) and 1e9 < v < 1e11:  # an epoch timestamp: say when, in run time and clock time
        return e(_clock(v, t0))
    if isinstance(v, dict):
        return e(fmt_value(v, 1))
    return e(fmt_value(v, 1)) if v not in (None, "") else ""


def _evidence(rows: list, t0: float) -> str:
    rows = [r if isinstance(r, dict) else {"item": r} for r in rows]
    keys = sorted({k for r in rows for k in r},
                  key=lambda k: (EVIDENCE_FIRST.index(k) if k in EVIDENCE_FIRST else len(EVIDENCE_FIRST), k))
    head = "".join(f"<th>{e(words(k))}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{_cell(k, r.get(k), t0)}</td>" for k in keys) + "</tr>" for r in rows)
    return f'<div class="scroll"><table class="evidence"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _pill(status: str) -> str:
    return f'<span class="pill {status}">{STATUS_WORD.get(status, status)}</span>'


def verdicts_table(verdicts: dict, t0: float) -> str:
    order = {"failed": 0, "inconclusive": 1, "passed": 2, "skipped": 3}
    rows = []
    for name, v in sorted(verdicts.items(), key=lambda kv: order.get(verdict_status(kv[1]), 9)):
        st = verdict_status(v)
        unit = f" {v['unit']}" if v.get("unit") else ""
        bound = v.get("bound")
        ev = v.get("evidence") or []
        spec = REGISTRY.get(name)
        doc = f' title="{e(spec.doc)}"' if spec is not None and spec.doc else ""
        rows.append(f'<tr class="verdict {st}" id="verdict-{e(name)}"><td>{_pill(st)}</td>'
                    f'<td{doc}><b>{e(v.get("title") or words(name).capitalize())}</b><br><code>{e(name)}</code></td>'
                    f'<td>{e(v.get("detail") or "")}</td><td class="value">{value_html(v.get("value"))}{e(unit)}</td>'
                    f'<td class="value">{e(fmt_value(bound)) + e(unit) if bound is not None else "—"}</td></tr>')
        if ev:
            what = "the first offending records" if st in ("failed", "inconclusive") else "what was measured"
            rows.append(f'<tr class="evidence-row {st}"><td></td><td colspan="4"><details>'
                        f'<summary>Evidence ({len(ev)}): {what}</summary>{_evidence(ev, t0)}</details></td></tr>')
    return ('<table class="verdicts"><thead><tr><th>Result</th><th>Verdict</th><th>What was measured</th>'
            f'<th>Value</th><th>Bound</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _rate(st: dict) -> str:
    if not st["n"]:
        return "—"
    return f"{st['failed']:,} ({100 * st['failure_rate']:.1f} %)" if st["failed"] else "0"


def _ms(v) -> str:
    return "—" if v is None else f"{v:,.0f}"


def steps_table(steps: dict) -> str:
    label = {"switch": ("before the switch", "after the switch"), "deploy": ("before the deploy", "since the deploy")}
    before, after = label.get(steps["pivot"], ("before", "after"))
    if steps.get("until_ts"):
        after += " (until the rollback)"
    rows = []
    for r in steps["rows"]:
        b, a = r["before"], r["after"]
        worse_fail = a["failed"] and (a["failure_rate"] or 0) > (b["failure_rate"] or 0)
        slow = a["p99"] and b["p99"] and a["p99"] > 2 * b["p99"] and a["p99"] > 250
        rows.append(f'<tr><td>{e(r["journey"])}</td><td>{e(r["step"])}</td>'
                    f'<td class="n">{b["n"]:,}</td><td class="n">{_rate(b)}</td><td class="n">{_ms(b["p50"])}</td>'
                    f'<td class="n">{_ms(b["p99"])}</td><td class="n sep">{a["n"]:,}</td>'
                    f'<td class="n{" bad" if worse_fail else ""}">{_rate(a)}</td><td class="n">{_ms(a["p50"])}</td>'
                    f'<td class="n{" warn" if slow else ""}">{_ms(a["p99"])}</td></tr>')
    return (f'<table class="steps"><thead><tr><th rowspan="2">Journey</th><th rowspan="2">Step</th>'
            f'<th colspan="4">{e(before)}</th><th colspan="4" class="sep">{e(after)}</th></tr><tr>'
            + '<th>requests</th><th>failed</th><th>p50 ms</th><th>p99 ms</th>' * 2
            + f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def crossings_table(cr: dict) -> str:
    moment = "switch" if cr["pivot"] == "switch" else "deploy"
    rows = "".join(
        f'<tr><td>{e(KIND_WORDS.get(k, k))}</td><td class="n">{v["sessions"]:,}</td><td class="n">{v["crossed"]:,}</td>'
        f'<td class="n">{v["both_colours"]:,}</td>'
        f'<td class="n{" bad" if v["failed_after"] else ""}">{v["failed_after"]:,}</td></tr>'
        for k, v in cr["kinds"].items())
    return (f'<table class="crossings"><thead><tr><th>Kind of session</th><th>sessions</th>'
            f'<th>used before and after the {moment}</th><th>served by both colours</th>'
            f'<th>crossed, then failed</th></tr></thead><tbody>{rows}</tbody></table>')


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{charts.colour_for(colour, [colour])}"></span>{e(colour)}'


def nodes_table(nodes: list[dict]) -> str:
    rows = "".join(
        f'<tr><td>{e(n["node"])}</td><td>{_swatch(n["colour"])}</td><td>{e(", ".join(n["releases"]) or "—")}</td>'
        f'<td class="n">{n["n"]:,}</td><td class="n{" bad" if n["failed"] else ""}">{n["failed"]:,}</td>'
        f'<td class="n">{n["http_5xx"]:,}</td><td class="n">{n["no_response"]:,}</td><td class="n">{_ms(n["p50"])}</td>'
        f'<td class="n">{_ms(n["p95"])}</td><td class="n">{_ms(n["p99"])}</td>'
        f'<td class="n">{charts.fmt_clock(n["first_s"])}–{charts.fmt_clock(n["last_s"])}</td></tr>' for n in nodes)
    return ('<table class="nodes"><thead><tr><th>Node</th><th>Colour</th><th>Releases</th><th>requests</th>'
            '<th>failed</th><th>5xx</th><th>no response</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th>'
            f'<th>answered</th></tr></thead><tbody>{rows}</tbody></table>')


def gate_table(gate: list[dict]) -> str:
    if not gate:
        return '<p class="muted">The gate did not run (the deploy stopped first, or the run ended before it).</p>'
    rows = "".join(f'<tr><td>{_pill("passed" if g.get("ok") else "failed")}</td><td>{e(str(g.get("check", "")))}</td>'
                   f'<td>{e(str(g.get("node", "")))}</td><td>{e(str(g.get("detail", "")))}</td></tr>' for g in gate)
    return f'<table class="gate"><thead><tr><th>Result</th><th>Check</th><th>Node</th><th>Detail</th></tr></thead>' \
           f'<tbody>{rows}</tbody></table>'


def event_label(ev: dict) -> str:
    tpl = EVENT_WORDS.get(ev.get("event", ""))
    if tpl is None:
        return words(str(ev.get("event", "?")))
    try:
        return tpl.format_map({k: v for k, v in ev.items()} | {"fault": ev.get("fault") or ev.get("name") or "?"})
    except (KeyError, ValueError):
        return words(ev["event"])


def events_list(events: list[dict], t0: float) -> str:
    rows = "".join(
        f'<tr><td class="n">{charts.fmt_clock(ev["ts"] - t0)}</td><td>{e(str(ev.get("event")))}</td>'
        f'<td>{e(fmt_value({k: v for k, v in ev.items() if k not in ("ts", "event")}, 1))}</td></tr>'
        for ev in events if isinstance(ev.get("ts"), (int, float)))
    return f'<table class="events"><thead><tr><th>at</th><th>event</th><th>details</th></tr></thead><tbody>{rows}</tbody></table>'


def outcome_sentence(rep: dict) -> str:
    sw = rep["switch"]
    frm, to = _side(sw.get("from_release"), sw.get("from")), _side(sw.get("to_release"), sw.get("to"))
    if sw.get("error"):
        return f"The engine stopped: {sw['error']}. {sw.get('final_colour') or '?'} was left live."
    if sw.get("refused"):
        return f"Refused before the switch: {sw['refused']}. {frm} stayed live."
    if sw.get("drill") and sw.get("rolled_back"):
        return f"Switched to {to}, then back to {frm} under the same load (rollback drill)."
    if sw.get("rolled_back"):
        return f"Switched to {to}, then rolled back automatically to {frm}: {sw['rolled_back']}."
    if sw.get("switched"):
        return f"Switched from {frm} to {to}; {sw.get('final_colour') or sw.get('to')} is live."
    return "No switch happened."


def _cards(rep: dict) -> str:
    # Convergence as the converged verdict measured it (its facts hook fills the report's switch section).
    t, conv = rep["totals"], rep.get("switch") or {}
    cards = [("requests", _num(t["requests"]), ""), ("failed requests", _num(t.get("failed", 0)),
                                                       "bad" if t.get("failed") else ""),
             ("5xx", _num(t["errors_5xx"]), "bad" if t["errors_5xx"] else ""),
             ("no response", _num(t["transport_errors"]), "bad" if t["transport_errors"] else ""),
             (f"sessions across the {rep['facts']['crossings']['pivot']}", _num(t.get("sessions_crossed", 0)), ""),
             ("converged in", f"{conv['converged_s']:.1f} s" if conv.get("converged_s") is not None else "—", ""),
             ("mixed window", f"{conv['mixed_window_s']:.1f} s" if conv.get("converged_s") is not None else "—", ""),
             ("orders confirmed", _num(t.get("orders_confirmed", 0)), "")]
    rb = (rep.get("switch") or {}).get("rollback_timing") or {}
    if rb.get("rollback_start_s") is not None:
        # A caught release: how long customers met it (from the first request it failed).
        cards += [("rollback began after", f"{rb['rollback_start_s']:.2f} s", ""),
                  ("old colour serving after", f"{rb['old_serving_s']:.2f} s", ""),
                  ("customers hurt", _num(rb["customers_hurt"]), "bad" if rb["customers_hurt"] else "")]
    return "".join(f'<div class="card {cls}"><div class="num">{e(v)}</div><div class="lbl">{e(k)}</div></div>'
                   for k, v, cls in cards)


def _charts(rep: dict) -> str:
    f = rep["facts"]
    s = f["series"]
    if not rep["totals"]["requests"] and not rep.get("events"):
        return '<p class="muted">No requests and no events were recorded.</p>'
    axis = charts.TimeAxis(s["t0"], s["t1"])
    evs = [ev | {"label": event_label(ev)} for ev in rep.get("events", []) if isinstance(ev.get("ts"), (int, float))]
    major = [ev for ev in evs if ev.get("event") in facts_mod.MAJOR_EVENTS]
    minor = [ev for ev in evs if ev.get("event") not in facts_mod.MAJOR_EVENTS]
    legend = "".join(f'<span class="phase-key"><span class="swatch" style="background:'
                     f'{charts.PHASE_FILL[p] if p != "fault" else "#fdba74"}"></span>{p}</span>'
                     for p in charts.PHASE_FILL)
    return (f'<div class="chart-block"><h3>Phases and events</h3>{charts.timeline(axis, f["phases"], major, minor)}'
            f'<div class="phase-legend">{legend}</div></div>'
            f'<div class="chart-block"><h3>Throughput per colour, failed requests in red '
            f'<span class="muted">(per {s["bucket_s"]:g} s)</span></h3>{charts.throughput(axis, s, f["phases"], major)}</div>'
            f'<div class="chart-block"><h3>Latency percentiles per colour</h3>'
            f'{charts.latency(axis, s, f["phases"], major)}</div>')


def _release_html(release, colour) -> str:
    if not release:
        return f"<small>{e(str(colour or '?'))} (release unknown)</small>"
    return f"{e(str(release))} <small>({e(str(colour))})</small>"


def render_html(rep: dict) -> str:
    status = rep.get("status") or ("passed" if rep.get("passed") else "failed")
    f = rep["facts"]
    t0 = f["series"]["t0"]
    sw = rep["switch"]
    load_start = next((ev for ev in rep.get("events") or () if ev.get("event") == "load_start"), {})
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t0)) if t0 else "?"
    dur = charts.fmt_clock(f["series"]["t1"] - t0)
    target = rep.get("target") or {}
    meta = [f"run {rep.get('run_id') or '?'}", started, f"{dur} of load"]
    if load_start.get("users"):
        meta.append(f"{load_start['users']} users")
    if target.get("kind"):
        meta.append(f"target: {target.get('kind')} {target.get('project') or target.get('lb') or ''}".strip())
    counts = {s: sum(1 for v in rep["verdicts"].values() if verdict_status(v) == s) for s in STATUS_WORD}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Greenlight {STATUS_WORD.get(status, status)}: {e(str(sw.get('from_release') or sw.get('from')))} → {e(str(sw.get('to_release') or sw.get('to')))}</title>
<style>{CSS}</style></head>
<body>
<header class="banner {status}" id="outcome">
 <div class="brand">Greenlight · blue-green cutover certification</div>
 <div class="headline"><span class="status-word">{STATUS_WORD.get(status, status).upper()}</span>
  <span class="releases">{_release_html(sw.get('from_release'), sw.get('from'))} → {_release_html(sw.get('to_release'), sw.get('to'))}</span></div>
 <p class="outcome">{e(outcome_sentence(rep))}</p>
 <p class="meta">{e(" · ".join(meta))}</p>
</header>
<main>
<section class="cards" id="numbers">{_cards(rep)}</section>
<section id="verdicts"><h2>Verdicts <span class="muted">{e(tally)}</span></h2>{verdicts_table(rep["verdicts"], t0)}</section>
<section id="timeline"><h2>Timeline</h2>{_charts(rep)}</section>
<section id="steps"><h2>Journey steps before and after</h2>{steps_table(f["steps"])}</section>
<section id="crossings"><h2>Sessions across the {'switch' if f['crossings']['pivot'] == 'switch' else 'deploy'}</h2>
<p class="muted">A session crossed when it was used before and after the moment; it failed when any of its requests or
session checks failed after it.</p>{crossings_table(f["crossings"])}</section>
<section id="nodes"><h2>Per node</h2>{nodes_table(f["nodes"])}</section>
<section id="gate"><h2>Gate</h2>{gate_table(rep.get("gate") or [])}</section>
<section id="events"><h2>Events</h2><details><summary>{len(rep.get("events") or [])} events of the run</summary>
{events_list(rep.get("events") or [], t0)}</details></section>
</main>
<footer>Ledger: {e(str(rep.get("ledger")))} · report.json beside this file holds every number shown here.</footer>
</body></html>
"""


CSS = """
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--pass:#15803d;--fail:#b91c1c;--inc:#b45309;--skip:#6b7280}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);background:#f9fafb}
main{max-width:1180px;margin:0 auto;padding:0 24px 32px}
.banner{padding:20px 32px 16px;color:#fff;background:#374151}
.banner.passed{background:linear-gradient(90deg,#14532d,#15803d)}
.banner.failed{background:linear-gradient(90deg,#7f1d1d,#b91c1c)}
.banner.inconclusive{background:linear-gradient(90deg,#78350f,#b45309)}
.banner .brand{font-size:12px;letter-spacing:.08em;text-transform:uppercase;opacity:.8}
.headline{display:flex;align-items:baseline;gap:18px;flex-wrap:wrap;margin-top:4px}
.status-word{font-size:34px;font-weight:800;letter-spacing:.04em}
.releases{font-size:22px;font-weight:600}.releases small{font-weight:400;opacity:.85}
.outcome{font-size:16px;margin:6px 0 2px;max-width:1100px}.meta{margin:0;opacity:.8;font-size:13px}
h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:14px 0 4px;color:#374151}
.muted{color:var(--muted);font-weight:400;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(8,1fr);gap:10px;margin-top:18px}
.card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 12px}
.card .num{font-size:22px;font-weight:700;font-variant-numeric:tabular-nums}.card .lbl{color:var(--muted);font-size:12px}
.card.bad{border-color:#fca5a5;background:#fef2f2}.card.bad .num{color:var(--fail)}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);font-size:13px}
th,td{padding:6px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600;color:#374151;font-size:12px}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.value{font-variant-numeric:tabular-nums;min-width:220px;max-width:360px}
.sep{border-left:2px solid #d1d5db}
td.bad{color:var(--fail);font-weight:700;background:#fef2f2}td.warn{color:var(--inc);font-weight:700;background:#fffbeb}
tr.verdict.failed td{background:#fef2f2}tr.verdict.inconclusive td{background:#fffbeb}
tr.evidence-row td{border-top:none;padding-top:0}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--muted)}
.pill{display:inline-block;padding:2px 9px;border-radius:999px;font-size:12px;font-weight:700;color:#fff;white-space:nowrap}
.pill.passed{background:var(--pass)}.pill.failed{background:var(--fail)}.pill.inconclusive{background:var(--inc)}
.pill.skipped{background:var(--skip)}
details summary{cursor:pointer;color:#1d4ed8;font-weight:600;padding:4px 0}
.scroll{overflow-x:auto;max-width:100%}
table.evidence{font-size:12px;margin:4px 0 8px}table.evidence td{white-space:nowrap;max-width:420px;overflow:hidden;text-overflow:ellipsis}
.chart-block{background:#fff;border:1px solid var(--line);border-radius:6px;padding:6px 12px 8px;margin-bottom:12px}
svg.chart{width:100%;height:auto;display:block}
.phase-legend{font-size:12px;color:var(--muted);display:flex;gap:14px;flex-wrap:wrap;padding-left:58px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px;border:1px solid rgba(0,0,0,.1)}
footer{max-width:1180px;margin:0 auto;padding:12px 24px 28px;color:var(--muted);font-size:12px}
@media (max-width:900px){.cards{grid-template-columns:repeat(4,1fr)}}
"""
