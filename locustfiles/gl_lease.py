"""The harness's lease: a Locust process started by Greenlight (master, worker or standalone) quits on its own once
the harness that started it is gone — a SIGKILLed harness must not leave load running on the store. Without
GREENLIGHT_HARNESS_PID (locust run by hand) this does nothing.

The watchdog is a real OS thread (gevent's originals), not a greenlet: it must act even when the process's event
loop is wedged, and it survives Locust's --processes fork in each child (the lease is re-armed after a fork)."""
from __future__ import annotations

import os
import signal

from gevent import monkey

PID, START = os.environ.get("GREENLIGHT_HARNESS_PID"), os.environ.get("GREENLIGHT_HARNESS_START", "")
CHECK_S, GRACE_S = 1.0, 15.0
_sleep = monkey.get_original("time", "sleep")
_start_thread = monkey.get_original("_thread", "start_new_thread")


def _start_time(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return ""


def _watch() -> None:
    while _start_time(PID) == START:
        _sleep(CHECK_S)
    # Locust's own SIGTERM handling stops the users and writes its stats; the hard exit is the backstop.
    os.kill(os.getpid(), signal.SIGTERM)
    _sleep(GRACE_S)
    os._exit(3)


def arm() -> None:
    _start_thread(_watch, ())


if PID and START:
    arm()
    os.register_at_fork(after_in_child=arm)  # a fork keeps only the forking thread
