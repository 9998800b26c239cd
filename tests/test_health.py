"""The one /healthz probe: it says who answered, and never raises for a node that is down."""
import socket

from harness.targets import health


def test_probe_of_a_closed_port_reports_the_transport_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    h = health.probe(f"http://127.0.0.1:{port}", timeout=1)
    assert h.status is None and not h.ok and h.problem == "ConnectError"


def test_wait_healthy_gives_up_with_the_last_problem():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ok, last = health.wait_healthy(f"http://127.0.0.1:{port}", what="n", timeout=0.3, interval=0.1)
    assert not ok and "ConnectError" in str(last)
