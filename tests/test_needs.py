"""`greenlight status` checks what a run needs (harness/checks/needs.py): each failure is named with its fix."""
from harness.checks.needs import run_needs
from harness.targets.base import ExecResult, Node, Target
from harness.targets.replica import stack


class _Fleet:
    def __init__(self, fail: set[str]):
        self.fail = fail

    def nodes(self, colour):
        return [Node(f"{colour}-1", colour, "http://127.0.0.1:1")]

    def exec(self, node, argv, timeout=120):
        if node.name in self.fail:
            return ExecResult(255, "", "ssh: connect to host 203.0.113.7 port 22: Connection refused")
        return ExecResult(0, "", "")


class _Db:
    def connect(self, database=None):
        raise RuntimeError("(1045, \"Access denied for user 'magento'@'172.18.0.1' (using password: YES)\")")


def test_each_need_is_named_with_its_fix():
    t = Target(kind="x", router=None, fleet=_Fleet({"green-1"}), db=_Db())
    needs = {n.what: n for n in run_needs(t, lambda: "")}
    assert needs["shop DB"].ok is False and "Access denied" in needs["shop DB"].detail
    assert "greenlight down" in needs["shop DB"].detail
    assert needs["blue-1 commands"].ok and needs["green-1 commands"].ok is False
    assert "Connection refused" in needs["green-1 commands"].detail and "SSH" in needs["green-1 commands"].detail
    assert needs["replica owner"].ok
    no_db = {n.what: n for n in run_needs(Target(kind="x", router=None, fleet=_Fleet(set())))}
    assert no_db["shop DB"].ok is None and "not judged" in no_db["shop DB"].detail
    assert "replica owner" not in no_db


def test_a_replica_made_by_another_checkout_is_named(monkeypatch):
    monkeypatch.setattr(stack, "owner", lambda: "/home/someone/greenlight")
    why = stack.foreign_owner()
    assert "/home/someone/greenlight" in why and "greenlight down" in why and "greenlight up" in why
    monkeypatch.setattr(stack, "owner", lambda: str(stack.ROOT))
    assert stack.foreign_owner() == ""
    monkeypatch.setattr(stack, "owner", lambda: "")   # a replica made before the label: not judged foreign
    assert stack.foreign_owner() == ""
