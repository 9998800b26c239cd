"""Post-switch watching: read the load's ledger as it grows and the new colour's health, and say when to roll back."""
from __future__ import annotations

from dataclasses import dataclass, field

from harness import verdicts
from harness.ledger.records import LedgerTail
from harness.targets import health
from harness.targets.base import Target


def breach_of(record: dict, since_ts: float) -> str | None:
    """Why this record is a breach of the watch window, or None: the verdicts' own live rules, from the switch on."""
    if record.get("ts", 0) < since_ts:
        return None
    return verdicts.live_breach(record)


@dataclass
class Watch:
    target: Target
    colour: str
    tail: LedgerTail
    since_ts: float
    breaches: list[str] = field(default_factory=list)
    window: list[dict] = field(default_factory=list)   # records since the switch, for the verdicts' window rules
    scope: verdicts.LiveScope | None = None            # baseline vs judged window, for the stateful live rules
    judges: list = field(default_factory=list)

    def __post_init__(self):
        if self.scope is not None and not self.judges:
            self.judges = verdicts.live_judges(self.scope)

    def check(self, probe_nodes: bool = True) -> str | None:
        """One look: the ledger's new records, then (probe_nodes) every node of the watched colour. A reason, or
        None. Without the node probes a look costs a read of the new ledger lines: cheap enough to poll while
        traffic is still moving."""
        keep_window = verdicts.has_window_rules()
        for rec in self.tail.read_new():
            why = breach_of(rec, self.since_ts)
            if why:
                self.breaches.append(why)
            if keep_window and rec.get("ts", 0) >= self.since_ts:
                self.window.append(rec)
            for judge in self.judges:  # they see the baseline too: the tail reads the ledger from its start
                judge.observe(rec)
        if keep_window and not self.breaches:
            why = verdicts.window_breach(self.window)
            if why:
                self.breaches.append(why)
        for judge in self.judges if not self.breaches else ():
            why = judge.breach()
            if why:
                self.breaches.append(why)
                break
        if self.breaches:
            return self.breaches[0]
        for node in self.target.nodes(self.colour) if probe_nodes else ():
            h = health.probe(node.url, path=self.target.health_path)
            if not h.ok:
                return f"health check failed on {node.name}: {h.problem}"
        return None
