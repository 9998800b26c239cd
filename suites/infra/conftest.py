import pytest
import testinfra

NODES = ("blue-1", "blue-2", "green-1", "green-2")


@pytest.fixture(scope="session")
def hosts(gl_target):
    """testinfra hosts for every node of the target (docker backend on the local replica)."""
    out = {}
    for colour in ("blue", "green"):
        for node in gl_target.nodes(colour):
            backend = node.meta.get("testinfra") or f"docker://{node.address}"
            out[node.name] = testinfra.get_host(backend)
    return out
