"""A static version reused with other files is refused when an earlier release on the node may have served it
(browsers and CDNs cache versioned URLs for a year), but not when that release's switch was refused: its files
never reached a customer. The node's shell scripts run for real against a directory tree laid out like a node's."""
import subprocess

from harness.checks.static_digests import NEVER_LIVE, ReleaseStatic, mark_never_live, read_node, reused_by_earlier
from harness.run.deploy import ExecDeployer
from harness.targets.base import ExecResult, Fleet, Node, Target
from tests.test_deploy import NoRouter


class LocalFleet(Fleet):
    """One node per colour whose commands run on this machine (the node's filesystem is a temporary tree)."""

    def nodes(self, colour):
        return [Node(f"{colour}-1", colour, "http://127.0.0.1:9")]

    def exec(self, node, argv, timeout=120):
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        return ExecResult(p.returncode, p.stdout, p.stderr)

    def put_tar(self, node, dest, data):
        raise AssertionError("read-only")


def _release(root, rid, version, css):
    static = root / "releases" / rid / "pub" / "static"
    (static / "frontend").mkdir(parents=True)
    (static / "deployed_version.txt").write_text(f"{version}\n")
    (static / "frontend" / "styles.css").write_text(css)
    return root / "releases" / rid


def _target(root):
    t = Target(kind="fake", router=NoRouter(), fleet=LocalFleet(), deployer=ExecDeployer())
    t.magento_root = str(root / "current")
    return t


def test_an_earlier_release_with_the_same_version_and_other_files_is_named(tmp_path):
    _release(tmp_path, "r1", "100", "body{}")
    new_dir = _release(tmp_path, "r2", "100", "body{color:red}")
    t = _target(tmp_path)
    node = t.nodes("green")[0]
    new = read_node(t, node, "r2", root=str(new_dir))
    why = reused_by_earlier(t, node, new, root=t.magento_root)
    assert why and "release r1's static version 100" in why and "frontend/styles.css" in why


def test_a_release_whose_switch_was_refused_does_not_count(tmp_path):
    _release(tmp_path, "bad", "100", "body{}")
    new_dir = _release(tmp_path, "r2", "100", "body{color:red}")
    t = _target(tmp_path)
    node = t.nodes("green")[0]
    events = []
    mark_never_live(t, "green", "bad", lambda e, **k: events.append((e, k)))
    assert (tmp_path / "releases" / "bad" / NEVER_LIVE).exists()
    assert events == [("release_never_live", {"release": "bad", "nodes": ["green-1"]})]
    new = read_node(t, node, "r2", root=str(new_dir))
    assert reused_by_earlier(t, node, new, root=t.magento_root) is None


def test_same_files_or_another_version_is_no_reuse(tmp_path):
    _release(tmp_path, "r1", "100", "body{}")
    _release(tmp_path, "r0", "99", "p{}")
    new_dir = _release(tmp_path, "r2", "100", "body{}")
    t = _target(tmp_path)
    node = t.nodes("green")[0]
    new = read_node(t, node, "r2", root=str(new_dir))
    assert isinstance(new, ReleaseStatic) and new.version == "100"
    assert reused_by_earlier(t, node, new, root=t.magento_root) is None
