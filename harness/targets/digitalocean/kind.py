"""DigitalOcean as a target kind: its [digitalocean] section of greenlight.toml, and how a Target is assembled from
the driver (harness/targets/digitalocean/driver.py): the driver is both router (the DO Load Balancer) and fleet (droplets
over SSH), the user's deploy hook is the deployer, the optional [digitalocean.database] is the db."""
from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from harness.config import LOOPBACK, TOKEN_LIKE, Strict
from harness.config.kinds import OpenOptions, TargetKind, register
from harness.targets.base import COLOURS, Capability, Deployer, Target


class HealthCheck(Strict):
    protocol: Literal["http", "https", "tcp"] = "http"
    port: int = Field(80, ge=1, le=65535)
    path: str = "/healthz"
    check_interval_seconds: int = Field(10, ge=3, le=300)
    response_timeout_seconds: int = Field(5, ge=3, le=300)
    healthy_threshold: int = Field(5, ge=2, le=10)
    unhealthy_threshold: int = Field(3, ge=2, le=10)


class Ssh(Strict):
    user: str = "root"
    key: str | None = None
    port: int = Field(22, ge=1, le=65535)
    ports: dict[str, int] = {}          # droplet name -> SSH port, overriding port (the simulator's droplets)
    config: str | None = None           # an ssh_config file (ssh -F), e.g. the replica's run key and known_hosts


class Database(Strict):
    """Optional read access to the shop DB, for reconciling orders (e.g. through an SSH tunnel)."""
    host: str = "127.0.0.1"
    port: int = Field(3306, ge=1, le=65535)
    user: str = "magento"
    name: str = "magento"
    password_env: str = "GREENLIGHT_DB_PASSWORD"


class DigitalOcean(Strict):
    api_base: str = "https://api.digitalocean.com"
    token_env: str = "DIGITALOCEAN_TOKEN"
    lb_id: str
    region: str | None = None                     # when set, the LB must be in it
    blue_tag: str | None = "magento-blue"
    green_tag: str | None = "magento-green"
    blue_ids: list[int] | None = None
    green_ids: list[int] | None = None
    switch_mode: Literal["droplet_ids", "tag", "add_remove"] = "droplet_ids"
    # overlap: add the new colour, wait until traffic shows every new droplet, then remove the old (no 503 gap
    # while new droplets pass healthy_threshold checks). naive: one call, the gap DO shows included.
    switch_strategy: Literal["overlap", "naive"] = "overlap"
    health_check: HealthCheck | None = None        # enforced on every switch when set
    ssh: Ssh = Ssh()
    deploy_hook: str | None = None                 # e.g. "ansible-playbook deploy.yml -l {hosts} -e release={release}"
    node_url: str = "http://{ip}"
    node_urls: dict[str, str] = {}                 # droplet name -> URL, overriding node_url
    lb_url: str | None = None                      # default http://<LB ip>
    allow_hosts: list[str] = []                    # where load may go besides loopback (your staging LB)
    database: Database | None = None
    magento_root: str = "/var/www/magento/current"  # the live code on each droplet (static digests are read there)
    cron_stop: str | None = None                   # run on each old droplet at the switch: remove crontab, stop consumers
    cron_start: str | None = None                  # run on each new droplet at the switch: install the crontab
    timeout_s: float = Field(10.0, gt=0)           # per API call
    give_up_s: float = Field(120.0, gt=0)          # retries of one call (429, 403 busy, 5xx) stop after this

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, v: str) -> str:
        if TOKEN_LIKE.match(v):
            raise ValueError("looks like a token itself: put the token in an environment variable and name the "
                             "variable here (e.g. DIGITALOCEAN_TOKEN)")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            raise ValueError("must be an environment variable name")
        return v

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, v: str) -> str:
        u = urlsplit(v)
        if not u.hostname:
            raise ValueError("must be a URL such as https://api.digitalocean.com")
        if u.scheme != "https" and not (u.scheme == "http" and u.hostname in LOOPBACK):
            raise ValueError("must be https:// (plain http only to 127.0.0.1, e.g. the simulator): the token "
                             "would travel in clear text")
        return v.rstrip("/")

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z]{3}[0-9]", v):
            raise ValueError(f"{v!r} is not a region slug (e.g. nyc3, ams3, fra1)")
        return v

    @field_validator("node_url")
    @classmethod
    def _node_url(cls, v: str) -> str:
        unknown = set(re.findall(r"{(\w*)}", v)) - {"ip", "name"}
        if unknown or not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL template using {ip} and/or {name}, e.g. \"http://{ip}:80\"")
        return v

    @field_validator("deploy_hook")
    @classmethod
    def _hook(cls, v: str | None) -> str | None:
        if v is not None:
            unknown = set(re.findall(r"{(\w+)}", v)) - {"colour", "release", "hosts", "release_dir"}
            if unknown:
                raise ValueError(f"unknown placeholder(s) {sorted(unknown)}: use {{colour}}, {{release}}, "
                                 "{release_dir}, {hosts}")
        return v

    @model_validator(mode="after")
    def _colours(self):
        by_tag = self.blue_tag and self.green_tag
        by_ids = self.blue_ids is not None and self.green_ids is not None
        if not by_tag and not by_ids:
            raise ValueError("tell colours apart by blue_tag/green_tag or by blue_ids/green_ids")
        if self.switch_mode == "tag" and not by_tag:
            raise ValueError("switch_mode = 'tag' needs blue_tag and green_tag")
        if by_tag and self.blue_tag == self.green_tag:
            raise ValueError("blue_tag and green_tag must differ")
        return self


class HookDeployer(Deployer):
    """The user's own deploy (Ansible, deployer, a script) run for the idle colour: digitalocean.deploy_hook."""

    def __init__(self, driver):
        self.driver = driver

    def deploy(self, target: Target, release, colour: str, event: Callable[..., None]) -> None:
        self.driver.deploy_release(release, colour, event)


@contextlib.contextmanager
def open_digitalocean(cfg, opts: OpenOptions) -> Iterator[Target]:
    from harness.targets.digitalocean.driver import DigitalOceanTarget
    from harness.targets.digitalocean.lock import DropletTagLocker

    driver = DigitalOceanTarget(cfg, dry_run=opts.dry_run)
    do = cfg.digitalocean
    target = Target(kind="digitalocean", router=driver, fleet=driver, deployer=HookDeployer(driver), db=driver.db(),
                    capabilities=frozenset({Capability.DRY_RUN}), served_by_header=driver.served_by_header,
                    release_header=driver.release_header, allow_hosts=driver.allow_hosts,
                    health_path=driver.health_path,
                    details={"api": do.api_base, "lb_id": do.lb_id, "switch_mode": do.switch_mode,
                             "router": f"load balancer {do.lb_id} ({do.switch_mode}, {do.switch_strategy})"},
                    plan_log=driver.plan, closers=[driver.close], magento_root=do.magento_root,
                    background_job_commands=(do.cron_stop, do.cron_start) if do.cron_stop and do.cron_start else None,
                    catalogue=cfg.catalogue, checkout=cfg.checkout,
                    locker=None if opts.dry_run else DropletTagLocker(driver),
                    lock_where=f"load balancer {do.lb_id}")
    try:
        yield target
    finally:
        target.close()


def list_droplets(cfg) -> list:
    """Both colours' droplets, from the API (nothing is changed)."""
    from harness.targets.digitalocean.driver import DigitalOceanTarget

    driver = DigitalOceanTarget(cfg)
    try:
        return [n for c in COLOURS for n in driver.nodes(c)]
    finally:
        driver.close()


register(TargetKind("digitalocean", open_digitalocean, section=DigitalOcean, can_dry_run=True, list_nodes=list_droplets,
                    doc="DigitalOcean droplets behind a DigitalOcean Load Balancer (API v2)"))
