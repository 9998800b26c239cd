"""testinfra hosts for the target's nodes, reached the way the target says: ssh:// on droplets, and on the local
replica when it runs with this run's SSH key (docker:// otherwise). Which nodes there are comes from the target,
so the same suite checks a fleet of any size and naming."""
from __future__ import annotations

import pytest
import testinfra

from harness.targets.base import COLOURS


def _target_nodes(spec: str) -> list:
    """The target's nodes, read without starting anything (used at collection, to parametrize): each kind declares
    how (TargetKind.list_nodes)."""
    from pathlib import Path

    from harness.config import kinds, load_config
    from harness.targets.factory import LOCAL

    cfg = None if spec in ("local", "", None) else load_config(Path(spec))
    kind = kinds.get(cfg.target.kind if cfg else LOCAL)
    if kind.list_nodes is None:
        raise pytest.UsageError(f"target kind {kind.name!r} cannot list its nodes before it is opened: "
                                "the infra suite needs them to parametrise its tests")
    return kind.list_nodes(cfg)


def pytest_generate_tests(metafunc):
    if "node_name" in metafunc.fixturenames:
        names = [n.name for n in _target_nodes(metafunc.config.getoption("target"))]
        metafunc.parametrize("node_name", names)


@pytest.fixture(scope="session")
def nodes(gl_target) -> dict:
    return {n.name: n for c in COLOURS for n in gl_target.nodes(c)}


@pytest.fixture(scope="session")
def hosts(nodes) -> dict:
    """name -> testinfra host, over the backend the target names for the node."""
    return {name: testinfra.get_host(node.meta.get("testinfra") or f"docker://{node.address}")
            for name, node in nodes.items()}


@pytest.fixture
def node(nodes, node_name):
    return nodes[node_name]


@pytest.fixture
def host(hosts, node_name):
    return hosts[node_name]


@pytest.fixture(scope="session")
def first_of_each_colour(nodes) -> dict:
    """colour -> the first node of that colour (for blue/green comparisons)."""
    return {c: min(n for n, node in nodes.items() if node.colour == c) for c in COLOURS}
