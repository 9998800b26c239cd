"""python -m simulator.doapi --port 8090 --haproxy 127.0.0.1:9999 (token from $DOAPI_TOKEN).

--haproxy memory runs without a replica; --front-port then serves a stand-in LB answering with the identity
headers of the droplets serving now (for trying the driver's convergence checks)."""
import argparse
import os
import sys

from harness.haproxy import RuntimeAPI
from simulator.doapi.backends import HAProxyBackend, MemoryBackend
from simulator.doapi.server import serve
from simulator.doapi.state import Account


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m simulator.doapi")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--haproxy", default="127.0.0.1:9999", help="HAProxy runtime API, or 'memory' for no backend")
    p.add_argument("--apply-delay", type=float, default=1.0, help="seconds an LB change stays 'new' (403 busy)")
    p.add_argument("--healthy-after", type=float, default=2.0, help="memory backend: seconds a new droplet is DOWN")
    p.add_argument("--map-file", default="/etc/haproxy/live.map", help="HAProxy map holding the live backend")
    p.add_argument("--front-port", type=int, default=0, help="memory backend: serve a stand-in LB on this port")
    a = p.parse_args()
    token = os.environ.get("DOAPI_TOKEN")
    if not token:
        print("doapi: set DOAPI_TOKEN to the bearer token clients must send", file=sys.stderr)
        return 2
    if a.haproxy == "memory":
        backend, initial = MemoryBackend(healthy_after=a.healthy_after), [101, 102]
    else:
        h, port = a.haproxy.rsplit(":", 1)
        backend = HAProxyBackend(RuntimeAPI(h, int(port)), map_file=a.map_file)
        initial = backend.current_ids()
    httpd, _ = serve(Account(backend, initial, apply_delay=a.apply_delay), token, a.host, a.port)
    print(f"doapi listening on http://{a.host}:{a.port}", flush=True)
    if a.haproxy == "memory" and a.front_port:
        from simulator.doapi.front import Front, serve_front

        serve_front(Front(backend), a.host, a.front_port)
        print(f"doapi stand-in load balancer on http://{a.host}:{a.front_port}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
