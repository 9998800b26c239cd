"""background_jobs_one_colour from the evidence a stock Magento 2.4 store has: who runs cron and consumers comes
from the nodes (sampled crontab and processes), that the work is done from the shop DB (cron_schedule runs,
queue_message_status completed / waiting), which never names the node. Each fault of the class fails it."""
from __future__ import annotations

import pytest

from harness.ledger.records import Ledger
from harness.verdicts.background_jobs import background_jobs_one_colour
from harness.verdicts.registry import NotJudged

T0 = 1_800_000_000.0
HANDOVER = T0 + 20


def _ledger(tmp_path, wrong_after=None, handover=True):
    """Samples every 2 s for 60 s: blue runs cron and a consumer until the hand-over, green after it; with
    `wrong_after` a blue node still runs `wrong_after` ("cron" or "consumers") after it."""
    ev = [{"ts": T0, "event": "load_start"}]
    if handover:
        ev.append({"ts": HANDOVER, "event": "background_jobs_handover", "stopped": "blue", "started": "green"})
    for k in range(30):
        t = T0 + 1 + 2 * k
        live = "green" if handover and t >= HANDOVER else "blue"
        nodes = {f"{c}-{i}": {"colour": c, "cron": c == live, "consumers": int(c == live)}
                 for c in ("blue", "green") for i in (1, 2)}
        if wrong_after and t > HANDOVER + 10:
            nodes["blue-2"] = {"colour": "blue", "cron": wrong_after == "cron", "consumers": int(wrong_after != "cron")}
        ev.append({"ts": t, "event": "background_jobs_sample", "nodes": nodes})
    ev.append({"ts": T0 + 60, "event": "load_stop"})
    # The clean-up after the load hands over again (harness/run/cutover.py ensure_healthy_live): not a new start.
    ev.append({"ts": T0 + 60.5, "event": "background_jobs_handover", "stopped": "blue", "started": "green"})
    return Ledger(path=tmp_path, cols={}, sparse={}, events=sorted(ev, key=lambda e: e["ts"]))


def _db(cron_until=T0 + 60, consumed_until=T0 + 60, waiting_since=None):
    return {"cron_runs": [T0 + 3 * k for k in range(21) if T0 + 3 * k <= cron_until],
            "completed": [T0 + 1 + 4 * k for k in range(15) if T0 + 1 + 4 * k <= consumed_until],
            "waiting": 0 if waiting_since is None else 7, "oldest_waiting_ts": waiting_since, "read_at": T0 + 61}


def test_the_live_colour_alone_doing_the_work_passes(tmp_path):
    v = background_jobs_one_colour(_ledger(tmp_path), _db(), "blue", "green", True)
    assert v.passed, v.detail
    assert v.value["samples"] > 10 and v.value["cron_runs_after"] > 5


@pytest.mark.parametrize("what", ["cron", "consumers"])
def test_the_old_colour_still_running_background_work_fails(tmp_path, what):
    v = background_jobs_one_colour(_ledger(tmp_path, wrong_after=what), _db(), "blue", "green", True)
    assert v.status == "fail" and "blue-2 (blue)" in v.detail and "while green was handed the work" in v.detail, v.detail


def test_cron_that_stops_after_the_hand_over_fails(tmp_path):
    v = background_jobs_one_colour(_ledger(tmp_path), _db(cron_until=HANDOVER - 1), "blue", "green", True)
    assert v.status == "fail" and "not once" in v.detail and "cron" in v.detail, v.detail


def test_consumers_that_stop_draining_fail(tmp_path):
    v = background_jobs_one_colour(_ledger(tmp_path), _db(consumed_until=HANDOVER - 1, waiting_since=HANDOVER + 5),
                                   "blue", "green", True)
    assert v.status == "fail" and "do not drain the queue" in v.detail and "green's consumers completed no" in v.detail, v.detail


def test_a_queue_left_waiting_at_the_end_fails(tmp_path):
    """Consumers that completed a few messages and then stalled: the backlog at the end says so."""
    v = background_jobs_one_colour(_ledger(tmp_path), _db(consumed_until=HANDOVER + 8, waiting_since=HANDOVER + 20),
                                   "blue", "green", True)
    assert v.status == "fail" and "7 queue messages waiting" in v.detail, v.detail


def test_a_rolled_back_release_whose_consumers_stopped_still_fails(tmp_path):
    """The old colour drained the queue after the rollback; the period the new colour had it is judged on its own."""
    led = _ledger(tmp_path)
    back = HANDOVER + 25
    led.events += [{"ts": back, "event": "rollback_start", "to": "blue"},
                   {"ts": back + 2, "event": "background_jobs_handover", "stopped": "green", "started": "blue"}]
    led.events.sort(key=lambda e: e["ts"])
    for e in led.events:  # blue runs it again after the hand-over back
        if e["event"] == "background_jobs_sample" and e["ts"] > back + 2:
            for n, st in e["nodes"].items():
                st.update(cron=n.startswith("blue"), consumers=int(n.startswith("blue")))
    db = _db()
    db["completed"] = [t for t in db["completed"] if not HANDOVER <= t < back + 2]
    v = background_jobs_one_colour(led, db, "blue", "green", True)
    assert v.status == "fail" and "green's consumers completed no queue message" in v.detail, v.detail


def test_a_message_just_queued_is_not_a_stopped_consumer(tmp_path):
    v = background_jobs_one_colour(_ledger(tmp_path), _db(waiting_since=T0 + 55), "blue", "green", True)
    assert v.passed, v.detail


def test_without_the_db_who_runs_it_is_still_judged_and_the_work_is_not(tmp_path):
    v = background_jobs_one_colour(_ledger(tmp_path), None, "blue", "green", True)
    assert v.passed and "work itself not judged" in v.detail
    v = background_jobs_one_colour(_ledger(tmp_path, wrong_after="cron"), None, "blue", "green", True)
    assert v.status == "fail"


def test_with_neither_nodes_nor_db_it_is_not_judged(tmp_path):
    led = Ledger(path=tmp_path, cols={}, sparse={}, events=[{"ts": T0, "event": "load_start"}])
    with pytest.raises(NotJudged, match="database section"):
        background_jobs_one_colour(led, None, "blue", "green", True)
