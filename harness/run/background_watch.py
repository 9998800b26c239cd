"""Who runs Magento's background work, looked at through the run: every few seconds each node's crontab and
consumer processes, as `background_jobs_sample` events. A stock store's DB says that cron ran and messages were
consumed, never by which node; this is the other half of the evidence (harness/verdicts/background_jobs.py)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from harness.checks.background_jobs import sample
from harness.targets.base import Target, TargetError

SAMPLE_EVERY_S = 2.0


class BackgroundWatch:
    def __init__(self, target: Target, event: Callable[..., dict], every_s: float = SAMPLE_EVERY_S):
        self.target, self.event, self.every_s = target, event, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="background-jobs-watch", daemon=True)

    def start(self) -> BackgroundWatch:
        if self.target.background_job_commands is not None:  # a target that cannot tell has nothing to look at
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                nodes = sample(self.target)
            except (TargetError, OSError):
                nodes = {}
            if nodes and not self._stop.is_set():
                self.event("background_jobs_sample", nodes=nodes)
            self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=15)
