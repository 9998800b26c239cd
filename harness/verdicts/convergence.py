"""Convergence: how long the old release kept answering after the switch (and after a rollback)."""
from __future__ import annotations

import numpy as np

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import Bounds, NotJudged, Verdict, no_evidence, not_switched, verdict


def _span_ts(led: Ledger, release: str, start: float, end: float | None, pick) -> float | None:
    """The first (pick=min) or last (pick=max) time `release` answered in [start, end)."""
    ts = led.np("ts")
    mask = led.strs("release").eq(release) & (ts >= start)
    if end is not None:
        mask &= ts < end
    hits = ts[mask]
    return float(pick(hits)) if len(hits) else None


# A request that began this long after the load balancer had converged cannot have reached the old colour through
# it; old answers to such requests that go on for STALE_SPAN_S come from a cache in front of both colours.
LATE_MARGIN_S = 1.0
STALE_SPAN_S = 3.0
STALE_MIN = 3


def stale_after_converged(led: Ledger, old_release: str, converged_ts: float | None, end: float | None) -> str | None:
    """Why the old release was still served after the load balancer had converged, or None: a shared page cache
    (one Varnish or CDN in front of both colours, not purged after the switch) keeps answering with pages the
    old colour rendered, whatever the load balancer does."""
    if converged_ts is None:
        return None
    ts = led.np("ts")
    mask = led.strs("release").eq(old_release) & (ts >= converged_ts + LATE_MARGIN_S)
    if end is not None:
        mask &= ts < end
    idx = np.flatnonzero(mask)
    if len(idx) < STALE_MIN or float(ts[idx].max()) - converged_ts < STALE_SPAN_S:
        return None
    names = sorted({str(led.cols["name"][int(i)]) for i in idx[:200]})
    return (f"{len(idx)} requests begun after the load balancer had converged were answered by {old_release} "
            f"until {float(ts[idx].max()) - converged_ts:.1f} s after it ({', '.join(names[:3])}): a page cache in "
            "front of both colours (one Varnish, a CDN) still serves the old release's pages; purge it after the "
            "switch (bin/magento cache:clean full_page with http_cache_hosts set)")


def converged(led: Ledger, old_release: str, new_release: str, bound_s: float,
              start_event: str = "switch_start", end_event: str | None = "rollback_start",
              name: str = "converged", converged_event: str = "converged") -> Verdict:
    """Seconds from the switch to the last response of the old release; the mixed window is the span in which
    both releases answered. Judged by the identity header (X-Release). Old answers to requests begun well after
    the load balancer converged (a shared cache in front) fail it whatever the bound."""
    start = led.event_ts(start_event)
    if start is None:
        return no_evidence(name, f"no {start_event} event in the ledger: no switch to judge", None, bound_s)
    if len(led) == 0 or led.strs("release").isnull().all():
        return no_evidence(name, "responses carry no release header: convergence cannot be observed (see "
                           "docs/architecture.md: identity of a response)", None, bound_s)
    end = led.event_ts(end_event) if end_event else None
    last_old = _span_ts(led, old_release, start, end, np.max)
    first_new = _span_ts(led, new_release, start, end, np.min)
    if first_new is None:
        return Verdict(name, False, None, bound_s, f"{new_release} never answered after the switch")
    # The old release still answering in the last second of the window: not converged at all.
    window_end = end if end is not None else float(led.np("ts").max())
    value = round(max(0.0, (last_old or start) - start), 3)
    mixed = round(max(0.0, (last_old or first_new) - first_new), 3)
    ev = {"switch_start": start, "first_new": first_new, "last_old": last_old, "mixed_window_s": mixed}
    stale = stale_after_converged(led, old_release, led.event_ts(converged_event), end)
    if stale:
        return Verdict(name, False, value, bound_s, stale, [ev])
    if last_old is not None and window_end - last_old < 1.0 and value > bound_s / 2:
        return Verdict(name, False, value, bound_s, f"{old_release} was still answering at the end", [ev])
    return Verdict(name, value <= bound_s, value, bound_s,
                   f"old release {old_release} last answered {value:.2f} s after the switch; mixed window {mixed:.2f} s",
                   [ev])


def _facts(v: Verdict) -> dict:
    ev = v.evidence[0] if v.evidence else {}
    return {"switch": {"converged_s": v.value, "mixed_window_s": ev.get("mixed_window_s")}}


@verdict("converged", family="convergence", facts=_facts)
def _converged(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """The old release stopped answering within bounds.converged_s of the switch."""
    why = not_switched(ctx)
    if why:
        raise NotJudged(why)
    return converged(led, ctx.old_release, ctx.new_release, bounds.converged_s)


@verdict("rollback_converged", family="convergence")
def _rollback_converged(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """After a rollback, the new release stopped answering within bounds.converged_s."""
    if led.event_ts("rollback_start") is None:
        raise NotJudged("no rollback happened in this run")
    return converged(led, ctx.new_release, ctx.old_release, bounds.converged_s, start_event="rollback_start",
                     end_event=None, name="rollback_converged", converged_event="rollback_converged")
