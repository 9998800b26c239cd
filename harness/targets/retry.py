"""The one retry helper: every wait-until and backoff in Greenlight goes through here."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class GaveUp(RuntimeError):
    """Raised when retry() runs out of time; carries the last error or value seen."""

    def __init__(self, what: str, last: object):
        super().__init__(f"{what}: gave up ({last})")
        self.what = what
        self.last = last


def retry(
    fn: Callable[[], T],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    backoff: float = 1.0,
    max_interval: float = 10.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    until: Callable[[T], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call fn until it returns (and `until(value)` holds) or `timeout` seconds pass.

    Exceptions in `retry_on` are retried; others propagate at once. A callable may raise
    RetryAfter(seconds) to ask for a specific wait (e.g. an HTTP Retry-After)."""
    deadline = clock() + timeout
    wait = interval
    last: object = None
    while True:
        delay = wait
        try:
            value = fn()
            if until is None or until(value):
                return value
            last = value
        except RetryAfter as exc:
            last = exc
            delay = max(exc.seconds, 0.0)
        except retry_on as exc:
            last = exc
        if clock() + delay > deadline:
            raise GaveUp(what, last)
        sleep(delay)
        wait = min(wait * backoff, max_interval)


class RetryAfter(Exception):
    def __init__(self, seconds: float, reason: str = ""):
        super().__init__(reason or f"retry after {seconds:.1f}s")
        self.seconds = seconds


def succeeds_within(fn: Callable[[], object], *, what: str, timeout: float, interval: float = 0.5) -> tuple[bool, object]:
    """retry() as a yes/no for checks that report rather than raise: (True, None) once fn returns without raising,
    (False, the last error) when `timeout` runs out."""
    try:
        retry(fn, what=what, timeout=timeout, interval=interval)
        return True, None
    except GaveUp as exc:
        return False, exc.last
