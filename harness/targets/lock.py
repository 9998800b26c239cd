"""One run per target: a lock held on the target itself, so two pipelines on two machines see each other.

A holder is written onto the target (the replica: a file in the load balancer's container; DigitalOcean: a tag on
the droplets of both colours, the only writable mark DO's API gives the things a switch moves), then every holder
is read back: the oldest live one holds the lock. Adding and then reading is enough without an atomic
compare-and-set: two runs that add at once both read both marks, and both agree which one is older.

A holder names its run, host, pid and since. It is stale when its run cannot still be running: on this host its
pid is gone, anywhere it is older than MAX_AGE_S (longer than any run). A stale holder is removed on the way in, and
by `greenlight heal`; a live one refuses the second run with its name."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from harness.targets.base import TargetError

MAX_AGE_S = 6 * 3600.0
PREFIX = "greenlight-lock"
# DO tag names: letters, numbers, colons, dashes and underscores (docs: Tags). Host names lose their dots.
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class Holder:
    run_id: str
    host: str
    pid: int
    since: int   # epoch seconds

    @classmethod
    def me(cls, run_id: str) -> Holder:
        return cls(_SAFE.sub("-", run_id), _this_host(), os.getpid(), int(time.time()))

    @property
    def mark(self) -> str:
        """The holder as one token (a DO tag, a file name): greenlight-lock:<run>:<host>:<pid>:<since>."""
        return f"{PREFIX}:{self.run_id}:{self.host}:{self.pid}:{self.since}"

    @classmethod
    def parse(cls, mark: str) -> Holder | None:
        parts = mark.split(":")
        if len(parts) != 5 or parts[0] != PREFIX or not parts[3].isdigit() or not parts[4].isdigit():
            return None
        return cls(parts[1], parts[2], int(parts[3]), int(parts[4]))

    def stale(self, now: float | None = None) -> str:
        """Why this holder cannot still be running ('' when it may be)."""
        now = time.time() if now is None else now
        if now - self.since > MAX_AGE_S:
            return f"taken {(now - self.since) / 3600:.1f} h ago, longer than any run"
        if self.host == _this_host() and not _alive(self.pid):
            return f"its process {self.pid} on this host is gone"
        return ""

    def describe(self) -> str:
        return (f"run {self.run_id} on {self.host} (pid {self.pid}) since "
                f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(self.since))}")


def _this_host() -> str:
    """This machine as a mark names it (a DO tag takes no dots)."""
    return _SAFE.sub("-", socket.gethostname())[:60]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Locker(Protocol):
    """Where a kind keeps the marks: read them all, add one, remove one (each idempotent)."""

    def marks(self) -> list[str]: ...

    def add(self, mark: str) -> None: ...

    def remove(self, mark: str) -> None: ...


class TargetLocked(TargetError):
    def __init__(self, holder: Holder, where: str):
        self.holder = holder
        super().__init__(f"{where} is held by {holder.describe()}: one run per target; wait for it to end "
                         "(if that run is dead, `greenlight heal` clears its lock)")


def holders(locker: Locker) -> list[Holder]:
    """Every holder on the target, oldest first (ties: by run id, so every reader agrees)."""
    got = {h for h in map(Holder.parse, locker.marks()) if h is not None}
    return sorted(got, key=lambda h: (h.since, h.run_id, h.host, h.pid))


def clear_stale(locker: Locker) -> list[tuple[Holder, str]]:
    """Remove every stale holder; returns them with why."""
    out = []
    for h in holders(locker):
        why = h.stale()
        if why:
            locker.remove(h.mark)
            out.append((h, why))
    return out


def acquire(locker: Locker, me: Holder, where: str) -> list[tuple[Holder, str]]:
    """Take the target's lock for `me` or raise TargetLocked naming the live holder (our mark is taken back).
    Returns the stale holders it cleared on the way."""
    cleared = clear_stale(locker)
    live = [h for h in holders(locker) if not h.stale()]
    if live:
        raise TargetLocked(live[0], where)
    locker.add(me.mark)
    first = next((h for h in holders(locker) if h == me or not h.stale()), None)
    if first != me:
        locker.remove(me.mark)
        raise TargetLocked(first, where) if first is not None else TargetError(
            f"{where}: the lock mark {me.mark} did not stay on the target")
    return cleared


def release(locker: Locker, me: Holder) -> None:
    locker.remove(me.mark)


@contextlib.contextmanager
def held(target, run_id: str) -> Iterator[tuple[Holder | None, list[tuple[Holder, str]]]]:
    """Hold `target`'s lock for the block: (our holder, stale holders cleared), or (None, []) when the kind keeps
    no marks. Released however the block ends (a kill -9 leaves it: the next run or `heal` sees it stale)."""
    locker = target.locker
    if locker is None:
        yield None, []
        return
    me = Holder.me(run_id)
    cleared = acquire(locker, me, target.lock_where)
    try:
        yield me, cleared
    finally:
        try:
            release(locker, me)
        except TargetError as exc:  # the target went away: the mark is stale once this process ends
            print(f"greenlight: could not release the lock on {target.lock_where}: {exc}")
