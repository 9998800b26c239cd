"""`greenlight` — a thin command line over the engine."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

from harness.config.run_numbers import argparse_type as number
from harness.targets.base import TargetError

# Exit codes (documented in the README and in `greenlight --help`); a release pipeline branches on them.
EXIT_PASSED = 0          # every verdict passed
EXIT_FAILED = 1          # a verdict failed (the release was refused or rolled back, or hurt customers)
EXIT_USAGE = 2           # bad usage or configuration, unreachable target: nothing was judged
EXIT_INCONCLUSIVE = 3    # nothing failed, but a verdict had too little evidence to judge
EXIT_INTERRUPTED = 130
EXIT_BY_STATUS = {"passed": EXIT_PASSED, "failed": EXIT_FAILED, "inconclusive": EXIT_INCONCLUSIVE}
EXIT_CODES_HELP = """exit codes:
  0  passed: every verdict passed
  1  failed: a verdict failed (refused, rolled back, or customers were hurt)
  2  usage or configuration error (bad option, bad greenlight.toml, unreachable target): nothing was judged
  3  inconclusive: nothing failed, but a verdict had too little evidence
  130 interrupted"""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (no usage block) and exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"greenlight: error: {message} (see `{self.prog} --help`)\n")


def _fail(msg: str) -> int:
    print(f"greenlight: error: {msg}", file=sys.stderr)
    return EXIT_USAGE


def cmd_up(args) -> int:
    from harness.targets.replica import stack

    secs = stack.up(timeout=args.timeout)  # builds what changed (cached layers) first
    from harness.targets.replica.target import cron_on_live_colour_only, replica_target

    cron_on_live_colour_only(replica_target())   # cron and consumers on the live colour only
    print(f"replica healthy in {secs:.1f} s; load balancer at http://127.0.0.1:{stack.lb_port()}")
    return 0


def cmd_down(args) -> int:
    from harness.targets.replica import stack

    stack.down(keep_data=args.keep_data)
    print("replica removed" + (" (DB and Redis data kept)" if args.keep_data else ""))
    return 0


def _node_state(node, target) -> dict:
    from harness.targets import health

    h = health.probe(node.url, path=target.health_path)
    return {"url": node.url, "healthy": h.ok, "release": h.header(target.release_header),
            "status": h.status if h.status is not None else h.error}


def cmd_status(args) -> int:
    from harness.run.recovery import describe_leftovers, leftovers
    from harness.targets.factory import open_target

    left = leftovers()
    if not args.json:
        print("faults and load:\n" + "\n".join(describe_leftovers(left)))
    if args.target == "local":
        from harness.targets.replica import stack

        if not stack.engine_ok():
            return _fail("no Docker engine answers: run `make setup` (or scripts/bootstrap-engine.sh as root)")
        if not stack.is_up():
            states = {s: f"{v['status']}/{v['health']}" for s, v in stack.service_states().items()}
            if args.json:
                print(json.dumps({"up": False, "services": states, **left}))
            else:
                print("replica is not running: " + ", ".join(f"{k}={v}" for k, v in states.items()))
            return 1
    from harness.checks.needs import run_needs

    owner = None
    if args.target == "local":
        from harness.targets.replica import stack

        owner = stack.foreign_owner
    with open_target(args.target, manage_stack=False) as t:
        needs = run_needs(t, owner)
        out = {"up": True, "target": t.describe(), "lb": t.lb_url, "live": t.live_colour(),
               "nodes": {n.name: {"colour": c, **_node_state(n, t)} for c in ("blue", "green") for n in t.nodes(c)},
               "needs": [{"what": n.what, "ok": n.ok, "detail": n.detail} for n in needs], **left}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"live colour: {out['live']}   load balancer: {out['lb']}")
        for name, n in out["nodes"].items():
            print(f"  {name:8} {n['colour']:5} {n['url']:24} {'healthy' if n['healthy'] else 'UNHEALTHY':9} {n['release']}")
        print("what a run needs:")
        for n in needs:
            print(f"  {'ok' if n.ok else 'n/a' if n.ok is None else 'FAILED':6} {n.what}: {n.detail}")
    # A need that fails stops the next run: status says so in its exit code too.
    return 1 if any(n.ok is False for n in needs) else 0


def cmd_heal(args) -> int:
    """After a crash: heal every journaled fault, end load left by a dead harness, leave one healthy colour live."""
    from harness.run.recovery import heal_everything
    from harness.targets.factory import open_target

    with contextlib.ExitStack() as held:
        def target():  # opened only once the faults are healed (a killed LB makes it unreadable)
            if args.target == "local" and not _replica_up():
                return None
            return held.enter_context(open_target(args.target, manage_stack=False))

        res = heal_everything(target)
    for r in res["faults"]:
        print(f"{'healed' if r['healed'] else 'NOT HEALED'}: {r['fault']}" + (f" ({r['error']})" if r["error"] else ""))
    for p in res["load_ended"]:
        print(f"ended load process {p['pid']} (run {p['run_id']}, its harness {p['harness_pid']} was gone)")
    if res["live"] is not None:
        print(f"live colour: {res['live']}" + "".join(f"; {m['event']}: {m.get('reason', '')}" for m in res["moves"]))
    locks = res.get("locks") or {}
    for c in locks.get("cleared", ()):
        print(f"cleared the stale lock of {c['holder']} ({c['why']})")
    if locks.get("held_by"):
        print(f"the target is still held by {locks['held_by']}: that run is alive; it releases the lock when it ends")
    if locks.get("error"):
        print(f"the target's lock could not be read: {locks['error']}")
    if not res["faults"] and not res["load_ended"] and not locks.get("cleared"):
        print("nothing to heal: no journaled fault, no load left")
    return 0 if res["ok"] else 1


def cmd_drill(args) -> int:
    """Run a drill plan: one report per drill, a JUnit file, a line per drill in the history; 1 when a hypothesis failed."""
    from harness.run.drills import PlanError, load_plan, run_plan
    from harness.targets.factory import open_target

    try:
        drills = load_plan(args.plan)
    except PlanError as exc:
        return _fail(str(exc))
    unknown = set(args.only or ()) - {d.name for d in drills}
    if unknown:
        return _fail(f"no drill named {', '.join(sorted(unknown))} in {args.plan}")
    if not _replica_up_healthy():
        from harness.targets.replica import stack

        stack.up()
    _sigterm_unwinds()
    with open_target("local", manage_stack=False) as t:
        results = run_plan(t, drills, args.report_dir, history_path=args.history, junit_path=args.junit,
                           only=args.only)
    failed = [r["drill"] for r in results if not r["passed"]]
    print(f"{len(results) - len(failed)} of {len(results)} drills confirmed their hypothesis; reports in {args.report_dir}"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _sigterm_unwinds() -> None:
    """SIGTERM (CI timeouts, `kill`) unwinds like Ctrl-C, so every `finally` heals its faults and stops its load."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def _replica_up_healthy() -> bool:
    from harness.targets.replica import stack

    return stack.is_up()


def _replica_up() -> bool:
    from harness.targets.replica import stack

    return stack.engine_ok() and stack.service_states()["lb"]["status"] == "running"


def cmd_certify(args) -> int:
    if args.dry_run:
        return cmd_plan(args)
    from harness.config import bounds_for, with_overrides
    from harness.report.junit import write_junit
    from harness.report.progress import Progress
    from harness.run.certify import certify, default_release
    from harness.targets.factory import open_target

    bounds = with_overrides(bounds_for(args.target), args.bound)
    if args.release:
        from harness.config.release import find_release

        find_release(args.release)  # a release directory that is not one: its own one line, before anything
    with open_target(args.target, manage_stack=False) as t:
        if not args.no_preflight:
            from harness.checks.preflight import run_preflight

            pf = run_preflight(t, args.release)
            if not pf.passed:
                first = pf.missing[0]
                return _fail(f"preflight: {len(pf.missing)} requirement(s) missing, nothing was changed; "
                             f"{first.group} / {first.requirement}: {first.detail} — fix: {first.fix} "
                             "(`greenlight preflight` lists them all)")
        release = args.release or default_release(t)
        cert = certify(t, release=release, users=args.users, load_seconds=args.load_seconds,
                       report_dir=args.report_dir, rollback_after=args.rollback_drill, bounds=bounds,
                       auto_rollback=not args.no_rollback,
                       workers=args.workers, remote_workers=args.remote_workers, master_bind=args.master_bind,
                       master_port=args.master_port,
                       watch_s=args.watch_seconds, baseline_s=args.baseline_seconds,
                       progress=None if args.no_progress else Progress())
    print(f"report: {cert.paths.get('json')}  {cert.paths.get('html')}")
    if args.junit:
        print(f"junit: {write_junit(cert.report, args.junit)}")
    return EXIT_BY_STATUS.get(cert.status, EXIT_FAILED)


def cmd_report(args) -> int:
    """Re-render report.html (and report.json's facts) from a run's ledger."""
    from harness.report import REPORT_JSON, rerender

    if not (Path(args.run_dir) / REPORT_JSON).is_file() and not (Path(args.run_dir) / "ledger").is_dir():
        return _fail(f"{args.run_dir}: not a run directory (no report.json, no ledger/); give a --report-dir of certify")
    paths = rerender(args.run_dir, args.out)
    print(f"report: {paths['json']}  {paths['html']}")
    if args.png:
        from harness.report.browser import BrowserError, render

        try:
            run = render(paths["html"])
        except BrowserError as exc:
            return _fail(f"--png: {exc}")
        Path(args.png).parent.mkdir(parents=True, exist_ok=True)
        Path(args.png).write_bytes(run.png)
        print(f"screenshot: {args.png} (1280 x {run.height})")
    return EXIT_PASSED


def cmd_compare(args) -> int:
    """Two runs side by side."""
    from harness.report.compare import comparison, load_run, render_text

    cmp = comparison(load_run(args.a), load_run(args.b))
    print(json.dumps(cmp, indent=1) if args.json else render_text(cmp))
    return EXIT_PASSED


def cmd_worker(args) -> int:
    """One Locust worker for a distributed certification running elsewhere (`certify --remote-workers N`).
    It takes its run id, headers and allow-list from the master, and ships its ledger to it."""
    import subprocess

    from harness.load.traffic import DEFAULT_LOCUSTFILE, parse_master

    try:
        host, port = parse_master(args.master)
    except ValueError as exc:
        return _fail(str(exc))
    locustfile = args.locustfile or str(DEFAULT_LOCUSTFILE)
    cmd = [sys.executable, "-m", "locust", "-f", locustfile, "--worker", "--master-host", host,
           "--master-port", str(port), "--loglevel", args.loglevel]
    print(f"greenlight worker: joining the master at {host}:{port}", flush=True)
    try:
        return subprocess.call(cmd)
    except KeyboardInterrupt:
        return 130


def cmd_rollback(args) -> int:
    """Switch back to the other colour, after checking it is healthy, and wait until traffic converged."""
    from harness.run.switch import switch_to
    from harness.targets.base import other_colour
    from harness.targets.factory import open_target

    with open_target(args.target, manage_stack=False) as t:
        live = t.live_colour()
        back = other_colour(live)
        nodes = t.nodes(back)
        states = [_node_state(n, t) for n in nodes]
        releases = {s["release"] for s in states}
        if not all(s["healthy"] for s in states) or len(releases) != 1:
            return _fail(f"{back} is not a healthy single release ({states}); not switching")
        release = releases.pop()
        from harness.targets.lock import held
        with held(t, "rollback"):
            sw = switch_to(t, back, release, lambda name, **kw: None, gate=dict(run_id="rollback"), force=args.force,
                           kind="rollback", timeout=args.timeout)
        if sw.refused:
            return _fail(f"{back} failed its gate: {sw.refused} (use --force to switch anyway)")
        print(f"rolled back: {live} -> {back} (release {release}), traffic converged")
    return 0


def cmd_deploy(args) -> int:
    """Deploy a release to one colour of the local replica (what a deploy hook does on real droplets)."""
    from harness.config.release import find_release
    from harness.run.deploy import DeployRefused, deploy_release
    from harness.targets.factory import open_target

    release = find_release(args.release_dir)
    with open_target("local", manage_stack=False) as t:
        try:
            deploy_release(t, release, args.colour, lambda name, **kw: print(f"{name} {kw}", flush=True))
        except DeployRefused as exc:
            return _fail(f"deploy refused: {exc}")
    return 0


def cmd_plan(args) -> int:
    """Dry run: every step and every API write call a cutover would make, without making any."""
    from harness.config.release import find_release
    from harness.run.certify import default_release
    from harness.run.deploy import deploy_release
    from harness.run.switch import switch_to
    from harness.targets.base import other_colour
    from harness.targets.factory import open_target

    with open_target(args.target, manage_stack=False, dry_run=True) as t:
        live = t.live_colour()
        idle = other_colour(live)
        release = find_release(args.release) if args.release else default_release(t)
        deploy_release(t, release, idle, lambda *a, **k: None)
        sw = switch_to(t, idle, release.id, lambda *a, **k: None, gate={}, dry_run=True)
        print(f"plan: {live} -> {idle}, release {release.id}, {t.details.get('router', t.lb_url)}")
        print("  writes (none sent):")
        for step in t.plan_log or []:
            print(f"    {step}")
        print("  the switch sequence:")
        for n, step in enumerate(sw.planned, 1):
            print(f"    {n}. {step}")
        print("  nothing above was sent")
    return 0


def cmd_preflight(args) -> int:
    """Every requirement of a certification, checked read-only against the store: 0 all there, 1 one missing."""
    from harness.checks.preflight import run_preflight
    from harness.targets.factory import open_target

    with open_target(args.target, manage_stack=False) as t:
        pf = run_preflight(t, args.release)
    if args.json:
        print(json.dumps(pf.to_dict(), indent=2))
    else:
        group = None
        for f in pf.findings:
            if f.group != group:
                group = f.group
                print(f"{group}:")
            print(f"  {f.line()}")
        print(f"preflight: {'ready' if pf.passed else f'{len(pf.missing)} requirement(s) missing'}")
    return 0 if pf.passed else 1


def cmd_doapi(args) -> int:
    """Run the DigitalOcean API simulator in the foreground, backed by the replica's HAProxy. It is a separate
    program (python -m simulator.doapi): the harness never imports the simulator that stands in for the cloud."""
    import os

    argv = [sys.executable, "-m", "simulator.doapi", "--port", str(args.port), "--haproxy", args.haproxy,
            "--time-scale", str(args.time_scale)]
    sys.stdout.flush()
    os.execv(sys.executable, argv)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="greenlight", description="Prove a blue-green cutover of a Magento 2 store is safe.",
                epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="build what is missing, start the local replica, wait until healthy")
    up.add_argument("--timeout", type=number("timeout"), default=240)
    up.set_defaults(fn=cmd_up)
    down = sub.add_parser("down", help="remove the replica's containers, networks and volumes")
    down.add_argument("--keep-data", action="store_true", help="keep the DB and Redis volumes")
    down.set_defaults(fn=cmd_down)
    pf = sub.add_parser("preflight", help="check, read-only, everything a certification needs of the store")
    pf.add_argument("--target", default="local")
    pf.add_argument("--release", default=None, help="the release directory a certification would deploy")
    pf.add_argument("--json", action="store_true")
    pf.set_defaults(fn=cmd_preflight)
    st = sub.add_parser("status", help="live colour, nodes, health, releases")
    st.add_argument("--json", action="store_true")
    st.add_argument("--target", default="local")
    st.set_defaults(fn=cmd_status)
    c = sub.add_parser("certify", help="cut over under load and write a report", epilog=EXIT_CODES_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--target", default="local")
    c.add_argument("--release", default=None, help="release directory or shipped id (default: the next good release)")
    c.add_argument("--users", type=number("users"), default=12, help="simulated customers (default 12)")
    c.add_argument("--load-seconds", type=number("load_seconds"), default=45,
                   help="seconds of load around the switch (default 45)")
    c.add_argument("--watch-seconds", type=number("watch_seconds"), default=10,
                   help="post-switch watch window; a breach in it rolls back (default 10)")
    c.add_argument("--baseline-seconds", type=number("baseline_seconds"), default=None,
                   help="load before the deploy starts (default: 20%% of the load, at least 5)")
    c.add_argument("--report-dir", default="reports/latest")
    c.add_argument("--junit", default=None, metavar="FILE", help="also write JUnit XML: one testcase per verdict")
    c.add_argument("--no-progress", action="store_true",
                   help="no live progress (default: one updating line on a terminal, a line every 10 s otherwise)")
    c.add_argument("--rollback-drill", action="store_true", help="switch back after the cutover, under the same load")
    c.add_argument("--no-preflight", action="store_true",
                   help="skip the read-only check of what a certification needs of the store")
    c.add_argument("--no-rollback", action="store_true",
                   help="keep a caught release live for inspection (no automatic rollback; the run still fails)")
    c.add_argument("--dry-run", action="store_true", help="print the plan (every API write) and change nothing")
    c.add_argument("--workers", type=number("workers"), default=0,
                   help="run the load on Locust's distributed mode with N local worker processes (default: one process)")
    c.add_argument("--remote-workers", type=number("remote_workers"), default=0,
                   help="also wait for N workers from other machines (`greenlight worker --master HOST:PORT`)")
    c.add_argument("--master-bind", default="127.0.0.1",
                   help="address the Locust master listens on for workers (0.0.0.0 for other machines)")
    c.add_argument("--master-port", type=number("master_port"), default=None,
                   help="port for workers (default: a free port; $GREENLIGHT_MASTER_PORT or 5557 with remote workers)")
    c.add_argument("--bound", action="append", default=[], metavar="NAME=VALUE",
                   help="override one bound, e.g. min_crossings=10 to judge a short run on less evidence "
                        "(the report says a minimum was lowered); the target file's [bounds] are the base")
    c.set_defaults(fn=cmd_certify)
    wk = sub.add_parser("worker", help="join a distributed certification's Locust master as one more worker")
    wk.add_argument("--master", required=True, help="HOST[:PORT] of the master (port: $GREENLIGHT_MASTER_PORT or 5557)")
    wk.add_argument("--locustfile", default=None, help="default: locustfiles/checkout.py of this checkout")
    wk.add_argument("--loglevel", default="WARNING")
    wk.set_defaults(fn=cmd_worker)
    rp = sub.add_parser("report", help="re-render a run's report from its ledger (a run that died: judged again)")
    rp.add_argument("run_dir", metavar="DIR", help="a certification's --report-dir (report.json + ledger/)")
    rp.add_argument("--out", default=None, metavar="DIR", help="write there instead of DIR")
    rp.add_argument("--png", default=None, metavar="FILE", help="also a full-page screenshot (headless Chromium)")
    rp.set_defaults(fn=cmd_report)
    cp = sub.add_parser("compare", help="two runs side by side: verdicts, p99 per step, convergence, crossings")
    cp.add_argument("a", metavar="A", help="a run's --report-dir")
    cp.add_argument("b", metavar="B", help="another run's --report-dir")
    cp.add_argument("--json", action="store_true", help="the comparison as JSON")
    cp.set_defaults(fn=cmd_compare)
    dp = sub.add_parser("deploy", help="deploy a release to one colour of the local replica (a deploy hook)")
    dp.add_argument("--colour", required=True, choices=["blue", "green"])
    dp.add_argument("--release-dir", required=True)
    dp.set_defaults(fn=cmd_deploy)
    da = sub.add_parser("doapi", help="run the DigitalOcean API simulator (token from $DOAPI_TOKEN)")
    da.add_argument("--port", type=int, default=int(os.environ.get("GREENLIGHT_DOAPI_PORT", "8090")))
    da.add_argument("--haproxy", default=f"127.0.0.1:{os.environ.get('GREENLIGHT_LB_ADMIN_PORT', '9999')}",
                    help="HAProxy runtime API, or 'memory'")
    da.add_argument("--time-scale", type=float, default=1.0, help="factor on DO's LB timings (1 = real)")
    da.set_defaults(fn=cmd_doapi)
    dr = sub.add_parser("drill", help="run a chaos drill plan (TOML): faults during cutovers, each judged by its hypothesis")
    dr.add_argument("plan", help="drill plan, e.g. plans/nightly.toml")
    dr.add_argument("--report-dir", default="reports/drills")
    dr.add_argument("--history", default="reports/drill-history.jsonl", help="one line per drill run is appended here")
    dr.add_argument("--junit", default=None, help="JUnit XML file (default: REPORT_DIR/junit.xml)")
    dr.add_argument("--only", action="append", help="run only this drill (repeatable)")
    dr.set_defaults(fn=cmd_drill)
    he = sub.add_parser("heal", help="heal every journaled fault, end load left by a dead run, one healthy colour live")
    he.add_argument("--target", default="local")
    he.set_defaults(fn=cmd_heal)
    rb = sub.add_parser("rollback", help="switch back to the other colour, verified")
    rb.add_argument("--target", default="local")
    rb.add_argument("--timeout", type=number("timeout"), default=60)
    rb.add_argument("--force", action="store_true")
    rb.set_defaults(fn=cmd_rollback)
    return p


def _check_paths(args) -> str | None:
    """Output paths that cannot be written, found before anything starts."""
    junit = getattr(args, "junit", None)
    if junit and Path(junit).is_dir():
        return f"--junit {junit} is a directory; give a file name (e.g. {Path(junit) / 'greenlight.xml'})"
    report_dir = getattr(args, "report_dir", None)
    if report_dir and Path(report_dir).exists() and not Path(report_dir).is_dir():
        return f"--report-dir {report_dir} is a file; give a directory"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from harness.config import ConfigError
    from harness.config.release import ReleaseError
    from harness.config.run_numbers import BadNumber
    from harness.targets.replica.stack import StackError

    bad_path = _check_paths(args)
    if bad_path:
        return _fail(bad_path)

    try:
        if (args.cmd == "certify" and args.target == "local" and not args.dry_run):
            from harness.targets.replica import stack

            if not stack.is_up():
                stack.up()
        return args.fn(args)
    except (TargetError, StackError, ReleaseError, ConfigError, BadNumber, FileNotFoundError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
