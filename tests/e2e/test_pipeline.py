"""A nightly pipeline's own command: `pytest -m cutover --report-dir <an existing directory outside the project>`,
the second night (the directory is there from the night before), with Greenlight's JUnit beside it.
It failed with "unrecognized arguments: --report-dir" while the plugin came from conftest.py (loaded only after
pytest chose the rootdir from the path argument); as a pytest11 entry point it is loaded once, first."""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.replica
ROOT = Path(__file__).resolve().parents[2]


def test_pytest_cutover_into_an_existing_report_dir_outside_the_project(gl_target, tmp_path):
    night = tmp_path / "nightly"
    (night / "cutover").mkdir(parents=True)
    (night / "cutover" / "report.json").write_text("{}")  # last night's run
    junit = night / "greenlight.xml"
    p = subprocess.run([sys.executable, "-m", "pytest", "-m", "cutover", "--report-dir", str(night),
                        "-k", "ledger_complete", "--users", "6", "--load-seconds", "20",
                        "--watch-seconds", "3",
                        "--gl-junit", str(junit), "-p", "no:cacheprovider", "-q"],
                       cwd=ROOT, check=False, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert "1 passed" in p.stdout  # a verdict that holds whatever the release does: this tests the pipeline
    assert "req/s" in p.stdout and "sessions crossed" in p.stdout  # live progress lines in the CI log
    rep = json.loads((night / "cutover" / "report.json").read_text())
    assert rep["status"] in ("passed", "failed", "inconclusive") and rep["totals"]["requests"] > 0
    assert rep["run_id"] and rep["verdicts"]["ledger_complete"]["status"] == "passed"  # this night's run
    assert (night / "cutover" / "report.html").stat().st_size > 10_000
    cases = {c.get("name") for c in ET.parse(night / "greenlight-cutover.xml").getroot().iter("testcase")}
    assert cases == set(rep["verdicts"])
