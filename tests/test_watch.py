"""The post-switch watch reads the growing ledger and names the first breach."""
import orjson

from harness.run.watch import LedgerTail, breach_of


def _append(path, *recs, partial=b""):
    with open(path, "ab") as fh:
        for r in recs:
            fh.write(orjson.dumps(r) + b"\n")
        fh.write(partial)


def test_tail_reads_only_complete_new_lines(tmp_path):
    shard = tmp_path / "requests-h-1.jsonl"
    _append(shard, {"ts": 1, "status": 200}, partial=b'{"ts": 2, "sta')
    tail = LedgerTail(tmp_path)
    assert [r["ts"] for r in tail.read_new()] == [1]
    assert tail.read_new() == []
    _append(shard, partial=b'tus": 500}\n')
    _append(tmp_path / "requests-h-2.jsonl", {"ts": 3, "status": 0})
    assert sorted(r["ts"] for r in tail.read_new()) == [2, 3]


def test_breaches():
    assert breach_of({"ts": 5, "status": 200}, 1) is None
    assert breach_of({"ts": 0.5, "status": 502}, 1) is None  # before the switch: not the watch's business
    assert "HTTP 502" in breach_of({"ts": 5, "status": 502, "method": "GET", "name": "/", "served_by": "green-1"}, 1)
    assert "transport error" in breach_of({"ts": 5, "status": 0, "error": "ConnectionResetError"}, 1)
    lost = breach_of({"ts": 5, "status": 200, "user": "u1",
                      "probe": {"ok": False, "expected": {"fullname": "A"}, "observed": {"fullname": ""}}}, 1)
    assert lost.startswith("session lost: u1")
    assert breach_of({"ts": 5, "status": 200, "probe": {"ok": True}}, 1) is None
