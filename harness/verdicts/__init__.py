"""Verdicts: how a finished run (its ledger plus a RunContext) is judged. See registry.py for the registry, what
"not judged" means, and how to add a verdict; each family module registers its verdicts when imported here.

Import order is report order."""
from harness.verdicts import (  # noqa: F401 - imported to register their verdicts
    outcome,
    status,
    sessions,
    convergence,
    orders,
    latency,
    static,
    identity,
    completeness,
    loadgen,
)
from harness.verdicts.completeness import ledger_complete
from harness.verdicts.convergence import converged
from harness.verdicts.identity import identity_headers
from harness.verdicts.latency import latency_by_phase
from harness.verdicts.loadgen import load_generator_headroom
from harness.verdicts.orders import orders_reconciled
from harness.verdicts.registry import (
    EVIDENCE_MAX,
    REGISTRY,
    Bounds,
    NotJudged,
    Verdict,
    VerdictSpec,
    evaluate,
    has_window_rules,
    live_breach,
    names,
    specs,
    verdict,
    window_breach,
)
from harness.verdicts.sessions import sessions_intact
from harness.verdicts.static import static_assets_consistent
from harness.verdicts.status import zero_5xx, zero_transport_errors

__all__ = ["EVIDENCE_MAX", "REGISTRY", "Bounds", "NotJudged", "Verdict", "VerdictSpec", "converged", "evaluate",
           "has_window_rules", "identity_headers", "latency_by_phase", "ledger_complete", "load_generator_headroom", "live_breach", "names",
           "orders_reconciled", "sessions_intact", "specs", "static_assets_consistent", "verdict",
           "window_breach", "zero_5xx", "zero_transport_errors"]
