"""Greenlight's pytest plugin: markers, options, and the fixtures suites use. A thin layer over the engine."""
from __future__ import annotations

from pathlib import Path

import pytest

MARKERS = {
    "cutover": "a real blue-green cutover under load, judged by verdicts",
    "rollback": "a cutover followed by a rollback under the same traffic",
    "chaos": "faults injected during a cutover",
    "infra": "testinfra checks of the target's hosts",
    "replica": "needs the local docker-compose replica",
    "badrelease": "a known-bad release that Greenlight must stop",
    "trust": "repeated certifications of a good release (no false alarms)",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("greenlight")
    # Not --host: locust's own pytest plugin owns that option.
    g.addoption("--target", default="local",
                help="'local' (the docker-compose replica, default) or a greenlight.toml target file")
    g.addoption("--release", default=None,
                help="release directory or shipped release id to cut over to (default: the next good release)")
    g.addoption("--users", type=int, default=12, help="simulated customers during the cutover")
    g.addoption("--load-seconds", type=float, default=45, help="seconds of load around the switch")
    g.addoption("--report-dir", default="reports/pytest", help="where report.json/html and the ledger go")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


@pytest.fixture(scope="session")
def gl_options(pytestconfig: pytest.Config) -> dict:
    o = pytestconfig.option
    return {"target": o.target, "release": o.release, "users": o.users, "load_seconds": o.load_seconds,
            "report_dir": Path(o.report_dir)}


@pytest.fixture(scope="session")
def gl_target(gl_options):
    """The target under test. The local replica is started when it is down, and stopped again at the end
    of the session (left as it was found)."""
    from harness.targets.factory import open_target

    with open_target(gl_options["target"]) as target:
        yield target


@pytest.fixture(scope="session")
def certification(gl_target, gl_options):
    """One certification run (cutover under load) shared by every verdict test in the session."""
    from harness.certify import certify, default_release

    release = gl_options["release"] or default_release(gl_target)
    return certify(gl_target, release=release, users=gl_options["users"],
                   load_seconds=gl_options["load_seconds"], report_dir=gl_options["report_dir"] / "cutover")


@pytest.fixture(scope="session")
def rollback_drill(gl_target, gl_options):
    """A cutover followed by a rollback to the previous colour, under the same traffic."""
    from harness.certify import certify, default_release

    release = gl_options["release"] or default_release(gl_target)
    return certify(gl_target, release=release, users=gl_options["users"],
                   load_seconds=gl_options["load_seconds"], report_dir=gl_options["report_dir"] / "rollback",
                   rollback_after=True)
