"""Load dies with the harness. Two independent mechanisms, because either alone has a hole:
- the kernel's parent-death signal (prctl PR_SET_PDEATHSIG) on the Locust process the harness starts: SIGTERM the
  moment the harness dies, even by SIGKILL (but it follows the *thread* that forked, and forked workers lack it);
- a lease: every Locust process (master, workers) gets the harness's pid and start time and quits on its own once
  that process is gone (locustfiles/gl_lease.py), whatever started it.
Also: find load processes left by a dead harness (`greenlight status`) and end them (`greenlight heal`)."""
from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
ENV_PID, ENV_START = "GREENLIGHT_HARNESS_PID", "GREENLIGHT_HARNESS_START"


def start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): with the pid, a unique id."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def alive(pid: int, started: str) -> bool:
    return bool(started) and start_time(pid) == started


def lease_env() -> dict[str, str]:
    pid = os.getpid()
    return {ENV_PID: str(pid), ENV_START: start_time(pid)}


def die_with_parent():
    """A preexec_fn for subprocess.Popen: SIGTERM the child when this process dies. Only from the main thread:
    the kernel signals when the forking *thread* exits, and a helper thread ends long before the harness."""
    if threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the harness died between fork and prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    out = {}
    for item in raw.split(b"\0"):
        k, sep, v = item.partition(b"=")
        if sep:
            out[k.decode(errors="replace")] = v.decode(errors="replace")
    return out


def load_processes(project: str | None = None) -> list[dict]:
    """Locust processes started by a Greenlight harness (they carry its lease), for this replica lane."""
    project = project or os.environ.get("GREENLIGHT_PROJECT", "greenlight")
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"locust" not in b" ".join(cmd):
            continue
        env = _environ(int(d.name))
        if ENV_PID not in env or env.get("GREENLIGHT_PROJECT", "greenlight") != project:
            continue
        hpid = int(env[ENV_PID])
        out.append({"pid": int(d.name), "harness_pid": hpid, "harness_alive": alive(hpid, env.get(ENV_START, "")),
                    "ledger_dir": env.get("GREENLIGHT_LEDGER_DIR", ""), "run_id": env.get("GREENLIGHT_RUN_ID", "")})
    return out


def end_orphans(project: str | None = None, grace_s: float = 10) -> list[dict]:
    """SIGTERM every load process whose harness is dead (SIGKILL after grace_s). Live harnesses' load is left alone."""
    orphans = [p for p in load_processes(project) if not p["harness_alive"]]
    for p in orphans:
        try:
            os.kill(p["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(Path(f"/proc/{p['pid']}").exists() for p in orphans):
        time.sleep(0.2)
    for p in orphans:
        try:
            os.kill(p["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    return orphans
