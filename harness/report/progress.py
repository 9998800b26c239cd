"""Live progress of a certification in the terminal: phase, elapsed, requests/s, errors so far, sessions crossed.

It reads the same growing ledger the engine writes (request shards and events.jsonl), in a thread of its own, so
the engine needs no hooks. On a TTY it redraws one line; otherwise (CI logs) it prints a plain line every
`interval` seconds and at each phase change."""
from __future__ import annotations

import shutil
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from harness.ledger.records import EVENTS_FILE, LedgerTail, LineTail
from harness.ledger.schema import customer_error

# The phase a run is in after each event (events not listed leave the phase as it was).
PHASE_AFTER = {"load_start": "baseline", "deploy_start": "deploy", "deploy_done": "gate", "gate_pass": "switch",
               "gate_fail": "refused, load winding down", "switch_start": "switch", "converged": "watch",
               "watch_done": "after the switch", "rollback_start": "rollback", "rollback_converged": "after rollback",
               "error": "engine error, recovering", "load_stop": "judging the ledger"}
RATE_WINDOW_S = 5.0


class RunState:
    """What the progress line shows, folded from ledger records and events as they arrive."""

    def __init__(self, started: float):
        self.started = started
        self.phase = "starting load"
        self.faults: set[str] = set()
        self.requests = 0
        self.errors = 0
        self.switch_ts: float | None = None
        self.recent: deque[float] = deque()           # arrival times of the last RATE_WINDOW_S of requests
        self._before: set[tuple] = set()              # sessions used before the switch
        self.crossed: set[tuple] = set()

    def on_event(self, ev: dict) -> bool:
        """True when the phase changed."""
        name = ev.get("event", "")
        fault = str(ev.get("fault") or ev.get("name") or "fault")
        if name == "fault_on":
            self.faults.add(fault)
            return True
        if name == "fault_off":
            self.faults.discard(fault)
            return True
        if name == "switch_start" and self.switch_ts is None:
            self.switch_ts = ev.get("ts")
        if name in PHASE_AFTER and PHASE_AFTER[name] != self.phase:
            self.phase = PHASE_AFTER[name]
            return True
        return False

    def on_record(self, rec: dict, now: float) -> None:
        self.requests += 1
        self.errors += customer_error(rec.get("status"), rec.get("error"))
        self.recent.append(now)
        sess = rec.get("session")
        if sess:
            key = (rec.get("journey"), sess)
            if self.switch_ts is None or rec.get("ts", 0) < self.switch_ts:
                self._before.add(key)
            elif key in self._before:
                self.crossed.add(key)

    def rate(self, now: float) -> float:
        while self.recent and self.recent[0] < now - RATE_WINDOW_S:
            self.recent.popleft()
        span = min(RATE_WINDOW_S, max(now - self.started, 1e-9))
        return len(self.recent) / span

    def line(self, now: float) -> str:
        el = int(now - self.started)
        phase = self.phase + (f" + fault: {', '.join(sorted(self.faults))}" if self.faults else "")
        return (f"greenlight: {phase:<20} {el // 60:d}:{el % 60:02d}  {self.rate(now):6.1f} req/s  "
                f"{self.requests:,} requests  {self.errors:,} errors  {len(self.crossed):,} sessions crossed")


class Progress:
    """Start it with the run's ledger directory; stop it before printing anything else."""

    def __init__(self, write: Callable[[str], None] | None = None, tty: bool | None = None,
                 interval: float | None = None, clock: Callable[[], float] = time.time):
        stream = sys.stderr
        self.tty = stream.isatty() if tty is None else tty
        self._write = write or (lambda s: (stream.write(s), stream.flush()))
        self.interval = interval if interval is not None else (0.5 if self.tty else 10.0)
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state: RunState | None = None
        self._last_plain = 0.0
        self._width = 0

    def attach(self, ledger_dir: str | Path) -> None:
        d = Path(ledger_dir)
        self.state = RunState(self.clock())
        self._tail, self._events = LedgerTail(d), LineTail(d / EVENTS_FILE)

    def start(self, ledger_dir: str | Path) -> None:
        self.attach(ledger_dir)
        self._thread = threading.Thread(target=self._loop, name="greenlight-progress", daemon=True)
        self._thread.start()

    def poll(self, force: bool = False) -> None:
        """Fold in what the ledger gained since the last poll, and show it."""
        now = self.clock()
        changed = False
        for ev in self._events.read_new():
            changed |= self.state.on_event(ev)
        for rec in self._tail.read_new():
            self.state.on_record(rec, now)
        line = self.state.line(now)
        if self.tty:
            # A line wider than the terminal wraps, and "\r" would then redraw only its last part.
            line = line[: max(20, shutil.get_terminal_size((120, 24)).columns - 1)]
            pad = max(0, self._width - len(line))
            self._write("\r" + line + " " * pad)
            self._width = len(line)
        elif force or changed or now - self._last_plain >= self.interval:
            self._write(line + "\n")
            self._last_plain = now

    def _loop(self) -> None:
        while not self._stop.wait(0.5 if self.tty else min(self.interval, 1.0)):
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - progress must never break a certification
                self._write(f"greenlight: progress display stopped: {exc}\n")
                return

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None
        self.poll(force=True)  # the final numbers
        if self.tty:
            self._write("\n")
