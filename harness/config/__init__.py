"""greenlight.toml: the target file, validated on load with one clear line per problem.

The DigitalOcean token never lives in the file: the file names the environment variable that holds it."""
from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from harness.config.bounds import Bounds

# DO personal/OAuth/refresh tokens (do[por]_v1_ + 64 hex) and legacy 64-hex tokens.
TOKEN_LIKE = re.compile(r"^(do[por]_v1_[0-9a-fA-F]{16,}|[0-9a-fA-F]{64})$")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ConfigError(ValueError):
    """One line: which file, which key, what to fix."""


class Strict(BaseModel):
    """A config section: unknown keys are errors (a typo never silently becomes a default)."""
    model_config = ConfigDict(extra="forbid")


_Strict = Strict


class TargetSection(_Strict):
    kind: str = "compose"           # a registered kind (harness/config/kinds.py)

    @field_validator("kind")
    @classmethod
    def _known(cls, v: str) -> str:
        from harness.config.kinds import kinds

        if v not in kinds():
            raise ValueError(f"unknown target kind {v!r}: use one of {', '.join(sorted(kinds()))}")
        return v


class Headers(_Strict):
    served_by: str = "X-Served-By"
    release: str = "X-Release"


class CatalogueSection(_Strict):
    """What traffic and smoke checks buy on a real store (no replica SKU or product id is assumed)."""
    skus: list[str] = Field(min_length=1)
    product_ids: list[int] = Field(min_length=1)    # entity id of each SKU, same order (storefront add-to-cart)
    email_domain: str = "greenlight.test"           # load customers' e-mails; smoke orders use smoke.<domain>

    @model_validator(mode="after")
    def _same_length(self):
        if len(self.skus) != len(self.product_ids):
            raise ValueError(f"{len(self.skus)} skus but {len(self.product_ids)} product_ids: give the entity id of "
                             "each SKU, in the same order")
        return self


class AddressSection(_Strict):
    """A delivery address the store's carriers serve (what the journeys and smoke checks ship to)."""
    firstname: str = "Green"
    lastname: str = "Light"
    street: list[str] = Field(default_factory=lambda: ["1 Cutover Street"], min_length=1)
    city: str = "Austin"
    region: str | None = "Texas"
    region_id: int | None = 57
    region_code: str | None = "TX"
    country_id: str = "US"
    postcode: str = "78701"
    telephone: str = "5125550100"

    @field_validator("country_id")
    @classmethod
    def _iso(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z]{2}", v):
            raise ValueError(f"{v!r} is not a country code: use the two capital letters of ISO 3166 (e.g. US, DE)")
        return v


class CheckoutSection(_Strict):
    """How the journeys and smoke checks pay and ship on this store."""
    payment_method: str = Field("checkmo", min_length=1)   # a payment method code the store has on
    shipping_method: str = ""                              # <carrier>_<method>; "" = the first the store offers
    address: AddressSection = Field(default_factory=AddressSection)

    @field_validator("shipping_method")
    @classmethod
    def _carrier_method(cls, v: str) -> str:
        from harness.config.checkout import split_method

        if v:
            split_method(v)
        return v


class Config(_Strict):
    """The sections every target file may have. Each target kind adds its own optional `[<kind>]` section
    (config_model() builds the full model from the kind registry)."""
    target: TargetSection = TargetSection()
    headers: Headers = Headers()
    bounds: Bounds = Field(default_factory=Bounds)   # validated against the Bounds dataclass itself
    catalogue: CatalogueSection | None = None        # the store's SKUs for traffic and smoke checks
    checkout: CheckoutSection | None = None          # how traffic and smoke checks pay and ship

    def verdict_bounds(self) -> Bounds:
        """The bounds a run from this file is held to."""
        return self.bounds

    def section(self) -> BaseModel | None:
        """The target kind's own section ([digitalocean], …), or None."""
        return getattr(self, self.target.kind, None)

    @model_validator(mode="after")
    def _kind(self):
        from harness.config.kinds import get

        kind = get(self.target.kind)
        if kind.section is not None and self.section() is None:
            raise ValueError(f"target.kind is {kind.name!r} but there is no [{kind.name}] section")
        return self


@functools.cache
def config_model() -> type[Config]:
    """Config plus one optional section per registered target kind that has one."""
    from harness.config.kinds import kinds

    sections = {k.name: (k.section | None, None) for k in kinds().values() if k.section is not None}
    return create_model("Config", __base__=Config, **sections)


def _token_like_keys(data, prefix: str = "") -> list[str]:
    """Keys whose value looks like an API token (the value itself is never echoed)."""
    found = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, str) and TOKEN_LIKE.match(v.strip()):
            found.append(key)
        elif isinstance(v, (dict, list)):
            found += _token_like_keys(v, key)
    return found


def read_toml(path: str | Path, error: type[Exception] | None = None, missing: str = "no such file") -> dict:
    """A TOML file's data; a missing or malformed file is one line (`error`, ConfigError by default)."""
    error = error or ConfigError
    p = Path(path)
    try:
        return tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise error(f"{p}: {missing}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{p}: not valid TOML: {exc}") from None


def load_config(path: str | Path) -> Config:
    """Read and validate greenlight.toml. ConfigError lists every problem, one line each: file, key, fix."""
    p = Path(path)
    data = read_toml(p)
    tokens = _token_like_keys(data)
    if tokens:
        raise ConfigError("\n".join(
            f"{p}: {k}: looks like a token itself: put the token in an environment variable and name the variable "
            "in digitalocean.token_env (e.g. DIGITALOCEAN_TOKEN)" for k in tokens))
    try:
        return config_model().model_validate(data)
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


def with_overrides(bounds: Bounds, items: list[str], flag: str = "--bound") -> Bounds:
    """Bounds with NAME=VALUE overrides applied (`greenlight --bound`, pytest's --gl-bound); a malformed or unknown
    one is a one-line ConfigError naming the flag."""
    changes = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{flag} {item}: expected NAME=VALUE, e.g. min_crossings=10")
        changes[name.strip()] = value.strip()
    try:
        return bounds.replace(**changes) if changes else bounds
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{flag}: {exc}") from None
