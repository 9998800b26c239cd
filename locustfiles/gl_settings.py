"""Traffic settings from the environment, so a real Magento 2.4 store needs only a host and its SKUs."""
from __future__ import annotations

import json
import os
import uuid


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def weight(journey: str, default: int) -> int:
    """GREENLIGHT_WEIGHT_<JOURNEY>, e.g. GREENLIGHT_WEIGHT_GUEST=3; 0 disables the journey."""
    return int(_env(f"GREENLIGHT_WEIGHT_{journey.upper()}", str(default)))


RUN_ID = _env("GREENLIGHT_RUN_ID", uuid.uuid4().hex[:8])
SERVED_BY_HEADER = _env("GREENLIGHT_SERVED_BY_HEADER", "X-Served-By")
RELEASE_HEADER = _env("GREENLIGHT_RELEASE_HEADER", "X-Release")

SKUS = _list("GREENLIGHT_SKUS", [f"GL-{i:04d}" for i in range(1, 31)])
# Entity ids of the same products, in the same order as SKUS (the storefront add-to-cart form posts ids).
PRODUCT_IDS = [int(p) for p in _list("GREENLIGHT_PRODUCT_IDS", [str(i) for i in range(1, len(SKUS) + 1)])]
SKU_BY_PRODUCT_ID = dict(zip(PRODUCT_IDS, SKUS, strict=False))

# Load customers' e-mail domain (a real store may only accept its own test domain).
EMAIL_DOMAIN = _env("GREENLIGHT_EMAIL_DOMAIN", "greenlight.test")

# "/rest/V1" or "/rest/<store_code>/V1" on a multi-store Magento.
_STORE = os.environ.get("GREENLIGHT_STORE_CODE", "")
REST = f"/rest/{_STORE}/V1" if _STORE else "/rest/V1"
# The storefront's own pages call REST under the store code, with the customer's session cookie.
STOREFRONT_REST = f"/rest/{_STORE or 'default'}/V1"

WAIT_MIN_S = float(_env("GREENLIGHT_WAIT_MIN_S", "0.5"))
WAIT_MAX_S = float(_env("GREENLIGHT_WAIT_MAX_S", "1.5"))
# Share of line items added with qty 2 (a known-bad release fails place-order only for qty >= 2).
QTY2_SHARE = float(_env("GREENLIGHT_QTY2_SHARE", "0.5"))
# Chance that a long-lived storefront session adds another item between probes.
SESSION_ADD_SHARE = float(_env("GREENLIGHT_SESSION_ADD_SHARE", "0.2"))
SESSION_MAX_QTY = 10
# Continuity: what each user holds at once and comes back to (guest carts, customer tokens = devices, browser
# sessions), so that many credentials of each kind are issued by one colour and used again on the other.
HELD_CARTS = int(_env("GREENLIGHT_HELD_CARTS", "24"))
HELD_TOKENS = int(_env("GREENLIGHT_HELD_TOKENS", "20"))  # signed-in devices per household
# Customers per household: one customer gets at most one new token a second (the JWT has no jti), so a household of
# several fills its devices within a few rounds, before any switch (one customer alone: 29-50 tokens crossed).
HOUSEHOLD_ACCOUNTS = int(_env("GREENLIGHT_HOUSEHOLD_ACCOUNTS", "4"))
# Once the household holds its devices: rounds in which one customer signs out of a device and in again.
RELOGIN_SHARE = float(_env("GREENLIGHT_RELOGIN_SHARE", "0.6"))
HELD_SESSIONS = int(_env("GREENLIGHT_HELD_SESSIONS", "10"))
REVISITS = int(_env("GREENLIGHT_REVISITS", "5"))  # held carts re-checked per round (least recent first)
# A device coming back costs one GET customers/me: a household looks at more of its devices per round than a guest
# at carts, so all it holds at a switch are used again within a few rounds after it.
TOKEN_REVISITS = int(_env("GREENLIGHT_TOKEN_REVISITS", "8"))
SESSION_REVISITS = int(_env("GREENLIGHT_SESSION_REVISITS", "3"))  # browser sessions a shopper returns to per round
FILL_PER_ROUND = int(_env("GREENLIGHT_FILL_PER_ROUND", "2"))  # new guest carts per round until the guest holds enough
# Guests on the storefront: a visit costs two requests (product page, add to cart) and a return one, so one such
# user holds more of them than a REST guest holds carts, and looks at more per round: all it holds at a switch
# are back on the new colour within a few rounds.
HELD_VISITORS = int(_env("GREENLIGHT_HELD_VISITORS", "24"))
VISITOR_FILL = int(_env("GREENLIGHT_VISITOR_FILL", "3"))
VISITOR_REVISITS = int(_env("GREENLIGHT_VISITOR_REVISITS", "6"))
CART_SHARE = float(_env("GREENLIGHT_CART_SHARE", "0.6"))  # rounds in which a customer also shops
CHECKOUT_SHARE = float(_env("GREENLIGHT_CHECKOUT_SHARE", "0.3"))

# How the journeys pay and ship: the target's [checkout] (harness/config/checkout.py passes it in these variables).
ADDRESS = {
    "firstname": "Green", "lastname": "Light", "street": ["1 Cutover Street"], "city": "Austin",
    "region": "Texas", "region_id": 57, "region_code": "TX", "country_id": "US", "postcode": "78701",
    "telephone": "5125550100", **json.loads(_env("GREENLIGHT_ADDRESS", "{}")),
}
PAYMENT_METHOD = _env("GREENLIGHT_PAYMENT_METHOD", "checkmo")
SHIPPING_METHOD = _env("GREENLIGHT_SHIPPING_METHOD", "")   # <carrier>_<method>; "" = the first the store offers

# Hosts beyond loopback and the project's containers that may receive load (a target's explicit allow-list).
ALLOW_HOSTS: tuple[str, ...] = tuple(_list("GREENLIGHT_ALLOW_HOSTS", []))


def add_arguments(parser) -> None:
    """Locust options for the settings a worker must share with its master. Locust forwards custom options to
    every worker with the first spawn, so a worker on another machine runs with the master's run id, identity
    headers and allow-list."""
    group = parser.add_argument_group("greenlight")
    group.add_argument("--gl-run-id", default=RUN_ID, help="run id (prefix of the load users' e-mails)")
    group.add_argument("--gl-served-by-header", default=SERVED_BY_HEADER)
    group.add_argument("--gl-release-header", default=RELEASE_HEADER)
    group.add_argument("--gl-allow-hosts", default=",".join(ALLOW_HOSTS),
                       help="comma-separated hosts beyond loopback/greenlight-* that may receive load")


def apply(options, ledger=None) -> None:
    """Adopt forwarded options (no-op for options this Locust run does not have)."""
    global RUN_ID, SERVED_BY_HEADER, RELEASE_HEADER, ALLOW_HOSTS
    if options is None:
        return
    RUN_ID = getattr(options, "gl_run_id", None) or RUN_ID
    SERVED_BY_HEADER = getattr(options, "gl_served_by_header", None) or SERVED_BY_HEADER
    RELEASE_HEADER = getattr(options, "gl_release_header", None) or RELEASE_HEADER
    allow = getattr(options, "gl_allow_hosts", None)
    if allow is not None:
        ALLOW_HOSTS = tuple(h.strip() for h in str(allow).split(",") if h.strip())
    if ledger is not None:
        ledger.served_by_header, ledger.release_header = SERVED_BY_HEADER, RELEASE_HEADER
