"""HTTP status: no 5xx, no request without a response."""
from __future__ import annotations

import numpy as np

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import EVIDENCE_MAX, Bounds, Verdict, evidence_row, verdict


def _where(rec: dict) -> str:
    return f"{rec.get('method', '')} {rec.get('name', '')} on {rec.get('served_by') or '?'}"


def live_5xx(rec: dict) -> str | None:
    st = rec.get("status", 200)
    return f"HTTP {st}: {_where(rec)}" if st is not None and st >= 500 else None


def live_transport_error(rec: dict) -> str | None:
    if rec.get("status", 200) == 0:
        return f"transport error: {_where(rec)}: {str(rec.get('error') or '')[:120]}"
    return None


def zero_5xx(led: Ledger) -> Verdict:
    idx = np.flatnonzero(led.np("status") >= 500).tolist()  # whole column at once: millions of records in ms
    ev = [evidence_row(led, i) for i in idx[:EVIDENCE_MAX]]
    names = sorted({f"{led.cols['method'][i]} {led.cols['name'][i]}" for i in idx[:10_000]})[:5]
    return Verdict("zero_5xx", not idx, len(idx), 0,
                   f"no 5xx in {len(led)} requests" if not idx else
                   f"{len(idx)} responses with 5xx: {', '.join(names)}", ev)


def zero_transport_errors(led: Ledger) -> Verdict:
    idx = np.flatnonzero(led.np("status") == 0).tolist()
    ev = [evidence_row(led, i) for i in idx[:EVIDENCE_MAX]]
    return Verdict("zero_transport_errors", not idx, len(idx), 0,
                   "no dropped connections" if not idx else
                   f"{len(idx)} requests got no HTTP response (reset, refused or timed out)", ev)


@verdict("zero_5xx", family="status", live=live_5xx)
def _zero_5xx(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """No response with a 5xx status in the whole run."""
    return zero_5xx(led)


@verdict("zero_transport_errors", family="status", live=live_transport_error)
def _zero_transport_errors(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """Every request got an HTTP response (no reset, refused or timed-out connection)."""
    return zero_transport_errors(led)
