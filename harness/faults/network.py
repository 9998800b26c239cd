"""Network faults on one node, applied inside the node's network namespace from the host (nsenter + the host's
tc / iptables, installed by scripts/bootstrap-engine.sh): latency, packet loss, and a partition from Redis or the
DB. Every rule carries the comment `greenlight-fault` so heal removes exactly what a fault added."""
from __future__ import annotations

from harness.faults.base import FaultError
from harness.faults.node import NodeFault, NodeKill

TAG = "greenlight-fault"
DEV = "eth0"


def _rules(fault: NodeFault, chain: str) -> list[str]:
    p = fault.replica.nsenter(fault.node, ["iptables", "-S", chain])
    return [line for line in p.stdout.splitlines() if TAG in line]


def _drop_tagged_rules(fault: NodeFault) -> None:
    """Delete every rule a fault added to this node (a restarted container has a fresh namespace: nothing to do)."""
    if fault.replica.status(fault.node) != "running":
        NodeKill(node=fault.node).heal({})
        return
    for chain in ("INPUT", "OUTPUT"):
        for rule in _rules(fault, chain):
            args = rule.split()
            args[0] = "-D"  # "-A CHAIN …" → "-D CHAIN …"
            fault.replica.nsenter(fault.node, ["iptables", *[a.strip('"') for a in args]])


class NetLatency(NodeFault):
    """Responses of one node slowed down: netem delay where the kernel has it, else a congested web link (a low
    rate on what the node sends from its web port: every response queues behind the previous ones).

    The fallback shapes only the web port, as netem's delay touches every packet but drops none: a shaper on the
    whole link also starved the node's own Redis and DB connections (connect timeouts, 500s), a different fault
    (cut-redis, cut-db and net-loss are those)."""
    kind = "net-latency"
    family = "network"
    summary = "add latency to one node's network (tc netem, or a shaped congested web link)"

    def __init__(self, node: str, delay_ms: int = 300, rate_kbit: int = 384, **params):
        super().__init__(node=node, delay_ms=int(delay_ms), rate_kbit=int(rate_kbit), **params)

    def inject(self) -> dict:
        d = self.params["delay_ms"]
        p = self.replica.nsenter(self.node, ["tc", "qdisc", "replace", "dev", DEV, "root", "netem", "delay",
                                             f"{d}ms", f"{max(1, d // 10)}ms"], check=False)
        if p.returncode == 0:
            return {"mechanism": "netem"}
        if "unknown" not in (p.stderr or "").lower():
            raise FaultError(f"{self.node}: tc netem failed: {p.stderr.strip()[:200]}")
        rate = f"{self.params['rate_kbit']}kbit"
        tc = ["tc"]
        # htb: class 1:10 is the congested web link, 1:20 (the default) everything else at full speed; a tbf
        # under 1:10 bounds the queue (a response waits at most 4x the delay, then TCP retransmits).
        for cmd in (["qdisc", "replace", "dev", DEV, "root", "handle", "1:", "htb", "default", "20"],
                    ["class", "add", "dev", DEV, "parent", "1:", "classid", "1:10", "htb", "rate", rate,
                     "ceil", rate, "burst", "4kb", "quantum", "1514"],
                    ["class", "add", "dev", DEV, "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit",
                     "quantum", "60000"],
                    ["qdisc", "add", "dev", DEV, "parent", "1:10", "handle", "10:", "tbf", "rate", rate,
                     "burst", "4kb", "latency", f"{d * 4}ms"],
                    ["filter", "add", "dev", DEV, "parent", "1:", "protocol", "ip", "prio", "1", "u32",
                     "match", "ip", "sport", "80", "0xffff", "flowid", "1:10"]):
            self.replica.nsenter(self.node, tc + cmd)
        return {"mechanism": "shaped web link"}

    def heal(self, state: dict) -> None:
        if self.replica.status(self.node) != "running":
            NodeKill(node=self.node).heal({})
            return
        if self.in_effect(state):
            self.replica.nsenter(self.node, ["tc", "qdisc", "del", "dev", DEV, "root"])  # its classes and filter too

    def in_effect(self, state: dict) -> bool:
        out = self.replica.nsenter(self.node, ["tc", "qdisc", "show", "dev", DEV]).stdout
        return any(f" {q} " in out for q in ("netem", "tbf", "htb"))


class NetLoss(NodeFault):
    """A share of the packets reaching one node's web port are dropped (TCP retransmits: slow, sometimes failed
    requests, flapping health checks)."""
    kind = "net-loss"
    family = "network"
    summary = "drop a share of one node's inbound web packets (iptables statistic)"

    def __init__(self, node: str, percent: float = 20, **params):
        super().__init__(node=node, percent=float(percent), **params)

    def inject(self) -> dict:
        prob = f"{self.params['percent'] / 100:.3f}"
        self.replica.nsenter(self.node, ["iptables", "-I", "INPUT", "-p", "tcp", "--dport", "80", "-m", "statistic",
                                         "--mode", "random", "--probability", prob, "-m", "comment", "--comment", TAG,
                                         "-j", "DROP"])
        return {}

    def heal(self, state: dict) -> None:
        _drop_tagged_rules(self)

    def in_effect(self, state: dict) -> bool:
        return bool(_rules(self, "INPUT"))


PEERS = {"redis": 6379, "db": 3306}


class Partition(NodeFault):
    """One node cut off from a shared service (Redis or the DB): its packets to that service vanish, as in a
    network partition (no reset: connections time out)."""
    family = "network"
    peer = ""

    def inject(self) -> dict:
        ip = self.replica.ip(self.peer)
        self.replica.nsenter(self.node, ["iptables", "-I", "OUTPUT", "-d", ip, "-p", "tcp", "--dport",
                                         str(PEERS[self.peer]), "-m", "comment", "--comment", TAG, "-j", "DROP"])
        return {"peer_ip": ip}

    def heal(self, state: dict) -> None:
        _drop_tagged_rules(self)

    def in_effect(self, state: dict) -> bool:
        return bool(_rules(self, "OUTPUT"))


class CutRedis(Partition):
    kind = "cut-redis"
    summary = "cut one node off from Redis (packets dropped)"
    peer = "redis"


class CutDb(Partition):
    kind = "cut-db"
    summary = "cut one node off from the DB (packets dropped)"
    peer = "db"
