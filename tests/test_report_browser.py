"""report.html opened in headless Chromium (Debian's package, installed by `make setup`): no console errors,
nothing fetched but the file itself, the key elements there, event labels that do not overlap as rendered,
and a screenshot that is not blank."""
import io

import pytest
from PIL import Image

from harness.report import REPORT_HTML
from harness.report.browser import find_chromium, render
from tests.synthetic_run import make_run

PROBE = """(() => {
  const boxes = [...document.querySelectorAll('text.event-label')].map(t => t.getBoundingClientRect());
  let overlaps = 0;
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) overlaps++;
  }
  const ev = document.querySelector('#verdict-zero_5xx + tr.evidence-row details');
  let evidenceRows = 0;
  if (ev) { ev.open = true; evidenceRows = ev.querySelectorAll('tbody tr').length; ev.open = false; }
  return {status: document.querySelector('.status-word').textContent,
          charts: document.querySelectorAll('svg.chart').length,
          verdictRows: document.querySelectorAll('tr.verdict').length,
          sections: ['numbers', 'verdicts', 'timeline', 'steps', 'crossings', 'nodes', 'gate', 'events']
                      .filter(id => document.getElementById(id)),
          stepRows: document.querySelectorAll('table.steps tbody tr').length,
          nodeRows: document.querySelectorAll('table.nodes tbody tr').length,
          labels: boxes.length, overlaps, evidenceRows,
          overflowX: document.documentElement.scrollWidth - window.innerWidth};
})()"""

SECTIONS = ["numbers", "verdicts", "timeline", "steps", "crossings", "nodes", "gate", "events"]


@pytest.fixture(scope="module")
def chromium():
    if find_chromium() is None:
        pytest.fail("chromium is not installed: `make setup` installs Debian's chromium package")


def _near(px, rgb, tol=40):
    return all(abs(a - b) <= tol for a, b in zip(px, rgb, strict=False))


@pytest.mark.parametrize("kind, word, banner", [("passed", "PASSED", (21, 128, 61)),
                                                ("rolled_back", "FAILED", (185, 28, 28))])
def test_report_renders_in_chromium(chromium, tmp_path, kind, word, banner):
    rep = make_run(tmp_path, kind, fault=kind == "passed")
    run = render(tmp_path / REPORT_HTML, PROBE)
    assert run.console_errors == []
    assert run.requests == [(tmp_path / REPORT_HTML).resolve().as_uri()]  # self-contained: nothing else fetched
    p = run.probe
    assert p["status"] == word
    assert p["sections"] == SECTIONS and p["charts"] == 3
    assert p["verdictRows"] == len(rep["verdicts"])
    assert p["stepRows"] == len(rep["facts"]["steps"]["rows"]) and p["nodeRows"] == 4
    assert p["labels"] >= 8 and p["overlaps"] == 0
    assert p["overflowX"] <= 0
    if kind == "rolled_back":
        assert p["evidenceRows"] == 10  # the first offending requests, one click away
    img = Image.open(io.BytesIO(run.png)).convert("RGB")
    assert img.width == 1280 and img.height == run.height > 2000
    assert _near(img.getpixel((img.width - 40, 30)), banner)       # the outcome banner in its colour
    colours = img.getcolors(maxcolors=1 << 24)                      # (count, rgb), counted in C
    assert len(colours) > 300                                        # text, charts, tables: not a blank page
    blank = sum(n for n, c in colours if _near(c, (249, 250, 251), 3) or _near(c, (255, 255, 255), 3))
    assert blank / (img.width * img.height) < 0.9
    assert sum(n for n, c in colours if _near(c, (37, 99, 235), 30)) > 200    # blue's series
    assert sum(n for n, c in colours if _near(c, (22, 163, 74), 30)) > 200    # green's series
