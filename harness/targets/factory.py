"""Open a target by name: 'local' (the replica) or a greenlight.toml file, through the kind registry."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from harness.config.kinds import OpenOptions, get
from harness.targets.base import Target, TargetError

LOCAL = "compose"   # the kind 'local' names


@contextlib.contextmanager
def open_target(spec: str | None = "local", *, manage_stack: bool = True, dry_run: bool = False) -> Iterator[Target]:
    """Yield a ready target, closed again afterwards. A local replica started here is stopped again (unless
    manage_stack is False), so the machine is left as it was found."""
    cfg = None
    if spec in ("local", "", None):
        kind = get(LOCAL)
    else:
        path = Path(spec)
        if not path.is_file():
            raise TargetError(f"--target {spec}: no such file; pass 'local' or a greenlight.toml")
        from harness.config import load_config

        cfg = load_config(path)
        kind = get(cfg.target.kind)
    if dry_run and not kind.can_dry_run:
        raise TargetError(f"--dry-run plans targets that change a remote system; target kind {kind.name!r} "
                          "(the local replica) needs no plan")
    with kind.open(cfg, OpenOptions(manage_stack=manage_stack, dry_run=dry_run)) as target:
        yield target
