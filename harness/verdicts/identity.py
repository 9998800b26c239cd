"""Response identity: every response says which node and release served it (what convergence is judged by)."""
from __future__ import annotations

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import Bounds, Verdict, verdict


def identity_headers(led: Ledger) -> Verdict:
    served, release = led.strs("served_by"), led.strs("release")
    missing = int((served.isnull() | served.eq("") | release.isnull() | release.eq("")).sum())
    ok = missing == 0 and len(led) > 0
    return Verdict("identity_headers_present", ok, missing, 0,
                   "every response said who served it" if ok else
                   f"{missing} of {len(led)} responses lacked X-Served-By/X-Release: identity-based verdicts are limited")


@verdict("identity_headers_present", family="identity")
def _identity_headers(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Every response carried the served-by and release headers."""
    return identity_headers(led)
