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

    def replace(self, **changes) -> Bounds:
        """A copy with some bounds changed, validated like [bounds] (ValueError names the bad one)."""
        return parse_bounds({**dataclasses.asdict(self), **changes})


def parse_bounds(values: dict) -> Bounds:
    """Bounds from plain values (strings from a command line are converted); ValueError with one line per problem."""
    try:
        return TypeAdapter(Bounds).validate_python(values)
    except ValidationError as exc:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
