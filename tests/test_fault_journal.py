"""The fault lifecycle without Docker: journaled before inject, healed in finally, healable from the journal alone
by another process after the injecting one was SIGKILLed."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.faults import (
    FAULTS,
    Fault,
    FaultError,
    Journal,
    heal_journal,
    injected,
    make_fault,
)
from harness.faults.base import Injection

ROOT = Path(__file__).resolve().parents[1]


class FileFault(Fault):
    """A fault whose effect is a file: present = in effect."""
    kind = "file"

    def inject(self) -> dict:
        seen = [e.status for e in Journal(self.params["journal"]).entries()]
        assert seen == ["injecting"], "the journal entry must exist before the fault is injected"
        if self.params.get("fail_inject"):
            Path(self.params["path"]).write_text("half")
            raise RuntimeError("inject broke half-way")
        Path(self.params["path"]).write_text("on")
        return {"wrote": self.params["path"]}

    def heal(self, state: dict) -> None:
        if self.params.get("fail_heal") and not Path(self.params["path"] + ".allow").exists():
            raise RuntimeError("cannot heal yet")
        Path(self.params["path"]).unlink(missing_ok=True)


@pytest.fixture
def j(tmp_path):
    return Journal(tmp_path / "journal")


def test_journaled_before_inject_and_removed_after_heal(j, tmp_path):
    f = FileFault(path=str(tmp_path / "x"), journal=str(j.dir))
    with injected(f, j) as inj:
        (entry,) = j.entries()
        assert entry.status == "active" and entry.state == {"wrote": str(tmp_path / "x")}
        assert inj.active and (tmp_path / "x").exists()
    assert j.entries() == [] and not (tmp_path / "x").exists()


def test_healed_when_the_block_raises(j, tmp_path):
    events = []
    fault = FileFault(path=str(tmp_path / "x"), journal=str(j.dir))
    with pytest.raises(KeyError), injected(fault, j, lambda name, **kw: events.append(name)):
        raise KeyError("drill broke")
    assert j.entries() == [] and not (tmp_path / "x").exists()
    assert events == ["fault_on", "fault_off"]


def test_a_half_injected_fault_is_healed_and_reported(j, tmp_path):
    with pytest.raises(FaultError, match="inject broke half-way"):
        Injection(FileFault(path=str(tmp_path / "x"), journal=str(j.dir), fail_inject=True), j).inject()
    assert j.entries() == [] and not (tmp_path / "x").exists()


def test_a_failed_heal_stays_journaled_until_heal_succeeds(j, tmp_path):
    p = tmp_path / "x"
    fault = FileFault(path=str(p), journal=str(j.dir), fail_heal=True)
    with pytest.raises(FaultError, match="cannot heal yet"), injected(fault, j):
        pass
    assert [e.kind for e in j.entries()] == ["file"] and p.exists()
    rows = heal_journal(j, {"file": FileFault})
    assert rows[0]["healed"] is False and "cannot heal yet" in rows[0]["error"]
    Path(str(p) + ".allow").touch()
    assert heal_journal(j, {"file": FileFault})[0]["healed"] is True
    assert j.entries() == [] and not p.exists()


def test_heal_from_the_journal_after_the_injector_was_sigkilled(j, tmp_path):
    p = tmp_path / "x"
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_fault_journal import FileFault
        from harness.faults import Journal, injected
        j = Journal({str(j.dir)!r})
        with injected(FileFault(path={str(p)!r}, journal={str(j.dir)!r}), j):
            print("injected", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "injected"
    proc.send_signal(signal.SIGKILL)   # no finally runs
    proc.wait(5)
    assert p.exists() and [e.owner_pid for e in j.entries()] == [proc.pid]
    assert [r["healed"] for r in heal_journal(j, {"file": FileFault})] == [True]
    assert not p.exists() and j.entries() == []


def test_unknown_or_torn_entries_are_reported_not_skipped(j):
    j.dir.mkdir(parents=True)
    (j.dir / "abc.json").write_text("{not json")
    (j.dir / "def.json").write_text(json.dumps({"kind": "gone-fault", "params": {}, "id": "def"}))
    rows = heal_journal(j, {})
    assert sorted((r["id"], r["healed"]) for r in rows) == [("abc", False), ("def", False)]
    assert len(j.entries()) == 2  # still there for a human


def test_registry_and_parameters():
    assert len(FAULTS) >= 14
    with pytest.raises(FaultError, match="unknown fault"):
        make_fault("meteor-strike")
    with pytest.raises(FaultError, match="unknown node"):
        make_fault("node-kill", node="purple-1")
    with pytest.raises(FaultError, match="bad parameters"):
        make_fault("node-kill")
    with pytest.raises(FaultError, match="unknown DO API storm"):
        make_fault("do-api-storm", api="http://127.0.0.1:1", storm="hail")
    assert make_fault("net-latency", node="blue-1", delay_ms=200).describe() == \
        "net-latency(delay_ms=200, node=blue-1, rate_kbit=384)"


def test_doapi_faults_only_talk_to_loopback():
    from harness.load.traffic import HostRefused

    with pytest.raises(HostRefused):
        make_fault("do-api-storm", api="http://api.digitalocean.com", storm="429").inject()
