"""SSH into the local replica's nodes the way one reaches droplets: a key pair generated for each run of the
replica (kept 0600 under .greenlight/, never printed, removed with the replica), its public half handed to the
nodes' sshd at start, and an ssh_config that ssh, the DigitalOcean target and testinfra's ssh:// backend share
(host keys accepted on first sight into a known_hosts file of this run only)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness import PROJECT_ROOT

ROOT = PROJECT_ROOT


def ssh_dir() -> Path:
    return ROOT / ".greenlight" / f"ssh-{os.environ.get('GREENLIGHT_PROJECT', 'greenlight')}"


def key_path() -> Path:
    return ssh_dir() / "id_ed25519"


def config_path() -> Path:
    return ssh_dir() / "config"


def ensure_key() -> str:
    """The run's public key, generating the pair (and the ssh_config) when missing."""
    d, key = ssh_dir(), key_path()
    if not key.exists():
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "greenlight-replica", "-f", str(key)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        key.chmod(0o600)
        config_path().write_text(
            "Host *\n"
            f"  IdentityFile {key}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {d / 'known_hosts'}\n  StrictHostKeyChecking accept-new\n"
            "  BatchMode yes\n  LogLevel ERROR\n")
    return Path(str(key) + ".pub").read_text().strip()


def public_key() -> str | None:
    pub = Path(str(key_path()) + ".pub")
    return pub.read_text().strip() if pub.exists() else None


def forget_host_keys() -> None:
    """Nodes (re)created by `up` generate new host keys: the ones seen before would fail verification."""
    (ssh_dir() / "known_hosts").unlink(missing_ok=True)


def forget() -> None:
    """The replica is gone: its key and the host keys seen are of no further use."""
    shutil.rmtree(ssh_dir(), ignore_errors=True)


def ssh_port(node: str) -> int:
    """A node's SSH port on loopback (the lane's, scripts/lane.sh)."""
    defaults = {"blue-1": 2221, "blue-2": 2222, "green-1": 2223, "green-2": 2224}
    return int(os.environ.get(f"GREENLIGHT_{node.replace('-', '').upper()}_SSH", defaults[node]))


def testinfra_url(node: str) -> str | None:
    """testinfra's ssh:// spec for a replica node, or None when this run has no key (sshd is off then)."""
    if public_key() is None:
        return None
    return f"ssh://root@127.0.0.1:{ssh_port(node)}?ssh_config={config_path()}&timeout=10"
