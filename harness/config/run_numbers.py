"""The numbers a run is given (users, seconds of load, watch and baseline windows) and the range each must be in.

One table, checked in three places that must agree: the CLI (argparse types), the pytest plugin (at configure
time) and the engine (`certify()` itself), so a bad number is refused before anything starts, with one line that
names the option and says what a valid value looks like.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


class BadNumber(ValueError):
    """A run number outside its range; str() is the one line to show."""


@dataclass(frozen=True)
class Rule:
    option: str          # as the user types it: --users
    whole: bool          # an integer
    low: float           # the smallest allowed value …
    low_open: bool       # … or, when True, values must be strictly greater than `low`
    what: str            # what the number is, for the message
    high: float | None = None  # the largest allowed value, when there is one

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a number of seconds"
        if self.high is not None:
            return f"{kind} from {self.low:g} to {self.high:g}"
        return f"{kind} {'greater than' if self.low_open else 'of at least'} {self.low:g}"


RULES: dict[str, Rule] = {
    "users": Rule("--users", True, 1, False, "simulated customers"),
    "load_seconds": Rule("--load-seconds", False, 0, True, "seconds of load around the switch"),
    "watch_seconds": Rule("--watch-seconds", False, 0, False, "seconds of the post-switch watch window"),
    "baseline_seconds": Rule("--baseline-seconds", False, 0, False, "seconds of load before the deploy starts"),
    "timeout": Rule("--timeout", False, 0, True, "seconds to wait"),
    "workers": Rule("--workers", True, 0, False, "local Locust worker processes; 0: one process"),
    "remote_workers": Rule("--remote-workers", True, 0, False, "Locust workers joining from other machines"),
    "master_port": Rule("--master-port", True, 1, False, "the port the Locust master listens on", 65535),
}


def check(name: str, value) -> int | float:
    """The value as a number when it is in range for `name`; else BadNumber with the one line to show."""
    rule = RULES[name]
    try:
        if isinstance(value, str):
            num = int(value) if rule.whole else float(value)
        elif rule.whole and isinstance(value, float) and value.is_integer():
            num = int(value)
        else:
            num = value
        if isinstance(num, bool) or not isinstance(num, (int, float)) or (rule.whole and not isinstance(num, int)):
            raise TypeError
    except (TypeError, ValueError):
        raise BadNumber(f"{rule.option} must be {rule.describe()} ({rule.what}); got {value!r}") from None
    if (not math.isfinite(num) or num < rule.low or (rule.low_open and num == rule.low)
            or (rule.high is not None and num > rule.high)):
        raise BadNumber(f"{rule.option} must be {rule.describe()} ({rule.what}); got {value}")
    return num


def check_all(**values) -> dict:
    """Every given (name=value) checked; values that are None are left to their defaults."""
    return {name: check(name, v) for name, v in values.items() if v is not None}


def argparse_type(name: str):
    """An argparse `type=` for `name`: a bad value becomes argparse's own error, with this module's words."""
    import argparse

    def parse(text: str):
        try:
            return check(name, text)
        except BadNumber as exc:
            # argparse prefixes "argument --users:"; keep only what follows the option's name.
            raise argparse.ArgumentTypeError("must be " + str(exc).split(" must be ", 1)[1]) from None

    parse.__name__ = RULES[name].option  # argparse names the type in some messages
    return parse
