"""The registry of target kinds. A kind brings its own config section (a pydantic model, validated as
`[<kind>]` of greenlight.toml) and opens a Target (roles + declared capabilities) from a loaded config.

Adding a kind is one module that calls `register(TargetKind(...))` and one line in BUILTIN below (see
docs/architecture.md for a worked example)."""
from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

# One line per kind: the module whose import registers it.
BUILTIN = (
    "harness.targets.replica.target",
    "harness.targets.digitalocean.kind",
)


@dataclass(frozen=True)
class OpenOptions:
    manage_stack: bool = True     # a local stack started to open the target is stopped again at the end
    dry_run: bool = False         # plan every write, make none (kinds with can_dry_run only)


@dataclass(frozen=True)
class TargetKind:
    name: str                                                   # target.kind in greenlight.toml
    # (the loaded Config or None, OpenOptions) -> a context manager yielding the Target; typed loosely so the
    # registry sits below both the config file and the targets (a kind module imports it, never the reverse)
    open: Callable[[Any, OpenOptions], contextlib.AbstractContextManager[Any]]
    section: type[BaseModel] | None = None                      # its [<name>] section; None: it needs none
    can_dry_run: bool = False
    # (the loaded Config or None) -> the kind's nodes, read without opening the target (nothing started): testinfra
    # suites parametrise by them at collection. None: the kind cannot say before it is opened.
    list_nodes: Callable[[Any], list] | None = None
    doc: str = ""


class UnknownKind(ValueError):
    """target.kind names no registered kind (one line: the kinds there are)."""


_KINDS: dict[str, TargetKind] = {}
_loaded = False


def register(kind: TargetKind) -> TargetKind:
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"target kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, TargetKind]:
    """Every registered kind (the built-in ones are imported on first use)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN:
            importlib.import_module(module)
    return _KINDS


def get(name: str) -> TargetKind:
    try:
        return kinds()[name]
    except KeyError:
        raise UnknownKind(f"unknown target kind {name!r}: use one of {', '.join(sorted(kinds()))}") from None
