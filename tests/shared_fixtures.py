"""Fixtures more than one test module needs, defined once (tests/conftest.py registers them): the DigitalOcean API
simulator with a fresh token, and the fake store the Locust tests shop at."""
from __future__ import annotations

import secrets

import pytest

from simulator.doapi.testing import running

TOKEN = "dop_v1_" + secrets.token_hex(32)   # a token of DO's shape, new each session; never a real one
H = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def do():
    """A DigitalOcean API simulator of its own for one test (in memory, DO's quirks on)."""
    with running(TOKEN) as r:
        yield r


@pytest.fixture
def store():
    """The fake store (tests/test_traffic_fakestore.py) on a free loopback port, for one test."""
    from test_traffic_fakestore import FakeStore

    s = FakeStore().start()
    yield s
    s.stop()
