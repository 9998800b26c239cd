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
    "nightly": "long chaos tests: run by `make test` (--gl-chaos), `-m chaos` or --gl-profile=nightly; skipped in a plain `pytest`",
    "fullcorpus": "the long part of the known-bad corpus (make test-corpus); `make test` runs a short profile",
    "varnish": "needs the replica with Varnish in front (GREENLIGHT_VARNISH=1: `make test-varnish`)",
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
    # Numbers are checked in pytest_configure (one line, before anything starts), with the CLI's own rules.
    g.addoption("--users", default=12, help="simulated customers during the cutover (whole number >= 1)")
    g.addoption("--load-seconds", default=45, help="seconds of load around the switch (> 0)")
    g.addoption("--watch-seconds", default=10, help="post-switch watch window, seconds (>= 0)")
    g.addoption("--baseline-seconds", default=None, help="load before the deploy starts, seconds (>= 0)")
    g.addoption("--report-dir", default="reports/pytest", help="where report.json/html and the ledger go")
    g.addoption("--gl-bound", action="append", default=[], metavar="NAME=VALUE",
                help="override one bound of the run (e.g. converged_s=10); the target file's [bounds] are the base")
    g.addoption("--gl-junit", default=None, metavar="FILE",
                help="also write Greenlight's own JUnit XML (one testcase per verdict) for each certification")
    g.addoption("--drill-plan", default=None,
                help="chaos drill plan for `-m chaos` (default: plans/ci.toml, or plans/nightly.toml with --gl-profile=nightly)")
    g.addoption("--gl-chaos", action="store_true", default=False,
                help="also run the chaos tests (CI plan, replica faults) in a run not selected by `-m chaos`; make test sets it")
    g.addoption("--gl-profile", default="ci", choices=["ci", "nightly"],
                help="ci: short chaos drills and state machine runs; nightly: the full plan and more examples")


def pytest_configure(config: pytest.Config) -> None:
    from harness.config.run_numbers import BadNumber, check

    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    o = config.option
    try:
        for name in ("users", "load_seconds", "watch_seconds", "baseline_seconds"):
            if getattr(o, name, None) is not None:
                setattr(o, name, check(name, getattr(o, name)))
    except BadNumber as exc:
        raise pytest.UsageError(str(exc)) from None
    if Path(o.report_dir).exists() and not Path(o.report_dir).is_dir():
        raise pytest.UsageError(f"--report-dir {o.report_dir} is a file; give a directory")


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if (config.getoption("--gl-profile") == "nightly" or config.getoption("--gl-chaos")
            or "chaos" in (config.getoption("markexpr") or "")):
        return
    skip = pytest.mark.skip(reason="long chaos test: run with `pytest -m chaos`, --gl-chaos (make test) or --gl-profile=nightly")
    for item in items:
        if "nightly" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def gl_options(pytestconfig: pytest.Config) -> dict:
    o = pytestconfig.option
    return {"target": o.target, "release": o.release, "users": o.users, "load_seconds": o.load_seconds,
            "watch_s": o.watch_seconds, "baseline_s": o.baseline_seconds, "report_dir": Path(o.report_dir)}


def _progress(pytestconfig: pytest.Config):
    """Plain progress lines through pytest's terminal (captured output would hide them until the end)."""
    from harness.report.progress import Progress

    tr = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capman = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if tr is None or capman is None:
        return None

    def write(line: str) -> None:
        with capman.global_and_fixture_disabled():
            tr.write_line(line.rstrip("\n"))

    return Progress(write=write, tty=False, interval=10)


def _certify(pytestconfig, gl_target, gl_options, name: str, **kw):
    from harness.run.certify import certify, default_release

    release = gl_options["release"] or default_release(gl_target)
    cert = certify(gl_target, release=release, users=gl_options["users"], load_seconds=gl_options["load_seconds"],
                   watch_s=gl_options["watch_s"], baseline_s=gl_options["baseline_s"],
                   report_dir=gl_options["report_dir"] / name, progress=_progress(pytestconfig), **kw)
    junit = pytestconfig.option.gl_junit
    if junit:
        from harness.report.junit import write_junit

        p = Path(junit)
        write_junit(cert.report, p.with_name(f"{p.stem}-{name}{p.suffix or '.xml'}"))
    return cert


@pytest.fixture(scope="session")
def gl_bounds(gl_options, pytestconfig: pytest.Config):
    """The bounds every certification in the session is held to: [bounds] of the target file (defaults for the
    local replica), then each --gl-bound NAME=VALUE."""
    from harness.config import ConfigError, bounds_for, with_overrides

    try:
        return with_overrides(bounds_for(gl_options["target"]), pytestconfig.option.gl_bound, flag="--gl-bound")
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def gl_target(gl_options):
    """The target under test. The local replica is started when it is down, and stopped again at the end
    of the session (left as it was found)."""
    from harness.targets.factory import open_target

    with open_target(gl_options["target"]) as target:
        yield target


@pytest.fixture(scope="session")
def certification(pytestconfig, gl_target, gl_options, gl_bounds):
    """One certification run (cutover under load) shared by every verdict test in the session."""
    return _certify(pytestconfig, gl_target, gl_options, "cutover", bounds=gl_bounds)


@pytest.fixture(scope="session")
def rollback_drill(pytestconfig, gl_target, gl_options, gl_bounds):
    """A cutover followed by a rollback to the previous colour, under the same traffic."""
    return _certify(pytestconfig, gl_target, gl_options, "rollback", rollback_after=True, bounds=gl_bounds)
