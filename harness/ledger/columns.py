"""A columnar index of the ledger, built incrementally beside the JSON lines, so a run is judged at disk speed.

The JSONL shards stay the record (readable, appendable by any process). `ColumnIndex.update()` parses only the
lines added since its last call and appends them to plain little-endian column files; `read()` maps them back
with numpy. During a run the harness calls update() every few seconds (`Indexer`), so judging a million records
reads ~60 MB of columns instead of parsing ~260 MB of JSON. Measured on this project's 2-core machines (see
bench/analysis.py and docs/architecture.md): JSON engines (orjson loop, pyarrow.json, polars, duckdb) all take
seconds per million records; reading these columns takes tens of milliseconds.

Layout, per shard `requests-X.jsonl`: `.columns/requests-X/`
  meta.json           {"version", "offset": bytes of the shard consumed, "rows", "skipped"}
  <field>.<dtype>     dense fields: numbers as the schema says (f8, i4, i8), everything else dictionary codes u4
                      (0 = null; a dict or list where a scalar belongs is kept as its JSON text)
  <field>.dict        the dictionary: one JSON value per line, code = line number + 1 (append-only)
  sN.rows / sN.u4     a sparse field (any field not in the dense schema: new fields need no change here), N from
                      meta["sparse"]: the rows that carry it (u4, ascending) and its value's dictionary code per
                      row (DICT when the value is a JSON object)
  sN.K.u4             an object-valued sparse field kept key by key (one level): key K's code per row of the
                      field, aligned with sN.rows (0 = the key is absent), so verdicts read credentials, cart
                      operations and orders as arrays instead of a million small dicts
  *.dict              the dictionary of each coded column (dense strings, sparse values, sparse keys)
Crash-safe: columns are appended first and meta.json replaced last; rows beyond meta's count are ignored.
"""
from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

import numpy as np
import orjson

from harness.ledger import jsonl

VERSION = 3
INDEX_DIR = ".columns"
CHUNK = 8 << 20  # bytes of JSON parsed per step: bounds memory while indexing a large backlog (~100 MiB)
DICT = 0xFFFFFFFF  # a sparse field's code for "the value is an object: see its keys' columns"
_NULL_KEY = ("null",)


class Schema:
    """Which fields are dense columns and how numbers are stored. Everything else is sparse (extra.jsonl)."""

    def __init__(self, dense: tuple[str, ...], numeric: dict[str, str]):
        self.dense = tuple(dense)
        self.numeric = dict(numeric)  # field -> numpy dtype: 'f8'/'f4' (missing = NaN), 'i8'/'i4' (missing = int_null)
        self.strings = tuple(f for f in self.dense if f not in self.numeric)


def int_null(dtype) -> int:
    """The missing-value marker of an integer column: the dtype's smallest value (no status or size is negative)."""
    return int(np.iinfo(np.dtype(dtype)).min)


def _shard_dir(shard: Path) -> Path:
    return shard.parent / INDEX_DIR / shard.stem


class ShardIndex:
    def __init__(self, shard: Path, schema: Schema):
        self.shard, self.schema = shard, schema
        self.dir = _shard_dir(shard)
        self.meta = self._empty_meta()
        self.dicts: dict[str, dict] = {}
        meta_path = self.dir / "meta.json"
        if meta_path.exists():
            meta = orjson.loads(meta_path.read_bytes())
            if meta.get("version") == VERSION and meta.get("dense") == list(schema.dense):
                self.meta = meta
                self._truncate()
            else:  # another layout or schema: rebuild from the JSON lines
                self._reset()
        self._dicts_loaded = False  # the dictionaries' value -> code maps: read only by a writer (_append)

    def _load_dicts(self) -> None:
        stems = list(self.schema.strings)
        for sp in self.meta["sparse"].values():
            stems.append(sp["stem"])
            stems += [f"{sp['stem']}.{k}" for k in range(len(sp["keys"]))]
        for stem in stems:
            self.dicts[stem] = {}
            if self.meta["rows"]:
                for code, v in enumerate(self.dict_values(stem)[1:], 1):
                    self.dicts[stem][_key(v)] = code
        self._dicts_loaded = True

    def _truncate(self) -> None:
        """Cut what a killed indexer appended after its last meta.json, so the next batch lands in line."""
        sizes = {self._path(f): self.rows * np.dtype(self.schema.numeric.get(f, "u4")).itemsize
                 for f in self.schema.dense}
        for sp in self.meta["sparse"].values():
            sizes[self.dir / f"{sp['stem']}.rows"] = sizes[self.dir / f"{sp['stem']}.u4"] = sp["rows"] * 4
            for k in range(len(sp["keys"])):
                sizes[self.dir / f"{sp['stem']}.{k}.u4"] = sp["rows"] * 4
        for path, size in sizes.items():
            if path.exists() and path.stat().st_size > size:
                os.truncate(path, size)

    @staticmethod
    def _empty_meta() -> dict:
        # sparse: {field: {"stem": "sN", "rows": rows of this shard carrying it, "keys": [object keys seen]}}
        return {"version": VERSION, "offset": 0, "rows": 0, "skipped": 0, "sparse": {}}

    def _reset(self) -> None:
        for p in self.dir.glob("*"):
            if p.name != ".lock":
                p.unlink()
        self.meta = self._empty_meta()

    def _path(self, field: str) -> Path:
        return self.dir / f"{field}.{self.schema.numeric.get(field, 'u4')}"

    def update(self) -> int:
        """Index the complete lines added since the last call; returns how many records were added. Two indexers of
        one ledger (the harness's thread and a `load()` elsewhere) take turns on a lock file and pick up where the
        other stopped, so neither appends a line twice."""
        try:
            size = self.shard.stat().st_size
        except FileNotFoundError:
            return 0
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "wb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            meta_path = self.dir / "meta.json"
            if meta_path.exists() and orjson.loads(meta_path.read_bytes()).get("offset") != self.meta["offset"]:
                self.__init__(self.shard, self.schema)  # another indexer moved on: read its state back
            return self._update(size)

    def _update(self, size: int) -> int:
        if size < self.meta["offset"]:  # the shard was replaced: start again
            self._reset()
        added = 0
        with open(self.shard, "rb") as fh:
            while self.meta["offset"] < size:
                fh.seek(self.meta["offset"])
                chunk = fh.read(min(CHUNK, size - self.meta["offset"]))
                end = chunk.rfind(b"\n")
                if end < 0:  # a partial line (being written): next time
                    break
                added += self._append(chunk[: end + 1].splitlines(), end + 1)
        return added

    def _append(self, lines: list[bytes], consumed: int) -> int:  # noqa: C901 - the hot loop, inlined for speed
        """Parse a batch of lines and append it column by column (list comprehensions over the batch, not a loop
        over fields inside a loop over records: several times faster in CPython)."""
        schema = self.schema
        if not self._dicts_loaded:
            self._load_dicts()
        row0 = self.meta["rows"]
        recs = _parse(lines)
        skipped = len(lines) - len(recs)
        nd = len(schema.dense)
        dense_set = frozenset(schema.dense)
        sparse: dict[str, list] = {}
        for k, r in enumerate(recs):
            if len(r) != nd:  # the writer puts every dense field in every record: anything else is sparse
                for f in r.keys() - dense_set:
                    v = r[f]
                    if v is not None:  # null is as absent as a missing field
                        sparse.setdefault(f, []).append((k, v))
        self.dir.mkdir(parents=True, exist_ok=True)
        for f, dt in schema.numeric.items():
            vals = [r.get(f) for r in recs]
            if dt[0] == "f":
                nan = float("nan")
                arr = np.array([v if type(v) is float or type(v) is int else nan for v in vals], dtype="<" + dt)
            else:
                null, info = int_null(dt), np.iinfo(np.dtype(dt))
                lo, hi = int(info.min), int(info.max)
                # A number the column cannot hold is as unknown as a missing one (never a wrapped-around value).
                arr = np.array([v if type(v) is int and lo < v <= hi else null for v in vals], dtype="<" + dt)
            with open(self._path(f), "ab") as out:
                out.write(arr.tobytes())
        for f in schema.strings:
            vals = [r.get(f) for r in recs]
            d = self.dicts.setdefault(f, {})
            new_values = []
            try:
                distinct = set(vals)
            except TypeError:  # a dict or list in a dense column (not what the writer does): kept as its JSON text
                vals = [orjson.dumps(v).decode() if isinstance(v, (dict, list)) else v for v in vals]
                distinct = set(vals)
            # New values first (few per batch), so the per-record pass below is one dict lookup each.
            for v in distinct:
                if v is not None:
                    key = v if type(v) is str else _key(v)
                    if key not in d:
                        d[key] = len(d) + 1
                        new_values.append(v)
            get = d.get
            codes = [0 if v is None else get(v) if type(v) is str else get(_key(v)) for v in vals]
            with open(self._path(f), "ab") as out:
                out.write(np.asarray(codes, dtype="<u4").tobytes())
            if new_values:
                with open(self.dir / f"{f}.dict", "ab") as out:
                    out.write(b"".join(orjson.dumps(v) + b"\n" for v in new_values))
        for f, entries in sparse.items():
            self._append_sparse(f, row0, entries)
        rows = row0 + len(recs)
        self.meta.update(offset=self.meta["offset"] + consumed, rows=rows, skipped=self.meta["skipped"] + skipped,
                         dense=list(schema.dense))
        tmp = self.dir / "meta.json.tmp"
        tmp.write_bytes(orjson.dumps(self.meta))
        os.replace(tmp, self.dir / "meta.json")
        return len(recs)

    def _append_sparse(self, field: str, row0: int, entries: list[tuple[int, object]]) -> None:
        """One sparse field's entries of a batch: rows, value codes, and each object key's codes (aligned)."""
        sp = self.meta["sparse"].get(field)
        if sp is None:
            sp = self.meta["sparse"][field] = {"stem": f"s{len(self.meta['sparse'])}", "rows": 0, "keys": []}
            self.dicts[sp["stem"]] = {}
        stem = sp["stem"]
        with open(self.dir / f"{stem}.rows", "ab") as out:
            out.write(np.fromiter((row0 + k for k, _ in entries), dtype="<u4", count=len(entries)).tobytes())
        objs = [(j, v) for j, (_, v) in enumerate(entries) if type(v) is dict]
        own = self._encode(stem, [None if type(v) is dict else v for _, v in entries])
        for j, _ in objs:
            own[j] = DICT
        self._write_codes(stem, own)
        if objs:
            keys = sp["keys"]
            known = set(keys)
            for _, v in objs:
                for key in v:
                    if key not in known:  # a new key: its column starts with "absent" for the rows before
                        known.add(key)
                        keys.append(key)
                        self.dicts[f"{stem}.{len(keys) - 1}"] = {}
                        self._write_codes(f"{stem}.{len(keys) - 1}", np.zeros(sp["rows"], dtype="<u4"))
        absent = object()
        for n, key in enumerate(sp["keys"]):
            vals = [absent] * len(entries)
            for j, v in objs:
                vals[j] = v.get(key, absent)
            self._write_codes(f"{stem}.{n}", self._encode(f"{stem}.{n}", vals, absent))
        sp["rows"] += len(entries)

    def _encode(self, stem: str, vals: list, absent=None) -> list[int]:
        """Dictionary codes of any JSON values (0 for `absent`); new values are appended to the stem's .dict."""
        d = self.dicts[stem]
        codes, new = [], []
        for v in vals:
            if v is absent:
                codes.append(0)
                continue
            key = v if type(v) is str else _key(v)
            c = d.get(key)
            if c is None:
                c = d[key] = len(d) + 1
                new.append(v)
            codes.append(c)
        if new:
            with open(self.dir / f"{stem}.dict", "ab") as out:
                out.write(b"".join(orjson.dumps(v) + b"\n" for v in new))
        return codes

    def _write_codes(self, stem: str, codes) -> None:
        with open(self.dir / f"{stem}.u4", "ab") as out:
            out.write(np.asarray(codes, dtype="<u4").tobytes())

    # -- reading (one column at a time, so a loader never holds two copies of a large column) ----------------------
    @property
    def rows(self) -> int:
        return self.meta["rows"]

    @property
    def skipped(self) -> int:
        """Unparseable lines, plus bytes after the last newline (a writer killed mid-line) as one more."""
        try:
            partial = 1 if self.shard.stat().st_size > self.meta["offset"] else 0
        except FileNotFoundError:
            partial = 0
        return self.meta["skipped"] + partial

    def read_into(self, field: str, out: np.ndarray) -> None:
        """Fill `out` (len == rows) with a numeric column straight from its file."""
        n = self.rows
        if n == 0:
            return
        with open(self._path(field), "rb") as fh:
            got = fh.readinto(memoryview(out).cast("B"))
        if got != out.nbytes:
            raise ValueError(f"{self._path(field)}: {got} bytes, expected {out.nbytes}")

    def codes(self, field: str) -> np.ndarray:
        return _fromfile(self._path(field), "<u4", self.rows)

    def values(self, field: str) -> list:
        """The dictionary of a string column: [None, value of code 1, value of code 2, ...]."""
        return self.dict_values(field)

    def dict_values(self, stem: str) -> list:
        return [None, *self.dictionary(stem)[1]]

    def dict_texts(self, stem: str) -> list[bytes]:
        """A coded column's dictionary as the JSON text of codes 1, 2, ... (not decoded)."""
        path = self.dir / f"{stem}.dict"
        return path.read_bytes().splitlines() if path.exists() else []

    def dictionary(self, stem: str) -> tuple[list[bytes], list]:
        """A coded column's dictionary as (JSON text, value) of codes 1, 2, ...: the text is the value's identity
        across shards (orjson writes one text per value), so merging shards never re-encodes a value."""
        path = self.dir / f"{stem}.dict"
        lines = path.read_bytes().splitlines() if path.exists() else []
        return lines, (orjson.loads(b"[" + b",".join(lines) + b"]") if lines else [])

    def sparse_fields(self) -> dict[str, dict]:
        """{field: {"stem", "rows", "keys"}} of the sparse fields this shard's records carried."""
        return self.meta["sparse"]

    def sparse_rows(self, field: str) -> np.ndarray:
        sp = self.meta["sparse"][field]
        return _fromfile(self.dir / f"{sp['stem']}.rows", "<u4", sp["rows"])

    def sparse_codes(self, stem: str, n: int) -> np.ndarray:
        """n codes of a sparse column (a key's column may be shorter: it was written only up to its last batch)."""
        codes = _fromfile(self.dir / f"{stem}.u4", "<u4", n)
        return codes if len(codes) == n else np.concatenate([codes, np.zeros(n - len(codes), dtype="<u4")])


def _valid(r) -> bool:
    return type(r) is dict and type(r.get("ts")) in (float, int)


def _parse(lines: list[bytes]) -> list[dict]:
    """The records among these lines: one orjson call for the whole batch when every line is valid JSON, else
    line by line (a malformed or truncated line is skipped, never fatal)."""
    return [r for r in jsonl.parse(lines)[0] if _valid(r)]


def _key(v):
    # True == 1 in a dict: keep JSON types apart so a value comes back as it was written; objects and arrays by text.
    if isinstance(v, (bool, int, float)):
        return (type(v).__name__, v)
    if v is None:
        return _NULL_KEY
    if isinstance(v, (dict, list)):
        return ("json", orjson.dumps(v))
    return v


def _fromfile(path: Path, dtype: str, n: int) -> np.ndarray:
    if n == 0 or not path.exists():
        return np.zeros(0, dtype=dtype)
    return np.fromfile(path, dtype=dtype, count=n)  # fewer when the file is shorter: callers pad


class ColumnIndex:
    """The index of every shard in a ledger directory."""

    def __init__(self, ledger_dir: str | Path, schema: Schema, shard_glob: str):
        self.dir, self.schema, self.glob = Path(ledger_dir), schema, shard_glob
        self.shards: dict[Path, ShardIndex] = {}
        self._lock = threading.Lock()

    def update(self) -> int:
        with self._lock:
            added = 0
            for shard in sorted(self.dir.glob(self.glob)):
                idx = self.shards.get(shard)
                if idx is None:
                    idx = self.shards[shard] = ShardIndex(shard, self.schema)
                added += idx.update()
            return added

    def read(self) -> list[tuple[str, ShardIndex]]:
        """[(shard file name, its ShardIndex), ...] in shard name order, after a final update."""
        self.update()
        return [(shard.name, self.shards[shard]) for shard in sorted(self.shards)]


class Indexer:
    """Keeps a ColumnIndex current while a run records (a daemon thread in the harness, never in Locust)."""

    def __init__(self, index: ColumnIndex, every_s: float = 2.0):
        self.index, self.every_s = index, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-indexer", daemon=True)
        self.error: Exception | None = None

    def start(self) -> Indexer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.index.update()
            except Exception as exc:  # noqa: BLE001 - never hurt the run; load() indexes what is left and reports problems
                self.error = exc

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
