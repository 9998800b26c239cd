"""The bounds a run is held to, in one dataclass: the verdicts read them, greenlight.toml's [bounds] is validated
against them, and the pytest plugin's --gl-bound NAME=VALUE overrides them."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError


@dataclass
class Bounds:
    """Every bound a run is held to. A new bound is one field here, with its constraint and default."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    converged_s: Annotated[float, Field(gt=0)] = 30.0       # switch start → last response from the old release
    p99_ratio: Annotated[float, Field(gt=1)] = 3.0          # p99 during/after the switch over p99 before it
    p99_floor_ms: Annotated[float, Field(ge=0)] = 250.0     # below this a p99 is never a regression (noise)
    min_phase_samples: Annotated[int, Field(ge=1)] = 50     # fewer requests in a phase: percentiles not judged
    quiet_s: Annotated[float, Field(gt=0)] = 2.0            # only the new release answered this long = converged
    # Journey steps after the switch (and on the live colour during the deploy) against the baseline before it.
    step_alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01   # Fisher's exact test on a step's failure rate
    step_absolute_after: Annotated[int, Field(ge=1)] = 3     # never failed before, fails this often after: breach
    min_step_requests: Annotated[int, Field(ge=1)] = 100     # requests after the switch before steps are judged
    latency_alpha: Annotated[float, Field(gt=0, lt=1)] = 0.001  # Mann-Whitney U, after slower than before
    latency_ratio: Annotated[float, Field(gt=1)] = 2.0      # a step's median after over its median before
    latency_floor_ms: Annotated[float, Field(ge=0)] = 250.0  # and its p95 at least this much higher
    min_latency_samples: Annotated[int, Field(ge=1)] = 20   # per step and side, for distributions (Mann-Whitney U)
    min_latency_rare: Annotated[int, Field(ge=1)] = 8       # both sides of a rarer step: exceedances of its baseline p95
    freeze_ms: Annotated[float, Field(gt=0)] = 3000.0       # a request this slow (x the store's drift) is frozen
    freeze_count: Annotated[int, Field(ge=1)] = 5           # this many frozen requests hurt the live colour
    # Evidence minimums: fewer makes a verdict INCONCLUSIVE (a failure) unless lowered here on purpose.
    min_crossings: Annotated[int, Field(ge=0)] = 30         # per kind: sessions, tokens, guest carts, cart contents
    min_orders: Annotated[int, Field(ge=0)] = 10            # orders placed in the run

    def replace(self, **changes) -> Bounds:
        """A copy with some bounds changed, validated like [bounds] (ValueError names the bad one)."""
        return parse_bounds({**dataclasses.asdict(self), **changes})


def parse_bounds(values: dict) -> Bounds:
    """Bounds from plain values (strings from a command line are converted); ValueError with one line per problem."""
    try:
        return TypeAdapter(Bounds).validate_python(values)
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
