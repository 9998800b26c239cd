"""Post-switch watching: read the load's ledger as it grows and the new colour's health, and say when to roll back."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from harness.targets.base import Target


class LedgerTail:
    """Reads new complete lines from every request shard of a ledger directory, incrementally."""

    def __init__(self, ledger_dir: str | Path):
        self.dir = Path(ledger_dir)
        self._pos: dict[Path, int] = {}

    def read_new(self) -> list[dict]:
        out: list[dict] = []
        for shard in sorted(self.dir.glob("requests-*.jsonl")):
            pos = self._pos.get(shard, 0)
            try:
                size = os.path.getsize(shard)
            except OSError:
                continue
            if size <= pos:
                continue
            with shard.open("rb") as fh:
                fh.seek(pos)
                chunk = fh.read(size - pos)
            end = chunk.rfind(b"\n")
            if end < 0:  # only a partial line so far
                continue
            self._pos[shard] = pos + end + 1
            for line in chunk[: end + 1].splitlines():
                try:
                    out.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    continue
        return out


def breach_of(record: dict, since_ts: float) -> str | None:
    """Why this record is a breach of the watch window, or None."""
    if record.get("ts", 0) < since_ts:
        return None
    st = record.get("status", 200)
    where = f"{record.get('method', '')} {record.get('name', '')} on {record.get('served_by') or '?'}"
    if st == 0:
        return f"transport error: {where}: {str(record.get('error') or '')[:120]}"
    if st >= 500:
        return f"HTTP {st}: {where}"
    probe = record.get("probe")
    if isinstance(probe, dict) and probe.get("ok") is False:
        return f"session lost: {record.get('user')} expected {probe.get('expected')} observed {probe.get('observed')}"
    return None


@dataclass
class Watch:
    target: Target
    colour: str
    tail: LedgerTail
    since_ts: float
    breaches: list[str] = field(default_factory=list)

    def check(self) -> str | None:
        """One look: the ledger's new records, then every node of the watched colour. A reason, or None."""
        for rec in self.tail.read_new():
            why = breach_of(rec, self.since_ts)
            if why:
                self.breaches.append(why)
        if self.breaches:
            return self.breaches[0]
        for node in self.target.nodes(self.colour):
            try:
                r = httpx.get(node.url.rstrip("/") + "/healthz", timeout=2)
                if r.status_code != 200:
                    return f"health check failed on {node.name}: HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                return f"health check failed on {node.name}: {type(exc).__name__}"
        return None
