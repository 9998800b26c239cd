"""Old code on the new schema: was the live release's checkout rehearsed against a migrated copy of the DB before
the real migration? On the replica the deploy does it (harness/run/deploy.py); a target that deploys through the
user's hook (DigitalOcean) migrates in the hook, so the rehearsal is not done there and the report says so."""
from __future__ import annotations

from harness.ledger.records import Ledger
from harness.verdicts.context import RunContext
from harness.verdicts.registry import Bounds, NotJudged, Verdict, verdict


@verdict("old_code_new_schema_rehearsal", family="outcome")
def _rehearsal(led: Ledger, ctx: RunContext, bounds: Bounds) -> Verdict:
    """The live release's checkout passed on a migrated copy of the shop DB before the real migration."""
    done = [e for e in led.events if e.get("event") == "rehearsal"]
    not_done = [e for e in led.events if e.get("event") == "rehearsal_skipped"]
    # Live nodes the deploy could not use (frozen, dead, timed out): reported, never silently passed over.
    skipped = sorted({e.get("node") for e in led.events if e.get("event") == "live_node_skipped"})
    also = f" ({', '.join(skipped)} did not answer and were skipped)" if skipped else ""
    if done:
        e = done[-1]
        return Verdict("old_code_new_schema_rehearsal", bool(e.get("live_smoke_ok")), e.get("node"), None,
                       (f"the live release's checkout on {e.get('node')} passed on a migrated copy of the DB"
                        if e.get("live_smoke_ok") else "the live release's checkout failed on the migrated copy")
                       + also)
    refused = [e for e in led.events if e.get("event") == "gate_fail" and e.get("stage") == "deploy"
               and e.get("check") == "rehearsal"]
    if refused:
        return Verdict("old_code_new_schema_rehearsal", False, None, None, refused[-1]["reasons"][0][:300])
    if not_done:
        raise NotJudged(f"NOT DONE: {not_done[-1].get('reason', 'no reason given')}")
    raise NotJudged("NOT DONE: no deploy ran in this run")
