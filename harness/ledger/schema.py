"""The ledger's shape, in one place: the Locust side (locustfiles/gl_ledger.py) writes it, the harness side
(ledger.py, watch.py, traffic.py) reads it.

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
# Numeric columns and how the columnar index stores them (numpy dtypes; missing = NaN for floats, the dtype's
# smallest value for integers). Every other column is dictionary-coded: any JSON scalar, so a string field needs no
# entry here.
NUMERIC = {"ts": "f8", "status": "i4", "ms": "f8", "bytes": "i8"}
# Columns with few distinct strings (users, nodes, releases, routes): interned on load so a million records stay small.
INTERNED = frozenset({"user", "journey", "step", "method", "name", "served_by", "release", "session"})


def shard_name(host: str, pid: int) -> str:
    """The file one writer process appends to: unique per host and pid, so forked workers never share one."""
    return f"{SHARD_PREFIX}{host}-{pid}{SHARD_SUFFIX}"


def shards(ledger_dir: str | Path) -> list[Path]:
    """Every request shard of a run, in a stable order."""
    return sorted(Path(ledger_dir).glob(SHARD_GLOB))
