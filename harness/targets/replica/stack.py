"""The local replica's lifecycle through the compose CLI: build what is missing, up, wait healthy, down.

The docker SDK has no compose support, so compose itself runs as a subprocess (`docker compose` v2 when present,
else `docker-compose` v1, which is what Debian packages)."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time

from harness import PROJECT_ROOT
from harness.targets.replica import ssh as replica_ssh

ROOT = PROJECT_ROOT
COMPOSE_FILE = ROOT / "docker-compose.yml"
SECRETS = ROOT / ".greenlight" / "secrets.env"
PROJECT = "greenlight"
SERVICES = ("lb", "blue-1", "blue-2", "green-1", "green-2", "db", "redis")
IMAGE_NAMES = ("greenlight/node", "greenlight/lb", "greenlight/db", "greenlight/redis")
BASE_IMAGE = "debian:bookworm-slim"


class StackError(RuntimeError):
    """One line saying what is wrong with the local replica and what to do."""


def varnish() -> bool:
    """The optional Varnish in front of the load balancer (GREENLIGHT_VARNISH=1): compose profile "varnish", and
    the nodes' full-page cache set to Varnish (purged through http_cache_hosts) instead of the built-in one."""
    return os.environ.get("GREENLIGHT_VARNISH", "").lower() in ("1", "true", "yes", "on")


def services() -> tuple[str, ...]:
    return SERVICES + (("varnish",) if varnish() else ())


def project() -> str:
    return os.environ.get("GREENLIGHT_PROJECT", PROJECT)


def images() -> tuple[str, ...]:
    """The replica's images, tagged per checkout lane (GREENLIGHT_IMAGE_TAG) so parallel replicas never share one."""
    tag = os.environ.get("GREENLIGHT_IMAGE_TAG", "latest")
    return tuple(f"{n}:{tag}" for n in IMAGE_NAMES)


def container(service: str) -> str:
    return f"{project()}-{service}"


def _secrets() -> dict[str, str]:
    """The replica's DB password: generated once, kept in a 0600 file, never printed."""
    if not SECRETS.exists():
        SECRETS.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(SECRETS, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"GREENLIGHT_DB_PASSWORD={secrets.token_urlsafe(18)}\n")
    out = {}
    for line in SECRETS.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def db_password() -> str:
    return os.environ.get("GREENLIGHT_DB_PASSWORD") or _secrets()["GREENLIGHT_DB_PASSWORD"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    for k, v in _secrets().items():
        e.setdefault(k, v)
    if varnish():
        e.update(COMPOSE_PROFILES="varnish", GREENLIGHT_PAGE_CACHE="varnish", GREENLIGHT_HTTP_CACHE_HOSTS="varnish:80")
    pub = replica_ssh.public_key()
    if pub:                    # the nodes' sshd accepts this run's key (none: sshd stays off)
        e.setdefault("GREENLIGHT_SSH_PUBKEY", pub)
    e.setdefault("GREENLIGHT_CHECKOUT", str(ROOT))
    return e


def owner() -> str | None:
    """The checkout that made the running replica (the LB's label), or None when that cannot be read."""
    p = subprocess.run(["docker", "inspect", "-f", '{{index .Config.Labels "greenlight.checkout"}}', container("lb")],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def foreign_owner() -> str:
    """'' when the running replica is this checkout's, else one line saying whose it is and what to do."""
    who = owner()
    if who is None or who in ("", str(ROOT)):
        return ""   # unlabelled (made before labels) or ours
    return (f"the replica was made by another checkout ({who}): its DB password and SSH key are that checkout's, "
            "so deploys and DB reads from here fail: run `greenlight down`, then `greenlight up` here")


def _run(argv: list[str], *, check: bool = True, capture: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
    try:
        p = subprocess.run(argv, cwd=ROOT, env=env(), text=True, timeout=timeout,
                           stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None)
    except FileNotFoundError:
        raise StackError(f"{argv[0]} is not installed: run `make setup` (or scripts/bootstrap-engine.sh as root)") from None
    if check and p.returncode != 0:
        tail = ((p.stderr or "") + (p.stdout or "")).strip().splitlines()[-1:] or ["(no output)"]
        raise StackError(f"{' '.join(argv[:3])} failed: {tail[0][:300]}")
    return p


def engine_ok() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def ensure_engine() -> None:
    """A Docker engine and the base image; bootstraps them (installing Debian's docker.io as root) if missing."""
    if engine_ok() and (_image_exists(BASE_IMAGE) or all(_image_exists(i) for i in images())):
        return
    p = subprocess.run(["bash", str(ROOT / "scripts" / "bootstrap-engine.sh")], text=True,
                       capture_output=True)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["bootstrap failed"])[-1]
        raise StackError(last.replace("greenlight-bootstrap: error: ", "no Docker engine: "))


def compose_cmd() -> list[str]:
    if subprocess.run(["docker", "compose", "version"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode == 0:
        return ["docker", "compose", "-p", project(), "-f", str(COMPOSE_FILE)]
    if shutil.which("docker-compose"):
        return ["docker-compose", "-p", project(), "-f", str(COMPOSE_FILE)]
    raise StackError("neither `docker compose` nor `docker-compose` is installed: run `make setup`")


def _image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def build(*, force: bool = False) -> list[str]:
    """Build the replica's images. Docker's layer cache makes an unchanged image a no-op, and a changed
    storefront or config (the COPY steps) a quick rebuild, so images never lag behind the code.
    Returns the images that did not exist before."""
    ensure_engine()
    missing = [i for i in images() if not _image_exists(i)]
    _run(compose_cmd() + ["build"] + (["--no-cache"] if force else []) + ["lb", "blue-1", "db", "redis"]
         + (["varnish"] if varnish() else []))
    return missing


def _inspect(names: list[str]) -> dict[str, dict]:
    p = subprocess.run(["docker", "inspect", "--format",
                        "{{.Name}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}",
                        *names], text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = {}
    for line in p.stdout.splitlines():
        if line.count("|") != 2:  # missing containers: some docker clients print "[]"
            continue
        name, status, health = line.split("|")
        out[name.lstrip("/")] = {"status": status, "health": health}
    return out


def service_states() -> dict[str, dict]:
    names = [container(s) for s in services()]
    found = _inspect(names)
    return {s: found.get(container(s), {"status": "missing", "health": "none"}) for s in services()}


def is_up() -> bool:
    if not engine_ok():
        return False
    return all(st["status"] == "running" and st["health"] in ("healthy", "none") for st in service_states().values())


def lb_port() -> int:
    return int(os.environ.get("GREENLIGHT_LB_PORT", "8080"))


def front_port() -> int:
    """Where customers come in: Varnish when it is on, else the load balancer."""
    return int(os.environ.get("GREENLIGHT_VARNISH_PORT", "8088")) if varnish() else lb_port()


def _stale_data() -> bool:
    """A DB volume from an earlier checkout whose password this checkout never had."""
    return subprocess.run(["docker", "volume", "inspect", f"{project()}_db-data"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def up(*, timeout: float = 240) -> float:
    """Build what changed, start everything, wait until every service is healthy. Returns seconds taken."""
    t0 = time.monotonic()
    fresh_secrets = not SECRETS.exists()
    build()
    if fresh_secrets and _stale_data():
        print("greenlight: replica data from another checkout found (its DB password is not known here): "
              "recreating the replica's containers and volumes", flush=True)
        down()
    replica_ssh.ensure_key()
    replica_ssh.forget_host_keys()
    if not varnish():  # an earlier `GREENLIGHT_VARNISH=1 up` left it: customers must reach the LB directly
        _run(compose_cmd() + ["--profile", "varnish", "rm", "-fs", "varnish"], check=False)
    _run(compose_cmd() + ["up", "-d", "--remove-orphans"])
    wait_healthy(timeout=timeout)
    return time.monotonic() - t0


def wait_healthy(*, timeout: float = 240) -> None:
    from harness.targets import health

    deadline = time.monotonic() + timeout
    bad: list[str] = []
    while time.monotonic() < deadline:
        states = service_states()
        bad = [f"{s} ({st['status']}/{st['health']})" for s, st in states.items()
               if st["status"] != "running" or st["health"] not in ("healthy", "none")]
        if not bad:
            # The LB has no container health check: ask it through its own front door.
            h = health.probe(f"http://127.0.0.1:{front_port()}")
            if h.ok:
                return
            bad = ["lb (no healthy backend yet)" if h.status is not None else f"lb ({h.error})"]
        time.sleep(0.5)
    raise StackError(f"the replica did not become healthy within {timeout:.0f} s: {', '.join(bad)}; "
                     f"see `docker logs {container(bad[0].split()[0])}`")


def down(*, keep_data: bool = False) -> None:
    """Remove every container and network the replica created; volumes too unless keep_data."""
    if not engine_ok():
        return
    # Every profile, so a Varnish started by an earlier `GREENLIGHT_VARNISH=1 greenlight up` goes too.
    _run(compose_cmd() + ["--profile", "varnish", "down", "--remove-orphans", "-t", "5"] + ([] if keep_data else ["-v"]))
    replica_ssh.forget()
