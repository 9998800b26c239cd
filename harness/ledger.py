"""The ledger: one JSON line per request (written by the Locust processes) and per harness event.

`load()` reads a whole run into columns (one list per field, strings interned) so that verdicts over a million
records stay fast and small."""
from __future__ import annotations

import gc
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from harness.ledger_schema import COLUMNS, EVENTS_FILE, INTERNED, SPARSE, shards

__all__ = ["COLUMNS", "EVENTS_FILE", "SPARSE", "Ledger", "LedgerWriter", "load"]


class LedgerWriter:
    """Append-only event log for the harness; each line is flushed at once (a crash loses nothing written)."""

    def __init__(self, ledger_dir: str | Path):
        self.path = Path(ledger_dir) / EVENTS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab")
        self._lock = threading.Lock()

    def event(self, name: str, **fields) -> dict:
        rec = {"ts": time.time(), "event": name, **fields}
        line = orjson.dumps(rec, default=str) + b"\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()
        return rec

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()


@dataclass
class Ledger:
    path: Path
    cols: dict[str, list] = field(default_factory=dict)
    sparse: dict[str, dict[int, object]] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    skipped_lines: int = 0

    def __len__(self) -> int:
        return len(self.cols.get("ts", ()))

    def record(self, i: int) -> dict:
        rec = {c: self.cols[c][i] for c in COLUMNS}
        for s in SPARSE:
            if i in self.sparse[s]:
                rec[s] = self.sparse[s][i]
        return rec

    def event_ts(self, name: str, last: bool = False) -> float | None:
        hits = [e["ts"] for e in self.events if e.get("event") == name]
        if not hits:
            return None
        return hits[-1] if last else hits[0]

    def event(self, name: str) -> dict | None:
        return next((e for e in self.events if e.get("event") == name), None)

    def window(self, start_event: str = "switch_start", end_event: str = "converged") -> tuple[float | None, float | None]:
        return self.event_ts(start_event), self.event_ts(end_event)

    def phase_of(self, ts: float, start_event: str = "switch_start", end_event: str = "converged") -> str:
        """before | during | after the switch (during = switch start .. observed convergence)."""
        start, end = self.window(start_event, end_event)
        if start is None or ts < start:
            return "before"
        if end is None or ts <= end:
            return "during"
        return "after"


def load(ledger_dir: str | Path) -> Ledger:
    # Millions of short-lived dicts would trigger the cyclic GC over and over; nothing here makes cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(ledger_dir)
    finally:
        if was_enabled:
            gc.enable()


def _load(ledger_dir: str | Path) -> Ledger:
    """Read every request shard and the events of one run. A truncated last line (a process killed mid-write)
    or a malformed line is skipped and counted, never fatal."""
    d = Path(ledger_dir)
    led = Ledger(path=d, cols={c: [] for c in COLUMNS}, sparse={s: {} for s in SPARSE})
    appenders = [(name, led.cols[name].append, name in INTERNED) for name in COLUMNS]
    sparse = [(name, led.sparse[name]) for name in SPARSE]
    intern = sys.intern
    loads = orjson.loads
    row = 0
    for shard in shards(d):
        with shard.open("rb") as fh:
            for line in fh:
                try:
                    r = loads(line)
                except orjson.JSONDecodeError:
                    led.skipped_lines += 1
                    continue
                if type(r) is not dict or "ts" not in r:
                    led.skipped_lines += 1
                    continue
                get = r.get
                for name, append, interned in appenders:
                    v = get(name)
                    # Repeated strings (users, nodes, releases, routes) are interned: a million records stay small.
                    append(intern(v) if interned and type(v) is str else v)
                if len(r) > len(COLUMNS):
                    for name, store in sparse:
                        v = get(name)
                        if v is not None:
                            store[row] = v
                row += 1
    ev = d / EVENTS_FILE
    if ev.exists():
        for line in ev.read_bytes().splitlines():
            try:
                led.events.append(loads(line))
            except orjson.JSONDecodeError:
                led.skipped_lines += 1
    led.events.sort(key=lambda e: e.get("ts", 0))
    return led
