"""The fault journal: one JSON file per active fault, written (and fsynced) BEFORE the fault is injected and
removed only after it was healed. Whoever finds an entry — the `finally` of the run that injected it, or
`greenlight heal` after that run was SIGKILLed — can heal it from the entry alone.

The journal lives under .greenlight/faults/<compose project>/ so replica lanes never heal each other's faults.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness import PROJECT_ROOT

ROOT = PROJECT_ROOT


def journal_dir() -> Path:
    explicit = os.environ.get("GREENLIGHT_FAULT_JOURNAL")
    if explicit:
        return Path(explicit)
    project = os.environ.get("GREENLIGHT_PROJECT", "greenlight")
    return ROOT / ".greenlight" / "faults" / project


@dataclass
class Entry:
    kind: str                              # registry name of the fault family (harness.faults.FAULTS)
    params: dict                           # what the drill asked for (node, seconds, …)
    state: dict = field(default_factory=dict)   # what heal needs that inject learned (an IP, a rule)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    status: str = "injecting"              # injecting → active (→ removed once healed)
    owner_pid: int = field(default_factory=os.getpid)
    created: float = field(default_factory=time.time)
    description: str = ""


class Journal:
    def __init__(self, directory: str | Path | None = None):
        self.dir = Path(directory) if directory else journal_dir()

    def _path(self, entry_id: str) -> Path:
        return self.dir / f"{entry_id}.json"

    def write(self, entry: Entry) -> Entry:
        """Durable before returning: temp file, fsync, atomic rename, fsync the directory."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / f".{entry.id}.tmp"
        with open(tmp, "w") as fh:
            json.dump(asdict(entry), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path(entry.id))
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry

    def remove(self, entry_id: str) -> None:
        self._path(entry_id).unlink(missing_ok=True)

    def entries(self) -> list[Entry]:
        if not self.dir.is_dir():
            return []
        out = []
        for p in sorted(self.dir.glob("*.json"), key=lambda p: p.stat().st_mtime):
            try:
                out.append(Entry(**json.loads(p.read_text())))
            except (ValueError, TypeError):
                # A torn or foreign file is still a fault nobody can heal: say so rather than skip it.
                out.append(Entry(kind="unreadable", params={"file": str(p)}, id=p.stem, status="unreadable"))
        return out
