"""The harness's lease: a Locust process started by Greenlight (master, worker or standalone) quits on its own once
the harness that started it is gone — a SIGKILLed harness must not leave load running on the store. Without
GREENLIGHT_HARNESS_PID (locust run by hand) this does nothing."""
from __future__ import annotations

import os
import signal

import gevent

PID, START = os.environ.get("GREENLIGHT_HARNESS_PID"), os.environ.get("GREENLIGHT_HARNESS_START", "")
CHECK_S, GRACE_S = 1.0, 15.0


def _start_time(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return ""


def _watch() -> None:
    while _start_time(PID) == START:
        gevent.sleep(CHECK_S)
    # Locust's own SIGTERM handling stops the users and writes its stats; the hard exit is the backstop.
    os.kill(os.getpid(), signal.SIGTERM)
    gevent.sleep(GRACE_S)
    os._exit(3)


if PID and START:
    gevent.spawn(_watch)
