"""greenlight.toml: the target file, validated on load with one clear line per problem.

The DigitalOcean token never lives in the file: the file names the environment variable that holds it."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from harness.bounds import Bounds

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# DO personal/OAuth/refresh tokens (do[por]_v1_ + 64 hex) and legacy 64-hex tokens.
_TOKEN_LIKE = re.compile(r"^(do[por]_v1_[0-9a-fA-F]{16,}|[0-9a-fA-F]{64})$")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


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
    ports: dict[str, int] = {}          # droplet name -> SSH port, overriding port (the simulator's droplets)
    config: str | None = None           # an ssh_config file (ssh -F), e.g. the replica's run key and known_hosts


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

    @field_validator("api_base")
    @classmethod
    def _api_base(cls, v: str) -> str:
        u = urlsplit(v)
        if not u.hostname:
            raise ValueError("must be a URL such as https://api.digitalocean.com")
        if u.scheme != "https" and not (u.scheme == "http" and u.hostname in _LOOPBACK):
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


class Headers(_Strict):
    served_by: str = "X-Served-By"
    release: str = "X-Release"


class Config(_Strict):
    target: TargetSection = TargetSection()
    digitalocean: DigitalOcean | None = None
    headers: Headers = Headers()
    bounds: Bounds = Field(default_factory=Bounds)   # validated against the Bounds dataclass itself

    def verdict_bounds(self) -> Bounds:
        """The bounds a run from this file is held to."""
        return self.bounds

    @model_validator(mode="after")
    def _kind(self):
        if self.target.kind == "digitalocean" and self.digitalocean is None:
            raise ValueError("target.kind is 'digitalocean' but there is no [digitalocean] section")
        return self


def _token_like_keys(data, prefix: str = "") -> list[str]:
    """Keys whose value looks like an API token (the value itself is never echoed)."""
    found = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, str) and _TOKEN_LIKE.match(v.strip()):
            found.append(key)
        elif isinstance(v, (dict, list)):
            found += _token_like_keys(v, key)
    return found


def load_config(path: str | Path) -> Config:
    """Read and validate greenlight.toml. ConfigError lists every problem, one line each: file, key, fix."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    tokens = _token_like_keys(data)
    if tokens:
        raise ConfigError("\n".join(
            f"{p}: {k}: looks like a token itself: put the token in an environment variable and name the variable "
            "in digitalocean.token_env (e.g. DIGITALOCEAN_TOKEN)" for k in tokens))
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
                msg = "unknown key: remove it or check its spelling"
            elif err["type"] == "missing":
                msg = "required: add it"
            lines.append(f"{p}: {where}: {msg}")
        raise ConfigError("\n".join(lines)) from None


def bounds_for(spec: str | None) -> Bounds:
    """The bounds a run against `spec` is held to: the target file's [bounds], or the defaults for 'local'."""
    if spec in (None, "", "local") or not Path(spec).is_file():
        return Bounds()
    return load_config(spec).bounds
