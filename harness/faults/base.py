"""The fault interface (Chaos Toolkit style: an action and its rollback) and the one way to run a fault:
journal → inject → … → heal → unjournal. Heal is idempotent and needs nothing but the journal entry, so it works
from a `finally`, from another thread, or from `greenlight heal` in a later process."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import ClassVar

from harness.faults.journal import Entry, Journal

EventFn = Callable[..., object]


class FaultError(RuntimeError):
    """A fault could not be injected or healed; one line saying what and where."""


class Fault:
    """One fault family. Subclasses set `kind` (registry name), `family` and `summary`, and implement
    inject() → state (what heal needs) and heal(state). heal must succeed on a fault that was only half
    injected, or already healed (it may be called more than once)."""

    kind: ClassVar[str] = ""
    family: ClassVar[str] = ""          # node / network / service / lb / doapi
    summary: ClassVar[str] = ""
    needs: ClassVar[str] = "replica"    # replica | doapi
    # Which errors a drill charges to this fault while it is in effect: "all" (a shared service: any node's error
    # can be its doing), "node" (what its node answered, and what no node answered), "lb" (only what no node
    # answered: transport errors and the LB's own 5xx; a node's application error is the release's, not the LB's).
    charges: ClassVar[str] = "all"

    def __init__(self, **params):
        self.params = params

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()) if k != "api")
        return f"{self.kind}({args})"

    def inject(self) -> dict:
        raise NotImplementedError

    def heal(self, state: dict) -> None:
        raise NotImplementedError

    def in_effect(self, state: dict) -> bool | None:
        """Is the fault observably still in effect? None when it cannot be observed."""
        return None


class Injection:
    """A fault in progress: journaled before inject, removed from the journal only after a successful heal."""

    def __init__(self, fault: Fault, journal: Journal | None = None, event: EventFn | None = None):
        self.fault = fault
        self.journal = journal or Journal()
        self.event = event or (lambda *a, **k: None)
        self.entry: Entry | None = None
        self.injected_at: float | None = None
        self.healed_at: float | None = None
        self.heal_error: str = ""

    def inject(self) -> Injection:
        if self.entry is not None:
            raise FaultError(f"{self.fault.describe()} was already injected")
        self.entry = self.journal.write(Entry(kind=self.fault.kind, params=self.fault.params,
                                              description=self.fault.describe()))
        self.injected_at = time.time()
        try:
            state = self.fault.inject() or {}
        except Exception as exc:
            self.event("fault_error", fault=self.fault.kind, id=self.entry.id, error=str(exc)[:300])
            self.heal()
            raise FaultError(f"injecting {self.fault.describe()} failed: {exc}") from exc
        self.entry.state, self.entry.status = state, "active"
        self.journal.write(self.entry)
        self.event("fault_on", fault=self.fault.kind, id=self.entry.id, description=self.fault.describe(),
                   at=self.injected_at)
        return self

    @property
    def active(self) -> bool:
        return self.entry is not None and self.healed_at is None

    def heal(self) -> None:
        if not self.active:
            return
        try:
            self.fault.heal(self.entry.state)
        except Exception as exc:
            # Stays in the journal: `greenlight heal` (or the next try) finishes the job.
            self.heal_error = f"{type(exc).__name__}: {exc}"
            self.event("fault_heal_failed", fault=self.fault.kind, id=self.entry.id, error=self.heal_error[:300])
            raise FaultError(f"healing {self.fault.describe()} failed: {exc}") from exc
        self.healed_at = time.time()
        self.journal.remove(self.entry.id)
        self.event("fault_off", fault=self.fault.kind, id=self.entry.id, held_s=round(self.healed_at - self.injected_at, 3))


@contextlib.contextmanager
def injected(fault: Fault, journal: Journal | None = None, event: EventFn | None = None) -> Iterator[Injection]:
    """`with injected(fault): …` — the fault is in effect inside the block and healed on the way out, always."""
    inj = Injection(fault, journal, event).inject()
    try:
        yield inj
    finally:
        inj.heal()


def heal_journal(journal: Journal | None = None, registry: dict | None = None) -> list[dict]:
    """Heal every fault in the journal (after a crash). Returns one row per entry: what, healed or why not."""
    from harness.faults import FAULTS

    journal = journal or Journal()
    registry = registry if registry is not None else FAULTS
    out = []
    for e in journal.entries():
        cls = registry.get(e.kind)
        if cls is None:
            out.append({"id": e.id, "fault": e.description or e.kind, "healed": False,
                        "error": f"unknown fault kind {e.kind!r}: remove {journal.dir / (e.id + '.json')} by hand "
                                 "once you restored it"})
            continue
        try:
            cls(**e.params).heal(e.state)
        except Exception as exc:  # noqa: BLE001 - one entry's failure must not stop healing the others
            out.append({"id": e.id, "fault": e.description, "healed": False, "error": f"{type(exc).__name__}: {exc}"})
            continue
        journal.remove(e.id)
        out.append({"id": e.id, "fault": e.description, "healed": True, "error": ""})
    return out
