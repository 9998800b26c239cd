"""Live progress: folds the growing ledger into phase, elapsed, requests/s, errors and sessions crossed; one
redrawn line on a TTY, plain periodic lines (and one per phase change) otherwise."""
import orjson

from harness.report.progress import Progress

T0 = 1_800_000_000.0


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def _append(path, *recs):
    with open(path, "ab") as fh:
        fh.write(b"".join(orjson.dumps(r) + b"\n" for r in recs))


def _req(t, session, status=200, error=None, journey="session"):
    return {"ts": t, "journey": journey, "session": session, "status": status, "error": error}


def test_plain_lines_follow_the_run(tmp_path):
    clock, out = Clock(), []
    p = Progress(write=out.append, tty=False, interval=10, clock=clock)
    p.attach(tmp_path)
    shard, events = tmp_path / "requests-h-1.jsonl", tmp_path / "events.jsonl"
    _append(events, {"ts": T0, "event": "load_start"})
    _append(shard, *[_req(T0 + i * 0.1, f"s{i % 4}") for i in range(20)])
    clock.now = T0 + 2
    p.poll()
    assert len(out) == 1 and "baseline" in out[0] and "20 requests" in out[0] and "0 errors" in out[0]
    clock.now = T0 + 5
    p.poll()
    assert len(out) == 1  # nothing changed and the interval has not passed: no new line in a CI log
    _append(events, {"ts": T0 + 6, "event": "deploy_start"}, {"ts": T0 + 9, "event": "switch_start"})
    _append(shard, _req(T0 + 9.5, "s1"), _req(T0 + 9.6, "s2", status=502), _req(T0 + 9.7, "new"),
            _req(T0 + 9.8, "s3", status=0, error="ConnectionResetError"))
    clock.now = T0 + 10
    p.poll()
    last = out[-1]
    assert "switch" in last and "0:10" in last and "24 requests" in last and "2 errors" in last
    assert "3 sessions crossed" in last  # s1, s2, s3 were used before the switch; "new" was not
    _append(events, {"ts": T0 + 11, "event": "fault_on", "fault": "redis-latency"})
    clock.now = T0 + 11
    p.poll()
    assert "fault: redis-latency" in out[-1]
    assert all(line.endswith("\n") and "\r" not in line for line in out)


def test_tty_redraws_one_line(tmp_path):
    clock, out = Clock(), []
    p = Progress(write=out.append, tty=True, clock=clock)
    p.attach(tmp_path)
    _append(tmp_path / "requests-h-1.jsonl", *[_req(T0 + i * 0.2, "s") for i in range(10)])
    for k in range(3):
        clock.now = T0 + 1 + k
        p.poll()
    assert len(out) == 3 and all(o.startswith("\r") and "\n" not in o for o in out)
    assert "10 requests" in out[-1]
    assert "req/s" in out[-1] and float(out[-1].split("req/s")[0].split()[-1]) > 0


def test_a_partial_last_line_waits_for_its_end(tmp_path):
    clock, out = Clock(), []
    p = Progress(write=out.append, tty=False, clock=clock)
    p.attach(tmp_path)
    shard = tmp_path / "requests-h-1.jsonl"
    shard.write_bytes(orjson.dumps(_req(T0, "s")) + b"\n" + orjson.dumps(_req(T0, "t"))[:10])
    p.poll()
    assert "1 requests" in out[-1]
