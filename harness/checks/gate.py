"""The pre-switch gate: nothing switches unless every idle node and the live code agree it is safe."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from harness.checks.background_jobs import commands, installed_on
from harness.checks.page_cache import page_cache_isolated
from harness.checks.sessions import page_cache_private, session_portable
from harness.checks.smoke import smoke_checkout, smoke_storefront
from harness.checks.tokens import token_portable
from harness.config.catalogue import catalogue
from harness.config.checkout import checkout
from harness.targets.base import Capability, Target
from harness.targets.health import wait_healthy


@dataclass
class GateResult:
    passed: bool
    checks: list[dict] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return [c["detail"] for c in self.checks if not c["ok"]]

    def add(self, name: str, node: str, ok: bool, detail: str = "") -> None:
        self.checks.append({"check": name, "node": node, "ok": ok, "detail": detail or "ok"})
        self.passed = self.passed and ok

    def skip(self, name: str, node: str, reason: str) -> None:
        """A check the target cannot run (a capability it lacks): listed with the reason, never dropped."""
        self.checks.append({"check": name, "node": node, "ok": True, "skipped": reason, "detail": f"skipped: {reason}"})


@dataclass
class GateRun:
    """What every gate check is handed: the target, the two colours and what the deploy learnt."""
    target: Target
    new_colour: str
    new_release: str
    run_id: str
    static: object = None        # the new release's learnt static digests
    live_static: object = None   # the live release's
    health_timeout: float = 30
    max_step_ms: float = 2000

    @property
    def old_colour(self) -> str:
        return "blue" if self.new_colour == "green" else "green"

    @cached_property
    def cat(self):
        return catalogue(self.target)

    @property
    def store_headers(self) -> dict:
        """Every request straight to a node carries the store's Host (and X-Forwarded-Proto on a secure store), as
        the load balancer passes shoppers' requests: the node answers as the store, not with a redirect to its
        base URL, and looks up the full-page cache entries shoppers' requests look up."""
        return self.target.store_headers()

    @property
    def smoke_args(self) -> dict:
        cat = self.cat
        return dict(served_by_header=self.target.served_by_header, release_header=self.target.release_header,
                    sku=cat.skus[0], email_domain=cat.smoke_email_domain, health_path=self.target.health_path,
                    checkout=checkout(self.target), headers=self.store_headers)


GateCheck = Callable[[GateRun, GateResult], None]
GATE_CHECKS: list[tuple[str, GateCheck]] = []


def gate_check(name: str) -> Callable[[GateCheck], GateCheck]:
    """Register a gate check. Checks run in registration order; each adds its rows (or skips with a reason) to the
    result. A new check is one decorated function: run_gate never names it."""
    def register(fn: GateCheck) -> GateCheck:
        GATE_CHECKS.append((name, fn))
        return fn
    return register


@gate_check("idle_nodes")
def _idle_nodes(g: GateRun, res: GateResult) -> None:
    """Health, smoke checkout and storefront on every idle node; page-cache privacy on one (the page cache is
    shared by the colour)."""
    cat, hdrs = g.cat, g.smoke_args
    for k, node in enumerate(g.target.nodes(g.new_colour)):
        ok, last = wait_healthy(node.url, what=f"{node.name} health", timeout=g.health_timeout,
                                release=g.new_release, release_header=g.target.release_header,
                                path=g.target.health_path)
        res.add("health", node.name, ok,
                "" if ok else f"{node.name}: not healthy within {g.health_timeout:.0f} s ({last})")
        if not ok:
            continue
        s = smoke_checkout(node.name, node.url, run_id=g.run_id, max_step_ms=g.max_step_ms, **hdrs)
        res.add("smoke_checkout", node.name, s.ok, "" if s.ok else s.reason())
        if s.ok and g.new_release and s.release and s.release != g.new_release:
            res.add("release", node.name, False, f"{node.name}: serves {s.release}, expected {g.new_release}")
        p = smoke_storefront(node.name, node.url, product_id=cat.product_ids[0], static=g.static,
                             max_step_ms=g.max_step_ms, release_header=g.target.release_header,
                             headers=g.store_headers)
        res.add("smoke_storefront", node.name, p.ok, "" if p.ok else p.reason())
        if k == 0:
            ok, why = page_cache_private(node, product_id=cat.product_ids[0], email_domain=cat.smoke_email_domain,
                                         run_id=g.run_id, headers=g.store_headers)
            res.add("page_cache_private", node.name, ok, why)


@gate_check("live_on_new_schema")
def _live_on_new_schema(g: GateRun, res: GateResult) -> None:
    """Old code / new schema: the live colour keeps serving customers on the migrated DB until the switch."""
    for node in g.target.nodes(g.old_colour):
        s = smoke_checkout(node.name, node.url, run_id=g.run_id, max_step_ms=g.max_step_ms, **g.smoke_args)
        res.add("live_on_new_schema", node.name, s.ok,
                "" if s.ok else f"live release on the migrated DB: {s.reason()}")


@gate_check("portable")
def _portable(g: GateRun, res: GateResult) -> None:
    """Customer tokens and sessions valid across colours, both ways."""
    new_nodes, old_nodes = g.target.nodes(g.new_colour), g.target.nodes(g.old_colour)
    if not (new_nodes and old_nodes):
        return
    domain = g.cat.smoke_email_domain
    for a, b in ((new_nodes[0], old_nodes[0]), (old_nodes[0], new_nodes[0])):
        ok, why = token_portable(a, b, email_domain=domain, run_id=g.run_id)
        res.add("token_portable", f"{a.name}->{b.name}", ok, why)
        ok, why = session_portable(a, b, email_domain=domain, run_id=g.run_id, headers=g.store_headers)
        res.add("session_portable", f"{a.name}->{b.name}", ok, why)


@gate_check("page_cache_isolated")
def _page_cache_isolated(g: GateRun, res: GateResult) -> None:
    """Both ways: the idle colour must not answer with the live release's pages, nor the live colour (customers,
    now) with the idle release's."""
    new_nodes, old_nodes = g.target.nodes(g.new_colour), g.target.nodes(g.old_colour)
    if not (new_nodes and old_nodes):
        return
    name, live, idle = "page_cache_isolated", old_nodes[0], new_nodes[0]
    if g.live_static is None or g.static is None:
        res.skip(name, f"{live.name}<->{idle.name}", "the static versions of both releases were not learnt at deploy")
        return
    for a, av, b, bv in ((live, g.live_static.version, idle, g.static.version),
                         (idle, g.static.version, live, g.live_static.version)):
        ok, why = page_cache_isolated(a, av, b, bv, product_id=g.cat.product_ids[0], headers=g.store_headers)
        if ok is None:
            res.skip(name, f"{a.name}->{b.name}", why)
        else:
            res.add(name, f"{a.name}->{b.name}", ok, why)


@gate_check("cron_one_colour")
def _cron_one_colour(g: GateRun, res: GateResult) -> None:
    """Cron installed on the live colour only (a target that declares no cron commands is not asked)."""
    if commands(g.target) is None:
        return
    early, unreadable = installed_on(g.target, g.new_colour)
    why = "; ".join([f"cannot read the crontab of {u}" for u in unreadable] +
                    ([f"{', '.join(early)} already run(s) Magento's cron before the switch: both colours would "
                      "run every job (and spawn consumers)"] if early else []))
    res.add("cron_one_colour", g.new_colour, not why, why)


@gate_check("lb_sees_healthy")
def _lb_sees_healthy(g: GateRun, res: GateResult) -> None:
    """The load balancer must already see the idle nodes as healthy, else the switch would 503."""
    why_not = g.target.lacks(Capability.LB_READY)
    if why_not:
        res.skip("lb_sees_healthy", "lb", why_not)
        return
    ok, why = g.target.router.ready(g.new_colour, timeout=g.health_timeout)
    res.add("lb_sees_healthy", "lb", ok, why)


def run_gate(target: Target, new_colour: str, new_release: str, *, run_id: str, static=None, live_static=None,
             health_timeout: float = 30, max_step_ms: float = 2000) -> GateResult:
    """Every registered gate check, in order (see GATE_CHECKS): idle nodes healthy and able to sell (assets judged
    against the release's learnt digests, `static`), the live release on the migrated DB, tokens and sessions
    portable, page caches not, cron on the live colour only, the LB ready."""
    g = GateRun(target, new_colour, new_release, run_id, static=static, live_static=live_static,
                health_timeout=health_timeout, max_step_ms=max_step_ms)
    res = GateResult(passed=True)
    for _name, check in GATE_CHECKS:
        check(g, res)
    return res
