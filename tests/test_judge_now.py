"""The verdicts judged at the end of the watch (harness/run/certify.judge_now): what the live rules cannot judge
record by record still rolls the release back before the run ends. Over a synthetic run: a clean one keeps its
release; the old colour still answering after convergence (a shared cache) rolls it back."""
from __future__ import annotations

import orjson
from synthetic_run import T0, make_run

from harness.config.bounds import Bounds
from harness.run.certify import NOT_BEFORE_THE_END, judge_now
from harness.targets.base import Node
from harness.verdicts.context import Outcome


class Nodes:
    def nodes(self, colour):
        return [Node(f"{colour}-{i}", colour, f"http://127.0.0.1:1/{colour}-{i}") for i in (1, 2)]

    db = None

    def describe(self):
        return {"kind": "synthetic", "capabilities": []}


class P:
    run_id = "glsynth"


OUT = Outcome(run_id="glsynth", ledger_dir=None, from_colour="blue", to_colour="green", from_release="r1",
              to_release="r2", switched=True)
BOUNDS = Bounds(min_crossings=0)


def test_a_clean_run_keeps_its_release(tmp_path):
    make_run(tmp_path / "run")
    assert judge_now(Nodes(), P(), tmp_path / "run" / "ledger", BOUNDS, OUT) is None


def test_old_pages_after_convergence_roll_back_before_the_end(tmp_path):
    make_run(tmp_path / "run")
    stale = [{"ts": T0 + 30 + k * 0.5, "user": "u0", "journey": "browse", "step": "home page", "method": "GET",
              "name": "/catalog/product/view/id/:id", "status": 200, "ms": 20.0, "bytes": 100, "served_by": "blue-1",
              "release": "r1", "session": None, "error": None} for k in range(20)]
    with open(tmp_path / "run" / "ledger" / "requests-w-3.jsonl", "wb") as f:
        f.write(b"".join(orjson.dumps(r) + b"\n" for r in stale))
    why = judge_now(Nodes(), P(), tmp_path / "run" / "ledger", BOUNDS, OUT)
    assert why and why.startswith("converged:") and "page cache in front of both colours" in why, why


def test_what_only_the_end_can_judge_never_rolls_back():
    # The load's own account, the DB's orders and cron rows, and the engine's outcome are not there yet.
    assert {"ledger_complete", "load_generator_headroom", "orders_reconciled", "engine",
            "post_switch_watch"} <= NOT_BEFORE_THE_END
