"""The ledger: one JSON line per request (written by the Locust processes) and per harness event.

`load()` reads a whole run through its columnar index (harness/ledger/columns.py: numpy arrays for numbers, dictionary
codes for strings, sparse fields as {row: value}), so verdicts over millions of records run at disk speed and in
bounded memory. `led.cols[f]` still reads like a list (`[i]`, iteration, len) for code that wants one value;
verdicts over every record use `.np` / `.eq(v)` / `.isnull()` instead."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from harness.ledger import jsonl
from harness.ledger.columns import DICT, ColumnIndex, Indexer, Schema, int_null
from harness.ledger.schema import COLUMNS, EVENTS_FILE, NUMERIC, SHARD_GLOB, SPARSE, shards

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
        return jsonl.parse(chunk[: end + 1].splitlines())[0]


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

    __slots__ = ("_lookup", "codes", "dict_code", "values")

    def __init__(self, codes: np.ndarray, values: list):
        self.codes, self.values, self._lookup = codes, values, None
        self.dict_code = -1  # a SparseCol's own column: the code of "an object, see the keys' columns"

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

    def isin(self, values) -> np.ndarray:
        """Rows whose value is one of `values`."""
        codes = [c for c in map(self.code, values) if c]
        return np.isin(self.codes, codes) if codes else np.zeros(len(self.codes), dtype=bool)

    def isnull(self) -> np.ndarray:
        return self.codes == 0

    def np_values(self) -> np.ndarray:
        return np.array(list(self.values), dtype=object)[self.codes]


class SparseCol(Mapping):
    """A sparse field: the rows that carry it (`rows`, ascending) and its value per row. An object value is kept
    key by key: `sub(key)` is a StrCol aligned with `rows` (code 0 = the key is absent), so a verdict over every
    credential or cart operation works on arrays. It also reads as {row: value} (built on first use), for code
    that looks at a few rows."""

    def __init__(self, rows: np.ndarray, own: StrCol, subs: Mapping[str, StrCol]):
        self.rows, self.own, self.subs = rows, own, subs
        self._map: dict | None = None

    @classmethod
    def from_dict(cls, by_row: dict) -> SparseCol:
        """From {row: value} (a ledger built by hand, in tests and tools)."""
        rows = sorted(by_row)
        vals = [by_row[i] for i in rows]
        keys: dict = {}
        for v in vals:
            if type(v) is dict:
                keys.update(dict.fromkeys(v))
        own = _strcol([None if type(v) is dict else v for v in vals], dict_flags=[type(v) is dict for v in vals])
        subs = {k: _strcol([v.get(k, _ABSENT) if type(v) is dict else _ABSENT for v in vals], _ABSENT) for k in keys}
        return cls(np.asarray(rows, dtype=np.int64), own, subs)

    def sub(self, key: str) -> StrCol:
        return self.subs[key] if key in self.subs else StrCol(np.zeros(len(self.rows), dtype=np.uint8), [None])

    def is_object(self) -> np.ndarray:
        return self.own.codes == self.own.dict_code

    def value(self, j: int):
        """The value of the j-th row that carries the field."""
        c = self.own.codes.item(j)
        if c != self.own.dict_code:
            return self.own.values[c]
        out = {}
        for k, col in self.subs.items():
            kc = col.codes.item(j)
            if kc:
                out[k] = col.values[kc]
        return out

    def _as_dict(self) -> dict:
        if self._map is None:
            self._map = dict(zip(self.rows.tolist(), map(self.value, range(len(self.rows))), strict=True))
        return self._map

    def position(self, row) -> int | None:
        """Where `row` is among the rows carrying the field (a binary search: no dict is built), or None."""
        if not isinstance(row, (int, np.integer)) or isinstance(row, bool):
            return None
        j = int(np.searchsorted(self.rows, row))
        return j if j < len(self.rows) and self.rows[j] == row else None

    def __getitem__(self, row):
        j = self.position(row)
        if j is None:
            raise KeyError(row)
        return self.value(j)

    def __iter__(self):
        return iter(self._as_dict())

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, row) -> bool:
        return self.position(row) is not None

    def get(self, row, default=None):
        j = self.position(row)
        return default if j is None else self.value(j)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Where each of `rows` is among the rows carrying the field, -1 where it is not."""
        j = np.searchsorted(self.rows, rows)
        j[j == len(self.rows)] = 0
        hit = self.rows[j] == rows if len(self.rows) else np.zeros(len(rows), dtype=bool)
        return np.where(hit, j, -1)

    def codes_at(self, key: str, positions: np.ndarray) -> np.ndarray:
        """The codes of object key `key` at `positions` (from positions()); 0 (absent) where a position is -1."""
        col = self.sub(key)
        if not len(col.codes):
            return np.zeros(len(positions), dtype=np.uint32)
        return np.where(positions >= 0, col.codes[np.maximum(positions, 0)], 0)

    def truthy(self, key: str) -> np.ndarray:
        """Per row carrying the field: its value is an object whose `key` is present and truthy."""
        col = self.sub(key)
        return self.is_object() & _truthy_codes(col)[col.codes]


class SparseFields(dict):
    """{field: SparseCol (or a plain {row: value} in a hand-built ledger)}; a field no record carried reads as
    empty."""

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

    def sparse_col(self, name: str) -> SparseCol:
        """A sparse field as a SparseCol (also when a caller put a plain {row: value} in `sparse`)."""
        col = self.sparse.get(name)
        if isinstance(col, SparseCol):
            return col
        col = SparseCol.from_dict(col or {})
        if name in self.sparse:
            self.sparse[name] = col
        return col

    def record(self, i: int) -> dict:
        rec = {c: self.cols[c][i] for c in COLUMNS}
        for s, rows in self.sparse.items():
            if i in rows:
                rec[s] = rows[i]
        return rec

    def step_failed_rows(self) -> np.ndarray:
        """schema.step_failed of every row at once: no answer, a 4xx or 5xx, or a failed content check."""
        failed = np.zeros(len(self), dtype=bool)
        rows = [i for i, v in self.sparse["failed_checks"].items() if v]
        if rows:
            failed[np.array(rows, dtype=np.int64)] = True
        st = self.np("status")
        failed |= ~((st >= 1) & (st < 400))  # a missing status (NaN, or an int column's null) fails both comparisons
        return failed

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
    # themselves plus one shard's column, whatever the number of records. Read on first use: the verdicts never
    # look at some (response sizes; session ids only in evidence), so a night's ledger never holds them.
    loaders = {f: (lambda f=f, dt=dt: NumCol(_numeric(parts, f, "<" + dt))) for f, dt in NUMERIC.items()}
    loaders.update({f: (lambda f=f: _strings(parts, f)) for f in SCHEMA.strings})
    led.cols = _LazyColumns(loaders)
    sparse = SparseFields({s: {} for s in SPARSE})
    fields: dict[str, list] = {}  # field -> its object keys, in order of first appearance over the shards
    for _, part in parts:
        for f, sp in part.sparse_fields().items():
            keys = fields.setdefault(f, [])
            keys += [k for k in sp["keys"] if k not in keys]
    for f, keys in fields.items():
        if f not in led.cols:  # a dense field has its column
            sparse[f] = _sparse(parts, f, keys)
    led.sparse = sparse
    events, torn = jsonl.read(d / EVENTS_FILE)
    led.events.extend(events)
    led.skipped_lines += torn
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
    return _merge_codes([(part.dict_texts(field), part.codes(field)) for _, part in parts])


BIG_DICTIONARY = 1 << 16  # distinct values (over all shards) from which a dictionary stays as JSON texts


class TextValues(Sequence):
    """A large dictionary's values (cart ids, credentials, order ids: about one per cart or order) kept as their
    JSON texts in one numpy bytes array and decoded when read: [None, value of code 1, ...] like a StrCol's list,
    without a Python object per value (~60 bytes each: a night's ledger has millions)."""

    def __init__(self, texts: np.ndarray):
        self.texts = texts  # code c >= 1 is texts[c - 1]

    def __len__(self) -> int:
        return len(self.texts) + 1

    def __getitem__(self, c):
        if isinstance(c, slice):
            return [self[i] for i in range(*c.indices(len(self)))]
        if c < 0:
            c += len(self)
        if c == 0:
            return None
        if c < 0:
            raise IndexError(c)
        return orjson.loads(bytes(self.texts[c - 1]))

    def truthy(self) -> np.ndarray:
        """bool(value) per code, mostly without decoding: a JSON string is truthy unless it is \"\"."""
        quoted = np.char.startswith(self.texts, b'"')
        out = quoted & (self.texts != b'""')
        for j in np.flatnonzero(~quoted).tolist():
            out[j] = bool(orjson.loads(bytes(self.texts[j])))
        return np.r_[False, out]


def _first_seen(pieces: list[tuple[list[bytes], np.ndarray]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every shard's dictionary texts coded 1, 2, ... in order of first appearance over the shards (as a dict
    filled shard by shard would), over numpy bytes arrays: (the distinct texts in code order, each shard's codes)."""
    sizes = [len(texts) for texts, _ in pieces]
    texts = np.concatenate([np.array(t, dtype=bytes) for t, _ in pieces if t])
    distinct, first, inverse = np.unique(texts, return_index=True, return_inverse=True)
    del texts
    order = np.argsort(first, kind="stable")
    code = np.empty(len(distinct), dtype=np.uint32)
    code[order] = np.arange(1, len(distinct) + 1, dtype=np.uint32)
    codes = code[inverse.reshape(-1)]
    return distinct[order], np.split(codes, np.cumsum(sizes)[:-1])


def _even_widths(pieces: list[tuple[list[bytes], np.ndarray]]) -> bool:
    """Whether the texts fit a fixed-width bytes array without padding it to much more than their size (ids do;
    a few long objects among short values would not)."""
    widest = max((max(map(len, texts)) for texts, _ in pieces if texts), default=0)
    size = sum(sum(map(len, texts)) for texts, _ in pieces)
    return widest * sum(len(texts) for texts, _ in pieces) <= 2 * size + (1 << 20)


def _merge_codes(pieces: list[tuple[list[bytes], np.ndarray]], dict_code: bool = False) -> StrCol:
    """One dictionary for all shards (each shard's codes go through a small remap array), and the narrowest code
    type that holds it: most columns (journeys, steps, nodes, releases, routes) need 1 or 2 bytes a record, not 4.
    Values are matched by their JSON text; a dictionary of BIG_DICTIONARY texts or more stays texts (TextValues).
    With dict_code, the shards' DICT marker becomes one global code past the values (StrCol.dict_code)."""
    remaps = []
    if sum(len(texts) for texts, _ in pieces) >= BIG_DICTIONARY and _even_widths(pieces):
        distinct, shard_codes = _first_seen(pieces)
        values = TextValues(distinct)
        for codes in shard_codes:
            remap = np.empty(len(codes) + 2, dtype="<u4")  # 0 = null, then the shard's codes, last: the DICT marker
            remap[0] = 0
            remap[1:-1] = codes
            remaps.append(remap)
    else:
        index: dict[bytes, int] = {}
        new: list[bytes] = []
        for texts, _ in pieces:
            setdefault = index.setdefault
            known = len(index)
            codes = [setdefault(t, len(index) + 1) for t in texts]  # a new text gets the next code
            new += [t for c, t in zip(codes, texts, strict=True) if c > known]
            remap = np.empty(len(texts) + 2, dtype="<u4")
            remap[0] = 0
            remap[1:-1] = codes
            remaps.append(remap)
        values = [None, *(orjson.loads(b"[" + b",".join(new) + b"]") if new else [])]
    marker = len(values)
    for remap in remaps:
        remap[-1] = marker
    top = marker if dict_code else len(values) - 1
    dtype = np.uint8 if top < 1 << 8 else np.uint16 if top < 1 << 16 else np.uint32
    out = np.empty(sum(len(codes) for *_, codes in pieces), dtype=dtype)
    start = 0
    for (texts, shard_codes), remap in zip(pieces, remaps, strict=True):
        codes = np.where(shard_codes == DICT, len(texts) + 1, shard_codes) if dict_code else shard_codes
        if len(codes):
            out[start:start + len(codes)] = remap.astype(dtype)[codes]
        start += len(codes)
    col = StrCol(out, values)
    col.dict_code = marker if dict_code else -1
    return col


class _LazyColumns(MutableMapping):
    """{name: column} whose columns are read (and merged) on first use: a verdict that never looks at a column or
    an object key (an order's id inside its cart operation) never pays for it. A name set by hand replaces its
    loader."""

    def __init__(self, loaders: dict):
        self._loaders, self._done = dict(loaders), {}

    def __getitem__(self, key):
        col = self._done.get(key)
        if col is None:
            col = self._done[key] = self._loaders[key]()
        return col

    def __setitem__(self, key, col) -> None:
        self._loaders.setdefault(key, None)
        self._done[key] = col

    def __delitem__(self, key) -> None:
        del self._loaders[key]
        self._done.pop(key, None)

    def __contains__(self, key) -> bool:
        return key in self._loaders

    def __iter__(self):
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)


def _sparse(parts, field: str, keys: list[str]) -> SparseCol:
    """A sparse field over every shard: global row numbers, its value codes, and each object key's codes."""
    rows, own, shards, base = [], [], [], 0
    # Row numbers in 4 bytes while they fit (they do below 2**31 records): half the memory of a night's rows.
    row_type = np.int32 if sum(part.rows for _, part in parts) < 1 << 31 else np.int64
    for _, part in parts:
        sp = part.sparse_fields().get(field)
        if sp is not None and sp["rows"]:
            rows.append(part.sparse_rows(field).astype(row_type) + row_type(base))
            own.append((part.dict_texts(sp["stem"]), part.sparse_codes(sp["stem"], sp["rows"])))
            shards.append((part, sp))
        base += part.rows

    def key_column(key: str):
        pieces = []
        for part, sp in shards:
            n = sp["rows"]
            if key in sp["keys"]:
                stem = f"{sp['stem']}.{sp['keys'].index(key)}"
                pieces.append((part.dict_texts(stem), part.sparse_codes(stem, n)))
            else:
                pieces.append(([], np.zeros(n, dtype="<u4")))
        return _merge_codes(pieces)

    all_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=row_type)
    return SparseCol(all_rows, _merge_codes(own, dict_code=True),
                     _LazyColumns({k: (lambda k=k: key_column(k)) for k in keys}))


def _value_key(v):
    """A JSON value as a dict key that keeps types apart (True is not 1) and takes objects and arrays by text
    (for ledgers built by hand; loaded columns match values by their JSON text)."""
    if isinstance(v, (bool, int, float)):
        return (type(v).__name__, v)
    if isinstance(v, (dict, list)):
        return ("json", orjson.dumps(v))
    return v


_ABSENT = object()


def _truthy_codes(col: StrCol) -> np.ndarray:
    """Per code of a StrCol: is its value truthy (code 0, null or absent, is not)."""
    if isinstance(col.values, TextValues):
        return col.values.truthy()
    return np.array([bool(v) for v in col.values] or [False], dtype=bool)


def _strcol(values_in, absent=None, dict_flags=None) -> StrCol:
    """A StrCol from a list of values (code 0 for `absent`; with dict_flags, those rows get the object marker)."""
    values: list = [None]
    index: dict = {}
    codes = np.zeros(len(values_in), dtype="<u4")
    for i, v in enumerate(values_in):
        if v is absent:
            continue
        k = _value_key(v)
        c = index.get(k)
        if c is None:
            c = index[k] = len(values)
            values.append(v)
        codes[i] = c
    col = StrCol(codes, values)
    if dict_flags is not None:
        col.dict_code = len(values)
        codes[np.asarray(dict_flags, dtype=bool)] = len(values)
    return col
