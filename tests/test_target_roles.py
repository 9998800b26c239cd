"""Targets as roles: capabilities are declared, a check needing a missing one is skipped with the reason, and a
new kind is one registration (with its own config section)."""
import contextlib

import pytest
from pydantic import BaseModel

from harness.checks.gate import run_gate
from harness.config import ConfigError, Strict, config_model, kinds, load_config
from harness.targets.base import Capability, Deployer, Fleet, Router, Target, TargetError, Unsupported
from harness.targets.factory import open_target


class StaticRouter(Router):
    lb_url = "http://127.0.0.1:1"

    def __init__(self, ready=None):
        self._ready = ready

    def live_colour(self):
        return "blue"

    def switch(self, to_colour):
        pass

    def ready(self, colour, timeout=30):
        if self._ready is None:
            return super().ready(colour, timeout)
        return self._ready


class EmptyFleet(Fleet):
    def nodes(self, colour):
        return []

    def exec(self, node, argv, timeout=120):
        raise AssertionError("no node to run on")

    def put_tar(self, node, dest_dir, tar_bytes):
        raise AssertionError("no node to copy to")


class NoDeploy(Deployer):
    def deploy(self, target, release, colour, event):
        raise AssertionError("not deployed here")


def _target(router, capabilities=frozenset()):
    return Target(kind="plain", router=router, fleet=EmptyFleet(), deployer=NoDeploy(), capabilities=capabilities)


def test_a_missing_capability_is_a_skipped_gate_check_with_its_reason():
    t = _target(StaticRouter())
    assert not t.supports(Capability.LB_READY) and "lb_ready" in t.lacks(Capability.LB_READY)
    with pytest.raises(Unsupported):
        t.router.ready("green")
    gate = run_gate(t, "green", "r2", run_id="x")
    (check,) = gate.checks
    assert check["check"] == "lb_sees_healthy" and "lb_ready" in check["skipped"] and gate.passed


def test_a_declared_capability_is_used_and_can_fail_the_gate():
    t = _target(StaticRouter(ready=(False, "load balancer: HAProxy sees green-1 down")),
                frozenset({Capability.LB_READY}))
    gate = run_gate(t, "green", "r2", run_id="x")
    assert not gate.passed and gate.reasons == ["load balancer: HAProxy sees green-1 down"]
    assert "skipped" not in gate.checks[0]


def test_a_registered_gate_check_runs_in_every_gate_and_can_refuse(monkeypatch):
    """The gate's extension point: one decorated function, run_gate never names it; its failing row refuses."""
    from harness.checks import gate as gate_mod
    monkeypatch.setattr(gate_mod, "GATE_CHECKS", list(gate_mod.GATE_CHECKS))
    seen = []

    @gate_mod.gate_check("downgrade_readable")
    def _probe(g, res):
        seen.append((g.new_colour, g.old_colour, g.new_release))
        res.add("downgrade_readable", "blue-1", False, "blue-1: the old release cannot read green's session")

    gate = run_gate(_target(StaticRouter()), "green", "r2", run_id="x")
    assert seen == [("green", "blue", "r2")]
    assert not gate.passed and gate.reasons == ["blue-1: the old release cannot read green's session"]
    assert [c["check"] for c in gate.checks] == ["lb_sees_healthy", "downgrade_readable"]


def test_db_capability_is_the_db_role():
    t = _target(StaticRouter())
    assert not t.supports(Capability.DB) and "db" not in t.describe()["capabilities"]
    t.db = object()
    assert t.supports(Capability.DB) and "db" in t.describe()["capabilities"]


class PlainSection(Strict):
    upstream: str


@pytest.fixture
def plain_kind():
    @contextlib.contextmanager
    def open_plain(cfg, opts):
        yield _target(StaticRouter())

    kinds.register(kinds.TargetKind("plain", open_plain, section=PlainSection))
    config_model.cache_clear()
    yield
    kinds.kinds().pop("plain")
    config_model.cache_clear()


def test_a_new_kind_is_one_registration_with_its_own_section(tmp_path, plain_kind):
    p = tmp_path / "greenlight.toml"
    p.write_text('[target]\nkind = "plain"\n[plain]\nupstream = "127.0.0.1:8080"\n')
    cfg = load_config(p)
    assert isinstance(cfg.section(), BaseModel) and cfg.plain.upstream == "127.0.0.1:8080"
    with open_target(str(p)) as t:
        assert t.kind == "plain" and t.live_colour() == "blue"
    p.write_text('[target]\nkind = "plain"\n')
    with pytest.raises(ConfigError, match=r"no \[plain\] section"):
        load_config(p)
    p.write_text('[target]\nkind = "plain"\n[plain]\nupstream = "x"\nweight = 3\n')
    with pytest.raises(ConfigError, match=r"plain\.weight: unknown key"):
        load_config(p)


def test_an_unknown_kind_names_the_known_ones(tmp_path):
    p = tmp_path / "greenlight.toml"
    p.write_text('[target]\nkind = "kubernetes"\n')
    with pytest.raises(ConfigError, match="unknown target kind 'kubernetes': use one of compose, digitalocean"):
        load_config(p)


def test_dry_run_is_refused_by_kinds_that_cannot_plan(tmp_path):
    p = tmp_path / "greenlight.toml"
    p.write_text('[target]\nkind = "compose"\n')
    with pytest.raises(TargetError, match="needs no plan"), open_target(str(p), dry_run=True):
        pass
