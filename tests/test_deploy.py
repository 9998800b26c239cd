"""Deploy ordering and refusals, against a recording fake target (the real path runs in the e2e tests)."""
import json

import pytest

from harness.config.release import Release
from harness.run.deploy import DeployRefused, ExecDeployer, deploy
from harness.targets.base import ExecResult, Fleet, Node, Router, Target, TargetError


class NoRouter(Router):
    lb_url = "http://127.0.0.1:1"

    def live_colour(self):
        return "blue"

    def switch(self, colour):
        raise AssertionError("deploy must never switch")


class FakeTarget(Target):
    """A target whose fleet records every call (no capabilities beyond the basic roles, no DB)."""

    def __init__(self, live_modules, blue_green=False, fail=None):
        super().__init__(kind="fake", router=NoRouter(), fleet=FakeFleet(live_modules, blue_green, fail),
                         deployer=ExecDeployer())

    @property
    def calls(self):
        return self.fleet.calls


class FakeFleet(Fleet):
    def __init__(self, live_modules, blue_green=False, fail=None):
        self.calls = []
        self.live_modules = live_modules
        self.blue_green = blue_green
        self.fail = fail or {}

    def nodes(self, colour):
        return [Node(f"{colour}-{i}", colour, f"http://127.0.0.1:{i}") for i in (1, 2)]

    def exec(self, node, argv, timeout=120):
        cmd = " ".join(argv)
        self.calls.append((node.name, cmd))
        for frag, out in self.fail.items():
            if frag in cmd:
                return ExecResult(1, out, "")
        if "greenlight:status" in cmd:
            return ExecResult(0, json.dumps({"release": "r1", "modules": self.live_modules,
                                             "blue_green_enabled": self.blue_green, "db_status": "up_to_date"}), "")
        return ExecResult(0, "", "")

    def put_tar(self, node, dest, data):
        self.calls.append((node.name, f"put {dest} {len(data)}"))


def _release(tmp_path, modules, migrations=()):
    for m in migrations:
        (tmp_path / m).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / m).write_text("ALTER TABLE t ADD c INT NULL;")
    return Release(id="r2", path=tmp_path, schema_version=2, static_version=2, modules=modules,
                   migrations=tuple(migrations), deploy_steps=("cache:clean",))


def test_module_bump_without_blue_green_flag_is_refused_before_any_change(tmp_path):
    t = FakeTarget({"Greenlight_Checkout": "1.0.0"}, blue_green=False)
    events = []
    with pytest.raises(DeployRefused, match="Please update your modules"):
        deploy(t, _release(tmp_path, {"Greenlight_Checkout": "1.1.0"}), "green", lambda e, **k: events.append(e))
    # Only the read-only status call happened: nothing shipped, nothing migrated.
    assert [c for _, c in t.calls if "greenlight:status" not in c] == []


def test_module_bump_with_blue_green_flag_goes_ahead(tmp_path):
    t = FakeTarget({"Greenlight_Checkout": "1.0.0"}, blue_green=True)
    deploy(t, _release(tmp_path, {"Greenlight_Checkout": "1.1.0"}), "green", lambda e, **k: None)
    assert any("setup:upgrade" in c for _, c in t.calls)


def test_order_ship_migrate_once_then_activate_each_idle_node(tmp_path):
    t = FakeTarget({"Greenlight_Checkout": "1.0.0"})
    events = []
    deploy(t, _release(tmp_path, {"Greenlight_Checkout": "1.0.0"}), "green", lambda e, **k: events.append(e))
    cmds = [(n, c) for n, c in t.calls if "greenlight:status" not in c]
    assert all(n.startswith("green") for n, _ in cmds), "deploy touched a live node"
    upgrades = [c for _, c in cmds if c.endswith("setup:upgrade")]
    assert len(upgrades) == 1, "migrations must run once against the shared DB"
    first_upgrade = next(i for i, (_, c) in enumerate(cmds) if c.endswith("setup:upgrade"))
    puts = [i for i, (_, c) in enumerate(cmds) if c.startswith("put ")]
    activates = [i for i, (_, c) in enumerate(cmds) if "activate r2" in c]
    assert len(puts) == 2 and len(activates) == 2
    assert max(puts) < first_upgrade < min(activates)
    assert events[0] == "deploy_start" and events[-1] == "deploy_done"


def test_failing_rehearsal_refuses_before_the_real_migration(tmp_path):
    class Db:
        def clone(self, name):
            return 7

    t = FakeTarget({"Greenlight_Checkout": "1.0.0"}, fail={"greenlight:smoke": "place order: Unknown column 'customer_email'"})
    t.db = Db()
    with pytest.raises(DeployRefused, match=r"break the live release's checkout.*Unknown column"):
        deploy(t, _release(tmp_path, {"Greenlight_Checkout": "1.0.0"}, ["migrations/3.sql"]), "green",
               lambda e, **k: None)
    real = [c for _, c in t.calls if c.endswith("setup:upgrade")]
    assert real == [], "the shop DB must not be migrated after a failed rehearsal"


def test_static_content_is_never_copied_between_colours(tmp_path):
    """As with Magento's nginx rule, each node serves its own pub/static: the deploy writes to the idle colour only
    (the harness judges assets by the digests it reads from each colour, harness/checks/static_digests.py)."""
    t = FakeTarget({"Greenlight_Checkout": "1.0.0"})
    events = []
    deploy(t, _release(tmp_path, {"Greenlight_Checkout": "1.0.0"}), "green", lambda e, **k: events.append((e, k)))
    assert not [e for e, _ in events if e.startswith("static_")]
    assert not [c for c in t.calls if c[0].startswith("blue") and (c[1].startswith("put ") or "static" in c[1])], t.calls


class FrozenNodeFleet(FakeFleet):
    """blue-1 cannot run anything: paused (docker refuses the exec) or frozen mid-command (the exec times out)."""

    def __init__(self, how, down=("blue-1",)):
        super().__init__({"Greenlight_Checkout": "1.0.0"})
        self.how, self.down = how, down

    def exec(self, node, argv, timeout=120):
        if node.name in self.down:
            self.calls.append((node.name, "refused"))
            if self.how == "paused":
                raise TargetError(f"{node.name}: cannot run {argv[0]}: Container is paused, unpause the container")
            return ExecResult(124, "", f"greenlight: {argv[0]} on {node.name} did not return (node frozen?)", True)
        return super().exec(node, argv, timeout)


class Db:
    def clone(self, name):
        return 7


@pytest.mark.parametrize("how", ["paused", "timed_out"])
def test_a_frozen_live_node_is_skipped_and_reported_not_a_failed_deploy(tmp_path, how):
    t = FakeTarget({"Greenlight_Checkout": "1.0.0"})
    t.fleet = FrozenNodeFleet(how)
    t.db = Db()
    events = []
    deploy(t, _release(tmp_path, {"Greenlight_Checkout": "1.0.0"}), "green", lambda e, **k: events.append((e, k)))
    skipped = [k for e, k in events if e == "live_node_skipped"]
    assert [(k["node"], k["step"]) for k in skipped] == [("blue-1", "status check"),
                                                        ("blue-1", "live release's smoke checkout")]
    assert "paused" in skipped[0]["reason"] or "frozen" in skipped[0]["reason"]
    rehearsal = next(k for e, k in events if e == "rehearsal")
    assert rehearsal["node"] == "blue-2" and rehearsal["live_smoke_ok"]
    assert events[-1][0] == "deploy_done"


def test_no_live_node_answering_is_one_clear_error_before_anything_changes(tmp_path):
    t = FakeTarget({"Greenlight_Checkout": "1.0.0"})
    t.fleet = FrozenNodeFleet("paused", down=("blue-1", "blue-2"))
    with pytest.raises(TargetError, match=r"no live node could run the status check: blue-1: .*paused.*; blue-2: "):
        deploy(t, _release(tmp_path, {"Greenlight_Checkout": "1.0.0"}), "green", lambda e, **k: None)
    assert [c for n, c in t.calls if n.startswith("green")] == []


def test_a_failing_live_smoke_is_still_a_refusal_not_a_skipped_node(tmp_path):
    """Only a node that cannot answer is skipped: a smoke that answers 'failed' refuses the deploy on the first."""
    t = FakeTarget({"Greenlight_Checkout": "1.0.0"}, fail={"greenlight:smoke": "place order: Unknown column"})
    t.db = Db()
    events = []
    with pytest.raises(DeployRefused):
        deploy(t, _release(tmp_path, {"Greenlight_Checkout": "1.0.0"}), "green", lambda e, **k: events.append(e))
    assert "live_node_skipped" not in events
    assert sum("greenlight:smoke" in c for _, c in t.calls) == 1
