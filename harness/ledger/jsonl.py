"""JSON lines as the ledger's writers leave them: the one parser for shards and events.jsonl. A line that is not JSON
(the torn last line of a writer still running, or one killed mid-write) is counted and skipped, never fatal."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson


def parse(lines: Sequence[bytes]) -> tuple[list, int]:
    """(the values of the lines that are JSON, how many lines were not). One orjson call for the whole batch when
    every line is valid, else line by line."""
    lines = [ln for ln in lines if ln.strip()]
    try:
        return orjson.loads(b"[" + b",".join(lines) + b"]"), 0
    except orjson.JSONDecodeError:
        out, bad = [], 0
        for line in lines:
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                bad += 1
        return out, bad


def read(path: str | Path) -> tuple[list, int]:
    """parse() of a whole file; a file that is not there yet has no lines."""
    p = Path(path)
    return parse(p.read_bytes().splitlines()) if p.exists() else ([], 0)
