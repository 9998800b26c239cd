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


def assert_verdict(cert, name: str, *, required: bool = False) -> None:
    """A suite's test of one verdict of a certification: a skipped verdict skips the test with its reason, unless
    the suite requires it to be judged (then not judging it is a failure)."""
    v = cert.verdict(name)
    if v.get("skipped"):
        assert not required, f"{name} was not judged: {v['skipped']}"
        pytest.skip(f"{name} not judged in this run: {v['skipped']}")
    assert v["passed"], (f"{name}: {v['detail']} (value={v['value']}, bound={v['bound']}) "
                         f"evidence={v.get('evidence', [])[:5]}")


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
    g.addoption("--gl-bound", action="append", default=[], metavar="NAME=VALUE",
                help="override one bound of the run (e.g. converged_s=10); the target file's [bounds] are the base")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


@pytest.fixture(scope="session")
def gl_options(pytestconfig: pytest.Config) -> dict:
    o = pytestconfig.option
    return {"target": o.target, "release": o.release, "users": o.users, "load_seconds": o.load_seconds,
            "report_dir": Path(o.report_dir)}


@pytest.fixture(scope="session")
def gl_bounds(gl_options, pytestconfig: pytest.Config):
    """The bounds every certification in the session is held to: [bounds] of the target file (defaults for the
    local replica), then each --gl-bound NAME=VALUE."""
    from harness.config import bounds_for

    overrides = {}
    for item in pytestconfig.option.gl_bound:
        name, sep, value = item.partition("=")
        if not sep:
            raise pytest.UsageError(f"--gl-bound {item}: expected NAME=VALUE, e.g. converged_s=10")
        overrides[name.strip()] = value.strip()
    try:
        return bounds_for(gl_options["target"]).replace(**overrides)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"--gl-bound: {exc}") from None


@pytest.fixture(scope="session")
def gl_target(gl_options):
    """The target under test. The local replica is started when it is down, and stopped again at the end
    of the session (left as it was found)."""
    from harness.targets.factory import open_target

    with open_target(gl_options["target"]) as target:
        yield target


@pytest.fixture(scope="session")
def certification(gl_target, gl_options, gl_bounds):
    """One certification run (cutover under load) shared by every verdict test in the session."""
    from harness.certify import certify, default_release

    release = gl_options["release"] or default_release(gl_target)
    return certify(gl_target, release=release, users=gl_options["users"],
                   load_seconds=gl_options["load_seconds"], report_dir=gl_options["report_dir"] / "cutover",
                   bounds=gl_bounds)


@pytest.fixture(scope="session")
def rollback_drill(gl_target, gl_options, gl_bounds):
    """A cutover followed by a rollback to the previous colour, under the same traffic."""
    from harness.certify import certify, default_release

    release = gl_options["release"] or default_release(gl_target)
    return certify(gl_target, release=release, users=gl_options["users"],
                   load_seconds=gl_options["load_seconds"], report_dir=gl_options["report_dir"] / "rollback",
                   rollback_after=True, bounds=gl_bounds)
