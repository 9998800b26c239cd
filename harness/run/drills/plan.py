"""A drill plan (TOML): which faults to inject during which cutover, and the hypothesis each drill must confirm.

    [defaults]                 # any drill key; each [[drill]] may override
    users = 8
    load_seconds = 40

    [[drill]]
    name = "new-node-dies-before-switch"
    engine = ["refused"]                   # allowed engine outcomes: switched / refused / rolled_back / error
    must_hold = ["zero_5xx", "sessions_intact"]   # the steady state: verdicts that must pass
    must_trip = ["gate"]                   # verdicts that must fail (the fault must be caught)
    final_live = "old"                     # which colour must be live (and healthy) at the end: old / new / any
    [[drill.fault]]
    kind = "node-kill"
    node = "new-1"                         # new-N / live-N (colour relative to the cutover) or a node name
    at = "gate"                            # load / deploy / gate / switch / watch: the cutover phase it hits
    delay_s = 0                            # after the phase began
    hold_s = 30                            # healed after this long (and always when the load stops)
    budget_errors = 0                      # 5xx + transport errors allowed while it is in effect (+ detection)

A drill is judged by the default bounds; `bounds = { min_crossings = 15 }` (in [defaults] or a drill) lowers or
raises any of them explicitly, e.g. an evidence minimum a short drill cannot reach.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.config import read_toml
from harness.config.bounds import parse_bounds
from harness.faults import FAULTS, FaultError, make_fault
from harness.faults.node import NodeFault

# The harness event that opens each phase of a cutover.
PHASES = {"load": "load_start", "deploy": "deploy_start", "gate": "deploy_done", "switch": "switch_start",
          "watch": "converged"}
ENGINE = ("switched", "refused", "rolled_back", "error")


class PlanError(ValueError):
    """What is wrong with a drill plan, one line per problem."""


@dataclass
class FaultStep:
    kind: str
    at: str = "deploy"
    delay_s: float = 0.0
    hold_s: float = 5.0
    budget_errors: int = 0
    node: str = ""
    params: dict = field(default_factory=dict)

    @property
    def event(self) -> str:
        return PHASES[self.at]

    def label(self) -> str:
        where = f" on {self.node}" if self.node else ""
        return f"{self.kind}{where} at {self.at}+{self.delay_s:g}s for {self.hold_s:g}s"


@dataclass
class Drill:
    name: str
    faults: list[FaultStep]
    release: str = "next"          # "next": the next good release; else a release id or directory
    users: int = 8
    load_seconds: float = 40.0
    watch_s: float = 8.0
    detect_s: float | None = None  # the LB's detection time (default: from the health-check settings)
    engine: list[str] = field(default_factory=lambda: list(ENGINE[:3]))
    must_hold: list[str] = field(default_factory=list)
    must_trip: list[str] = field(default_factory=list)
    final_live: str = "any"
    errors_outside_faults: int = 0  # "then zero": errors while no fault is in effect
    doapi: bool = False             # run the cutover through the DO API simulator (DigitalOcean code path)
    description: str = ""
    bounds: dict = field(default_factory=dict)  # bounds changed for this drill (harness/config/bounds.py names)


DRILL_KEYS = set(Drill.__dataclass_fields__) - {"faults"}
STEP_KEYS = set(FaultStep.__dataclass_fields__) - {"params"}


def _step(raw: dict, where: str, problems: list[str]) -> FaultStep | None:
    kind = raw.get("kind")
    if kind not in FAULTS:
        problems.append(f"{where}: kind {kind!r} is not a fault; one of {', '.join(sorted(FAULTS))}")
        return None
    known = {k: raw[k] for k in STEP_KEYS if k in raw}
    params = {k: v for k, v in raw.items() if k not in STEP_KEYS}
    step = FaultStep(**known, params=params)
    if step.at not in PHASES:
        problems.append(f"{where}: at = {step.at!r}; one of {', '.join(PHASES)}")
    if step.hold_s <= 0 or step.delay_s < 0 or step.budget_errors < 0:
        problems.append(f"{where}: hold_s must be > 0, delay_s and budget_errors >= 0")
    # Parameters checked now (a plan fails before any load starts), with a placeholder node/API.
    try:
        probe = dict(params)
        if issubclass(FAULTS[kind], NodeFault) or step.node:
            probe["node"] = "blue-1"
        if FAULTS[kind].needs == "doapi":
            probe.setdefault("api", "http://127.0.0.1:1")
        make_fault(kind, **probe)
    except FaultError as exc:
        problems.append(f"{where}: {exc}")
    if step.node and not (step.node.startswith(("new-", "live-")) or step.node in ("blue-1", "blue-2", "green-1", "green-2")):
        problems.append(f"{where}: node {step.node!r}: use new-1/new-2/live-1/live-2 or a node name")
    return step


def parse_plan(data: dict, source: str = "plan") -> list[Drill]:
    problems: list[str] = []
    defaults = data.get("defaults", {})
    unknown = set(data) - {"defaults", "drill"}
    if unknown:
        problems.append(f"{source}: unknown sections {sorted(unknown)}: use [defaults] and [[drill]]")
    drills = []
    for i, raw in enumerate(data.get("drill", [])):
        merged = {**defaults, **raw}
        where = f"{source}: drill {raw.get('name') or i + 1}"
        bad = set(merged) - DRILL_KEYS - {"fault"}
        if bad:
            problems.append(f"{where}: unknown keys {sorted(bad)}")
            continue
        if not merged.get("name"):
            problems.append(f"{where}: a drill needs a name")
            continue
        steps = [_step(f, f"{where} fault {j + 1}", problems) for j, f in enumerate(merged.get("fault", []))]
        d = Drill(faults=[s for s in steps if s], **{k: v for k, v in merged.items() if k != "fault"})
        if not d.faults:
            problems.append(f"{where}: no [[drill.fault]]")
        try:
            parse_bounds(d.bounds)
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}: bounds: {exc}")
        if set(d.engine) - set(ENGINE) or d.final_live not in ("old", "new", "any"):
            problems.append(f"{where}: engine must be a subset of {list(ENGINE)}, final_live old/new/any")
        drills.append(d)
    names = [d.name for d in drills]
    if len(set(names)) != len(names):
        problems.append(f"{source}: drill names must be unique")
    if not drills and not problems:
        problems.append(f"{source}: no [[drill]] in the plan")
    if problems:
        raise PlanError("\n".join(problems))
    return drills


def load_plan(path: str | Path) -> list[Drill]:
    return parse_plan(read_toml(path, PlanError, missing="no such drill plan"), str(path))
