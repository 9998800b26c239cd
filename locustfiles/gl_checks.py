"""Content checks: what a response must say for a journey step to count as done, beyond its status.

Each check raises CheckFailed(check, reason); `generic()` returns the failures any Magento response can show
(an error page, an error-shaped JSON body, an error in the `mage-messages` cookie). Pure functions of a response's
status, headers, text and parsed body, so they are tested without a store (tests/test_checks.py).
"""
from __future__ import annotations

import json
import re
from urllib.parse import unquote

# Texts Magento shows a shopper when something broke, whatever the HTTP status says.
ERROR_PAGE_TEXTS = (
    "There has been an error processing your request",
    "Error log record number",
    "Invalid Form Key",
    "Your session has expired",
    "Exception printing is disabled",
)
MONEY_TOLERANCE = 0.011  # totals are rounded to cents
FORM_KEY_RE = re.compile(r'name="form_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_key"')
ORDER_NUMBER_RE = re.compile(r'class="order-number"[^>]*>\s*(\d+)\s*<')
CHECKOUT_CONFIG_RE = re.compile(r"window\.checkoutConfig\s*=\s*(\{.*?\});</script>", re.S)
CART_LINE_RE = re.compile(r"<li>([^<>]+?) x ([0-9.]+)</li>")


class CheckFailed(Exception):
    def __init__(self, check: str, reason: str):
        super().__init__(f"{check}: {reason}")
        self.check, self.reason = check, reason


def failure(check: str, reason: str) -> dict:
    return {"check": check, "reason": reason[:200]}


# -- checks any response gets ---------------------------------------------------------------------------------------
def magento_error(body) -> str | None:
    """The message of a JSON body shaped like a Magento webapi error, or None."""
    if not isinstance(body, dict):
        return None
    message = body.get("message")
    if not isinstance(message, str):
        return None
    if "parameters" in body or "trace" in body or "Report ID" in message or set(body) <= {"message", "code"}:
        return message
    return None


def error_page_text(text: str) -> str | None:
    for phrase in ERROR_PAGE_TEXTS:
        if phrase in text:
            return phrase
    return None


def error_messages(cookie_value: str | None) -> list[str]:
    """Error texts in Magento's `mage-messages` cookie (URL-encoded JSON list of {type, text})."""
    if not cookie_value:
        return []
    try:
        messages = json.loads(unquote(cookie_value))
    except ValueError:
        return []
    return [str(m.get("text", "")) for m in messages if isinstance(m, dict) and m.get("type") == "error"]


def generic(status: int, content_type: str, text: str, body, messages_cookie: str | None) -> list[dict]:
    """Failures any response can carry: an unexpected status, an error body, an error page, an error message."""
    out = []
    message = magento_error(body)
    if status >= 400:
        out.append(failure("status", f"HTTP {status}" + (f": {message}" if message else "")))
    elif message is not None:
        out.append(failure("error_payload", f"HTTP {status} carrying a Magento error: {message}"))
    if "html" in content_type:
        phrase = error_page_text(text)
        if phrase:
            out.append(failure("error_page", f"the page says {phrase!r}"))
    for msg in error_messages(messages_cookie):
        out.append(failure("error_message", f"the store showed the error {msg!r}"))
    return out


# -- checks of one step ---------------------------------------------------------------------------------------------
def json_string(body) -> str:
    if not isinstance(body, str) or not body:
        raise CheckFailed("shape", f"expected a non-empty JSON string, got {body!r:.80}")
    return body


def json_object(body) -> dict:
    if not isinstance(body, dict):
        raise CheckFailed("shape", f"expected a JSON object, got {type(body).__name__}")
    return body


def json_list(body) -> list:
    if not isinstance(body, list):
        raise CheckFailed("shape", f"expected a JSON list, got {type(body).__name__}")
    return body


def order_id(body) -> int:
    if isinstance(body, bool) or not str(body).isdigit():
        raise CheckFailed("order_id", f"expected a numeric order id, got {body!r:.80}")
    return int(body)


def cart_lines(items) -> dict[str, float]:
    """{sku: qty} from a cart's or totals' items (`sku`/`product_sku` or `name`, `qty`)."""
    lines: dict[str, float] = {}
    for item in items or []:
        if not isinstance(item, dict):
            continue
        sku = item.get("sku") or item.get("product_sku") or item.get("name")
        lines[sku] = round(lines.get(sku, 0.0) + float(item.get("qty") or 0), 4)
    return lines


def same_lines(check: str, expected: dict[str, float], observed: dict[str, float]) -> None:
    """The cart holds exactly the expected lines: nothing lost, nothing doubled, nothing foreign."""
    if {k: round(v, 4) for k, v in expected.items()} != observed:
        lost = {k: v for k, v in expected.items() if observed.get(k, 0) < v}
        extra = {k: v for k, v in observed.items() if expected.get(k, 0) < v}
        raise CheckFailed(check, f"cart holds {observed}, expected {expected}"
                          + (f"; missing {lost}" if lost else "") + (f"; unexpected {extra}" if extra else ""))


def added_item(body, sku: str, qty: float) -> dict:
    """A REST add-item answer names the item that was added."""
    item = json_object(body)
    if item.get("sku") != sku:
        raise CheckFailed("item_added", f"added {sku}, the store answered with item {item.get('sku')!r}")
    return item


def totals(body, expected: dict[str, float] | None = None, shipping_expected: bool = False) -> dict:
    """Totals add up: grand_total = subtotal + shipping + tax - discount; subtotal = sum of rows; rows = price*qty;
    and they hold the lines the customer put in the cart."""
    t = json_object(body)
    try:
        sub = float(t["subtotal"])
        grand = float(t["grand_total"])
        ship = float(t.get("shipping_amount") or 0)
        tax = float(t.get("tax_amount") or 0)
        discount = abs(float(t.get("discount_amount") or 0))
        rows = [(float(i["price"]), float(i["qty"]), float(i.get("row_total", float(i["price"]) * float(i["qty"]))))
                for i in t.get("items") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckFailed("totals_shape", f"totals without a readable {exc}") from None
    if abs(grand - (sub + ship + tax - discount)) > MONEY_TOLERANCE:
        raise CheckFailed("totals_sum", f"grand_total {grand} != subtotal {sub} + shipping {ship} + tax {tax} - discount {discount}")
    if any(abs(row - price * qty) > MONEY_TOLERANCE for price, qty, row in rows):
        raise CheckFailed("totals_rows", "a row total is not price x qty")
    if abs(sum(r for _p, _q, r in rows) - sub) > MONEY_TOLERANCE:
        raise CheckFailed("totals_subtotal", f"subtotal {sub} != sum of rows {sum(r for _p, _q, r in rows):.2f}")
    if expected is not None:
        qty = sum(expected.values())
        if abs(float(t.get("items_qty") or sum(q for _p, q, _r in rows)) - qty) > 1e-6:
            raise CheckFailed("totals_items", f"totals count {t.get('items_qty')} items, the cart was given {qty}")
    if shipping_expected and ship <= 0:
        raise CheckFailed("totals_shipping", "no shipping in the totals after a shipping method was chosen")
    return t


def shipping_methods(body) -> tuple[str, str]:
    methods = [m for m in json_list(body) if isinstance(m, dict) and m.get("available", True)]
    if not methods:
        raise CheckFailed("shipping_offered", "no available shipping method for a valid address")
    return methods[0]["carrier_code"], methods[0]["method_code"]


def customer_is(body, email: str) -> dict:
    me = json_object(body)
    if me.get("email") != email:
        raise CheckFailed("same_customer", f"the token answered for {me.get('email')!r}, not this customer")
    return me


def form_key(text: str, cookie: str | None) -> str:
    m = FORM_KEY_RE.search(text or "")
    # A page from a full-page cache in front (Varnish) carries no key: Magento's JS takes the form_key cookie.
    key = ((m.group(1) or m.group(2)) if m else None) or cookie
    if not key:
        raise CheckFailed("form_key", "no form_key on the page")
    return key


def page_is(text: str, title: str) -> None:
    """A browser that followed redirects landed on the page a successful step lands on."""
    if f"<title>{title}</title>" not in (text or ""):
        got = re.search(r"<title>(.*?)</title>", text or "")
        raise CheckFailed("landed_on", f"expected the {title!r} page, landed on {got.group(1) if got else 'no page'!r}")


def cart_page_lines(text: str) -> dict[str, float]:
    return cart_lines([{"sku": s, "qty": q} for s, q in CART_LINE_RE.findall(text or "")])


def checkout_config(text: str) -> dict:
    m = CHECKOUT_CONFIG_RE.search(text or "")
    if not m:
        raise CheckFailed("checkout_config", "the checkout page has no checkoutConfig")
    try:
        return json.loads(m.group(1))
    except ValueError:
        raise CheckFailed("checkout_config", "the checkout page's checkoutConfig is not JSON") from None


def order_number(text: str, expected: int) -> None:
    m = ORDER_NUMBER_RE.search(text or "")
    if not m or int(m.group(1)) != expected:
        raise CheckFailed("success_order", f"the success page shows order {m.group(1) if m else 'none'}, "
                                           f"the store answered {expected}")


def sections(body) -> tuple[str | None, dict[str, float]]:
    """customer/section/load: (the customer's full name it shows, the cart lines it shows)."""
    s = json_object(body)
    customer = s.get("customer")
    who = customer.get("fullname") if isinstance(customer, dict) else None
    return who, cart_lines((s.get("cart") or {}).get("items"))


def session_kept(who: str | None, fullname: str) -> None:
    if who != fullname:
        raise CheckFailed("session_kept", f"the session shows customer {who!r}, not {fullname!r}")
