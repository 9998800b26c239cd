"""Ledger completeness: the ledger holds every request Locust counted (nothing judged is missing)."""
from __future__ import annotations

from harness.context import RunContext
from harness.ledger import Ledger
from harness.verdicts.registry import Bounds, Verdict, verdict


def ledger_complete(led: Ledger, locust_total: int | None) -> Verdict:
    if locust_total is None:
        return Verdict("ledger_complete", False, len(led), None, "Locust's own total is unknown (no locust.json)")
    ok = len(led) == locust_total and led.skipped_lines == 0
    return Verdict("ledger_complete", ok, len(led), locust_total,
                   f"{len(led)} ledger records, Locust counted {locust_total}, {led.skipped_lines} unreadable lines")


@verdict("ledger_complete", family="ledger")
def _ledger_complete(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """The ledger's record count equals Locust's own total, with no unreadable line."""
    return ledger_complete(led, ctx.locust_total)
