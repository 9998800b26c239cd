"""Convergence: how long the old release kept answering after the switch (and after a rollback)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import Bounds, NotJudged, Verdict, no_evidence, not_switched, verdict


@dataclass(frozen=True)
class Side:
    """Who answered for one side of a switch: its nodes (the X-Served-By of the response) and its release (X-Release).
    A response is the side's when a node of it served it, or, when the two releases differ, when it carries the
    side's release (a response whose node is not named, or a cache in front of both colours). Certifying the live
    release again (a config-only change, a nightly re-run) has both colours on one release: then only the node
    tells them apart, never the release."""
    release: str
    nodes: tuple[str, ...] = ()
    other_release: str = ""

    def rows(self, led: Ledger) -> np.ndarray:
        mask = led.strs("served_by").isin(self.nodes) if self.nodes else np.zeros(len(led), dtype=bool)
        if self.release and self.release != self.other_release:
            mask |= led.strs("release").eq(self.release)
        return mask

    def name(self) -> str:
        return self.release if self.release != self.other_release else f"{self.release} on {'/'.join(self.nodes)}"


def _span_ts(led: Ledger, side: Side, start: float, end: float | None, pick) -> float | None:
    """The first (pick=min) or last (pick=max) time `side` answered in [start, end)."""
    ts = led.np("ts")
    mask = side.rows(led) & (ts >= start)
    if end is not None:
        mask &= ts < end
    hits = ts[mask]
    return float(pick(hits)) if len(hits) else None


# A request that began this long after the load balancer had converged cannot have reached the old colour through
# it; old answers to such requests that go on for STALE_SPAN_S come from a cache in front of both colours.
LATE_MARGIN_S = 1.0
STALE_SPAN_S = 3.0
STALE_MIN = 3


def stale_after_converged(led: Ledger, old: Side, converged_ts: float | None, end: float | None) -> str | None:
    """Why the old side was still served after the load balancer had converged, or None: a shared page cache
    (one Varnish or CDN in front of both colours, not purged after the switch) keeps answering with pages the
    old colour rendered, whatever the load balancer does."""
    if converged_ts is None:
        return None
    ts = led.np("ts")
    mask = old.rows(led) & (ts >= converged_ts + LATE_MARGIN_S)
    if end is not None:
        mask &= ts < end
    idx = np.flatnonzero(mask)
    if len(idx) < STALE_MIN or float(ts[idx].max()) - converged_ts < STALE_SPAN_S:
        return None
    names = sorted({str(led.cols["name"][int(i)]) for i in idx[:200]})
    return (f"{len(idx)} requests begun after the load balancer had converged were answered by {old.name()} "
            f"until {float(ts[idx].max()) - converged_ts:.1f} s after it ({', '.join(names[:3])}): a page cache in "
            "front of both colours (one Varnish, a CDN) still serves the old release's pages; purge it after the "
            "switch (bin/magento cache:clean full_page with http_cache_hosts set)")


def converged(led: Ledger, old_release: str, new_release: str, bound_s: float,
              start_event: str = "switch_start", end_event: str | None = "rollback_start",
              name: str = "converged", converged_event: str = "converged",
              old_nodes=(), new_nodes=()) -> Verdict:
    """Seconds from the switch to the last response of the old side; the mixed window is the span in which both
    sides answered. A side is its nodes (X-Served-By) and, when the releases differ, its release (X-Release): see
    Side. Old answers to requests begun well after the load balancer converged (a shared cache in front) fail it
    whatever the bound."""
    start = led.event_ts(start_event)
    if start is None:
        return no_evidence(name, f"no {start_event} event in the ledger: no switch to judge", None, bound_s)
    old = Side(old_release, tuple(old_nodes), new_release)
    new = Side(new_release, tuple(new_nodes), old_release)
    told_apart = len(led) > 0 and bool((old.rows(led) | new.rows(led)).any())
    if not told_apart and old_release != new_release:
        return no_evidence(name, "responses carry no release header: convergence cannot be observed (see "
                           "docs/architecture.md: identity of a response)", None, bound_s)
    if not told_apart:
        return no_evidence(name, f"both colours serve {new_release} and no response names a node of the run "
                           "(X-Served-By): which colour answered cannot be observed (see docs/architecture.md: "
                           "identity of a response)", None, bound_s)
    end = led.event_ts(end_event) if end_event else None
    last_old = _span_ts(led, old, start, end, np.max)
    first_new = _span_ts(led, new, start, end, np.min)
    if first_new is None:
        return Verdict(name, False, None, bound_s, f"{new.name()} never answered after the switch")
    # The old side still answering in the last second of the window: not converged at all.
    window_end = end if end is not None else float(led.np("ts").max())
    value = round(max(0.0, (last_old or start) - start), 3)
    mixed = round(max(0.0, (last_old or first_new) - first_new), 3)
    ev = {"switch_start": start, "first_new": first_new, "last_old": last_old, "mixed_window_s": mixed}
    stale = stale_after_converged(led, old, led.event_ts(converged_event), end)
    if stale:
        return Verdict(name, False, value, bound_s, stale, [ev])
    if last_old is not None and window_end - last_old < 1.0 and value > bound_s / 2:
        return Verdict(name, False, value, bound_s, f"{old.name()} was still answering at the end", [ev])
    return Verdict(name, value <= bound_s, value, bound_s,
                   f"old side {old.name()} last answered {value:.2f} s after the switch; mixed window {mixed:.2f} s",
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
    return converged(led, ctx.old_release, ctx.new_release, bounds.converged_s,
                     old_nodes=ctx.old_nodes, new_nodes=ctx.new_nodes)


@verdict("rollback_converged", family="convergence")
def _rollback_converged(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """After a rollback, the new release stopped answering within bounds.converged_s."""
    if led.event_ts("rollback_start") is None:
        raise NotJudged("no rollback happened in this run")
    return converged(led, ctx.new_release, ctx.old_release, bounds.converged_s, start_event="rollback_start",
                     end_event=None, name="rollback_converged", converged_event="rollback_converged",
                     old_nodes=ctx.new_nodes, new_nodes=ctx.old_nodes)
