"""Verdicts: how a finished run (its ledger plus a RunContext) is judged. See registry.py for the registry, what
"not judged" means, and how to add a verdict; each family module registers its verdicts when imported here."""
# Importing a family module registers its verdicts; a new module needs its line here.
from harness.verdicts import (  # noqa: F401
    background_jobs,
    completeness,
    convergence,
    harm,
    identity,
    journeys,
    latency,
    loadgen,
    orders,
    outcome,
    rehearsal,
    sessions,
    static,
    status,
)
from harness.verdicts.background_jobs import background_jobs_one_colour
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
    LiveJudge,
    LiveScope,
    NotJudged,
    Verdict,
    VerdictSpec,
    evaluate,
    has_window_rules,
    live_breach,
    live_judges,
    names,
    specs,
    verdict,
    window_breach,
)
from harness.verdicts.sessions import sessions_intact
from harness.verdicts.static import static_assets_consistent
from harness.verdicts.status import zero_5xx, zero_transport_errors

__all__ = [
    "EVIDENCE_MAX",
    "REGISTRY",
    "Bounds",
    "LiveJudge",
    "LiveScope",
    "NotJudged",
    "Verdict",
    "VerdictSpec",
    "background_jobs_one_colour",
    "converged",
    "evaluate",
    "has_window_rules",
    "identity_headers",
    "latency_by_phase",
    "ledger_complete",
    "live_breach",
    "live_judges",
    "load_generator_headroom",
    "names",
    "orders_reconciled",
    "sessions_intact",
    "specs",
    "static_assets_consistent",
    "verdict",
    "window_breach",
    "zero_5xx",
    "zero_transport_errors",
]
