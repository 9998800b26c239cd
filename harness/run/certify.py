"""A certification: load + cutover (+ rollback) → ledger → verdicts → report. The main job of Greenlight."""
from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from harness.config.catalogue import catalogue
from harness.config.checkout import checkout
from harness.config.release import Release, find_release, load_release, releases_dir
from harness.run.cutover import Plan, live_release, run_cutover
from harness.targets.base import Target, TargetError
from harness.targets.lock import held
from harness.verdicts.context import Outcome, RunContext
from harness.verdicts.registry import Bounds


@dataclass
class Certification:
    outcome: Outcome
    verdicts: dict                      # name -> verdict dict
    report: dict
    paths: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.report.get("passed"))

    @property
    def status(self) -> str:
        """passed | failed | inconclusive (see harness.report.overall_status)."""
        return self.report.get("status") or ("passed" if self.passed else "failed")

    def verdict(self, name: str) -> dict:
        if name not in self.verdicts:
            raise KeyError(f"verdict {name} was not evaluated; evaluated: {', '.join(sorted(self.verdicts))}")
        return self.verdicts[name]


def good_releases() -> list[Release]:
    """Shipped releases that break nothing, in id order."""
    out = []
    for d in sorted(releases_dir().iterdir()):
        if (d / "manifest.json").is_file():
            r = load_release(d)
            if not r.breaks:
                out.append(r)
    return out


def default_release(target: Target) -> Release:
    """The next good release after the one live now (cycling), so repeated runs always change something."""
    goods = good_releases()
    live = live_release(target)
    ids = [r.id for r in goods]
    if live in ids:
        return goods[(ids.index(live) + 1) % len(goods)]
    return goods[-1]


def certify(target: Target, *, release: Release | str, users: int = 12, load_seconds: float = 45,
            report_dir: str | Path = "reports/latest", rollback_after: bool = False,
            auto_rollback: bool = True, watch_s: float = 10, baseline_s: float | None = None,
            bounds: Bounds | None = None, workers: int = 0, remote_workers: int = 0,
            master_bind: str = "127.0.0.1", master_port: int | None = None, progress=None,
            on_event=None) -> Certification:
    """`bounds` (default: Bounds()) hold every limit the run is judged by, convergence's quiet time included.
    `workers`: run the load on Locust's distributed mode with that many local worker processes (plus
    `remote_workers` joining from other machines on master_bind:master_port); 0 runs one Locust process.
    `progress`: a harness.report.progress.Progress (anything with start(ledger_dir)/stop()) shown while it runs.
    `on_event(record, events)` sees every harness event as it happens (chaos drills inject faults there)."""
    from harness.config.run_numbers import check_all

    # Bad input fails before any change: numbers out of range (BadNumber), a release that is not one.
    check_all(users=users, load_seconds=load_seconds, watch_seconds=watch_s, baseline_seconds=baseline_s)
    rel = release if isinstance(release, Release) else find_release(release)
    from harness import report as report_mod
    from harness import verdicts as verdicts_mod
    from harness.ledger import records as ledger_mod
    from harness.load.traffic import HostRefused, LoadRun, read_workers, wait_until_requests

    # One run per target, before the report directory or the target is touched: a second run is refused here and
    # leaves the first (and its ledger) as they are.
    run_id = "gl" + uuid.uuid4().hex[:8]
    with held(target, run_id) as (holder, cleared):
        bounds = bounds or Bounds()

        report_dir = Path(report_dir)
        ledger_dir = report_dir / "ledger"
        if ledger_dir.exists():
            shutil.rmtree(ledger_dir)
        ledger_dir.mkdir(parents=True)
        plan = Plan(run_id=run_id, release=rel, report_dir=report_dir, users=users, load_seconds=load_seconds,
                    watch_s=watch_s, auto_rollback=auto_rollback, rollback_after=rollback_after, quiet_s=bounds.quiet_s,
                    workers=workers, remote_workers=remote_workers,
                    bounds=bounds,
                    baseline_s=baseline_s if baseline_s is not None else max(5.0, load_seconds * 0.2))
        if auto_rollback:
            plan.judge_now = lambda out: judge_now(target, plan, ledger_dir, bounds, out)
        events = ledger_mod.LedgerWriter(ledger_dir)
        if holder is not None:
            events.event("lock_taken", holder=holder.mark, where=target.lock_where,
                         stale_cleared=[{"holder": h.mark, "why": why} for h, why in cleared])
        if on_event is not None:
            events.listeners.append(lambda rec: on_event(rec, events))
        try:
            load = _load_run(LoadRun, target, ledger_dir, users, load_seconds, plan, master_bind, master_port)
        except HostRefused as exc:
            raise TargetError(str(exc)) from None
        if progress is not None:
            progress.start(ledger_dir)
        try:
            events.event("load_start", users=users, run_id=plan.run_id, workers=workers, remote_workers=remote_workers)
            load.start()
            try:
                # Remote workers may take a while to join (the master waits up to 120 s for them).
                wait_until_requests(ledger_dir, max(20, users * 2), timeout=180 if remote_workers else 60, run=load)
            except (TimeoutError, RuntimeError) as exc:
                load.stop()
                raise TargetError(f"the load never reached {target.lb_url}: {exc}") from None
            # Index the ledger into columns while it is written, so judging it afterwards reads columns, not JSON.
            indexer = ledger_mod.indexer(ledger_dir).start()
            try:
                outcome = run_cutover(target, plan, events, load)
            finally:
                indexer.stop()
            events.close()
        finally:
            if progress is not None:
                progress.stop()

        led = ledger_mod.load(ledger_dir)
        db = target.db  # None: orders_reconciled says the DB could not be reached (inconclusive = failed)
        # Load users only: the gate's smoke orders use another domain (smoke.<domain>).
        cat = catalogue(target)
        db_orders = db.orders(f"{plan.run_id}-%@{cat.email_domain}") if db is not None else None
        db_ids = sorted(db_orders) if db_orders is not None else None
        context = RunContext(
            run_id=plan.run_id,
            old_release=outcome.from_release,
            new_release=outcome.to_release,
            from_colour=outcome.from_colour,
            to_colour=outcome.to_colour,
            **_node_lists(target, outcome),
            db_order_ids=db_ids,
            db_orders=db_orders,
            locust_total=outcome.locust_total,
            workers=read_workers(ledger_dir),  # per-process counts and CPU, from the Locust side
            rollback_drill=plan.rollback_after,
            outcome=outcome,
            target=target.describe(),
            background_activity=_background_activity(db, outcome.started_at),
        )
        verdicts = verdicts_mod.evaluate(led, bounds, context)
        rep = report_mod.build_report(verdicts, led, context, bounds)
        paths = report_mod.write_files(report_dir, rep)
        print(report_mod.summary(rep))
        return Certification(outcome=outcome, verdicts=rep["verdicts"], report=rep, paths=paths)


def _node_lists(target: Target, out: Outcome) -> dict:
    """The nodes of each side of the run, by which the verdicts tell who answered."""
    return {"old_nodes": [n.name for n in target.nodes(out.from_colour)],
            "new_nodes": [n.name for n in target.nodes(out.to_colour)]}


# Verdicts that cannot be judged before the load has ended, or that the watch already judges live.
NOT_BEFORE_THE_END = frozenset({"gate", "post_switch_watch", "engine", "ledger_complete", "load_generator_headroom",
                                "orders_reconciled", "rollback_converged"})


def judge_now(target: Target, plan: Plan, ledger_dir: Path, bounds: Bounds, out: Outcome) -> str | None:
    """Every verdict that can be judged on the ledger so far (a copy: the live files keep growing): the failed
    ones, as one line, or None. Inconclusive and not-judged ones never roll back."""
    import tempfile

    from harness import verdicts as verdicts_mod
    from harness.ledger import records as ledger_mod

    with tempfile.TemporaryDirectory(prefix="gl-judge-now-") as tmp:
        for f in Path(ledger_dir).glob("*.jsonl"):
            shutil.copyfile(f, Path(tmp) / f.name)
        led = ledger_mod.load(tmp)
        ctx = RunContext(run_id=plan.run_id, old_release=out.from_release, new_release=out.to_release,
                         from_colour=out.from_colour, to_colour=out.to_colour, **_node_lists(target, out),
                         target=target.describe(),
                         outcome=out, background_activity=_background_activity(target.db, out.started_at))
        failed = [v for v in verdicts_mod.evaluate(led, bounds, ctx)
                  if v.status == "fail" and v.name not in NOT_BEFORE_THE_END]
    return "; ".join(f"{v.name}: {v.detail}"[:300] for v in failed) or None


def _load_run(LoadRun, target: Target, ledger_dir: Path, users: int, load_seconds: float, plan: Plan,
              master_bind: str = "127.0.0.1", master_port: int | None = None):
    """Locust in its own processes, aimed at the target's load balancer (loopback or an allowed host only)."""
    return LoadRun(host=target.lb_url, ledger_dir=ledger_dir, users=users, spawn_rate=max(1.0, users / 2),
                   workers=plan.workers, remote_workers=plan.remote_workers, master_bind=master_bind,
                   master_port=master_port,
                   run_time_s=load_seconds + 600, run_id=plan.run_id,  # the harness stops it; this is a backstop
                   allow_hosts=target.allow_hosts,
                   extra_env={"GREENLIGHT_SERVED_BY_HEADER": target.served_by_header,
                              "GREENLIGHT_RELEASE_HEADER": target.release_header,
                              **catalogue(target).load_env(), **checkout(target).load_env(),
                              # Sessions are the scarcest evidence: give them the largest share of users.
                              "GREENLIGHT_WEIGHT_SESSION": os.environ.get("GREENLIGHT_WEIGHT_SESSION", "5"),
                              # Tokens cross a switch only through customers: enough of them for 30 crossings at the defaults.
                              "GREENLIGHT_WEIGHT_CUSTOMER": os.environ.get("GREENLIGHT_WEIGHT_CUSTOMER", "3")})


def _background_activity(db, since: float) -> dict | None:
    """The background work the shop DB shows since the run began (None: no DB access, or a DB without Magento's
    tables)."""
    if db is None:
        return None
    import pymysql

    from harness.checks.background_jobs import activity
    from harness.targets.db import DbError

    try:
        return activity(db, since)
    except (DbError, OSError) as exc:
        print(f"greenlight: cron/consumer activity not readable: {exc}")
        return None
    except pymysql.MySQLError as exc:  # ProgrammingError (no such table) on a shop DB without Magento's tables
        print(f"greenlight: cron/consumer activity not readable: {type(exc).__name__}: {str(exc)[:160]}")
        return None
