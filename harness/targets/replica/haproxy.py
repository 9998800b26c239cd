"""HAProxy's runtime API (the admin socket, over TCP on loopback): switch and read the live backend
without a reload."""
from __future__ import annotations

import socket


class HAProxyError(RuntimeError):
    pass


class RuntimeAPI:
    def __init__(self, host: str = "127.0.0.1", port: int = 9999, timeout: float = 3.0):
        self.host, self.port, self.timeout = host, port, timeout

    def command(self, cmd: str) -> str:
        """One command per connection (the non-interactive mode): send, read until HAProxy closes."""
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as s:
                s.sendall(cmd.encode() + b"\n")
                chunks = []
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    chunks.append(b)
        except OSError as exc:
            raise HAProxyError(f"HAProxy runtime API at {self.host}:{self.port} unreachable: {exc}") from None
        out = b"".join(chunks).decode(errors="replace")
        if out.startswith(("Unknown command", "Missing", "Unknown")) or "No such" in out[:80]:
            raise HAProxyError(f"HAProxy refused {cmd.split()[0:2]}: {out.strip()[:200]}")
        return out

    def show_map(self, map_file: str) -> dict[str, str]:
        out = {}
        for line in self.command(f"show map {map_file}").splitlines():
            parts = line.split()
            if len(parts) >= 3:  # "<ref> <key> <value>"
                out[parts[1]] = parts[2]
        return out

    def set_map(self, map_file: str, key: str, value: str) -> None:
        out = self.command(f"set map {map_file} {key} {value}").strip()
        if out:
            raise HAProxyError(f"set map {key} {value}: {out[:200]}")

    def servers(self, backend: str) -> list[dict]:
        """`show servers state`: name, operational state (0 stopped, 1 starting, 2 running, 3 stopping),
        admin state (forced, inherited or resolver maintenance: bits 0x01, 0x02, 0x20; 0x04 only records that the config said `disabled`)."""
        lines = self.command(f"show servers state {backend}").splitlines()
        header = next((line for line in lines if line.startswith("# be_id")), None)
        if header is None:
            raise HAProxyError(f"unexpected `show servers state {backend}` output")
        cols = header[2:].split()
        rows = []
        for line in lines:
            parts = line.split()
            if not line.startswith("#") and len(parts) == len(cols):  # skips the leading format-version line
                rows.append(dict(zip(cols, parts, strict=False)))
        return [{"name": r["srv_name"], "up": r["srv_op_state"] == "2",
                 "maint": bool(int(r["srv_admin_state"]) & 0x23)} for r in rows]

    def set_server_state(self, backend: str, server: str, state: str) -> None:
        out = self.command(f"set server {backend}/{server} state {state}").strip()
        if out:
            raise HAProxyError(f"set server {backend}/{server} state {state}: {out[:200]}")
