"""Imports go one way: the harness never imports the simulator that stands in for the cloud, and the ledger writer
inside Locust processes pulls in nothing that must stay out of them (docker, requests, httpx)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return set(out.split())


def test_the_harness_never_imports_the_simulator():
    mods = _modules_after("import pkgutil, importlib, harness\n"
                          "for m in pkgutil.walk_packages(harness.__path__, 'harness.'):\n"
                          "    importlib.import_module(m.name)")
    assert "harness.cli" in mods and "harness.targets.digitalocean.kind" in mods
    assert not {m for m in mods if m == "simulator" or m.startswith("simulator.")}


def test_the_locust_side_ledger_writer_stays_light():
    mods = _modules_after("import sys; sys.path.insert(0, 'locustfiles'); import gl_ledger")
    assert "harness.ledger.schema" in mods
    assert not {m for m in mods if m.split(".")[0] in ("docker", "requests", "httpx")}
