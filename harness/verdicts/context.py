"""What one run hands from the cutover to the verdicts and the report: a typed record, not a dict of strings."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    """What the engine itself saw in one cutover (gate, switch, watch, rollback): the run writes it, the verdicts and
    the report read it."""

    run_id: str
    ledger_dir: Path
    from_colour: str
    to_colour: str
    from_release: str
    to_release: str
    switched: bool = False
    refused: str = ""                 # why the gate/deploy refused, when it did
    rolled_back: str = ""             # why traffic went back, when it did ("rollback drill" for the drill)
    breach: str = ""                  # the watch window's breach, when there was one
    drill: bool = False               # traffic went back because the plan asked for it (the rollback drill)
    error: str = ""                   # an engine error (target unreachable, …)
    gate: list[dict] = field(default_factory=list)
    started_at: float = 0.0
    locust_total: int | None = None
    final_colour: str = ""


@dataclass
class RunContext:
    """Facts about the run that the ledger itself does not hold.

    None means "not known in this run" (e.g. `db_order_ids` when the target gives no database access); a verdict
    that needs an unknown fact says so in its detail instead of guessing."""

    run_id: str = ""
    old_release: str = ""
    new_release: str = ""
    from_colour: str = ""
    to_colour: str = ""
    old_nodes: list[str] = field(default_factory=list)
    new_nodes: list[str] = field(default_factory=list)
    db_order_ids: list[int] | None = None
    # id -> {"grand_total", "items": {sku: qty}} as stored (a StoredOrders from the DB: compact for long runs)
    db_orders: Mapping[int, dict] | None = None
    locust_total: int | None = None
    workers: dict | None = None           # workers.json: per Locust process counts, lost workers, CPU samples
    rollback_drill: bool = False          # the run switched back on purpose: a rollback is not a breach
    outcome: Outcome | None = None        # the engine's own observations (gate, watch, errors); None: ledger only
    target: dict = field(default_factory=dict)   # the target's secret-free description
    # Cron runs and consumed queue messages read from the shop DB ({ts, kind, node, colour, release});
    # None: no DB access (harness/checks/background_jobs.py).
    background_activity: dict | None = None

    def outcome_dict(self) -> dict:
        """The outcome as plain data for report.json (no paths)."""
        if self.outcome is None:
            return {}
        return {k: v for k, v in vars(self.outcome).items() if k != "ledger_dir"}
