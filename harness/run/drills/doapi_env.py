"""The DigitalOcean code path for drills: the DO API simulator (a subprocess, on this lane's loopback port) driving
the replica's HAProxy, and a digitalocean-kind Target configured against it — the same target a real DO pair uses."""
from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from harness import PROJECT_ROOT
from harness.targets.replica import stack

ROOT = PROJECT_ROOT
EXAMPLE = ROOT / "examples" / "digitalocean" / "greenlight-simulator.toml"


def _port(var: str, default: int) -> int:
    return int(os.environ.get(var, str(default)))


# DO's LB timing (5 checks x 10 s before a new droplet serves) at a tenth, as the DO end-to-end tests run it.
TIME_SCALE = float(os.environ.get("GREENLIGHT_DOAPI_TIME_SCALE", "0.1"))


@contextlib.contextmanager
def simulated_do(work_dir: str | Path) -> Iterator[tuple[object, str]]:
    """(the digitalocean Target, simulator API URL) while the simulator runs; the simulator stops on the way out."""
    from harness.targets.factory import open_target
    from harness.targets.replica.lane import lane_config

    token = "dop_v1_" + secrets.token_hex(32)
    port = _port("GREENLIGHT_DOAPI_PORT", 8090)
    admin = f"127.0.0.1:{_port('GREENLIGHT_LB_ADMIN_PORT', 9999)}"
    api = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in ("DIGITALOCEAN_TOKEN", "GREENLIGHT_DB_PASSWORD")}
    os.environ["DIGITALOCEAN_TOKEN"] = token
    os.environ["GREENLIGHT_DB_PASSWORD"] = stack.db_password()
    proc = subprocess.Popen([sys.executable, "-m", "simulator.doapi", "--port", str(port), "--haproxy", admin,
                             "--time-scale", str(TIME_SCALE), "--apply-delay", "0.5"],
                            cwd=ROOT, env={**os.environ, "DOAPI_TOKEN": token}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{api}/v2/droplets", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the DO API simulator did not start on {api}") from None
                time.sleep(0.2)
        work_dir = Path(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        cfg = work_dir / "greenlight-simulator.toml"
        cfg.write_text(lane_config(EXAMPLE.read_text(), port,
                                   **{".venv/bin/greenlight": f"{sys.executable} -m harness.cli"}))
        with open_target(str(cfg)) as target:
            yield target, api
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
