"""This replica lane's view of a target file: the shipped DO simulator example rewritten to the lane's ports
(scripts/lane.sh) and this run's SSH config, so drills and tests reach the lane's replica and simulator, never the
default lane's. Harness-side (the simulator re-exports it), so the harness never imports the simulator."""
from __future__ import annotations


def lane_config(example: str, api_port: int, **replace: str) -> str:
    """examples/digitalocean/greenlight-simulator.toml with this replica lane's ports (scripts/lane.sh) and this
    run's SSH config, so tests reach the lane's replica and simulator, never the default lane's."""
    import os
    import re

    from harness.targets.replica import ssh as replica_ssh

    env = os.environ.get
    ports = {"8090": str(api_port), "8080": env("GREENLIGHT_LB_PORT", "8080")}
    for name, web in (("blue-1", 8081), ("blue-2", 8082), ("green-1", 8083), ("green-2", 8084)):
        ports[str(web)] = env(f"GREENLIGHT_{name.replace('-', '').upper()}_PORT", str(web))
    text = re.sub(r"127\.0\.0\.1:(\d{4})\b", lambda m: "127.0.0.1:" + ports.get(m[1], m[1]), example)
    text = re.sub(r"^port = 3307$", f"port = {env('GREENLIGHT_DB_PORT', '3307')}", text, flags=re.MULTILINE)
    text = re.sub(r"^config = .*\n", "", text, flags=re.MULTILINE)
    ssh_ports = ", ".join(f'"{n}" = {replica_ssh.ssh_port(n)}' for n in ("blue-1", "blue-2", "green-1", "green-2"))
    text = re.sub(r"^ports = \{.*\}$", f'ports = {{ {ssh_ports} }}\nconfig = "{replica_ssh.config_path()}"',
                  text, flags=re.MULTILINE)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text
