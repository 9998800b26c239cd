"""Open a target by name: 'local' (the replica) or a greenlight.toml file."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from harness.targets.base import Target, TargetError


@contextlib.contextmanager
def open_target(spec: str = "local", *, manage_stack: bool = True) -> Iterator[Target]:
    """Yield a ready target. For the local replica, start it when it is down and stop it again afterwards,
    so the machine is left as it was found."""
    if spec in ("local", "", None):
        with _local(manage_stack) as t:
            yield t
        return
    path = Path(spec)
    if not path.is_file():
        raise TargetError(f"--target {spec}: no such file; pass 'local' or a greenlight.toml")
    from harness.config import load_config

    cfg = load_config(path)
    if cfg.target.kind == "compose":
        with _local(manage_stack) as t:
            yield t
        return
    from harness.targets.digitalocean import DigitalOceanTarget

    target = DigitalOceanTarget.from_config(cfg)
    try:
        yield target
    finally:
        close = getattr(target, "close", None)
        if close:
            close()


@contextlib.contextmanager
def _local(manage_stack: bool) -> Iterator[Target]:
    from harness import stack
    from harness.targets.compose import ComposeTarget

    was_up = stack.is_up()
    if not was_up:
        stack.up()
    try:
        yield ComposeTarget()
    finally:
        if manage_stack and not was_up:
            stack.down()
