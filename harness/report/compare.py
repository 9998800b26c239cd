"""`greenlight compare A B`: two runs side by side — outcome, verdicts, convergence, p99 per step, crossings.

Reads each run's report.json; a report written before facts were kept there is completed from its ledger."""
from __future__ import annotations

from pathlib import Path

from harness.report import context_of, load_report, verdict_status
from harness.report.page import fmt_value

DIFF = "≠"


def load_run(run_dir: str | Path) -> dict:
    d = Path(run_dir)
    if not (d / "report.json").is_file():
        raise FileNotFoundError(f"{d}: no report.json here (give the --report-dir of a finished run)")
    rep = load_report(d)
    if "facts" not in rep:
        from harness.ledger import records as ledger_mod
        from harness.report import facts as facts_mod

        rep["facts"] = facts_mod.all_facts(ledger_mod.load(d / "ledger"), context_of(rep))
    return rep


def _s(v) -> str:
    return "—" if v is None else (f"{v:.2f} s" if isinstance(v, (int, float)) else str(v))


def comparison(a: dict, b: dict) -> dict:
    """The rows of the comparison as data: sections of (label, value in A, value in B, differs)."""
    def row(label, va, vb, differs=None):
        return {"label": label, "a": va, "b": vb, "differs": (va != vb) if differs is None else differs}

    def releases(r):
        sw = r["switch"]
        return f"{sw.get('from_release')} ({sw.get('from')}) → {sw.get('to_release')} ({sw.get('to')})"

    ca, cb = a["facts"].get("convergence", {}), b["facts"].get("convergence", {})
    ta, tb = a["totals"], b["totals"]
    overview = [row("outcome", (a.get("status") or "?").upper(), (b.get("status") or "?").upper()),
                row("releases", releases(a), releases(b), False),
                row("requests", f"{ta['requests']:,}", f"{tb['requests']:,}", False),
                row("failed requests", f"{ta.get('failed', 0):,}", f"{tb.get('failed', 0):,}"),
                row("converged in", _s(ca.get("converged_s")), _s(cb.get("converged_s")), False),
                row("mixed window", _s(ca.get("mixed_window_s")), _s(cb.get("mixed_window_s"))),
                row("rolled back", a["switch"].get("rolled_back") or "no", b["switch"].get("rolled_back") or "no"),
                row("refused", a["switch"].get("refused") or "no", b["switch"].get("refused") or "no")]
    verdicts = []
    for name in sorted(set(a["verdicts"]) | set(b["verdicts"])):
        va, vb = a["verdicts"].get(name), b["verdicts"].get(name)
        fa, fb = _verdict_cell(va), _verdict_cell(vb)
        verdicts.append(row(name, fa, fb, (verdict_status(va) if va else None) != (verdict_status(vb) if vb else None)))

    def steps(r):
        return {(s["journey"], s["step"]): s for s in r["facts"]["steps"]["rows"]}

    sa, sb = steps(a), steps(b)
    step_rows = []
    for key in sorted(set(sa) | set(sb)):
        def p99(s):
            return "—" if s is None else f"{_ms(s['before']['p99'])} → {_ms(s['after']['p99'])}"
        xa, xb = sa.get(key), sb.get(key)
        after_a = xa and xa["after"]["p99"]
        after_b = xb and xb["after"]["p99"]
        slower = bool(after_a and after_b and max(after_a, after_b) > 2 * min(after_a, after_b)
                      and max(after_a, after_b) > 250)
        step_rows.append(row(f"{key[0]} / {key[1]}", p99(xa), p99(xb), slower))
    ka, kb = a["facts"]["crossings"]["kinds"], b["facts"]["crossings"]["kinds"]
    cross = []
    for kind in sorted(set(ka) | set(kb)):
        def c(k):
            return "—" if k is None else f"{k['crossed']} crossed, {k['failed_after']} failed"
        cross.append(row(kind, c(ka.get(kind)), c(kb.get(kind)),
                         (ka.get(kind) or {}).get("failed_after") != (kb.get(kind) or {}).get("failed_after")))
    return {"a": a.get("run_id"), "b": b.get("run_id"),
            "sections": [("Overview", overview), ("Verdicts", verdicts),
                         ("p99 per step, ms (before → after the switch)", step_rows),
                         ("Sessions across the switch, per kind", cross)]}


def _verdict_cell(v: dict | None) -> str:
    if v is None:
        return "not in this run"
    st = verdict_status(v)
    if st == "skipped":
        return f"skipped ({v.get('skipped') or v.get('detail') or 'not judged'})"
    return f"{st} ({fmt_value(v.get('value'), 1)})"


def _ms(v) -> str:
    return "—" if v is None else f"{v:,.0f}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_text(cmp: dict, width_a: int = 34, width_b: int = 60) -> str:
    out = []
    label_w = max(len(r["label"]) for _, rows in cmp["sections"] for r in rows) + 2
    for title, rows in cmp["sections"]:
        out.append("")
        out.append(f"{title:<{label_w}}  {'A: ' + str(cmp['a']):<{width_a}}  B: {cmp['b']}")
        out.append("-" * (label_w + width_a + 24))
        for r in rows:
            a, b = _cut(str(r["a"]), width_a), _cut(str(r["b"]), width_b)
            out.append(f"{r['label']:<{label_w}}  {a:<{width_a}}  {b}{'   ' + DIFF if r['differs'] else ''}")
    out.append("")
    out.append(f"{DIFF} marks what differs (verdict outcome, failures, or a p99 more than twice the other's).")
    return "\n".join(out).lstrip("\n")
