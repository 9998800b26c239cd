"""The catalogue traffic and smoke checks use: SKUs, their product entity ids, the customers' e-mail domain.

A real store has its own catalogue, so nothing here is hard-coded past the replica's defaults: greenlight.toml's
[catalogue] section, else GREENLIGHT_SKUS / GREENLIGHT_PRODUCT_IDS / GREENLIGHT_EMAIL_DOMAIN (the same variables
the locustfile reads), else the replica's seed catalogue (GL-0001…GL-0030, ids 1…30)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

REPLICA_SKUS = tuple(f"GL-{i:04d}" for i in range(1, 31))
REPLICA_IDS = tuple(range(1, 31))
DEFAULT_DOMAIN = "greenlight.test"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE)


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class Catalogue:
    skus: tuple[str, ...] = REPLICA_SKUS
    product_ids: tuple[int, ...] = REPLICA_IDS
    email_domain: str = DEFAULT_DOMAIN

    def __post_init__(self):
        if not self.skus:
            raise CatalogueError("catalogue: no SKUs: list the SKUs traffic may buy (catalogue.skus)")
        if len(self.product_ids) != len(self.skus):
            raise CatalogueError(f"catalogue: {len(self.skus)} SKUs but {len(self.product_ids)} product ids: "
                                 "give the entity id of each SKU, in the same order (catalogue.product_ids)")
        if not _DOMAIN.match(self.email_domain):
            raise CatalogueError(f"catalogue: email_domain {self.email_domain!r} is not a domain name")

    @property
    def smoke_email_domain(self) -> str:
        """The gate's smoke orders: a sub-domain, so reconciliation tells them from the load's orders."""
        return f"smoke.{self.email_domain}"

    def load_env(self) -> dict[str, str]:
        """The locustfile's settings for this catalogue."""
        return {"GREENLIGHT_SKUS": ",".join(self.skus),
                "GREENLIGHT_PRODUCT_IDS": ",".join(str(i) for i in self.product_ids),
                "GREENLIGHT_EMAIL_DOMAIN": self.email_domain}


def _env_list(name: str) -> list[str]:
    return [p.strip() for p in os.environ.get(name, "").split(",") if p.strip()]


def catalogue(target=None) -> Catalogue:
    """The target's own [catalogue] when it has one (Target.catalogue), else the one the environment names (the
    Locust processes get it that way), else the replica's."""
    cfg = target.catalogue if target is not None else None
    if cfg is not None:
        return Catalogue(skus=tuple(cfg.skus), product_ids=tuple(cfg.product_ids), email_domain=cfg.email_domain)
    skus = _env_list("GREENLIGHT_SKUS")
    ids = _env_list("GREENLIGHT_PRODUCT_IDS")
    if not skus and not ids:
        return Catalogue(email_domain=os.environ.get("GREENLIGHT_EMAIL_DOMAIN") or DEFAULT_DOMAIN)
    try:
        pids = tuple(int(i) for i in ids)
    except ValueError:
        raise CatalogueError("GREENLIGHT_PRODUCT_IDS must be comma-separated integers") from None
    return Catalogue(skus=tuple(skus), product_ids=pids,
                     email_domain=os.environ.get("GREENLIGHT_EMAIL_DOMAIN") or DEFAULT_DOMAIN)
