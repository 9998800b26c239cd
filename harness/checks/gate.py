"""The pre-switch gate: nothing switches unless every idle node and the live code agree it is safe."""
from __future__ import annotations

from dataclasses import dataclass, field

from harness.checks.background_jobs import commands, installed_on
from harness.checks.page_cache import page_cache_isolated
from harness.checks.sessions import page_cache_private, session_portable
from harness.checks.smoke import smoke_checkout, smoke_storefront
from harness.checks.tokens import token_portable
from harness.config.catalogue import catalogue
from harness.targets.base import Capability, Node, Target
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


def _healthy(target: Target, node: Node, release: str, timeout: float) -> tuple[bool, str]:
    ok, last = wait_healthy(node.url, what=f"{node.name} health", timeout=timeout, release=release,
                            release_header=target.release_header)
    return (True, "") if ok else (False, f"{node.name}: not healthy within {timeout:.0f} s ({last})")


def _page_cache_isolated(res: GateResult, live: Node, live_static, idle: Node, idle_static, product_id: int) -> None:
    """Both ways: the idle colour must not answer with the live release's pages, nor the live colour (customers,
    now) with the idle release's."""
    name = "page_cache_isolated"
    if live_static is None or idle_static is None:
        res.skip(name, f"{live.name}<->{idle.name}", "the static versions of both releases were not learnt at deploy")
        return
    for a, av, b, bv in ((live, live_static.version, idle, idle_static.version),
                         (idle, idle_static.version, live, live_static.version)):
        ok, why = page_cache_isolated(a, av, b, bv, product_id=product_id)
        if ok is None:
            res.skip(name, f"{a.name}->{b.name}", why)
        else:
            res.add(name, f"{a.name}->{b.name}", ok, why)


def run_gate(target: Target, new_colour: str, new_release: str, *, run_id: str, static=None, live_static=None,
             health_timeout: float = 30, max_step_ms: float = 2000) -> GateResult:
    """Health and smoke checkout on every idle node (assets judged against the release's learnt digests, `static`);
    the live release's checkout against the migrated DB; customer tokens and sessions valid across colours, page
    caches not (each colour answers with its own release's pages, `live_static`/`static`); cron installed on
    the live colour only; and the load balancer must already see the idle nodes as healthy (else the switch
    would 503)."""
    res = GateResult(passed=True)
    old_colour = "blue" if new_colour == "green" else "green"
    cat = catalogue(target)
    hdrs = dict(served_by_header=target.served_by_header, release_header=target.release_header,
                sku=cat.skus[0], email_domain=cat.smoke_email_domain)
    for k, node in enumerate(target.nodes(new_colour)):
        ok, why = _healthy(target, node, new_release, health_timeout)
        res.add("health", node.name, ok, why)
        if not ok:
            continue
        s = smoke_checkout(node.name, node.url, run_id=run_id, max_step_ms=max_step_ms, **hdrs)
        res.add("smoke_checkout", node.name, s.ok, "" if s.ok else s.reason())
        if s.ok and new_release and s.release and s.release != new_release:
            res.add("release", node.name, False, f"{node.name}: serves {s.release}, expected {new_release}")
        p = smoke_storefront(node.name, node.url, product_id=cat.product_ids[0], static=static,
                             max_step_ms=max_step_ms, release_header=target.release_header)
        res.add("smoke_storefront", node.name, p.ok, "" if p.ok else p.reason())
        if k == 0:  # one node is enough: the page cache is shared by the colour
            ok, why = page_cache_private(node, product_id=cat.product_ids[0], email_domain=cat.smoke_email_domain,
                                         run_id=run_id)
            res.add("page_cache_private", node.name, ok, why)
    # Old code / new schema: the live colour keeps serving customers on the migrated DB until the switch.
    for node in target.nodes(old_colour):
        s = smoke_checkout(node.name, node.url, run_id=run_id, max_step_ms=max_step_ms, **hdrs)
        res.add("live_on_new_schema", node.name, s.ok,
                "" if s.ok else f"live release on the migrated DB: {s.reason()}")
    new_nodes, old_nodes = target.nodes(new_colour), target.nodes(old_colour)
    if new_nodes and old_nodes:
        for a, b in ((new_nodes[0], old_nodes[0]), (old_nodes[0], new_nodes[0])):
            ok, why = token_portable(a, b, email_domain=cat.smoke_email_domain, run_id=run_id)
            res.add("token_portable", f"{a.name}->{b.name}", ok, why)
            ok, why = session_portable(a, b, email_domain=cat.smoke_email_domain, run_id=run_id)
            res.add("session_portable", f"{a.name}->{b.name}", ok, why)
        _page_cache_isolated(res, old_nodes[0], live_static, new_nodes[0], static, cat.product_ids[0])
    if commands(target) is not None:
        early, unreadable = installed_on(target, new_colour)
        why = "; ".join([f"cannot read the crontab of {u}" for u in unreadable] +
                        ([f"{', '.join(early)} already run(s) Magento's cron before the switch: both colours would "
                          "run every job (and spawn consumers)"] if early else []))
        res.add("cron_one_colour", new_colour, not why, why)
    why_not = target.lacks(Capability.LB_READY)
    if why_not:
        res.skip("lb_sees_healthy", "lb", why_not)
    else:
        ok, why = target.router.ready(new_colour, timeout=health_timeout)
        res.add("lb_sees_healthy", "lb", ok, why)
    return res
