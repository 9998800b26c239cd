"""How fast a caught release was taken out of service, from the run's ledger: the first customer request the new
colour failed after the switch, when the rollback began, when the load balancer served the old colour again and
when traffic had converged back; and how many customers were hurt in between. The report shows it; the rollback
bench (bench/rollback_speed.py) prints it over the known-bad corpus."""
from __future__ import annotations

import numpy as np

from harness.ledger.records import Ledger


def rollback_timing(led: Ledger, new_nodes) -> dict | None:
    """None when no automatic rollback happened. Seconds are from the first failed request on the new colour."""
    switch, back = led.event_ts("switch_start"), led.event_ts("rollback_start")
    if switch is None or back is None:
        return None
    done, conv = led.event_ts("rollback_done"), None
    for e in led.events:
        if e.get("event") == "rollback_converged":
            conv = e.get("at") or e["ts"]
    ts = led.np("ts")
    failed = led.step_failed_rows()
    on_new = led.strs("served_by").isin(tuple(new_nodes))
    hurt = np.flatnonzero(failed & on_new & (ts >= switch))
    if not len(hurt):
        return {"first_failure": None, "rollback_start_s": None, "old_serving_s": None, "rollback_done_s": None,
                "converged_s": None,
                "customers_hurt": 0, "requests_failed": 0}
    first = float(ts[hurt].min())
    # The old colour serves again from the last request the load balancer still sent to the new one.
    late = ts[on_new & (ts >= back)]
    serving = float(late.max()) if len(late) else back
    until = conv or done or back
    window = hurt[ts[hurt] <= until]
    users = {led.cols["user"][int(i)] for i in window}
    return {"first_failure": first, "rollback_start_s": round(back - first, 3),
            "old_serving_s": round(serving - first, 3), "rollback_done_s": round(done - first, 3) if done else None,
            "converged_s": round(conv - first, 3) if conv else None,
            "customers_hurt": len(users), "requests_failed": len(window)}
