"""docs/real-store.md: every greenlight command in it is one the CLI accepts, as written (the guide cannot drift
from the tool); the commands that act are run against the replica and the DO simulator by the e2e tests."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from harness.cli import build_parser

DOC = Path(__file__).resolve().parent.parent / "docs" / "real-store.md"


def _commands() -> list[str]:
    out = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S):
        for raw in block.splitlines():
            line = raw.split("#", 1)[0].strip()
            m = re.search(r"(?:^|\s)(?:\.venv/bin/)?greenlight\s+(.*)$", line)
            if m and not line.startswith(("git ", "cd ")):
                out.append(m.group(1))
    return out


def test_the_guide_has_the_whole_path():
    cmds = [c.split()[0] for c in _commands()]
    for step in ("preflight", "certify", "rollback", "heal", "status", "up", "doapi"):
        assert step in cmds, f"docs/real-store.md shows no `greenlight {step}`"


@pytest.mark.parametrize("cmd", _commands())
def test_every_command_in_the_guide_parses(cmd):
    args = build_parser().parse_args(shlex.split(cmd))   # argparse exits (a test error) on anything it refuses
    assert args.fn is not None
