"""A live node that is frozen or dead during a cutover (a chaos drill's node-pause / node-kill, or a real incident)
must not fail the cutover's read-only steps on the live colour: they run on the nodes that answer and report the
one skipped. The idle colour is different: a new node that cannot be read is a reason to refuse."""
import pytest

from harness.checks.background_jobs import hand_over, installed_on
from harness.checks.static_digests import StaticProblem, learn_both
from harness.run.deploy import ExecDeployer
from harness.targets.base import ExecResult, Fleet, Node, Target, TargetError
from tests.test_deploy import NoRouter

LISTING = "3\n" + "a" * 64 + "  ./frontend/app.css\n"


class Fleet2(Fleet):
    """Both colours; nodes in `down` are paused (docker refuses the exec), in `frozen` the exec times out, `gone`
    cannot be reached (ssh fails)."""

    def __init__(self, down=(), frozen=(), gone=()):
        self.down, self.frozen, self.gone, self.calls = set(down), set(frozen), set(gone), []

    def nodes(self, colour):
        return [Node(f"{colour}-{i}", colour, f"http://127.0.0.1:{i}") for i in (1, 2)]

    def exec(self, node, argv, timeout=120):
        self.calls.append(node.name)
        if node.name in self.down:
            raise TargetError(f"{node.name}: cannot run {argv[0]}: Container is paused")
        if node.name in self.gone:           # a droplet powered off: ssh cannot connect (its exit code 255)
            return ExecResult(255, "", "ssh: connect to host 127.0.0.1 port 22023: Connection refused", False, True)
        if node.name in self.frozen:
            return ExecResult(124, "", "did not return (node frozen?)", True)
        if "releases" in argv[-1]:           # earlier releases on the node: none
            return ExecResult(0, "", "")
        return ExecResult(0, LISTING, "")

    def put_tar(self, node, dest, data):
        raise AssertionError("read-only")


def _target(**kw):
    t = Target(kind="fake", router=NoRouter(), fleet=Fleet2(**kw), deployer=ExecDeployer())
    t.background_job_commands = ("stop", "start")
    return t


@pytest.mark.parametrize("kw", [{"down": ["blue-1"]}, {"frozen": ["blue-2"]}, {"gone": ["blue-1"]}])
def test_live_static_digests_come_from_the_live_nodes_that_answer(kw):
    events = []
    out = learn_both(_target(**kw), "blue", "r1", "green", "r2", lambda e, **k: events.append((e, k)))
    assert set(out) == {"r1", "r2"} and out["r1"].assets == {"frontend/app.css": "a" * 64}
    skipped = [k["node"] for e, k in events if e == "live_node_skipped"]
    assert skipped == next(iter(kw.values()))


def test_no_live_node_answering_is_an_error_not_a_guess():
    with pytest.raises(TargetError, match="no live node could run the static digests"):
        learn_both(_target(down=["blue-1", "blue-2"]), "blue", "r1", "green", "r2", lambda e, **k: None)


@pytest.mark.parametrize("kw", [{"down": ["green-1"]}, {"frozen": ["green-2"]}])
def test_a_new_node_that_cannot_be_read_refuses_the_switch(kw):
    with pytest.raises(StaticProblem, match=r"green-\d: cannot read its static content"):
        learn_both(_target(**kw), "blue", "r1", "green", "r2", lambda e, **k: None)


@pytest.mark.parametrize("kw", [{"down": ["blue-2"]}, {"gone": ["blue-2"]}])
def test_handover_skips_an_unreachable_old_node_but_not_a_new_one(kw):
    events = []
    assert hand_over(_target(**kw), "blue", "green", lambda e, **k: events.append((e, k)))
    assert [(e, k["node"]) for e, k in events if e == "background_jobs_stop_skipped"] == [("background_jobs_stop_skipped", "blue-2")]
    assert events[-1][0] == "background_jobs_handover"
    with pytest.raises(TargetError, match="green-1"):
        hand_over(_target(down=["green-1"]), "blue", "green", lambda e, **k: None)


def test_the_rehearsal_verdict_names_the_live_nodes_that_were_skipped():
    from types import SimpleNamespace

    from harness.verdicts.rehearsal import _rehearsal

    events = [{"event": "live_node_skipped", "node": "blue-1", "step": "status check", "reason": "paused"},
              {"event": "rehearsal", "node": "blue-2", "live_smoke_ok": True}]
    v = _rehearsal(SimpleNamespace(events=events), None, None)
    assert v.passed and "on blue-2 passed" in v.detail and "blue-1 did not answer and were skipped" in v.detail
    v = _rehearsal(SimpleNamespace(events=events[1:]), None, None)
    assert "skipped" not in v.detail


def test_a_switch_while_the_lb_restarts_lands_on_the_new_colour_and_stays_there():
    """lb-restart at the switch (a chaos drill): the map file is written first, so a restarted HAProxy reads the new
    colour; the running map is set once the runtime API answers again; both are retried through the restart."""
    from harness.targets.replica.haproxy import HAProxyError
    from harness.targets.replica.target import HAProxyRouter

    class RestartingLb:
        def __init__(self):
            self.file, self.live, self.api_down, self.calls = "bk_blue", "bk_blue", 2, []

        def exec(self, node, argv, timeout=120):
            self.calls.append("persist")
            if len(self.calls) < 3:
                raise TargetError("lb: cannot run sh: the container is restarting")
            self.file = argv[-1].split()[2].strip("'")
            return ExecResult(0, "", "")

        def set_map(self, f, k, v):
            self.calls.append("set")
            if self.api_down:
                self.api_down -= 1
                raise HAProxyError("HAProxy runtime API unreachable: connection refused")
            self.live = v

        def show_map(self, f):
            return {"live": self.live}

    lb = RestartingLb()
    router = HAProxyRouter(fleet=None)
    router._fleet, router.api = lb, lb
    router.switch("green")
    assert lb.file == "bk_green" and lb.live == "bk_green"
    assert lb.calls == ["persist", "persist", "persist", "set", "set", "set"]  # the file first, then the LB


def test_a_new_node_whose_crontab_cannot_be_read_is_named_not_raised():
    """The gate asks which new nodes already run cron; a paused one must become a refusal reason (the cutover state
    machine saw the TargetError escape run_gate)."""
    running, unreadable = installed_on(_target(down=["green-1"]), "green")
    assert running == ["green-2"]
    assert len(unreadable) == 1 and unreadable[0].startswith("green-1: cannot run sh") and "paused" in unreadable[0]
    assert installed_on(_target(), "green") == (["green-1", "green-2"], [])
