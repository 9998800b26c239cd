"""Ledger completeness: the ledger holds every request Locust counted (nothing judged is missing), reconciled per
Locust process when the run says what each process counted (workers.json), so a lost worker is named."""
from __future__ import annotations

from harness.ledger.records import Ledger
from harness.ledger.workers import reconcile
from harness.verdicts.context import RunContext
from harness.verdicts.registry import EVIDENCE_MAX, Bounds, Verdict, no_evidence, verdict


def ledger_complete(led: Ledger, locust_total: int | None, workers: dict | None = None) -> Verdict:
    if locust_total is None:
        return no_evidence("ledger_complete", "Locust's own total is unknown (no locust.json): the ledger could not be "
                           "reconciled", len(led))
    ok = len(led) == locust_total and led.skipped_lines == 0
    detail = f"{len(led)} ledger records, Locust counted {locust_total}, {led.skipped_lines} unreadable lines"
    if workers is None:
        return Verdict("ledger_complete", ok, len(led), locust_total, detail)
    rec = reconcile(workers, led.shard_rows, locust_total)
    if rec["ok"] is False:
        ok = False
        more = len(rec["problems"]) - 3
        detail = "; ".join(rec["problems"][:3]) + (f" (+{more} more)" if more > 0 else "") + f" — {detail}"
    elif rec["ok"]:
        n = len(rec["workers"])
        detail += f"; reconciled per process ({n} Locust process{'es' if n != 1 else ''})"
    return Verdict("ledger_complete", ok, len(led), locust_total, detail, rec["workers"][:EVIDENCE_MAX * 5])


@verdict("ledger_complete", family="ledger")
def _ledger_complete(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """The ledger's record count equals Locust's own total, with no unreadable line, per Locust process (a worker
    lost mid-run is named)."""
    return ledger_complete(led, ctx.locust_total, ctx.workers)
