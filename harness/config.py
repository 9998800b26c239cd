"""greenlight.toml: the target file, validated on load with one clear line per problem.

The DigitalOcean token never lives in the file: the file names the environment variable that holds it."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_TOKEN_LIKE = re.compile(r"^(dop_v1_[0-9a-f]{20,}|[0-9a-f]{64})$")


class ConfigError(ValueError):
    """One line: which file, which key, what to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetSection(_Strict):
    kind: Literal["compose", "digitalocean"] = "compose"


class HealthCheck(_Strict):
    protocol: Literal["http", "https", "tcp"] = "http"
    port: int = Field(80, ge=1, le=65535)
    path: str = "/healthz"
    check_interval_seconds: int = Field(10, ge=3, le=300)
    response_timeout_seconds: int = Field(5, ge=3, le=300)
    healthy_threshold: int = Field(5, ge=2, le=10)
    unhealthy_threshold: int = Field(3, ge=2, le=10)


class Ssh(_Strict):
    user: str = "root"
    key: str | None = None
    port: int = Field(22, ge=1, le=65535)


class Database(_Strict):
    """Optional read access to the shop DB, for reconciling orders (e.g. through an SSH tunnel)."""
    host: str = "127.0.0.1"
    port: int = Field(3306, ge=1, le=65535)
    user: str = "magento"
    name: str = "magento"
    password_env: str = "GREENLIGHT_DB_PASSWORD"


class DigitalOcean(_Strict):
    api_base: str = "https://api.digitalocean.com"
    token_env: str = "DIGITALOCEAN_TOKEN"
    lb_id: str
    region: str | None = None                     # when set, the LB must be in it
    blue_tag: str | None = "magento-blue"
    green_tag: str | None = "magento-green"
    blue_ids: list[int] | None = None
    green_ids: list[int] | None = None
    switch_mode: Literal["droplet_ids", "tag", "add_remove"] = "droplet_ids"
    health_check: HealthCheck | None = None        # enforced on every switch when set
    ssh: Ssh = Ssh()
    deploy_hook: str | None = None                 # e.g. "ansible-playbook deploy.yml -l {hosts} -e release={release}"
    node_url: str = "http://{ip}"
    node_urls: dict[str, str] = {}                 # droplet name -> URL, overriding node_url
    lb_url: str | None = None                      # default http://<LB ip>
    allow_hosts: list[str] = []                    # where load may go besides loopback (your staging LB)
    database: Database | None = None
    timeout_s: float = Field(10.0, gt=0)           # per API call
    give_up_s: float = Field(120.0, gt=0)          # retries of one call (429, 403 busy, 5xx) stop after this

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, v: str) -> str:
        if _TOKEN_LIKE.match(v):
            raise ValueError("looks like a token itself: put the token in an environment variable and name the "
                             "variable here (e.g. DIGITALOCEAN_TOKEN)")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            raise ValueError("must be an environment variable name")
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


class Headers(_Strict):
    served_by: str = "X-Served-By"
    release: str = "X-Release"


class BoundsSection(_Strict):
    converged_s: float = Field(30.0, gt=0)
    p99_ratio: float = Field(3.0, gt=0)


class Config(_Strict):
    target: TargetSection = TargetSection()
    digitalocean: DigitalOcean | None = None
    headers: Headers = Headers()
    bounds: BoundsSection = BoundsSection()

    @model_validator(mode="after")
    def _kind(self):
        if self.target.kind == "digitalocean" and self.digitalocean is None:
            raise ValueError("target.kind is 'digitalocean' but there is no [digitalocean] section")
        return self


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{p}: {where}: {msg}{more}") from None
