"""Faults of the shared services every node depends on: Redis, the DB, the load balancer."""
from __future__ import annotations

import time

from harness.faults.base import Fault, FaultError
from harness.faults.replica import Replica


class ServiceFault(Fault):
    family = "service"
    service = ""

    def __init__(self, **params):
        super().__init__(**params)
        self.replica = Replica()

    def heal(self, state: dict) -> None:
        """Every service fault heals the same way: the container running (and healthy) again."""
        c = self.replica.container(self.service)
        c.reload()
        if c.status == "paused":
            c.unpause()
        elif c.status != "running":
            c.start()
        self.replica.wait_running(self.service, timeout=120)

    def in_effect(self, state: dict) -> bool:
        return self.replica.status(self.service) != "running"


class RedisRestart(ServiceFault):
    """Redis restarts. With its append-only file (the replica's configuration, as a real shop runs it) every
    session survives. `persistent = false` restarts it as a Redis WITHOUT persistence would come back: empty
    (the AOF and RDB files are removed first) — every session is lost, and the verdicts must say so."""
    kind = "redis-restart"
    service = "redis"
    summary = "restart Redis (with AOF: sessions survive; persistent=false: sessions lost, must be caught)"

    def __init__(self, persistent: bool = True, **params):
        super().__init__(persistent=bool(persistent), **params)

    def inject(self) -> dict:
        c = self.replica.container("redis")
        if self.params["persistent"]:
            c.restart(timeout=5)  # SIGTERM: Redis fsyncs its AOF and exits cleanly
        else:
            self.replica.exec("redis", ["sh", "-c", ("rm -rf /data/appendonlydir /data/appendonly.aof /data/dump.rdb;"
                                                     " redis-cli shutdown nosave")])
            # restart: unless-stopped brings an exited Redis back; make sure it happens, empty.
            time.sleep(0.5)
            c.reload()
            if c.status == "exited":
                c.start()
        self.replica.wait_running("redis", timeout=60)
        return {}

    def heal(self, state: dict) -> None:
        super().heal(state)
        if not self.params["persistent"]:
            # Persistence back on disk at once (the restart started from an empty AOF).
            rc, out = self.replica.exec("redis", ["redis-cli", "bgrewriteaof"])
            if rc != 0:
                raise FaultError(f"redis: bgrewriteaof failed: {out.strip()[:200]}")

    def in_effect(self, state: dict) -> bool:
        return False  # over once Redis answers again; what it lost stays lost


class ServiceRestart(ServiceFault):
    """`docker restart` of the service: SIGTERM, SIGKILL after `stop_s`, started again."""
    stop_s = 10

    def inject(self) -> dict:
        self.replica.container(self.service).restart(timeout=self.stop_s)
        return {}


class DbRestart(ServiceRestart):
    kind = "db-restart"
    service = "db"
    summary = "restart the DB (MariaDB, clean shutdown)"
    stop_s = 20


class LbRestart(ServiceRestart):
    """HAProxy restarts: every open connection is cut, new ones are refused until it is back. It comes back on the
    colour persisted in its map file."""
    kind = "lb-restart"
    service = "lb"
    charges = "lb"
    summary = "restart the load balancer (connections cut)"
    stop_s = 2


class LbReload(ServiceFault):
    """HAProxy reloads its configuration (master-worker SIGUSR2): a new worker takes new connections, the old one
    finishes what it has. Nothing may be lost."""
    kind = "lb-reload"
    service = "lb"
    charges = "lb"
    summary = "reload the load balancer (graceful, SIGUSR2 to the master)"

    def inject(self) -> dict:
        self.replica.container("lb").kill(signal="SIGUSR2")
        return {}

    def in_effect(self, state: dict) -> bool:
        return False
