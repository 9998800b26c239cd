"""A release directory: its manifest, validated, and the artifact shipped to nodes.

A release is a directory holding `manifest.json`. `extends` may name a base code directory (relative to the
release); the artifact is then the base with the release directory laid over it.
"""
from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from harness import PROJECT_ROOT

MANIFEST = "manifest.json"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SKIP = {".git", "__pycache__", ".DS_Store"}


class ReleaseError(ValueError):
    """A release directory that is not a release; the message says what to fix, in one line."""


@dataclass(frozen=True)
class Release:
    id: str
    path: Path
    schema_version: int
    static_version: int
    modules: dict[str, str] = field(default_factory=dict)
    migrations: tuple[str, ...] = ()
    deploy_steps: tuple[str, ...] = ()
    base: Path | None = None
    description: str = ""
    breaks: str = ""

    def artifact(self) -> bytes:
        """A tar of base + overlay, paths relative to the release root."""
        files: dict[str, Path] = {}
        for root in ([self.base] if self.base else []) + [self.path]:
            for p in sorted(root.rglob("*")):
                if p.is_file() and not (set(p.relative_to(root).parts) & _SKIP):
                    files[p.relative_to(root).as_posix()] = p
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for rel, p in sorted(files.items()):
                info = tar.gettarinfo(str(p), arcname=rel)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                with p.open("rb") as fh:
                    tar.addfile(info, fh)
        return buf.getvalue()


def load_release(path: str | Path) -> Release:  # noqa: C901 - one check per manifest problem, each its own message
    """Load and validate a release directory; ReleaseError says what is wrong and how to fix it."""
    p = Path(path)
    if not p.is_dir():
        raise ReleaseError(f"release {path}: not a directory; pass a release directory containing {MANIFEST}")
    mf = p / MANIFEST
    if not mf.is_file():
        raise ReleaseError(f"release {path}: no {MANIFEST}; a release directory needs one (see docs/architecture.md)")
    try:
        data = json.loads(mf.read_text())
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"release {mf}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ReleaseError(f"release {mf}: the manifest must be a JSON object")

    def need(key: str, kind: type):
        if key not in data:
            raise ReleaseError(f"release {mf}: missing '{key}'")
        if not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool)):
            raise ReleaseError(f"release {mf}: '{key}' must be {kind.__name__}")
        return data[key]

    rid = need("release", str)
    if not _ID.match(rid):
        raise ReleaseError(f"release {mf}: release id {rid!r} must be 1-64 of letters, digits, '.', '_', '-'")
    schema_version = need("schema_version", int)
    static_version = need("static_version", int)
    modules = data.get("modules", {})
    if not isinstance(modules, dict) or not all(isinstance(v, str) for v in modules.values()):
        raise ReleaseError(f"release {mf}: 'modules' must map module names to version strings")
    migrations = data.get("migrations", [])
    if not isinstance(migrations, list) or not all(isinstance(m, str) for m in migrations):
        raise ReleaseError(f"release {mf}: 'migrations' must be a list of file paths")
    for m in migrations:
        if not (p / m).is_file():
            raise ReleaseError(f"release {mf}: migration {m} does not exist in the release directory")
    steps = data.get("deploy_steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise ReleaseError(f"release {mf}: 'deploy_steps' must be a list of command names")
    base = None
    if data.get("extends"):
        base = (p / data["extends"]).resolve()
        if not base.is_dir():
            raise ReleaseError(f"release {mf}: 'extends' points at {base}, which is not a directory")
    return Release(
        id=rid, path=p.resolve(), schema_version=schema_version, static_version=static_version,
        modules=dict(modules), migrations=tuple(migrations), deploy_steps=tuple(steps), base=base,
        description=str(data.get("description", "")), breaks=str(data.get("breaks", "")),
    )


def releases_dir() -> Path:
    """The storefront simulator's shipped releases."""
    return PROJECT_ROOT / "simulator" / "storefront" / "releases"


def find_release(ref: str | Path) -> Release:
    """A release by directory path, or by id among the shipped releases."""
    p = Path(ref)
    if p.is_dir():
        return load_release(p)
    shipped = releases_dir() / str(ref)
    if shipped.is_dir():
        return load_release(shipped)
    raise ReleaseError(f"release {ref}: no such directory, and no shipped release of that id in {releases_dir()}")
