"""examples/digitalocean/deploy.yml, the deploy hook a merchant copies: ansible-core accepts it, and it keeps the
rules a blue-green Magento deploy breaks most often (each assertion fails on the fault it names)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = ROOT / "examples" / "digitalocean" / "deploy.yml"
BIN = Path(sys.executable).parent
yaml = pytest.importorskip("yaml")  # ansible-core's own dependency


def _tasks() -> list[dict]:
    (play,) = yaml.safe_load(PLAYBOOK.read_text())
    return play["tasks"]


def _command(task: dict) -> str:
    for key in ("ansible.builtin.command", "ansible.builtin.shell"):
        if key in task:
            return task[key] if isinstance(task[key], str) else task[key].get("cmd", "")
    return ""


def test_ansible_accepts_the_playbook(tmp_path):
    inv = tmp_path / "hosts"
    inv.write_text("203.0.113.10\n")
    p = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(inv), str(PLAYBOOK),
                        "-e", "release=r2", "-e", f"release_dir={ROOT / 'simulator/storefront/releases/r2'}"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr


def test_magento_commands_run_as_the_file_owner_never_as_root():
    for t in _tasks():
        cmd = _command(t)
        if "bin/magento" in cmd or cmd.startswith("composer"):
            assert t.get("become_user") == "{{ magento_owner }}", f"{t['name']!r} runs {cmd.split()[:3]} as root"


def test_one_static_version_per_release_on_every_droplet():
    (play,) = yaml.safe_load(PLAYBOOK.read_text())
    text = PLAYBOOK.read_text()
    assert "date +%s" not in text, "a per-host timestamp gives one colour's droplets different static versions"
    assert "manifest.json" in play["vars"]["static_version"]
    static = [t for t in _tasks() if "setup:static-content:deploy" in _command(t)]
    assert static and all("--content-version={{ static_version }}" in _command(t) for t in static)


def test_media_and_var_are_shared_and_caches_are_never_flushed():
    shared = [t for t in _tasks() if t.get("loop") == ["pub/media", "var"]]
    assert shared and "shared/{{ item }}" in shared[0]["ansible.builtin.file"]["src"]
    assert not any("cache:flush" in _command(t) for t in _tasks())
    assert any("cron:remove" in _command(t) for t in _tasks())   # cron stays off on the idle colour
