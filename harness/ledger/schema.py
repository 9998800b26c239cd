"""The ledger's shape, in one place — the one home of every name that crosses a process: the Locust side
(locustfiles/) writes request records with these fields, credential kinds and cart operations; the engine writes the
events below; the verdicts, the watch and the report read both. tests/test_ledger_names.py holds the code to it.

Imported inside Locust processes: nothing but the standard library here (no docker/requests/httpx)."""
from __future__ import annotations

from pathlib import Path

EVENTS_FILE = "events.jsonl"             # harness events (deploy_start, switch_start, …), one JSON line each
SHARD_PREFIX = "requests-"
SHARD_SUFFIX = ".jsonl"
SHARD_GLOB = f"{SHARD_PREFIX}*{SHARD_SUFFIX}"   # one shard per writing Locust process

# Every request record carries these fields (None when unknown).
COLUMNS = ("ts", "user", "journey", "step", "method", "name", "status", "ms", "bytes", "served_by", "release",
           "session", "error")
# Sparse fields: few records carry them (set by a journey through Locust's context={...}); the loader keeps them as
# {row index: value}. Everything else a journey puts in its context stays private.
# failed_checks: [{check, reason}] of a step that failed its content checks; creds: {kind: fingerprint} of the
# credentials a request presented or was issued (session, token, guest_cart); cart_op: one operation of a cart's
# history ({cart, op: add|read|order, ...}); order: what the customer was told ({id, grand_total, items}).
SPARSE = ("order_id", "probe", "page_release", "asset", "failed_checks", "creds", "cart_op", "order")
# creds: the kinds of credential a customer holds across the switch (a logged-in storefront session cookie, a
# customer's REST token, a guest's REST cart id, a guest's storefront session holding its cart); each crossing is
# judged per kind (harness/verdicts/history.py).
CREDENTIAL_KINDS = ("session", "token", "guest_cart", "guest_session")
# cart_op's op: what one request did to a cart's history.
CART_OPS = ("add", "read", "order")
# Numeric columns and how the columnar index stores them (numpy dtypes; missing = NaN for floats, the dtype's
# smallest value for integers). Every other column is dictionary-coded: any JSON scalar, so a string field needs no
# entry here.
NUMERIC = {"ts": "f8", "status": "i4", "ms": "f8", "bytes": "i8"}
# Columns with few distinct strings (users, nodes, releases, routes): interned on load so a million records stay small.
INTERNED = frozenset({"user", "journey", "step", "method", "name", "served_by", "release", "session"})


def step_failed(status: int | None, failed_checks) -> bool:
    """A journey step that did not do its job: no answer, any 4xx or 5xx (a stock Magento answer a shopper did not
    ask for), or a failed content check. The journeys and harm verdicts compare these rates across the switch."""
    return not status or status >= 400 or bool(failed_checks)


def customer_error(status: int | None, error) -> bool:
    """A request the customer saw fail outright: no HTTP answer (status 0), a 5xx, or an error the journey recorded.
    The report's error counts and the live progress line count these (a 404 of a step is step_failed, not this)."""
    return status == 0 or (status is not None and status >= 500) or bool(error)


def shard_name(host: str, pid: int) -> str:
    """The file one writer process appends to: unique per host and pid, so forked workers never share one."""
    return f"{SHARD_PREFIX}{host}-{pid}{SHARD_SUFFIX}"


def shards(ledger_dir: str | Path) -> list[Path]:
    """Every request shard of a run, in a stable order."""
    return sorted(Path(ledger_dir).glob(SHARD_GLOB))


# Every event the engine writes to EVENTS_FILE ({"ts", "event": NAME, ...fields}), with what it means, in the order
# of a run. The switch sequence writes the switch_* names, and the same steps of a rollback as rollback_*.
EVENTS = {
    "verdicts_failed": "a verdict failed on the ledger so far, after a watch without breach: the run rolls back",
    "background_jobs_sample": "who runs Magento's cron and consumers now: each node's crontab and consumer count",
    "lock_taken": "the run holds the target's lock (one run per target); stale locks of dead runs it cleared",
    "load_start": "the load began (users, spawn rate)",
    "deploy_start": "the release is being put on the idle colour",
    "deploy_shipped": "the release's artifact is on every idle node (bytes)",
    "live_node_skipped": "a live node did not answer a read-only step in time; the next one was used",
    "rehearsal": "the live release's checkout ran on a migrated copy of the DB (tables, live_smoke_ok, node)",
    "rehearsal_skipped": "the migrations were not rehearsed on a copy, and why",
    "migrated": "the shop DB was migrated once, from the first idle node (migrations)",
    "static_digests": "each release's static assets as its nodes hold them (learnt at deploy)",
    "deploy_done": "the release is live on the idle colour's nodes (not yet on the load balancer)",
    "release_never_live": "a refused release was marked on its nodes: its static files never reached a customer",
    "gate_pass": "every gate check passed (checks)",
    "gate_fail": "the switch was refused (reasons, checks or stage: deploy, live traffic)",
    "switch_start": "the load balancer is being pointed at the new colour (to, release)",
    "background_jobs_handover": "cron and consumers stopped on one colour, started on the other",
    "background_jobs_handover_skipped": "the target has no commands to move cron and consumers",
    "background_jobs_handover_failed": "moving cron and consumers failed at the end of a run (error)",
    "background_jobs_stop_skipped": "a node of the colour leaving service could not be reached to stop cron",
    "switch_done": "the load balancer accepted the switch",
    "page_cache_cleaned": "the full-page cache was cleaned from the new colour (shared caches purged)",
    "converged": "only the new release answered at the load balancer for the quiet window (at)",
    "watch_done": "the post-switch watch window ended (breach, when there was one)",
    "rollback_start": "traffic is going back to the old colour (a breach, or the rollback drill)",
    "rollback_done": "the load balancer accepted the switch back",
    "rollback_converged": "only the old release answered again",
    "fault_on": "a drill's fault was injected",
    "fault_off": "a drill's fault was healed",
    "fault_heal_failed": "healing a fault failed (it stays journaled for `greenlight heal`)",
    "fault_error": "injecting a fault failed",
    "error": "an engine error ended the cutover early (error)",
    "load_stop": "the load was stopped",
    "safety_switch": "the run ended with a colour live that it had to move to (the other was not healthy)",
    "safety_switch_impossible": "no colour was healthy at the end of the run",
}
