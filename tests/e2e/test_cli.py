"""The command line: status, a verified manual rollback (and back), and one clear line for bad input."""
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.replica


def gl(*args):
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, timeout=300)


def test_status_json_names_the_live_colour_and_every_node(gl_target):
    p = gl("status", "--json")
    assert p.returncode == 0, p.stderr
    st = json.loads(p.stdout)
    assert st["live"] == gl_target.live_colour()
    assert set(st["nodes"]) == {"blue-1", "blue-2", "green-1", "green-2"}
    assert all(n["healthy"] and n["release"] for n in st["nodes"].values())
    # What a run needs, beyond health: the DB with this checkout's password, commands on every node, our replica.
    needs = {n["what"]: n for n in st["needs"]}
    assert needs["shop DB"]["ok"] and needs["replica owner"]["ok"], needs
    assert all(needs[f"{n} commands"]["ok"] for n in st["nodes"]), needs


def test_status_names_db_credentials_that_do_not_work_without_printing_them(gl_target):
    """A replica made by another checkout holds another DB password: status says so with the fix, exits 1, and
    never prints the password it tried."""
    import os

    wrong = "not-the-password-" + os.urandom(4).hex()
    p = subprocess.run([sys.executable, "-m", "harness.cli", "status"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "GREENLIGHT_DB_PASSWORD": wrong})
    assert p.returncode == 1, p.stdout + p.stderr
    line = next(ln for ln in p.stdout.splitlines() if "shop DB" in ln)
    assert "FAILED" in line and "greenlight down" in line, line
    assert wrong not in p.stdout + p.stderr


def _idle_gets(gl_target, release):
    idle = "green" if gl_target.live_colour() == "blue" else "blue"
    p = gl("deploy", "--colour", idle, "--release-dir", release)
    assert p.returncode == 0, p.stderr


def test_manual_rollback_refuses_an_unhealthy_colour(gl_target):
    from harness.run.cutover import live_release

    _idle_gets(gl_target, "bad-healthz-lies")
    start = gl_target.live_colour()
    p = gl("rollback")
    assert p.returncode == 2 and "failed its gate" in p.stderr, p.stderr
    assert gl_target.live_colour() == start
    _idle_gets(gl_target, live_release(gl_target))


def test_manual_rollback_switches_and_verifies_then_back(gl_target):
    from harness.run.cutover import live_release

    _idle_gets(gl_target, live_release(gl_target))  # whatever an earlier test left on the idle colour
    start = gl_target.live_colour()
    p = gl("rollback")
    assert p.returncode == 0, p.stderr
    assert "traffic converged" in p.stdout
    assert gl_target.live_colour() != start
    p = gl("rollback")
    assert p.returncode == 0, p.stderr
    assert gl_target.live_colour() == start


@pytest.mark.parametrize("args, fragment", [
    (["certify", "--release", "/etc"], "no manifest.json"),
    (["certify", "--release", "no-such-release"], "no such directory"),
    (["status", "--target", "/nonexistent.toml"], "no such file"),
])
def test_bad_input_is_one_clear_line_and_changes_nothing(gl_target, args, fragment):
    before = gl_target.live_colour()
    p = gl(*args)
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("greenlight: error:") and fragment in lines[0], p.stderr
    assert gl_target.live_colour() == before


def test_bad_target_file_is_one_line(tmp_path, gl_target):
    f = tmp_path / "g.toml"
    f.write_text('[target]\nkind = "digitalocean"\n[digitalocean]\nlb_id = "x"\nswitch_mode = "teleport"\n')
    p = gl("certify", "--target", str(f))
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert "digitalocean.switch_mode" in p.stderr
