"""How traffic and smoke checks pay and ship: a store's own payment method, shipping method and a delivery
address its carriers serve. greenlight.toml's [checkout] section, else the GREENLIGHT_PAYMENT_METHOD /
GREENLIGHT_SHIPPING_METHOD / GREENLIGHT_ADDRESS variables (the same the locustfile reads), else the replica's:
Check / Money order, the first method the store offers for the address, a US address in Austin."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

DEFAULT_ADDRESS = {
    "firstname": "Green", "lastname": "Light", "street": ["1 Cutover Street"], "city": "Austin",
    "region": "Texas", "region_id": 57, "region_code": "TX", "country_id": "US", "postcode": "78701",
    "telephone": "5125550100",
}


class CheckoutError(ValueError):
    pass


def split_method(code: str) -> tuple[str, str]:
    """Magento's "<carrier>_<method>" (flatrate_flatrate, tablerate_bestway, ups_GND) as (carrier, method): a
    carrier code has no underscore, a method code may."""
    carrier, sep, method = code.partition("_")
    if not (carrier and sep and method):
        raise CheckoutError(f"{code!r} is not <carrier>_<method>: use the code the store's estimate-shipping-methods "
                            "answers as carrier_code and method_code, joined by _ (e.g. flatrate_flatrate)")
    return carrier, method


@dataclass(frozen=True)
class Checkout:
    payment_method: str = "checkmo"
    shipping_method: str = ""          # "" = the first the store offers for the address
    address: dict = field(default_factory=lambda: dict(DEFAULT_ADDRESS))

    def __post_init__(self):
        if not self.payment_method:
            raise CheckoutError("checkout: payment_method is empty: name a payment method the store has on "
                                "(e.g. checkmo)")
        if self.shipping_method:
            split_method(self.shipping_method)
        missing = [k for k in ("country_id", "postcode", "city", "street", "telephone") if not self.address.get(k)]
        if missing:
            raise CheckoutError(f"checkout: the address lacks {', '.join(missing)}")

    def load_env(self) -> dict[str, str]:
        """The locustfile's settings for this checkout."""
        return {"GREENLIGHT_PAYMENT_METHOD": self.payment_method, "GREENLIGHT_SHIPPING_METHOD": self.shipping_method,
                "GREENLIGHT_ADDRESS": json.dumps(self.address)}


def checkout(target=None) -> Checkout:
    """The target's own [checkout] when it has one (Target.checkout), else the environment's, else the replica's."""
    cfg = target.checkout if target is not None else None
    if cfg is not None:
        return Checkout(payment_method=cfg.payment_method, shipping_method=cfg.shipping_method,
                        address={**DEFAULT_ADDRESS, **cfg.address.model_dump(exclude_none=True)})
    raw = os.environ.get("GREENLIGHT_ADDRESS")
    try:
        address = {**DEFAULT_ADDRESS, **json.loads(raw)} if raw else dict(DEFAULT_ADDRESS)
    except ValueError:
        raise CheckoutError("GREENLIGHT_ADDRESS must be a JSON object (an address)") from None
    return Checkout(payment_method=os.environ.get("GREENLIGHT_PAYMENT_METHOD") or "checkmo",
                    shipping_method=os.environ.get("GREENLIGHT_SHIPPING_METHOD", ""), address=address)
