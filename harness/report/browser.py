"""Open a report in headless Chromium (Debian's `chromium`) over the DevTools protocol on a pipe: no extra
library, no port. Collects console errors, uncaught exceptions and every URL the page asked for, evaluates
a JavaScript expression (what elements are there) and takes a full-page PNG screenshot."""
from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


class BrowserError(RuntimeError):
    pass


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageRun:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    probe: object = None
    png: bytes = b""
    height: int = 0


class _Pipe:
    """The DevTools protocol over --remote-debugging-pipe: JSON messages separated by NUL bytes."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int):
        self.proc, self.wfd, self.rfd = proc, to_browser, from_browser
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.wfd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise BrowserError(f"{method}: {m['error'].get('message')}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def _read(self, deadline: float) -> dict:
        import select

        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self.rfd], [], [], left)
            if ready:
                chunk = os.read(self.rfd, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium exited (code {self.proc.poll()})")
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)


def render(html_path: str | Path, probe_js: str = "null", width: int = 1280, timeout: float = 60) -> PageRun:
    """Load the page, let it settle, run `probe_js` (its JSON-able result comes back) and screenshot the full page."""
    exe = find_chromium()
    if exe is None:
        raise BrowserError("chromium is not installed: run `make setup` (installs Debian's chromium package)")
    url = Path(html_path).resolve().as_uri()
    r_cmd, w_cmd = os.pipe()      # we write commands; chromium reads them on its fd 3
    r_out, w_out = os.pipe()      # chromium writes answers on its fd 4
    # Move chromium's ends above 9 so bash's "3<&N 4>&M" below can never clobber one with the other.
    child_r, child_w = fcntl.fcntl(r_cmd, fcntl.F_DUPFD, 10), fcntl.fcntl(w_out, fcntl.F_DUPFD, 10)
    for fd in (r_cmd, w_out):
        os.close(fd)
    profile = tempfile.mkdtemp(prefix="gl-chromium-")
    args = [exe, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--mute-audio",
            f"--user-data-dir={profile}", "about:blank"]
    shell = f'exec "$@" 3<&{child_r} 4>&{child_w} {child_r}<&- {child_w}>&-'
    proc = subprocess.Popen(["/bin/bash", "-c", shell, "bash", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(child_r, child_w))
    os.close(child_r)
    os.close(child_w)
    pipe = _Pipe(proc, w_cmd, r_out)
    run = PageRun()
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
        sid = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.send(f"{domain}.enable", session=sid)
        pipe.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=sid)
        pipe.send("Page.navigate", {"url": url}, session=sid)
        pipe.wait_event("Page.loadEventFired", timeout=timeout)
        res = pipe.send("Runtime.evaluate", {"expression": f"JSON.stringify({probe_js})", "returnByValue": True},
                        session=sid)
        if "exceptionDetails" in res:
            raise BrowserError(f"probe failed: {res['exceptionDetails'].get('text')}")
        run.probe = json.loads(res["result"].get("value") or "null")
        size = pipe.send("Page.getLayoutMetrics", session=sid)["cssContentSize"]
        run.height = int(size["height"])
        shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                   "clip": {"x": 0, "y": 0, "width": width, "height": run.height,
                                                            "scale": 1}}, session=sid, timeout=timeout)
        run.png = base64.b64decode(shot["data"])
        for m in pipe.events:
            p = m.get("params", {})
            if m.get("method") == "Runtime.exceptionThrown":
                run.console_errors.append(p.get("exceptionDetails", {}).get("text", "exception"))
            elif m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                run.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m.get("method") == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                run.console_errors.append(p["entry"].get("text", ""))
            elif m.get("method") == "Network.requestWillBeSent":
                run.requests.append(p.get("request", {}).get("url", ""))
        try:
            pipe.send("Browser.close", timeout=5)
        except BrowserError:
            pass
        return run
    finally:
        os.close(w_cmd)
        os.close(r_out)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
