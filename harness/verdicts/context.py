"""What one run hands from the cutover to the verdicts and the report: a typed record, not a dict of strings."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.run.cutover import Outcome


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
    background_activity: list[dict] | None = None

    def outcome_dict(self) -> dict:
        """The outcome as plain data for report.json (no paths)."""
        if self.outcome is None:
            return {}
        return {k: v for k, v in vars(self.outcome).items() if k != "ledger_dir"}
