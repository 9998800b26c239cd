"""Content checks: what a response must say for a journey step to count as done, beyond its status.

Each check raises CheckFailed(check, reason); `generic()` returns the failures any Magento response can show
(an error page, an error-shaped JSON body, an error in the `mage-messages` cookie). Pure functions of a response's
status, headers, text and parsed body, so they are tested without a store (tests/test_checks.py).
"""
from __future__ import annotations

import json
import re
from html import unescape
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
# Markup as Magento 2.4's templates render it (tests/test_magento_markup.py holds these to the templates' shape):
# attributes are read by name, in any order, so a theme that reorders or adds attributes still parses.
TAG_ATTR_RE = re.compile(r'([\w:-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
INPUT_RE = re.compile(r"<input\b[^>]*>", re.I | re.S)
CART_QTY_NAME_RE = re.compile(r"^cart\[(\d+)\]\[qty\]$")            # Magento_Checkout cart/item/default.phtml
ORDER_LINK_RE = re.compile(r'<a\b([^>]*\bclass="[^"]*\border-number\b[^"]*"[^>]*)>\s*<strong>\s*([^<]+?)\s*</strong>', re.I)
ORDER_VIEW_ID_RE = re.compile(r"/order_id/(\d+)")                    # sales/order/view/order_id/<entity id>/
GUEST_ORDER_RE = re.compile(r"Your order # is:\s*<span>\s*([^<]+?)\s*</span>")  # success.phtml, no order view
FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.I | re.S)
ADD_ACTION_RE = re.compile(r"/checkout/cart/add(/|$)")
CHECKOUT_CONFIG_AT = re.compile(r"window\.checkoutConfig\s*=\s*")   # onepage.phtml: more statements follow it


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
    value, messages = cookie_value, None
    for _ in range(3):  # PHP's setcookie encodes once; a proxy or an extension that encodes again is still read
        value = unquote(value)
        try:
            messages = json.loads(value)
            break
        except ValueError:
            continue
    if not isinstance(messages, list):
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


def shipping_methods(body, wanted: str = "") -> tuple[str, str]:
    """(carrier, method) to ship with: `wanted` (<carrier>_<method>, the target's [checkout]) when the store offers
    it for the address, else the first available one."""
    methods = [m for m in json_list(body) if isinstance(m, dict) and m.get("available", True)]
    if not methods:
        raise CheckFailed("shipping_offered", "no available shipping method for a valid address")
    if wanted:
        for m in methods:
            if f"{m.get('carrier_code')}_{m.get('method_code')}" == wanted:
                return m["carrier_code"], m["method_code"]
        offered = ", ".join(f"{m.get('carrier_code')}_{m.get('method_code')}" for m in methods)
        raise CheckFailed("shipping_offered", f"shipping method {wanted} is not offered for the address "
                                              f"(offered: {offered})")
    return methods[0]["carrier_code"], methods[0]["method_code"]


def customer_is(body, email: str) -> dict:
    me = json_object(body)
    if me.get("email") != email:
        raise CheckFailed("same_customer", f"the token answered for {me.get('email')!r}, not this customer")
    return me


def add_to_cart_action(text: str, product: int) -> str:
    """The action of the product page's add-to-cart form (Magento_Catalog product/view/form.phtml:
    checkout/cart/add/uenc/<referer>/product/<id>/): where the browser posts it."""
    for m in FORM_RE.finditer(text or ""):
        action = attributes(m.group(1)).get("action", "")
        if ADD_ACTION_RE.search(action) and (f"/product/{product}/" in action or f'value="{product}"' in m.group(0)):
            return action
    raise CheckFailed("add_to_cart_form", f"the product page has no add-to-cart form for product {product}")


def landed_after_add(text: str, product: int) -> str:
    """Where an add-to-cart landed: "cart" (the cart page) or "product" (back on the product page it was posted
    from, Magento's default); anywhere else is a failed step."""
    if "<title>Shopping Cart</title>" in (text or ""):
        return "cart"
    try:
        add_to_cart_action(text, product)
    except CheckFailed:
        got = re.search(r"<title>(.*?)</title>", text or "")
        raise CheckFailed("landed_on", "after adding to cart, expected the cart page or the product page, landed on "
                                       f"{got.group(1) if got else 'no page'!r}") from None
    return "product"


def page_is(text: str, title: str) -> None:
    """A browser that followed redirects landed on the page a successful step lands on."""
    if f"<title>{title}</title>" not in (text or ""):
        got = re.search(r"<title>(.*?)</title>", text or "")
        raise CheckFailed("landed_on", f"expected the {title!r} page, landed on {got.group(1) if got else 'no page'!r}")


def attributes(tag: str) -> dict[str, str]:
    return {m.group(1).lower(): unescape(m.group(2) if m.group(2) is not None else m.group(3))
            for m in TAG_ATTR_RE.finditer(tag)}


def cart_page_lines(text: str) -> dict[str, float]:
    """{sku: qty} from the cart page's item qty inputs (name="cart[<item id>][qty]", data-cart-item-id="<sku>")."""
    items = []
    for tag in INPUT_RE.findall(text or ""):
        a = attributes(tag)
        if CART_QTY_NAME_RE.match(a.get("name", "")):
            if not a.get("data-cart-item-id"):
                raise CheckFailed("cart_page", f"a cart line without its SKU (data-cart-item-id): {tag[:120]}")
            try:
                items.append({"sku": a["data-cart-item-id"], "qty": float(a.get("value") or 0)})
            except ValueError:
                raise CheckFailed("cart_page", f"a cart line's quantity is not a number: {a.get('value')!r}") from None
    return cart_lines(items)


def checkout_config(text: str) -> dict:
    """window.checkoutConfig: the JSON value after the assignment, whatever statements follow it in its script."""
    m = CHECKOUT_CONFIG_AT.search(text or "")
    if not m:
        raise CheckFailed("checkout_config", "the checkout page has no checkoutConfig")
    try:
        value, _end = json.JSONDecoder().raw_decode(text, m.end())
    except ValueError:
        raise CheckFailed("checkout_config", "the checkout page's checkoutConfig is not JSON") from None
    if not isinstance(value, dict):
        raise CheckFailed("checkout_config", "the checkout page's checkoutConfig is not an object")
    return value


def order_number(text: str, expected: int) -> str:
    """The success page a logged-in customer sees names the order the store answered: its increment id, linked to
    sales/order/view/order_id/<the order's entity id> (the id payment-information returned). Returns the increment id."""
    m = ORDER_LINK_RE.search(text or "")
    if not m:
        guest = GUEST_ORDER_RE.search(text or "")
        raise CheckFailed("success_order", f"the success page shows order {guest.group(1)!r} as to a guest (no link to "
                                           "the order): the customer's session was not found" if guest else
                                           "the success page shows no order number")
    href = attributes(m.group(1)).get("href", "")
    view = ORDER_VIEW_ID_RE.search(href)
    if not view or int(view.group(1)) != expected:
        raise CheckFailed("success_order", f"the success page shows order {m.group(2)!r} linked to "
                                           f"{view.group(1) if view else href!r}, the store answered order {expected}")
    return m.group(2)


def sections(body) -> tuple[str | None, dict[str, float]]:
    """customer/section/load: (the customer's full name it shows, the cart lines it shows)."""
    s = json_object(body)
    customer = s.get("customer")
    who = customer.get("fullname") if isinstance(customer, dict) else None
    return who, cart_lines((s.get("cart") or {}).get("items"))


def session_kept(who: str | None, fullname: str) -> None:
    if who != fullname:
        raise CheckFailed("session_kept", f"the session shows customer {who!r}, not {fullname!r}")
