"""The DigitalOcean driver against the DO API simulator (memory backend + stand-in LB front): reading the live
colour, the three switch modes, DO's retry rules under control-plane faults, clean aborts that say which colour is
live, bad configuration refused before any write, dry runs, and the token kept out of every message."""
import time
from pathlib import Path

import httpx
import pytest

from harness.config import load_config
from harness.run.converge import wait_converged
from harness.targets.base import TargetError
from harness.targets.digitalocean.driver import DigitalOceanTarget
from harness.targets.retry import GaveUp
from simulator.doapi.state import LB_ID
from tests.shared_fixtures import TOKEN


@pytest.fixture
def cfg_file(tmp_path, do, monkeypatch):
    monkeypatch.setenv("GL_TEST_DO_TOKEN", TOKEN)

    def write(**over):
        d = {"api_base": do.url, "token_env": "GL_TEST_DO_TOKEN", "lb_id": LB_ID, "give_up_s": 8,
             "lb_url": do.lb_url, **over}
        lines = ["[target]", 'kind = "digitalocean"', "[digitalocean]"]
        lines += [f"{k} = {v}" if isinstance(v, (int, float, list)) else f'{k} = "{v}"' for k, v in d.items()]
        p = tmp_path / "greenlight.toml"
        p.write_text("\n".join(lines) + "\n")
        return p
    return write


def target(cfg_file, **over) -> DigitalOceanTarget:
    return DigitalOceanTarget(load_config(cfg_file(**over)))


def test_reads_live_colour_and_switches_with_a_full_replace_put(do, cfg_file):
    t = target(cfg_file)
    assert t.live_colour() == "blue"
    assert [n.name for n in t.nodes("green")] == ["green-1", "green-2"]
    assert t.nodes("green")[0].address == "127.0.0.1"
    before = t.load_balancer()
    t.switch("green")
    do.wait_applied([201, 202])
    after = t.load_balancer()
    assert t.live_colour() == "green" and after["droplet_ids"] == [201, 202]
    for field in ("forwarding_rules", "health_check", "sticky_sessions", "http_idle_timeout_seconds", "name",
                  "vpc_uuid", "size_unit", "redirect_http_to_https", "enable_backend_keepalive"):
        assert after[field] == before[field], f"{field} was reset by the PUT"
    assert TOKEN not in repr(t) and "Bearer" not in repr(t)


def test_configured_health_check_is_enforced_on_the_put(do, cfg_file, tmp_path):
    p = cfg_file()
    p.write_text(p.read_text() + "[digitalocean.health_check]\npath = \"/healthz\"\nhealthy_threshold = 2\n"
                 "unhealthy_threshold = 2\ncheck_interval_seconds = 3\nresponse_timeout_seconds = 3\n")
    t = DigitalOceanTarget(load_config(p))
    t.switch("green")
    hc = t.load_balancer()["health_check"]
    assert (hc["path"], hc["healthy_threshold"], hc["check_interval_seconds"]) == ("/healthz", 2, 3)


@pytest.mark.parametrize("mode", ["tag", "add_remove"])
def test_other_switch_modes(do, cfg_file, mode):
    t = target(cfg_file, switch_mode=mode)
    t.switch("green")
    do.wait_applied([201, 202])
    assert t.live_colour() == "green"
    t.switch("blue")
    do.wait_applied([101, 102])
    assert t.live_colour() == "blue"


def test_add_remove_takes_the_old_colour_out_only_once_traffic_shows_the_new(do, cfg_file):
    t = target(cfg_file, switch_mode="add_remove")
    t.switch("green")
    w = do.writes()
    assert [r["method"] for r in w] == ["POST", "DELETE"]
    # Not before green passed its 5 checks (10 s apart, scaled by 0.01) after the POST was applied.
    assert w[1]["ts"] - w[0]["ts"] >= do.backend.checker.time_to_healthy()
    do.wait_applied([201, 202])
    assert do.backend.serving() == [201, 202]


def test_add_remove_undoes_the_add_when_the_new_colour_never_gets_healthy(do, cfg_file):
    do.backend.failing |= {201, 202}
    t = target(cfg_file, switch_mode="add_remove", give_up_s=2)
    with pytest.raises(TargetError) as exc:
        t.switch("green")
    msg = str(exc.value)
    assert "green never answered" in msg and "took [201, 202] out again" in msg and "serves blue" in msg
    do.wait_applied([101, 102])
    assert t.live_colour() == "blue"


@pytest.mark.parametrize("fault, value", [("rate_limited", 4), ("busy", 3), ("errors_500", 3)])
def test_control_plane_faults_are_retried_to_completion(do, cfg_file, fault, value):
    t = target(cfg_file)
    httpx.post(f"{do.url}/_sim/faults", json={fault: value})
    t.switch("green")
    do.wait_applied([201, 202])
    assert t.live_colour() == "green"
    assert len([r for r in do.sim.requests if r["method"] == "PUT"]) >= (2 if fault == "busy" else 1)


def test_slow_apply_then_second_switch_waits_for_the_first(do, cfg_file):
    t = target(cfg_file)
    httpx.post(f"{do.url}/_sim/faults", json={"apply_delay": 0.6})
    t0 = time.monotonic()
    t.switch("green")     # returns once DO has applied it (status back from 'new')
    assert time.monotonic() - t0 >= 0.6 and do.backend.applied[-1] == [201, 202]
    t.switch("blue")
    assert t.live_colour() == "blue"


@pytest.mark.parametrize("fault, says", [("errors_500", "traffic at"), ("write_errors_500", "the API says")])
def test_endless_500s_give_up_with_the_old_colour_live_and_said(do, cfg_file, fault, says):
    t = target(cfg_file, give_up_s=2)
    assert t.live_colour() == "blue"
    httpx.post(f"{do.url}/_sim/faults", json={fault: 10_000})
    with pytest.raises(TargetError) as exc:
        t.switch("green")
    msg = str(exc.value)
    assert "switch blue -> green aborted" in msg and "gave up" in msg and "HTTP 500" in msg
    assert says in msg and ("shows blue" in msg or "serves blue" in msg)
    assert "\n" not in msg and TOKEN not in msg
    assert do.account.lb["droplet_ids"] == [101, 102]


def test_api_going_away_mid_switch_aborts_cleanly_with_the_old_colour_live(do, cfg_file):
    t = target(cfg_file, give_up_s=2)
    httpx.post(f"{do.url}/_sim/faults", json={"go_away_after_writes": 0})
    with pytest.raises(TargetError) as exc:
        t.switch("green")
    assert "gave up" in str(exc.value) and "shows blue" in str(exc.value)
    assert do.account.lb["droplet_ids"] == [101, 102] and do.backend.serving() == [101, 102]


def test_api_going_away_between_add_and_remove_says_both_colours_serve(do, cfg_file):
    """Nothing can be undone without the API: the driver must say so rather than claim one colour."""
    t = target(cfg_file, switch_mode="add_remove", give_up_s=2)
    httpx.post(f"{do.url}/_sim/faults", json={"go_away_after_writes": 1})
    with pytest.raises(TargetError) as exc:
        t.switch("green")
    assert "blue and green" in str(exc.value)


def test_wait_converged_is_observed_in_traffic(do, cfg_file):
    t = target(cfg_file)
    t0 = time.time()
    t.switch("green")
    started = wait_converged(t, "r2", quiet_s=0.5, timeout=10)     # the front answers green with release r2
    # The quiet streak began after the switch started and lasted at least quiet_s before the call returned.
    assert t0 <= started <= time.time() - 0.5
    with pytest.raises(GaveUp):
        wait_converged(t, "r9", quiet_s=0.2, timeout=1)


@pytest.mark.parametrize("mode, expected", [
    ("droplet_ids", ["PUT /v2/load_balancers/{lb} (full replace: droplet_ids=[101, 102, 201, 202], region=nyc3",
                     "wait until traffic", "PUT /v2/load_balancers/{lb} (full replace: droplet_ids=[201, 202]"]),
    ("tag", ["PUT /v2/load_balancers/{lb} (full replace: droplet_ids=[101, 102, 201, 202], region=nyc3",
             "wait until traffic", "PUT /v2/load_balancers/{lb} (full replace: tag='magento-green', region=nyc3"]),
    ("add_remove", ["POST /v2/load_balancers/{lb}/droplets droplet_ids=[201, 202]", "wait until traffic",
                    "DELETE /v2/load_balancers/{lb}/droplets droplet_ids=[101, 102]"]),
])
def test_dry_run_records_every_write_and_makes_none(do, cfg_file, mode, expected):
    t = DigitalOceanTarget(load_config(cfg_file(switch_mode=mode)), dry_run=True)
    t.switch("green")
    assert len(t.plan) == len(expected)
    for got, want in zip(t.plan, expected, strict=False):
        assert got.startswith(want.format(lb=LB_ID)), got
    assert do.writes() == []
    assert do.account.lb["droplet_ids"] == [101, 102]


@pytest.mark.parametrize("over, env, fragment", [
    ({}, {"GL_TEST_DO_TOKEN": ""}, "GL_TEST_DO_TOKEN is not set"),
    ({}, {"GL_TEST_DO_TOKEN": "dop_v1_wrong"}, "rejected the token"),
    ({"lb_id": "00000000-0000-0000-0000-000000000000"}, {}, "not found"),
    ({"blue_tag": "magento-bleu"}, {}, "no droplets for blue (tag magento-bleu)"),
    ({"region": "ams3"}, {}, "is in nyc3, not ams3"),
])
def test_bad_config_is_one_clear_line_and_no_write(do, cfg_file, monkeypatch, over, env, fragment):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(TargetError) as exc:
        target(cfg_file, **over)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)
    assert TOKEN not in str(exc.value)
    assert do.writes() == []


def test_both_colours_sticky_cookies_or_no_colour_are_refused(do, cfg_file):
    t = target(cfg_file)
    do.account.lb["droplet_ids"] = [101, 201]
    with pytest.raises(TargetError, match=r"serves \['blue', 'green'\]"):
        t.live_colour()
    do.account.lb["droplet_ids"] = [101, 102]
    do.account.lb["sticky_sessions"] = {"type": "cookies", "cookie_name": "DO-LB", "cookie_ttl_seconds": 300}
    with pytest.raises(TargetError, match="sticky cookies"):
        t.live_colour()
    do.account.lb["sticky_sessions"] = {"type": "none"}
    do.account.lb["tag"], do.account.lb["droplet_ids"] = "web", []
    with pytest.raises(TargetError, match="serves no colour"):
        t.live_colour()
    assert do.writes() == []


def test_add_remove_refuses_an_lb_on_a_tag_before_writing(do, cfg_file):
    t = target(cfg_file, switch_mode="add_remove")
    do.account.lb["tag"], do.account.lb["droplet_ids"] = "magento-blue", []
    with pytest.raises(TargetError, match="use switch_mode = 'tag'"):
        t.switch("green")
    assert do.writes() == []


def test_colours_by_droplet_ids(do, cfg_file, tmp_path):
    p = cfg_file()
    p.write_text(p.read_text() + "blue_ids = [101, 102]\ngreen_ids = [201, 202]\n")
    p.write_text(p.read_text().replace("[digitalocean]\n", '[digitalocean]\nblue_tag = ""\ngreen_tag = ""\n'))
    t = DigitalOceanTarget(load_config(p))
    assert t.live_colour() == "blue" and [n.meta["id"] for n in t.nodes("green")] == [201, 202]
    t.switch("green")
    assert t.live_colour() == "green"


def test_exec_and_put_tar_go_through_ssh_with_the_droplets_port_and_key(do, cfg_file, tmp_path, monkeypatch):
    """A stand-in `ssh` on PATH records its argv and runs the remote command locally."""
    import io
    import tarfile

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "ssh.log"
    (bin_dir / "ssh").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nfor a; do last="$a"; done\nexec sh -c "$last"\n')
    (bin_dir / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    p = cfg_file()
    p.write_text(p.read_text() + '[digitalocean.ssh]\nuser = "deploy"\nkey = "~/.ssh/gl_key"\n'
                 'ports = { "green-1" = 2223 }\n')
    t = DigitalOceanTarget(load_config(p))
    g1, g2 = t.nodes("green")
    r = t.exec(g1, ["echo", "it's here"])
    assert r.ok and r.stdout == "it's here\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("app/marker.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"r2"))
    dest = tmp_path / "releases" / "r2"
    t.put_tar(g2, str(dest), buf.getvalue())
    assert (dest / "app" / "marker.txt").read_text() == "r2"
    calls = log.read_text().splitlines()
    home = str(Path("~").expanduser())
    assert "-p 2223" in calls[0] and f"-i {home}/.ssh/gl_key" in calls[0] and "deploy@127.0.0.1" in calls[0]
    assert "-p 22 " in calls[1]
    assert g1.meta["testinfra"].startswith("ssh://deploy@127.0.0.1:2223?")


def test_deploy_hook_gets_the_idle_colours_hosts(do, cfg_file, tmp_path):
    out = tmp_path / "hook.out"
    t = target(cfg_file, deploy_hook=f"echo {{colour}} {{release}} {{hosts}} > {out}")
    events = []

    class Rel:
        id, path = "r2", tmp_path
    t.deploy_release(Rel, "green", lambda name, **kw: events.append(name))
    assert out.read_text().split() == ["green", "r2", "127.0.0.1,127.0.0.1"]
    # The hook migrates the DB itself: the old-code/new-schema rehearsal is not done, and the run says so.
    assert events == ["deploy_start", "rehearsal_skipped", "deploy_done"]
    t2 = target(cfg_file, deploy_hook="exit 3")
    with pytest.raises(TargetError, match="deploy hook failed for blue"):
        t2.deploy_release(Rel, "blue", lambda *a, **k: None)


def test_add_remove_refuses_when_the_lb_health_check_differs_from_the_config(do, cfg_file):
    p = cfg_file(switch_mode="add_remove")
    p.write_text(p.read_text() + "[digitalocean.health_check]\nhealthy_threshold = 2\n")
    t = DigitalOceanTarget(load_config(p))
    with pytest.raises(TargetError, match="health check differs"):
        t.switch("green")
    assert do.writes() == []


def test_the_probes_ask_the_health_path_the_load_balancer_checks(do, cfg_file):
    from harness.targets.factory import open_target

    p = cfg_file()
    with open_target(str(p)) as t:
        assert t.health_path == "/healthz"
    p.write_text(p.read_text() + '[digitalocean.health_check]\npath = "/health_check.php"\nhealthy_threshold = 2\n')
    with open_target(str(p)) as t:
        assert t.health_path == "/health_check.php"
