"""The report from synthetic runs judged by the real verdicts: facts from the ledger, verdicts rendered generically
(words, numbers, bound, evidence), event labels that never overlap, JUnit, compare, re-render."""
import random
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from harness.report import (
    REPORT_HTML,
    REPORT_JSON,
    load_report,
    overall_status,
    rerender,
)
from harness.report.charts import layout_labels
from harness.report.compare import comparison, load_run, render_text
from harness.report.junit import junit_xml
from harness.verdicts import Verdict
from tests.synthetic_run import T0, make_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    return {kind: (base / kind, make_run(base / kind, kind, fault=kind == "passed"))
            for kind in ("passed", "rolled_back", "refused")}


def test_phases_follow_the_events(runs):
    _, rep = runs["rolled_back"]
    ph = {p["phase"]: p for p in rep["facts"]["phases"]}
    assert list(ph) == ["baseline", "deploy", "gate", "switch", "watch", "rollback"]
    assert ph["deploy"]["start"] == T0 + 12 and ph["deploy"]["end"] == pytest.approx(T0 + 19.01)
    assert ph["rollback"]["closed_by"] == "rollback_converged"
    _, passed = runs["passed"]
    fault = [p for p in passed["facts"]["phases"] if p["phase"] == "fault"]
    assert fault == [{"phase": "fault", "label": "redis-latency", "start": T0 + 36, "end": T0 + 44,
                      "closed_by": "fault_off"}]
    _, refused = runs["refused"]
    assert [p["phase"] for p in refused["facts"]["phases"]] == ["baseline", "deploy", "gate"]


def test_steps_compare_failure_rates_before_and_after_the_switch(runs):
    _, rep = runs["rolled_back"]
    steps = rep["facts"]["steps"]
    assert steps["pivot"] == "switch" and steps["until_ts"] == pytest.approx(T0 + 24.01)
    worst = steps["rows"][0]  # worst change first
    assert worst["step"] == "place order" and worst["before"]["failed"] == 0
    assert worst["after"]["failed"] == worst["after"]["n"] > 0 and worst["after"]["failure_rate"] == 1.0
    _, good = runs["passed"]
    assert all(r["after"]["failed"] == 0 for r in good["facts"]["steps"]["rows"])


def test_crossings_per_kind_count_sessions_used_on_both_sides(runs):
    _, rep = runs["rolled_back"]
    kinds = rep["facts"]["crossings"]["kinds"]
    assert set(kinds) == {"guest", "customer", "session", "browse"}
    assert kinds["session"]["crossed"] == kinds["session"]["both_colours"] == 3
    assert kinds["session"]["failed_after"] == 0
    assert kinds["customer"]["failed_after"] == 3  # their orders got 500s after the switch
    assert kinds["guest"]["sessions"] > kinds["guest"]["crossed"]  # a new cart per order: few carts cross
    _, refused = runs["refused"]
    assert refused["facts"]["crossings"]["pivot"] == "deploy"
    assert all(k["both_colours"] == 0 for k in refused["facts"]["crossings"]["kinds"].values())


def test_per_node_table(runs):
    _, rep = runs["rolled_back"]
    nodes = {n["node"]: n for n in rep["facts"]["nodes"]}
    assert set(nodes) == {"blue-1", "blue-2", "green-1", "green-2"}
    assert nodes["green-1"]["colour"] == "green" and nodes["green-1"]["releases"] == ["r2"]
    assert nodes["green-1"]["http_5xx"] + nodes["green-2"]["http_5xx"] == rep["totals"]["errors_5xx"] > 0
    assert nodes["blue-1"]["http_5xx"] == 0 and nodes["blue-1"]["p99"] >= nodes["blue-1"]["p50"]
    assert sum(n["n"] for n in nodes.values()) == rep["totals"]["requests"]


def test_series_splits_throughput_by_colour_around_the_switch(runs):
    _, rep = runs["passed"]
    s = rep["facts"]["series"]
    b_switch = int((T0 + 21.01 - s["t0"]) // s["bucket_s"])
    assert sum(s["rps"]["green"][: b_switch]) == 0 and sum(s["rps"]["blue"][b_switch + 2:]) == 0
    assert set(s["latency_ms"]["green"]) == {"p50", "p95", "p99"}
    _, bad = runs["rolled_back"]
    assert sum(bad["facts"]["series"]["failed"]["green"]) == bad["totals"]["errors_5xx"]


class _Cells(HTMLParser):
    """Text of every <td class="value"> in the verdict table."""

    def __init__(self):
        super().__init__()
        self.cells, self._in = [], False

    def handle_starttag(self, tag, attrs):
        if tag == "td" and ("class", "value") in attrs:
            self._in = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.cells[-1] += data


def test_verdicts_in_words_with_numbers_and_bounds_never_raw_json(runs):
    d, rep = runs["rolled_back"]
    page = (d / REPORT_HTML).read_text()
    p = _Cells()
    p.feed(page)
    assert len(p.cells) == 2 * len(rep["verdicts"])
    assert not [c for c in p.cells if re.search(r'[{}\[\]"]', c)], "raw JSON in a value/bound cell"
    assert "orders placed" in page and "sessions checked" in page  # mappings spelled out as words
    # A failed verdict's evidence is one click away: a closed <details> right under its row.
    row = page.index('id="verdict-zero_5xx"')
    assert page.index("<details><summary>Evidence (", row) < page.index('<tr class="verdict', row + 10)
    assert "place order: HTTP 500" in page


def test_a_new_verdict_appears_without_report_changes(tmp_path):
    new = [Verdict("checkout_totals_consistent", True, {"carts_checked": 41}, 0, "41 carts, totals consistent"),
           {"name": "tokens_honoured", "passed": False, "status": "inconclusive", "value": 3, "bound": 30,
            "detail": "only 3 customer tokens crossed the switch (30 needed)", "evidence": []},
           {"name": "orders_by_content", "passed": True, "status": "skipped", "value": None, "bound": None,
            "detail": "the target has no DB access", "evidence": []}]
    rep = make_run(tmp_path, "passed", extra_verdicts=new)
    page = (tmp_path / REPORT_HTML).read_text()
    for name, words in (("checkout_totals_consistent", "carts checked: 41"),
                        ("tokens_honoured", "only 3 customer tokens crossed"),
                        ("orders_by_content", "no DB access")):
        assert f'id="verdict-{name}"' in page and words.replace(":", "") in page.replace(":", "")
    assert '<span class="pill inconclusive">Inconclusive</span>' in page
    assert '<span class="pill skipped">Skipped</span>' in page
    assert rep["status"] == "inconclusive" and "INCONCLUSIVE" in page


def test_overall_status_rules():
    assert overall_status({"a": {"passed": True}, "b": {"status": "skipped"}}) == "passed"
    assert overall_status({"a": {"passed": True}, "b": {"status": "inconclusive"}}) == "inconclusive"
    assert overall_status({"a": {"passed": False}, "b": {"status": "inconclusive"}}) == "failed"
    assert overall_status({}) == "failed"  # nothing judged is not a pass


@pytest.mark.parametrize("seed", range(25))
def test_event_labels_never_overlap(seed):
    rnd = random.Random(seed)
    xs = [rnd.choice([rnd.uniform(64, 1076), 500 + rnd.random() * 3]) for _ in range(rnd.randint(2, 16))]
    placed = layout_labels([(x, "rollback converged" if i % 3 else "gate passed") for i, x in enumerate(xs)])
    for i, a in enumerate(placed):
        assert a["x0"] >= 64 and a["x1"] <= 1100, a
        for b in placed[i + 1:]:
            assert a["lane"] != b["lane"] or a["x1"] <= b["x0"] or b["x1"] <= a["x0"], (a, b)


def test_close_events_are_labelled_in_separate_lanes_in_the_page(runs):
    d, _ = runs["rolled_back"]
    page = (d / REPORT_HTML).read_text()
    boxes = [(float(a), float(b), int(lane)) for a, b, lane in
             re.findall(r'class="event-label"[^>]*data-x0="([\d.]+)" data-x1="([\d.]+)" data-lane="(\d+)"', page)]
    assert len(boxes) >= 8
    for i, (a0, a1, la) in enumerate(boxes):
        for b0, b1, lb in boxes[i + 1:]:
            assert la != lb or a1 <= b0 or b1 <= a0
    for label in ("deploy r2 → green", "gate passed", "switch → green", "converged", "rollback → blue"):
        assert f">{label}</text>" in page


def test_the_page_is_self_contained(runs):
    for d, _ in runs.values():
        page = (d / REPORT_HTML).read_text()
        assert not re.search(r'(src|href)="(https?:)?//', page) and "<script" not in page and "@import" not in page


def test_junit_one_testcase_per_verdict(runs, tmp_path):
    _, rep = runs["rolled_back"]
    rep = {**rep, "verdicts": {**rep["verdicts"],
                               "tokens_honoured": {"name": "tokens_honoured", "status": "inconclusive",
                                                   "detail": "3 of 30", "value": 3, "bound": 30},
                               "orders_by_content": {"name": "orders_by_content", "status": "skipped",
                                                     "detail": "no DB"}}}
    root = ET.fromstring(junit_xml(rep))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == set(rep["verdicts"])
    assert cases["zero_5xx"].find("failure").get("type") == "failed"
    assert "place order" in cases["zero_5xx"].find("failure").text
    assert cases["tokens_honoured"].find("failure").get("type") == "inconclusive"
    assert cases["orders_by_content"].find("skipped") is not None
    assert cases["sessions_intact"].find("failure") is None
    suite = root.find("testsuite")
    statuses = [v.get("status") or ("passed" if v.get("passed") else "failed") for v in rep["verdicts"].values()]
    # post_switch_watch, zero_5xx, journey_steps (place order failing after the switch) and tokens_honoured;
    # latency_by_step judges the 3 seconds after the switch (8 answers a side are enough for a step) and passes.
    assert cases["journey_steps"].find("failure").get("type") == "failed"
    assert cases["latency_by_step"].find("failure") is None
    assert suite.get("failures") == str(statuses.count("failed") + statuses.count("inconclusive")) == "4"
    assert suite.get("skipped") == str(statuses.count("skipped")) and statuses.count("skipped") >= 1
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["rolled_back"].startswith("HTTP 500")


def test_compare_marks_what_differs(runs):
    a, b = load_run(runs["passed"][0]), load_run(runs["rolled_back"][0])
    cmp = comparison(a, b)
    sections = dict(cmp["sections"])
    verdicts = {r["label"]: r for r in sections["Verdicts"]}
    assert verdicts["zero_5xx"]["differs"] and not verdicts["sessions_intact"]["differs"]
    assert verdicts["rollback_converged"]["a"].startswith("skipped (") and verdicts["rollback_converged"]["differs"]
    assert verdicts["rollback_converged"]["b"].startswith("passed")
    cross = {r["label"]: r for r in sections["Sessions across the switch, per kind"]}
    assert cross["customer"]["differs"] and "3 failed" in cross["customer"]["b"]
    text = render_text(cmp)
    assert "PASSED" in text and "FAILED" in text and "≠" in text
    with pytest.raises(FileNotFoundError, match=r"no report\.json"):
        load_run(runs["passed"][0] / "ledger")


def test_rerender_from_the_ledger(runs, tmp_path):
    d, rep = runs["rolled_back"]
    paths = rerender(d, tmp_path / "again")
    again = load_report(tmp_path / "again")
    assert again["verdicts"] == rep["verdicts"] and again["facts"]["steps"] == rep["facts"]["steps"]
    assert (tmp_path / "again" / REPORT_HTML).read_text().count('class="verdict ') == len(rep["verdicts"])
    assert paths["json"].endswith(REPORT_JSON)


def test_a_run_that_died_before_its_report_is_judged_from_its_ledger(runs, tmp_path):
    import shutil

    d, rep = runs["rolled_back"]
    dead = tmp_path / "dead"
    shutil.copytree(d / "ledger", dead / "ledger")  # the ledger only: the harness died before report.json
    rerender(dead)
    again = load_report(dead)
    assert again["switch"]["from_release"] == "r1" and again["switch"]["to_release"] == "r2"
    assert again["switch"]["to"] == "green" and again["run_id"] == "glsynth"
    assert again["verdicts"]["zero_5xx"]["status"] == "failed"
    assert again["verdicts"]["zero_5xx"]["value"] == rep["verdicts"]["zero_5xx"]["value"]
    assert again["verdicts"]["gate"]["status"] == "skipped"  # the engine's observations died with it
    assert again["status"] == "failed"


def test_a_run_judged_with_its_dictionaries_as_texts_reports_the_same(tmp_path, monkeypatch):
    """Every verdict and the report's facts say the same when every dictionary stays JSON texts (as a night's
    large ones do: ledger.BIG_DICTIONARY) as when each value is a Python object."""
    from harness.ledger import records as ledger
    plain = make_run(tmp_path / "objects", "rolled_back", fault=True)
    monkeypatch.setattr(ledger, "BIG_DICTIONARY", 1)
    texts = make_run(tmp_path / "texts", "rolled_back", fault=True)
    for key in ("verdicts", "facts", "totals", "switch", "events"):
        assert texts[key] == plain[key], key
