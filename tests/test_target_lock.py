"""One run per target (harness/targets/lock.py): the lock algorithm over marks, and its DigitalOcean form (tags on
the droplets of both colours, through the DO API simulator, which requires a tag to exist before it is used)."""
from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from harness.targets import lock
from harness.targets.base import TargetError
from harness.targets.lock import Holder, TargetLocked
from simulator.doapi.state import LB_ID
from tests.shared_fixtures import TOKEN, H


class Marks:
    """An in-memory locker; `on_add` lets a test make another run add its mark at the same moment."""

    def __init__(self):
        self.marks_: set[str] = set()
        self.on_add = None

    def marks(self):
        return sorted(self.marks_)

    def add(self, mark):
        self.marks_.add(mark)
        if self.on_add:
            self.on_add()

    def remove(self, mark):
        self.marks_.discard(mark)


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_a_second_run_is_refused_naming_the_holder_and_the_first_keeps_its_lock():
    m = Marks()
    first = Holder.me("glfirst")
    lock.acquire(m, first, "the replica")
    with pytest.raises(TargetLocked) as exc:
        lock.acquire(m, Holder.me("glsecond"), "the replica")
    msg = str(exc.value)
    assert "run glfirst" in msg and first.host in msg and "the replica" in msg and "heal" in msg
    assert m.marks() == [first.mark]                 # untouched: the refused run left no mark
    lock.release(m, first)
    lock.acquire(m, Holder.me("glthird"), "the replica")  # free again once released


def test_a_stale_lock_of_a_dead_run_is_cleared_and_named():
    m = Marks()
    dead = Holder("gldead", Holder.me("x").host, _dead_pid(), int(time.time()) - 60)
    old = Holder("glold", "elsewhere", 1, int(time.time() - lock.MAX_AGE_S - 10))
    m.add(dead.mark)
    m.add(old.mark)
    assert "gone" in dead.stale() and "longer than any run" in old.stale()
    me = Holder.me("glnew")
    cleared = lock.acquire(m, me, "t")
    assert {h.run_id for h, _ in cleared} == {"gldead", "glold"} and m.marks() == [me.mark]


def test_a_live_holder_on_another_host_is_never_taken_as_stale():
    m = Marks()
    other = Holder("glother", "ci-runner-7", 1, int(time.time()) - 3600)   # its pid means nothing here
    m.add(other.mark)
    assert other.stale() == ""
    with pytest.raises(TargetLocked, match="ci-runner-7"):
        lock.acquire(m, Holder.me("glme"), "t")


def test_two_runs_adding_at_once_agree_that_the_older_holds_it():
    m = Marks()
    me = Holder.me("glb")
    rival = Holder("gla", "ci-runner-7", 1, me.since - 1)      # took it a second earlier, read nothing yet
    m.on_add = lambda: m.marks_.add(rival.mark)
    with pytest.raises(TargetLocked, match="run gla"):
        lock.acquire(m, me, "t")
    assert m.marks() == [rival.mark]                            # we took our mark back


def test_marks_round_trip_and_foreign_tags_are_ignored():
    h = Holder.me("gl-1.2")
    assert Holder.parse(h.mark) == h
    assert Holder.parse("greenlight-blue") is None and Holder.parse("greenlight-lock:x") is None


# -- DigitalOcean: tags on the droplets of both colours ----------------------------------------------------------
@pytest.fixture
def cfg_file(tmp_path, do, monkeypatch):
    monkeypatch.setenv("GL_TEST_DO_TOKEN", TOKEN)
    p = tmp_path / "greenlight.toml"
    p.write_text(f'''[target]\nkind = "digitalocean"\n[digitalocean]\napi_base = "{do.url}"\ntoken_env = "GL_TEST_DO_TOKEN"
lb_id = "{LB_ID}"\ngive_up_s = 8\nlb_url = "{do.lb_url}"\n''')
    return p


def test_the_digitalocean_lock_is_a_tag_on_every_droplet_of_both_colours(do, cfg_file):
    from harness.targets.factory import open_target

    with open_target(str(cfg_file)) as t, open_target(str(cfg_file)) as t2:
        with lock.held(t, "glpipeline1") as (me, _):
            ids = {n.meta["id"] for c in ("blue", "green") for n in t.nodes(c)}
            tagged = {d["id"] for d in _droplets(do) if me.mark in d["tags"]}
            assert tagged == ids and len(ids) >= 2
            with pytest.raises(TargetLocked, match=f"load balancer .* held by run glpipeline1 on {me.host}"):
                with lock.held(t2, "glpipeline2"):
                    pass
        assert not any(t.startswith(lock.PREFIX) for d in _droplets(do) for t in d["tags"])


def test_the_simulator_refuses_a_tag_nobody_created(do):
    r = httpx.post(f"{do.url}/v2/tags/never-created/resources", headers=H,
                   json={"resources": [{"resource_id": "1", "resource_type": "droplet"}]})
    assert r.status_code == 404
    assert httpx.post(f"{do.url}/v2/tags", headers=H, json={"name": "now-created"}).status_code == 201


def _droplets(do) -> list[dict]:
    return httpx.get(f"{do.url}/v2/droplets?per_page=200", headers=H).json()["droplets"]


def test_a_target_error_is_a_one_line_refusal():
    assert issubclass(TargetLocked, TargetError)
