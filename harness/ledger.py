"""The ledger: one JSON line per request (written by the Locust processes) and per harness event.

`load()` reads a whole run through its columnar index (harness/columns.py: numpy arrays for numbers, dictionary
codes for strings, sparse fields as {row: value}), so verdicts over millions of records run at disk speed and in
bounded memory. `led.cols[f]` still reads like a list (`[i]`, iteration, len) for code that wants one value;
verdicts over every record use `.np` / `.eq(v)` / `.isnull()` instead."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from harness.columns import ColumnIndex, Indexer, Schema, int_null
from harness.ledger_schema import COLUMNS, EVENTS_FILE, NUMERIC, SHARD_GLOB, SPARSE, shards

__all__ = ["COLUMNS", "EVENTS_FILE", "SPARSE", "Ledger", "LedgerTail", "LedgerWriter", "LineTail", "indexer", "load"]

# The columnar index's layout comes from the schema: its dense columns, numbers stored as numbers; any other field
# a record carries (the schema's sparse ones, and any a journey adds later) is kept as {row: value}.
SCHEMA = Schema(COLUMNS, NUMERIC)
ITER_CHUNK = 1 << 16  # values converted to Python objects at a time when a column is iterated


class LedgerWriter:
    """Append-only event log for the harness; each line is flushed at once (a crash loses nothing written)."""

    def __init__(self, ledger_dir: str | Path):
        self.path = Path(ledger_dir) / EVENTS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab")
        self._lock = threading.Lock()
        # Called with each event once it is on disk (chaos drills inject faults at cutover events).
        self.listeners: list = []

    def event(self, name: str, **fields) -> dict:
        rec = {"ts": time.time(), "event": name, **fields}
        line = orjson.dumps(rec, default=str) + b"\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()
        for listener in self.listeners:
            listener(rec)
        return rec

    def close(self) -> None:
        with self._lock:
            if not self._fh.closed:
                self._fh.close()


class LineTail:
    """The records appended to one JSON-lines file since the last call: complete lines only (a line being written
    waits for the next call), malformed ones skipped. The live readers (the watch, the progress line) use it."""

    def __init__(self, path: str | Path):
        self.path, self.pos = Path(path), 0

    def read_new(self) -> list[dict]:
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return []
        if size <= self.pos:
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.pos)
            chunk = fh.read(size - self.pos)
        end = chunk.rfind(b"\n")
        if end < 0:  # only a partial line so far
            return []
        self.pos += end + 1
        out = []
        for line in chunk[: end + 1].splitlines():
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
        return out


class LedgerTail:
    """LineTail over every request shard of a ledger directory (shards appear as writer processes start)."""

    def __init__(self, ledger_dir: str | Path):
        self.dir = Path(ledger_dir)
        self._tails: dict[Path, LineTail] = {}

    def read_new(self) -> list[dict]:
        out: list[dict] = []
        for shard in shards(self.dir):
            tail = self._tails.get(shard)
            if tail is None:
                tail = self._tails[shard] = LineTail(shard)
            out += tail.read_new()
        return out


class NumCol:
    """A numeric column: `.np` is the numpy array; `[i]`/iteration give Python numbers (None where missing)."""

    __slots__ = ("np", "null")

    def __init__(self, values: np.ndarray):
        self.np = values
        self.null = int_null(values.dtype) if values.dtype.kind == "i" else None

    def __len__(self) -> int:
        return len(self.np)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(self)[i]
        v = self.np.item(i)  # a Python number, without a numpy scalar in between
        return None if (v != v if type(v) is float else v == self.null) else v

    def __iter__(self):
        for start in range(0, len(self.np), ITER_CHUNK):
            chunk = self.np[start:start + ITER_CHUNK]
            if chunk.dtype.kind == "f":
                yield from (None if v != v else v for v in chunk.tolist())
            else:
                null = self.null
                yield from (None if v == null else v for v in chunk.tolist())

    def valid(self) -> np.ndarray:
        return ~np.isnan(self.np) if self.np.dtype.kind == "f" else self.np != self.null


class StrCol:
    """A dictionary-coded column: `codes` (numpy, 0 = null) into `values`; `[i]`/iteration give the values."""

    __slots__ = ("_lookup", "codes", "values")

    def __init__(self, codes: np.ndarray, values: list):
        self.codes, self.values, self._lookup = codes, values, None

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.values[c] for c in self.codes[i].tolist()]
        return self.values[self.codes.item(i)]

    def __iter__(self):
        values = self.values
        for start in range(0, len(self.codes), ITER_CHUNK):
            yield from map(values.__getitem__, self.codes[start:start + ITER_CHUNK].tolist())

    def code(self, value) -> int | None:
        if self._lookup is None:
            self._lookup = {}
            for c, v in enumerate(self.values):
                if c and v is not None and not isinstance(v, (dict, list)):
                    self._lookup.setdefault(v, c)
        return 0 if value is None else self._lookup.get(value)

    def eq(self, value) -> np.ndarray:
        c = self.code(value)
        return np.zeros(len(self.codes), dtype=bool) if c is None else self.codes == c

    def isnull(self) -> np.ndarray:
        return self.codes == 0

    def np_values(self) -> np.ndarray:
        return np.array(self.values, dtype=object)[self.codes]


class SparseFields(dict):
    """{field: {row: value}}; a field no record carried reads as empty."""

    def __missing__(self, key):
        return {}


@dataclass
class Ledger:
    path: Path
    cols: dict = field(default_factory=dict)
    sparse: SparseFields = field(default_factory=SparseFields)
    events: list[dict] = field(default_factory=list)
    skipped_lines: int = 0
    shard_rows: dict[str, int] = field(default_factory=dict)  # shard file name -> records loaded from it

    def __post_init__(self):
        for name in SPARSE:  # a ledger built by hand (tests, tools) may name only the fields it uses
            self.sparse.setdefault(name, {})

    def __len__(self) -> int:
        ts = self.cols.get("ts")
        return 0 if ts is None else len(ts)

    def np(self, name: str) -> np.ndarray:
        """A numeric column as a numpy array (also when a caller put a plain list in `cols`)."""
        col = self.cols[name]
        if isinstance(col, NumCol):
            return col.np
        return np.array([np.nan if v is None else v for v in col], dtype="f8")

    def strs(self, name: str) -> StrCol:
        """A string column as a StrCol (also when a caller put a plain list in `cols`)."""
        col = self.cols[name]
        return col if isinstance(col, StrCol) else _strcol(col)

    def record(self, i: int) -> dict:
        rec = {c: self.cols[c][i] for c in COLUMNS}
        for s, rows in self.sparse.items():
            if i in rows:
                rec[s] = rows[i]
        return rec

    def event_ts(self, name: str, last: bool = False) -> float | None:
        hits = [e["ts"] for e in self.events if e.get("event") == name]
        if not hits:
            return None
        return hits[-1] if last else hits[0]

    def event(self, name: str) -> dict | None:
        return next((e for e in self.events if e.get("event") == name), None)

    def window(self, start_event: str = "switch_start", end_event: str = "converged") -> tuple[float | None, float | None]:
        return self.event_ts(start_event), self.event_ts(end_event)

    def phase_of(self, ts: float, start_event: str = "switch_start", end_event: str = "converged") -> str:
        """before | during | after the switch (during = switch start .. observed convergence)."""
        start, end = self.window(start_event, end_event)
        if start is None or ts < start:
            return "before"
        if end is None or ts <= end:
            return "during"
        return "after"


def column_index(ledger_dir: str | Path) -> ColumnIndex:
    return ColumnIndex(ledger_dir, SCHEMA, SHARD_GLOB)


def indexer(ledger_dir: str | Path, every_s: float = 2.0) -> Indexer:
    """Keeps the columnar index current while a run records, so judging it afterwards reads columns only."""
    return Indexer(column_index(ledger_dir), every_s)


def load(ledger_dir: str | Path) -> Ledger:
    """Every request shard and the events of one run. A truncated last line (a process killed mid-write) or a
    malformed line is skipped and counted, never fatal."""
    d = Path(ledger_dir)
    led = Ledger(path=d)
    parts = column_index(d).read()
    for name, part in parts:
        led.shard_rows[name] = part.rows
        led.skipped_lines += part.skipped
    # Each column is allocated once at its final size and filled shard by shard: peak memory is the columns
    # themselves plus one shard's column, whatever the number of records.
    for f, dt in NUMERIC.items():
        led.cols[f] = NumCol(_numeric(parts, f, "<" + dt))
    for f in SCHEMA.strings:
        led.cols[f] = _strings(parts, f)
    sparse = SparseFields({s: {} for s in SPARSE})
    base = 0
    for _, part in parts:
        for line in part.extras().splitlines():
            row, fields = orjson.loads(line)
            for k, v in fields.items():
                if v is None or k in led.cols:  # absent (or a dense field: it has its column)
                    continue
                rows = sparse.get(k)
                if rows is None:
                    rows = sparse[k] = {}
                rows[base + row] = v
        base += part.rows
    led.sparse = sparse
    ev = d / EVENTS_FILE
    if ev.exists():
        for line in ev.read_bytes().splitlines():
            try:
                led.events.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                led.skipped_lines += 1
    led.events.sort(key=lambda e: e.get("ts", 0))
    return led


def _numeric(parts, field: str, dtype: str) -> np.ndarray:
    out = np.empty(sum(p.rows for _, p in parts), dtype=dtype)
    start = 0
    for _, part in parts:
        part.read_into(field, out[start:start + part.rows])
        start += part.rows
    return out


def _strings(parts, field: str) -> StrCol:
    """One dictionary for all shards (each shard's codes go through a small remap array), and the narrowest code
    type that holds it: most columns (journeys, steps, nodes, releases, routes) need 2 bytes a record, not 4."""
    values: list = [None]
    index: dict = {}
    remaps = []
    for _, part in parts:
        shard_values = part.values(field)
        remap = np.zeros(len(shard_values), dtype="<u4")
        for c, v in enumerate(shard_values[1:], 1):
            k = (type(v).__name__, v) if isinstance(v, (bool, int, float)) else v
            g = index.get(k)
            if g is None:
                g = index[k] = len(values)
                values.append(v)
            remap[c] = g
        remaps.append(remap)
    dtype = np.uint8 if len(values) <= 1 << 8 else np.uint16 if len(values) <= 1 << 16 else np.uint32
    out = np.empty(sum(p.rows for _, p in parts), dtype=dtype)
    start = 0
    for (_, part), remap in zip(parts, remaps, strict=False):
        if part.rows:
            out[start:start + part.rows] = remap.astype(dtype)[part.codes(field)]
        start += part.rows
    return StrCol(out, values)


def _strcol(values_in) -> StrCol:
    values: list = [None]
    index: dict = {}
    codes = np.zeros(len(values_in), dtype="<u4")
    for i, v in enumerate(values_in):
        if v is None:
            continue
        c = index.get(v)
        if c is None:
            c = index[v] = len(values)
            values.append(v)
        codes[i] = c
    return StrCol(codes, values)
