"""The columnar index must give back exactly what the JSON lines say, however the lines arrived."""
from __future__ import annotations

import random

import orjson

from harness.ledger.records import COLUMNS, column_index, load

BASE = {"ts": 1.0, "user": "u1", "journey": "guest", "step": "s", "method": "GET", "name": "/x", "status": 200,
        "ms": 1.25, "bytes": 10, "served_by": "blue-1", "release": "r1", "session": "abc", "error": None}


def records(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        r = {**BASE, "ts": 1000.0 + i / 10, "user": f"u{rnd.randrange(50)}", "status": rnd.choice([200, 302, 500, 0]),
             "ms": round(rnd.uniform(0, 900), 2), "release": rnd.choice(["r1", "r2", None]),
             "error": rnd.choice([None, None, "ConnectionResetError(104)"])}
        if i % 7 == 0:
            r["order_id"] = i
        if i % 11 == 0:
            r["probe"] = {"ok": i % 2 == 0, "expected": {"cart": {"GL-1": 1}}, "observed": {"cart": {}}}
        if i % 13 == 0:
            r["a_field_added_later"] = {"n": i}  # unknown to the schema: loaded as a sparse field all the same
        out.append(r)
    return out


def naive(recs: list[dict]) -> tuple[list[dict], dict]:
    dense = [{c: r.get(c) for c in COLUMNS} for r in recs]
    sparse: dict = {}
    for i, r in enumerate(recs):
        for k, v in r.items():
            if k not in COLUMNS and v is not None:
                sparse.setdefault(k, {})[i] = v
    return dense, sparse


def test_incremental_index_equals_a_plain_json_read(tmp_path):
    recs = records(3000)
    lines = [orjson.dumps(r) + b"\n" for r in recs]
    shard = tmp_path / "requests-h-1.jsonl"
    # Written in three pieces, one of them ending in the middle of a line (a writer mid-flush).
    blob = b"".join(lines)
    cut1, cut2 = len(b"".join(lines[:1000])) + 17, len(b"".join(lines[:2200]))
    index = column_index(tmp_path)
    for end in (cut1, cut2, len(blob)):
        shard.write_bytes(blob[:end])
        index.update()
    assert index.shards[shard].rows == 3000
    led = load(tmp_path)  # a fresh index object: dictionaries and offsets read back from disk
    dense, sparse = naive(recs)
    assert len(led) == 3000 and led.skipped_lines == 0
    assert [led.record(i) for i in range(0, 3000, 97)] == [{**dense[i], **{k: v[i] for k, v in sparse.items() if i in v}}
                                                          for i in range(0, 3000, 97)]
    for c in COLUMNS:
        assert list(led.cols[c]) == [d[c] for d in dense], c
    assert {k: dict(v) for k, v in led.sparse.items() if v} == sparse


def test_shards_merge_into_one_dictionary_and_bad_lines_are_counted(tmp_path):
    a, b = records(500, seed=1), records(500, seed=2)
    (tmp_path / "requests-a-1.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in a) + b"{broken\n")
    (tmp_path / "requests-b-2.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in b) + b'{"ts": 9, "st')
    led = load(tmp_path)
    assert len(led) == 1000 and led.skipped_lines == 2
    assert led.shard_rows == {"requests-a-1.jsonl": 500, "requests-b-2.jsonl": 500}
    assert list(led.cols["user"]) == [r["user"] for r in a + b]
    assert (led.strs("release").eq("r2") == [r["release"] == "r2" for r in a + b]).all()
    assert list(led.np("status")) == [r["status"] for r in a + b]


def test_two_indexers_of_one_ledger_never_index_a_line_twice(tmp_path):
    """The harness's indexer thread and a load() elsewhere may both update: each picks up where the other stopped."""
    recs = records(1200, seed=3)
    lines = [orjson.dumps(r) + b"\n" for r in recs]
    shard = tmp_path / "requests-h-1.jsonl"
    first, second = column_index(tmp_path), column_index(tmp_path)
    shard.write_bytes(b"".join(lines[:400]))
    first.update()
    shard.write_bytes(b"".join(lines[:800]))
    second.update()
    shard.write_bytes(b"".join(lines))
    first.update()  # knows only its own 400: must read the other's progress, not append 400..800 again
    second.update()
    led = load(tmp_path)
    assert len(led) == 1200 and list(led.cols["user"]) == [r["user"] for r in recs]


def test_an_indexer_killed_between_its_columns_and_its_meta_leaves_no_misaligned_rows(tmp_path):
    """Columns are appended before meta.json: what a killed indexer appended after its last meta is cut on the next
    start, so the next batch lands in line (dense, sparse, and object-key columns alike)."""
    recs = records(900, seed=4)
    for i, r in enumerate(recs):
        if i % 3 == 0:
            r["creds"] = {"session": f"s{i % 17}"}
    lines = [orjson.dumps(r) + b"\n" for r in recs]
    shard = tmp_path / "requests-h-1.jsonl"
    shard.write_bytes(b"".join(lines[:300]))
    column_index(tmp_path).update()
    cols = tmp_path / ".columns" / "requests-h-1"
    for p in cols.iterdir():  # the killed indexer's half-written batch
        if p.suffix in (".f8", ".i4", ".i8", ".u4", ".rows"):
            with open(p, "ab") as fh:
                fh.write(b"\x07" * 40)
    shard.write_bytes(b"".join(lines))
    led = load(tmp_path)
    dense, sparse = naive(recs)
    assert len(led) == 900
    for c in COLUMNS:
        assert list(led.cols[c]) == [d[c] for d in dense], c
    assert {k: dict(v) for k, v in led.sparse.items() if v} == sparse
