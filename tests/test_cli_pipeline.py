"""The CLI and the pytest plugin in a release pipeline: bad numbers refused at once (one line, exit 2 / pytest's
usage error), exit codes by outcome, JUnit per verdict, the plugin's options known from anywhere, report/compare."""
import contextlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import cli
from harness.config.run_numbers import BadNumber, check
from harness.run.certify import Certification, certify
from tests.synthetic_run import make_run

ROOT = Path(__file__).resolve().parents[1]

BAD = [(["certify", "--users", "0"], "--users"), (["certify", "--users", "-3"], "--users"),
       (["certify", "--users", "2.5"], "--users"), (["certify", "--load-seconds", "-1"], "--load-seconds"),
       (["certify", "--load-seconds", "0"], "--load-seconds"), (["certify", "--load-seconds", "inf"], "--load-seconds"),
       (["certify", "--watch-seconds", "-1"], "--watch-seconds"),
       (["certify", "--baseline-seconds", "-0.5"], "--baseline-seconds"),
       (["up", "--timeout", "0"], "--timeout"), (["rollback", "--timeout", "-5"], "--timeout"),
       (["certify", "--workers", "-1"], "--workers"), (["certify", "--remote-workers", "-2"], "--remote-workers"),
       (["certify", "--master-port", "70000"], "--master-port"), (["certify", "--master-port", "0"], "--master-port")]


@pytest.mark.parametrize("argv, option", BAD)
def test_bad_numbers_are_one_line_and_exit_2(argv, option, capsys, monkeypatch):
    started = []
    monkeypatch.setattr("harness.targets.replica.stack.is_up", lambda: started.append("stack") or True)
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2 and not started  # refused before anything started
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("greenlight: error: argument " + option) and "must be" in err[0]


def test_bad_number_from_the_real_command_line():
    p = subprocess.run([sys.executable, "-m", "harness.cli", "certify", "--users", "0"], check=False,
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.strip() == ("greenlight: error: argument --users: must be a whole number of at least 1 "
                                "(simulated customers); got 0 (see `greenlight certify --help`)")


@pytest.mark.parametrize("kw", [{"users": 0}, {"load_seconds": -1}, {"watch_s": -1}, {"baseline_s": -2},
                                {"users": True}])
def test_the_engine_refuses_bad_numbers_before_touching_the_target(kw):
    with pytest.raises(BadNumber):
        certify(object(), release="r2", **kw)  # object(): any use of the target would raise AttributeError


def test_number_rules():
    assert check("users", "12") == 12 and check("load_seconds", "0.5") == 0.5 and check("watch_seconds", 0) == 0
    for name, bad in (("users", 1.5), ("users", "x"), ("load_seconds", float("nan")), ("baseline_seconds", -1)):
        with pytest.raises(BadNumber):
            check(name, bad)


def test_pytest_refuses_bad_numbers_at_configure():
    p = subprocess.run([sys.executable, "-m", "pytest", "-m", "cutover", "--users", "0", "--co", "-q",
                        "-p", "no:cacheprovider"], check=False, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == pytest.ExitCode.USAGE_ERROR
    assert "ERROR: --users must be a whole number of at least 1" in p.stderr


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    from harness.verdicts import Verdict

    thin = Verdict("tokens_honoured", False, 3, 30, "only 3 tokens crossed")
    thin_d = {**thin.to_dict(), "status": "inconclusive"}
    return {"passed": make_run(base / "passed", "passed"), "failed": make_run(base / "failed", "rolled_back"),
            "inconclusive": make_run(base / "inconclusive", "passed", extra_verdicts=[thin_d]), "base": base}


@pytest.mark.parametrize("status, code", [("passed", 0), ("failed", 1), ("inconclusive", 3)])
def test_certify_exit_code_and_junit(status, code, reports, tmp_path, monkeypatch, capsys):
    rep = reports[status]
    seen = {}

    def fake_certify(target, **kw):
        seen.update(kw)
        return Certification(outcome=None, verdicts=rep["verdicts"], report=rep, paths={"json": "j", "html": "h"})

    @contextlib.contextmanager
    def fake_target(*a, **k):
        yield object()

    monkeypatch.setattr("harness.targets.replica.stack.is_up", lambda: True)
    monkeypatch.setattr("harness.run.certify.certify", fake_certify)
    monkeypatch.setattr("harness.targets.factory.open_target", fake_target)
    junit = tmp_path / "ci" / "greenlight.xml"
    rc = cli.main(["certify", "--release", "r2", "--users", "3", "--load-seconds", "20", "--watch-seconds", "0",
                   "--junit", str(junit), "--no-progress", "--no-preflight"])
    assert rc == code
    assert seen["users"] == 3 and seen["load_seconds"] == 20 and seen["watch_s"] == 0 and seen["progress"] is None
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == set(rep["verdicts"])
    failing = {n for n, c in cases.items() if c.find("failure") is not None}
    assert failing == {n for n, v in rep["verdicts"].items() if v["status"] in ("failed", "inconclusive")}
    assert f"junit: {junit}" in capsys.readouterr().out


def test_junit_into_a_directory_is_refused_at_once(tmp_path, capsys):
    assert cli.main(["certify", "--junit", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_report_and_compare_commands(reports, tmp_path, capsys):
    base = reports["base"]
    (base / "failed" / "report.html").unlink()
    assert cli.main(["report", str(base / "failed")]) == 0
    assert (base / "failed" / "report.html").read_text().count('class="verdict ') == len(reports["failed"]["verdicts"])
    assert cli.main(["compare", str(base / "passed"), str(base / "failed")]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out and "FAILED" in out and "zero_5xx" in out and "≠" in out
    assert cli.main(["report", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a run directory" in err[0]
    assert cli.main(["compare", str(base / "passed"), str(tmp_path)]) == 2


def test_certify_stops_on_a_missing_requirement_with_the_preflights_words(monkeypatch, capsys):
    """Preflight runs first: a missing requirement stops certify (exit 2) before anything is deployed, in one line."""
    from harness.checks.preflight import Finding, Preflight

    called = []

    @contextlib.contextmanager
    def fake_target(*a, **k):
        yield object()

    missing = Finding("load balancer", "identity headers on static files", "missing",
                      "http://lb/static/x.css lacks X-Release", "repeat add_header inside location /static/")
    monkeypatch.setattr("harness.targets.factory.open_target", fake_target)
    monkeypatch.setattr("harness.checks.preflight.run_preflight", lambda t, r: Preflight([missing]))
    monkeypatch.setattr("harness.run.certify.certify", lambda *a, **k: called.append(1))
    assert cli.main(["certify", "--release", "r2", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert not called and len(err) == 1, err
    assert "identity headers on static files" in err[0] and "location /static/" in err[0]
