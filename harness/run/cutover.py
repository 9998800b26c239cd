"""One blue-green cutover under load: deploy → gate → switch → converge → watch (→ rollback).

The engine never leaves the store worse than it found it: whatever happens, the `finally` path puts traffic on
a healthy colour and stops the load.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from harness.checks.background_jobs import hand_over
from harness.checks.static_digests import StaticProblem, learn_both, mark_never_live
from harness.config.bounds import Bounds
from harness.config.release import Release
from harness.ledger import jsonl
from harness.ledger.schema import EVENTS_FILE
from harness.run.background_watch import BackgroundWatch
from harness.run.deploy import DeployRefused, deploy_release
from harness.run.page_cache_purge import clean_page_cache
from harness.run.switch import switch_to
from harness.run.watch import LedgerTail, Watch
from harness.targets import health
from harness.targets.base import Target, TargetError, other_colour
from harness.targets.retry import GaveUp
from harness.verdicts import LiveScope
from harness.verdicts.context import Outcome


@dataclass
class Plan:
    release: Release
    report_dir: Path
    users: int = 12
    spawn_rate: float = 6
    load_seconds: float = 60          # total load; the switch happens after `baseline_s` of it
    baseline_s: float = 10
    watch_s: float = 10               # post-switch watch window (auto rollback on breach)
    quiet_s: float = 2.0              # convergence: only the new release answers for this long
    converge_timeout_s: float = 60
    auto_rollback: bool = True
    rollback_after: bool = False      # the rollback drill: switch back to the previous colour under load
    workers: int = 0                  # local Locust worker processes (0: one stand-alone Locust process)
    remote_workers: int = 0           # more workers the master waits for (`greenlight worker --master ...`)
    run_id: str = field(default_factory=lambda: "gl" + uuid.uuid4().hex[:8])
    bounds: Bounds = field(default_factory=Bounds)   # the live rules (watch, deploy window) judge by these
    # After a watch without breach: every verdict over the ledger so far (what the live rules cannot judge record
    # by record: latency by phase, convergence, sessions over the whole window). A reason rolls back before the
    # run ends; None keeps the release. Certify supplies it; None: not judged before the end.
    judge_now: Callable[[Outcome], str | None] | None = None


def live_release(target: Target) -> str:
    """The release answering at the load balancer now (by its identity header)."""
    h = health.probe(target.lb_url, timeout=5, path=target.health_path)
    if h.status is None:
        raise TargetError(f"the load balancer at {target.lb_url} does not answer ({h.error})")
    return h.header(target.release_header)


def ensure_healthy_live(target: Target, prefer: str, event: Callable[..., None]) -> str:
    """Leave one healthy colour live: `prefer` when it is healthy, else the other one when it is."""
    def healthy(colour: str) -> bool:
        return all(health.probe(n.url, timeout=3, path=target.health_path).ok for n in target.nodes(colour))

    try:
        live = target.live_colour()
    except TargetError:
        live = ""
    for colour in (prefer, other_colour(prefer)):
        if healthy(colour):
            if live != colour:
                target.switch(colour)
                event("safety_switch", to=colour, reason=f"left {live or 'no colour'} live; {colour} is healthy")
            # Whatever a deploy did to crontabs (a refused one may have installed cron on the idle colour), cron
            # and consumers end on the live colour only.
            _hand_over_quietly(target, colour, event)
            return colour
    event("safety_switch_impossible", reason="no colour is healthy")
    return live


def run_cutover(target: Target, plan: Plan, events, load) -> Outcome:
    """Drive one cutover while `load` (a started traffic.LoadRun) runs. `events` is a ledger event writer."""
    ev = events.event
    from_colour = target.live_colour()
    to_colour = other_colour(from_colour)
    out = Outcome(run_id=plan.run_id, ledger_dir=Path(load.ledger_dir), from_colour=from_colour,
                  to_colour=to_colour, from_release=live_release(target), to_release=plan.release.id,
                  started_at=time.time())
    t_load = time.monotonic()
    background = BackgroundWatch(target, ev).start()
    try:
        _sleep_until(t_load + plan.baseline_s)
        deploy_started = time.time()
        try:
            deploy_release(target, plan.release, to_colour, ev)
            static = learn_both(target, from_colour, out.from_release, to_colour, plan.release.id, ev)
        except (DeployRefused, StaticProblem) as exc:
            out.refused = str(exc)
            ev("gate_fail", reasons=[out.refused], stage="deploy", check=exc.check if isinstance(exc, DeployRefused) else "static")
            if isinstance(exc, StaticProblem):  # the deploy finished: the directory is this release's
                mark_never_live(target, to_colour, plan.release.id, ev)
            return out
        sentinel = _Sentinel(target, plan, to_colour, load)
        events.listeners.append(sentinel.on_event)
        sw = switch_to(target, to_colour, plan.release.id, ev,
                       gate=dict(run_id=plan.run_id, static=static.get(plan.release.id),
                                 live_static=static.get(out.from_release)),
                       before_switch=lambda: _hurt_by_deploy(target, plan, from_colour, load, deploy_started),
                       quiet_s=plan.quiet_s, timeout=plan.converge_timeout_s,
                       breach=sentinel if plan.auto_rollback else None)
        out.gate = sw.gate.checks if sw.gate else []
        if sw.refused:
            out.refused = sw.refused
            mark_never_live(target, to_colour, plan.release.id, ev)
            if any(c["check"] == "page_cache_isolated" and not c["ok"] for c in out.gate):
                # The refused colour shares the live one's cache ids: the pages it rendered while gated sit in the
                # live colour's cache and would keep being served to customers. Clean them out from the live side.
                clean_page_cache(target, from_colour, ev)
            return out
        out.switched = True
        # A breach while traffic was still moving stopped the switch sequence: roll back now, not after a window.
        watch = sentinel.watch_from(sw.started)
        breach = sw.breach or _watch(plan, watch, plan.watch_s)
        ev("watch_done", window_s=plan.watch_s, breach=breach or "")
        if not breach and plan.auto_rollback and not plan.rollback_after:
            # The release stays under watch for the rest of the load, then every verdict that can be judged on
            # the ledger so far is: what only the whole window shows still rolls back before the run ends.
            breach = _watch(plan, watch, t_load + plan.load_seconds - JUDGE_MARGIN_S - time.monotonic())
            failed = plan.judge_now(out) if not breach and plan.judge_now is not None else None
            if failed:
                breach = f"verdicts judged before the end of the run: {failed}"
                ev("verdicts_failed", reason=failed)
        out.breach = breach or ""
        if breach and plan.auto_rollback:
            out.rolled_back = breach
            _switch_back(target, plan, from_colour, out.from_release, ev)
        elif plan.rollback_after:
            out.rolled_back, out.drill = "rollback drill", True
            _switch_back(target, plan, from_colour, out.from_release, ev)
        _sleep_until(t_load + plan.load_seconds)
        return out
    except (TargetError, GaveUp, OSError, httpx.HTTPError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        ev("error", error=out.error)
        return out
    finally:
        background.stop()
        load.stop()
        ev("load_stop")
        out.locust_total = load.locust_total()
        prefer = to_colour if (out.switched and not out.rolled_back) else from_colour
        out.final_colour = ensure_healthy_live(target, prefer, ev)


def _switch_back(target: Target, plan: Plan, colour: str, release: str, ev) -> None:
    """Back to the colour that served until the switch: no gate (it served moments ago; seconds cost customers)."""
    switch_to(target, colour, release, ev, kind="rollback", quiet_s=plan.quiet_s, timeout=plan.converge_timeout_s)


def _scope(target: Target, plan: Plan, load, baseline_until: float, judged_from: float, phase: str) -> LiveScope:
    """What the stateful live rules compare: the load before the deploy began against the window judged now."""
    events = jsonl.read(Path(load.ledger_dir) / EVENTS_FILE)[0]
    db = target.db  # the target's optional db role (None: no live order lookup)
    return LiveScope(baseline_until=baseline_until, judged_from=judged_from, bounds=plan.bounds, phase=phase,
                     deploy_steps=events, orders=(lambda ids: db.orders(ids=ids)) if db is not None else None)


class _Sentinel:
    """The watch from the first instant of the switch: switch_to asks it between its steps and between convergence
    probes (ledger only: a look costs a read of the new lines), so the first breaching record stops the switch."""

    def __init__(self, target: Target, plan: Plan, colour: str, load):
        self.target, self.plan, self.colour, self.load = target, plan, colour, load
        self.switch_ts: float | None = None
        self.watch: Watch | None = None

    def on_event(self, rec: dict) -> None:
        if rec.get("event") == "switch_start" and self.switch_ts is None:
            self.switch_ts = rec["ts"]

    def watch_from(self, since: float) -> Watch:
        if self.watch is None:
            self.watch = Watch(target=self.target, colour=self.colour, tail=LedgerTail(self.load.ledger_dir),
                               since_ts=since, scope=_scope(self.target, self.plan, self.load, since, since,
                                                            "after the switch"))
        return self.watch

    def __call__(self) -> str | None:
        if self.switch_ts is None:
            return None
        return self.watch_from(self.switch_ts).check(probe_nodes=False)


WATCH_POLL_S = 0.05
PROBE_EVERY = 5


# Load left when the run's verdicts are judged before its end: time to judge, and to roll back under load.
JUDGE_MARGIN_S = 4.0


def _watch(plan: Plan, w: Watch, seconds: float) -> str | None:
    """Breaches from the moment of the switch on (the same Watch the switch sequence polled: nothing is read
    twice), by the verdicts' live rules (stateful ones compare with everything before the switch, as the verdicts
    do), and the new colour's nodes' health, for `seconds`."""
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        why = w.check(probe_nodes=n % PROBE_EVERY == 0)   # the ledger each poll, the nodes' health every 0.25 s
        if why:
            return why
        n += 1
        time.sleep(WATCH_POLL_S)
    return None


def _hurt_by_deploy(target: Target, plan: Plan, colour: str, load, since: float) -> str | None:
    hurt = _live_hurt_since(target, plan, colour, load, since)
    return f"live traffic was hurt during the deploy: {hurt}" if hurt else None


def _live_hurt_since(target: Target, plan: Plan, colour: str, load, since: float) -> str | None:
    """A deploy must not touch what customers use: a breach of the same live rules in the load since it began
    (errors, failed checks, steps failing or slower than before, frozen requests, lost sessions) refuses the switch
    (e.g. a deploy step that flushed the sessions' Redis database, a migration holding a lock)."""
    time.sleep(1.0)  # the load's ledger shards flush every 0.5 s
    return Watch(target=target, colour=colour, tail=LedgerTail(load.ledger_dir), since_ts=since,
                 scope=_scope(target, plan, load, since, since, "during the deploy")).check()


def _hand_over_quietly(target: Target, to_colour: str, event: Callable[..., None]) -> None:
    try:
        hand_over(target, other_colour(to_colour), to_colour, event)
    except (RuntimeError, TargetError, OSError) as exc:
        event("background_jobs_handover_failed", error=str(exc)[:200])


def _sleep_until(t: float) -> None:
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)
