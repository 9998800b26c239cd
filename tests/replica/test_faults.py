"""Every replica fault against the real replica: injected, observably in effect, healed, journal empty again."""
import time

import httpx
import pytest

from harness.faults import Journal, injected, make_fault
from harness.faults.replica import Replica

# In `pytest -m chaos` and `make test` (--gl-chaos); the nightly marker keeps them out of a plain `pytest`.
pytestmark = [pytest.mark.replica, pytest.mark.chaos, pytest.mark.nightly]


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "journal")


@pytest.fixture(scope="module")
def replica(gl_target):
    return Replica()


@pytest.fixture(scope="module")
def url(gl_target):
    return {n.name: n.url for c in ("blue", "green") for n in gl_target.nodes(c)}


def _get(u: str, timeout: float = 2.0) -> httpx.Response | str:
    try:
        return httpx.get(u, timeout=timeout)
    except httpx.HTTPError as exc:
        return type(exc).__name__


def _healthy(u: str) -> bool:
    r = _get(u + "/healthz", timeout=5)  # generous: the machine is shared and often saturated
    return not isinstance(r, str) and r.status_code == 200


def _wait(pred, timeout=15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.25)
    return False


def _after_heal(journal, node_url):
    assert journal.entries() == []
    assert _wait(lambda: _healthy(node_url), 60), "node not healthy after heal"


@pytest.mark.parametrize("kind", ["node-kill", "node-pause"])
def test_dead_or_frozen_node_answers_nothing(kind, journal, url):
    u = url["green-2"]
    with injected(make_fault(kind, node="green-2"), journal) as inj:
        assert [e.kind for e in journal.entries()] == [kind]
        assert inj.fault.in_effect(inj.entry.state)
        assert isinstance(_get(u + "/healthz", timeout=1.5), str)  # refused / timed out, no HTTP answer
    _after_heal(journal, u)


def test_exec_on_a_frozen_node_is_bounded_and_a_paused_one_is_one_line(journal, gl_target):
    """A node frozen mid-command freezes its own coreutils `timeout` too: the host stops waiting and says the
    command timed out; an exec into a node already paused is a one-line TargetError (no container id)."""
    import threading

    from harness.targets.base import TargetError
    from harness.targets.replica.target import HOST_GRACE_S, KILL_GRACE_S

    node = next(n for n in gl_target.nodes("green") if n.name == "green-1")
    fault = make_fault("node-pause", node="green-1")
    with injected(fault, journal):
        with pytest.raises(TargetError, match=r"^green-1: cannot run true: the container is paused"):
            gl_target.exec(node, ["true"], timeout=5)
    _wait(lambda: Replica().status("green-1") == "running")
    pause = threading.Timer(0.5, lambda: Replica().container("green-1").pause())
    t0 = time.monotonic()
    pause.start()
    try:
        r = gl_target.exec(node, ["sleep", "3"], timeout=2)
    finally:
        pause.join()
        if Replica().status("green-1") == "paused":
            Replica().container("green-1").unpause()
    took = time.monotonic() - t0
    assert r.timed_out and not r.ok and "did not return" in r.stderr, r
    assert took < 2 + KILL_GRACE_S + HOST_GRACE_S + 3, f"the exec held the caller {took:.1f} s"


def test_php_fpm_stopped_nginx_still_answers_502(journal, url):
    u = url["green-2"]
    with injected(make_fault("php-fpm-stop", node="green-2"), journal) as inj:
        r = _get(u + "/healthz")
        assert not isinstance(r, str) and r.status_code == 502, r
        assert r.headers.get("X-Served-By") == "green-2"  # nginx itself answered
        assert inj.fault.in_effect(inj.entry.state)
    _after_heal(journal, u)


def test_disk_fill_leaves_no_byte_free_and_heals_to_the_old_tmp(journal, replica):
    rc, _ = replica.exec("green-2", ["sh", "-c", "echo keep > /tmp/greenlight-keep"])
    assert rc == 0
    with injected(make_fault("disk-fill", node="green-2", size_mb=2), journal) as inj:
        rc, out = replica.exec("green-2", ["sh", "-c", "echo more > /tmp/another-file"])
        assert rc != 0, out  # ENOSPC (or EIO from the shell's write): nothing more fits
        rc, out = replica.exec("green-2", ["df", "-P", "/tmp"])
        assert out.splitlines()[-1].split()[4] == "100%", out
        assert inj.fault.in_effect(inj.entry.state)
    rc, out = replica.exec("green-2", ["cat", "/tmp/greenlight-keep"])
    assert rc == 0 and out.strip() == "keep"
    assert journal.entries() == []


def test_latency_slows_the_node(journal, url):
    u = url["green-2"] + "/"

    def timed(n: int = 4) -> float:
        """n pages back to back: where the kernel lacks netem the fault is a shaped web link, whose 4 kB burst a
        single 3 kB page fits in; several in a row queue behind each other, as on a congested link."""
        t = time.monotonic()
        for _ in range(n):
            r = _get(u, timeout=10)
            assert not isinstance(r, str), r
        return time.monotonic() - t

    before = min(timed() for _ in range(2))
    with injected(make_fault("net-latency", node="green-2", delay_ms=300, rate_kbit=48), journal) as inj:
        slow = timed()
        assert slow > before + 0.3, (before, slow, inj.entry.state)
        assert inj.fault.in_effect(inj.entry.state)
    assert not inj.fault.in_effect(inj.entry.state)  # timing after heal is CPU noise on a shared machine
    assert journal.entries() == []


def test_total_packet_loss_times_the_node_out(journal, url):
    u = url["green-2"]
    with injected(make_fault("net-loss", node="green-2", percent=100), journal):
        # docker-proxy accepts on loopback, so the silence shows as a read (or connect) timeout
        assert _get(u + "/healthz", timeout=1.5) in ("ConnectTimeout", "ReadTimeout")
    _after_heal(journal, u)


@pytest.mark.parametrize("kind,part", [("cut-redis", "redis"), ("cut-db", "db")])
def test_partition_from_a_shared_service_fails_health(kind, part, journal, url):
    u = url["green-2"]
    with injected(make_fault(kind, node="green-2"), journal):
        r = _get(u + "/healthz", timeout=15)
        assert not isinstance(r, str) and r.status_code == 503, r
        assert part in r.json().get("failing", []), r.text
        assert _healthy(url["green-1"]), "the partition must cut only the one node"
    _after_heal(journal, u)


def _redis(replica, *args):
    rc, out = replica.exec("redis", ["redis-cli", "-n", "2", *args])
    assert rc == 0, out
    return out.strip()


@pytest.mark.parametrize("persistent", [True, False])
def test_redis_restart_keeps_sessions_only_with_persistence(persistent, journal, replica, url):
    _redis(replica, "set", "greenlight:test:session", "alive")
    started = replica.container("redis").attrs["State"]["StartedAt"]
    with injected(make_fault("redis-restart", persistent=persistent), journal):
        pass
    assert replica.container("redis").attrs["State"]["StartedAt"] != started
    assert _redis(replica, "get", "greenlight:test:session") == ("alive" if persistent else "")
    assert _wait(lambda: all(_healthy(u) for u in url.values()), 30)
    assert journal.entries() == []


@pytest.mark.parametrize("kind,service", [("db-restart", "db"), ("lb-restart", "lb")])
def test_service_restart_comes_back(kind, service, journal, replica, gl_target):
    live = gl_target.live_colour()
    started = replica.container(service).attrs["State"]["StartedAt"]
    with injected(make_fault(kind), journal):
        pass
    c = replica.container(service)
    c.reload()
    assert c.attrs["State"]["StartedAt"] != started
    assert _wait(lambda: _healthy(gl_target.lb_url), 30)
    assert gl_target.live_colour() == live  # the LB comes back on the colour it served
    assert journal.entries() == []


def test_lb_reload_drops_nothing(journal, gl_target):
    errors, n = [], 0
    with httpx.Client(timeout=10) as c, injected(make_fault("lb-reload"), journal):
        end = time.monotonic() + 3
        while time.monotonic() < end:
            n += 1
            try:
                if c.get(gl_target.lb_url + "/healthz").status_code != 200:
                    errors.append("status")
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
    assert n > 20 and not errors, errors
