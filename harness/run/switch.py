"""The one switch sequence: gate → switch → converged (watched for breaches) → cron hand-over → page cache cleaned.

Certify (its switch and its rollback), `greenlight rollback`, the dry-run plan and the cutover state machine all go
through `switch_to`, so the steps cannot drift apart (they did once: a copy whose switch did not hand cron over).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.checks.background_jobs import hand_over
from harness.checks.gate import GateResult, run_gate
from harness.run.converge import Breached, wait_converged
from harness.run.page_cache_purge import clean_page_cache
from harness.targets.base import Target, other_colour

EventFn = Callable[..., None]

# (step, what it does): the order every switch takes. The gate is left out only where the colour switched to was
# serving moments ago (the automatic rollback): there every second of the breach costs customers.
STEPS = (
    ("gate", "gate {colour}: health, smoke checkouts straight to its nodes, the live code on the migrated DB, "
             "sessions, tokens and page caches across colours, cron on one colour"),
    ("switch", "point the load balancer at {colour}"),
    ("converge", "wait until only release {release} answers at {lb} (a breach meanwhile stops here: roll back)"),
    ("hand_over", "cron and consumers off on {old}, on on {colour}"),
    ("purge", "clean the full-page cache of pages {old} rendered into a shared cache"),
)


@dataclass
class SwitchResult:
    refused: str = ""                       # why the sequence stopped before the switch ('' when it switched)
    gate: GateResult | None = None          # None: not gated (a rollback to the colour that just served)
    started: float = 0.0                    # wall clock the switch began
    converged_at: float = 0.0               # wall clock traffic was observed converged
    breach: str = ""                        # a breach seen while switching: the sequence stopped there, to roll back
    planned: list[str] = field(default_factory=list)   # dry run: the steps, in order, none of them made

    @property
    def switched(self) -> bool:
        return not self.refused and self.started > 0


def switch_to(target: Target, colour: str, release: str, event: EventFn, *, gate: dict | None = None,
              force: bool = False, before_switch: Callable[[], str | None] | None = None, kind: str = "switch",
              quiet_s: float = 2.0, timeout: float = 60.0, dry_run: bool = False,
              breach: Callable[[], str | None] | None = None) -> SwitchResult:
    """Move customer traffic to `colour` (serving `release`). `gate`: run_gate's keyword arguments (run_id, static,
    …), None to go without a gate; `force` switches although the gate refused. `before_switch` returns a reason to
    refuse after the gate (the live traffic the deploy may have hurt). `kind` names the events: "switch" writes
    switch_start / switch_done / converged, "rollback" writes rollback_start / rollback_done / rollback_converged.
    A dry run (a target that plans its writes) lists every step and makes only the target's own planned writes.
    `breach()` (the watch's live rules) is asked from the moment traffic moves, also while waiting for convergence:
    the first breach stops the sequence at once (res.breach), so the caller rolls back within a poll, not after a
    quiet window."""
    old = other_colour(colour)
    res = SwitchResult()
    if dry_run:
        for step, what in STEPS:
            if step == "gate" and gate is None:
                continue
            if step == "switch":
                target.switch(colour)   # a dry-run target records the API writes it would make
            res.planned.append(what.format(colour=colour, old=old, release=release, lb=target.lb_url))
        return res
    res.refused = _gated(res, target, colour, release, event, gate, force, before_switch)
    if res.refused:
        return res
    if res.gate is not None:
        event("gate_pass", checks=len(res.gate.checks))
    res.started = time.time()
    event(f"{kind}_start", to=colour, release=release)
    target.switch(colour)
    event(f"{kind}_done", to=colour)
    try:
        res.converged_at = wait_converged(target, release, quiet_s=quiet_s, timeout=timeout,
                                          old_nodes={n.name for n in target.nodes(old)}, abort=breach)
    except Breached as exc:  # cron never moved: the colour going back to still runs it
        res.breach = exc.why
        return res
    # Cron and consumers follow the traffic once it has settled (a breach before this leaves them where they were:
    # nothing to hand back): exactly one colour runs them at any time.
    hand_over(target, old, colour, event)
    # Traffic has left the old colour: pages it rendered into a shared page cache (Varnish) go now.
    clean_page_cache(target, colour, event)
    event("converged" if kind == "switch" else f"{kind}_converged", at=res.converged_at, release=release)
    return res


def _gated(res: SwitchResult, target: Target, colour: str, release: str, event: EventFn, gate: dict | None,
           force: bool, before_switch: Callable[[], str | None] | None) -> str:
    """The gate (and the deploy window's live traffic): why the switch is refused, or ''."""
    if gate is not None:
        res.gate = run_gate(target, colour, release, **gate)
        if not res.gate.passed and not force:
            event("gate_fail", reasons=res.gate.reasons, checks=res.gate.checks)
            return "; ".join(res.gate.reasons)
    if before_switch is not None:
        why = before_switch()
        if why:
            event("gate_fail", reasons=[why], stage="live traffic")
            return why
    return ""
