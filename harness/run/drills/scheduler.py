"""Injects a drill's faults at cutover events, each in its own thread (the cutover never waits for a fault), holds
it, heals it. Everything still in effect is healed when the load stops, and again in the drill's `finally`."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from harness.faults import FaultError, Injection, Journal, make_fault
from harness.run.drills.plan import FaultStep


@dataclass
class Applied:
    step: FaultStep
    description: str = ""
    injected_at: float | None = None
    healed_at: float | None = None
    error: str = ""
    thread: threading.Thread | None = None
    injection: Injection | None = None
    fired: bool = False


@dataclass
class FaultScheduler:
    steps: list[FaultStep]
    nodes: dict[str, str]                 # "new-1" → "green-1", "live-1" → "blue-1"
    api: str = ""                         # the DO API simulator, for doapi faults
    journal: Journal | None = None
    applied: list[Applied] = field(default_factory=list)

    def __post_init__(self):
        self.applied = [Applied(s) for s in self.steps]
        self._stop = threading.Event()
        self._event = None

    def _fault(self, step: FaultStep):
        params = dict(step.params)
        if step.node:
            params["node"] = self.nodes.get(step.node, step.node)
        if "api" not in params and step.kind.startswith("do-"):
            params["api"] = self.api
        return make_fault(step.kind, **params)

    def on_event(self, rec: dict, events) -> None:
        """LedgerWriter listener: start the faults this event opens; heal everything when the load stops."""
        self._event = events.event
        if rec["event"] in ("load_stop", "error"):
            self.heal_all()
            return
        for a in self.applied:
            if not a.fired and a.step.event == rec["event"]:
                a.fired = True
                a.thread = threading.Thread(target=self._run, args=(a,), name=f"fault-{a.step.kind}", daemon=True)
                a.thread.start()

    def _run(self, a: Applied) -> None:
        if self._stop.wait(a.step.delay_s):
            return
        try:
            fault = self._fault(a.step)
            a.description = fault.describe()
            a.injection = Injection(fault, self.journal, self._event).inject()
            a.injected_at = a.injection.injected_at
        except FaultError as exc:
            a.error = str(exc)
            return
        self._stop.wait(a.step.hold_s)
        self._heal(a)

    def _heal(self, a: Applied) -> None:
        inj = a.injection
        if inj is None or not inj.active:
            return
        try:
            inj.heal()
            a.healed_at = inj.healed_at
        except FaultError as exc:
            a.error = a.error or str(exc)

    def heal_all(self, timeout: float = 180) -> None:
        """Stop waiting, heal what is in effect, wait for the fault threads. Safe to call more than once."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for a in self.applied:
            if a.thread is not None:
                a.thread.join(max(0.1, deadline - time.monotonic()))
            self._heal(a)
