"""The whole DigitalOcean code path, end to end: the DO API simulator drives the replica's HAProxy, the driver
switches through it under checkout load, and the same verdicts judge the run."""
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness import stack
from harness.certify import certify, default_release
from harness.config import load_config
from harness.targets.digitalocean import DigitalOceanTarget

pytestmark = [pytest.mark.replica, pytest.mark.cutover]
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "digitalocean" / "greenlight-simulator.toml"


@pytest.fixture
def do_env(gl_target, monkeypatch, tmp_path):
    token = "dop_v1_" + secrets.token_hex(32)
    monkeypatch.setenv("DIGITALOCEAN_TOKEN", token)
    monkeypatch.setenv("GREENLIGHT_DB_PASSWORD", stack.db_password())
    port = 18090
    proc = subprocess.Popen([sys.executable, "-m", "simulator.doapi", "--port", str(port)], cwd=ROOT,
                            env={**os.environ, "DOAPI_TOKEN": token}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/v2/droplets", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        cfg = EXAMPLE.read_text().replace("http://127.0.0.1:8090", f"http://127.0.0.1:{port}").replace(
            ".venv/bin/greenlight", f"{sys.executable} -m harness.cli")
        path = tmp_path / "greenlight.toml"
        path.write_text(cfg)
        yield path
    finally:
        proc.terminate()
        proc.wait(10)


def test_cutover_through_the_digitalocean_code_path(do_env, gl_options, tmp_path):
    target = DigitalOceanTarget(load_config(do_env))
    before = target.live_colour()
    cert = certify(target, release=default_release(target), users=10, load_seconds=30, watch_s=5,
                   report_dir=gl_options["report_dir"] / "digitalocean")
    failing = {k: v["detail"] for k, v in cert.verdicts.items() if not v["passed"]}
    assert cert.passed, failing
    assert target.live_colour() != before
    assert any(s.startswith("PUT /v2/load_balancers/") for s in target.plan)


def test_dry_run_plans_without_writing(do_env, capsys):
    from harness.cli import main

    assert main(["certify", "--target", str(do_env), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "PUT /v2/load_balancers/" in out and "deploy hook" in out and "nothing above was sent" in out
