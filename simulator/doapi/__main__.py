"""python -m simulator.doapi [--port N] [--haproxy HOST:PORT|memory] [--time-scale F] (token from $DOAPI_TOKEN).

Defaults follow the replica lane (scripts/lane.sh): GREENLIGHT_DOAPI_PORT, GREENLIGHT_LB_ADMIN_PORT.
--time-scale scales DO's waits (health-check interval, idle timeout; not the check's response timeout): 1 is DO's
real timing, 0.1 makes a 5 x 10 s healthy threshold take 5 s. --haproxy memory runs without a replica; --front-port
then serves a stand-in LB answering with the identity headers of the droplets serving now."""
import argparse
import os
import signal
import subprocess
import sys

from harness.targets.replica.haproxy import RuntimeAPI
from simulator.doapi.backends import HAProxyBackend, MemoryBackend
from simulator.doapi.server import serve
from simulator.doapi.state import Account


def parser() -> argparse.ArgumentParser:
    env = os.environ.get
    p = argparse.ArgumentParser(prog="python -m simulator.doapi")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=int(env("GREENLIGHT_DOAPI_PORT", "8090")))
    p.add_argument("--haproxy", default=f"127.0.0.1:{env('GREENLIGHT_LB_ADMIN_PORT', '9999')}",
                   help="HAProxy runtime API, or 'memory' for no backend")
    p.add_argument("--apply-delay", type=float, default=1.0, help="seconds an LB change stays 'new' (403 busy)")
    p.add_argument("--time-scale", type=float, default=float(env("GREENLIGHT_DOAPI_TIME_SCALE", "1.0")),
                   help="factor on DO's waits (check interval, idle timeout); 1 = real")
    p.add_argument("--map-file", default="/etc/haproxy/live.map", help="HAProxy map holding the live backend")
    p.add_argument("--front-port", type=int, default=0, help="memory backend: serve a stand-in LB on this port")
    return p


def persist_in_lb_container(map_file: str):
    """The replica's LB keeps its map file inside its container: write the live backend there."""
    from harness.targets.replica import stack

    def persist(backend: str) -> None:
        subprocess.run(["docker", "exec", stack.container("lb"), "sh", "-c", f"echo 'live {backend}' > {map_file}"],
                       check=True, capture_output=True, timeout=15)
    return persist


def _interrupt(*_):
    raise KeyboardInterrupt


def main() -> int:
    a = parser().parse_args()
    token = os.environ.get("DOAPI_TOKEN")
    if not token:
        print("doapi: set DOAPI_TOKEN to the bearer token clients must send", file=sys.stderr)
        return 2
    if a.time_scale <= 0:
        print("doapi: --time-scale must be > 0", file=sys.stderr)
        return 2
    if a.haproxy == "memory":
        backend, initial = MemoryBackend(scale=a.time_scale), [101, 102]
    else:
        h, port = a.haproxy.rsplit(":", 1)
        backend = HAProxyBackend(RuntimeAPI(h, int(port)), map_file=a.map_file, scale=a.time_scale,
                                 persist=persist_in_lb_container(a.map_file))
        initial = backend.current_ids()
    httpd, _ = serve(Account(backend, initial, apply_delay=a.apply_delay), token, a.host, a.port)
    print(f"doapi listening on http://{a.host}:{a.port} (time scale {a.time_scale:g})", flush=True)
    if a.haproxy == "memory" and a.front_port:
        from simulator.doapi.front import Front, serve_front

        serve_front(Front(backend), a.host, a.front_port)
        print(f"doapi stand-in load balancer on http://{a.host}:{a.front_port}", flush=True)
    # SIGTERM (how tests and process managers stop it) ends like Ctrl-C, so the backend hands the LB back.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop = getattr(backend, "stop", None)
        if stop:
            stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
