"""The journeys' parsers against markup shaped as Magento 2.4's templates render it (tests/magento_markup.py):
cart page lines, the checkout page's config, the success page's order number, the product page's add-to-cart form,
and the browser's own form key. Each parser must read the template's shape, survive what themes change (attribute
order, added attributes, whitespace), and fail — not guess — where the page says something else."""
import http.cookiejar
import sys
from pathlib import Path

import magento_markup as markup
import pytest

from harness.checks.form_key import browser_form_key, new_form_key

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "locustfiles"))
import gl_checks as check
from gl_checks import CheckFailed

BASE = "https://shop.example.com"


def _items(*lines):
    return [{"item_id": 40 + n, "product_id": 7 + n, "sku": sku, "name": f"Product {sku}", "qty": qty, "price": 12.5}
            for n, (sku, qty) in enumerate(lines)]


def test_cart_page_lines_come_from_the_item_qty_inputs():
    page = markup.cart_page(BASE, new_form_key(), _items(("MH01-XS-Black", 2), ("24-WB04", 1.5)))
    assert check.cart_page_lines(page) == {"MH01-XS-Black": 2.0, "24-WB04": 1.5}
    # The same SKU on two lines (a configurable with other options, a split line) counts once, summed.
    assert check.cart_page_lines(markup.cart_page(BASE, "k" * 16, _items(("24-WB04", 1), ("24-WB04", 2)))) == \
        {"24-WB04": 3.0}
    assert check.cart_page_lines(markup.cart_page(BASE, "k" * 16, [])) == {}


def test_cart_page_lines_read_attributes_in_any_order_and_refuse_a_line_without_its_sku():
    reordered = '<input value="3" data-role="cart-item-qty" data-cart-item-id="A&amp;B" type="number" name="cart[9][qty]">'
    assert check.cart_page_lines(reordered) == {"A&B": 3.0}
    # Other inputs of the page (form key, coupon, the product page's qty) are not cart lines.
    assert check.cart_page_lines('<input name="qty" value="1"><input name="form_key" value="x">') == {}
    with pytest.raises(CheckFailed) as err:
        check.cart_page_lines('<input name="cart[9][qty]" value="3">')
    assert err.value.check == "cart_page" and "data-cart-item-id" in err.value.reason
    # The replica's old shape, "SKU x qty" list items, is not a Magento cart: nothing is read from it.
    assert check.cart_page_lines('<ul class="cart"><li>GL-0001 x 2</li></ul>') == {}


def test_checkout_config_is_the_value_assigned_whatever_follows_in_its_script():
    config = {"totalsData": {"grand_total": 30.0, "items": [{"name": "a;</script>", "qty": 1}]},
              "isCustomerLoggedIn": True, "quoteData": {"entity_id": "12"}}
    assert check.checkout_config(markup.checkout_script(config)) == config
    with pytest.raises(CheckFailed) as err:
        check.checkout_config("<html>no config</html>")
    assert err.value.check == "checkout_config"
    with pytest.raises(CheckFailed):
        check.checkout_config("<script>window.checkoutConfig = {broken;</script>")


def test_the_success_page_names_the_order_by_increment_id_linked_to_its_entity_id():
    page = markup.success_page(BASE, 17, "000001016")
    assert check.order_number(page, 17) == "000001016"
    with pytest.raises(CheckFailed) as err:         # another order's page
        check.order_number(page, 18)
    assert err.value.check == "success_order" and "000001016" in err.value.reason
    # The increment id is not the entity id: a page whose number happens to equal the REST answer is no proof.
    with pytest.raises(CheckFailed):
        check.order_number(markup.success_page(BASE, 16, "000000017"), 17)
    # A logged-in customer shown the guest form: the store no longer knows who is checking out.
    with pytest.raises(CheckFailed) as err:
        check.order_number(markup.success_page(BASE, 17, "000001016", can_view_order=False), 17)
    assert "as to a guest" in err.value.reason


def test_the_add_to_cart_form_and_where_an_add_landed():
    page = markup.product_form(BASE, 7, "24-WB04", "x" * 16)
    action = check.add_to_cart_action(page, 7)
    assert action.startswith(f"{BASE}/checkout/cart/add/uenc/") and action.endswith("/product/7/")
    assert markup.uenc(f"{BASE}/catalog/product/view/id/7") in action
    with pytest.raises(CheckFailed) as err:
        check.add_to_cart_action(page, 8)           # another product's page
    assert err.value.check == "add_to_cart_form"
    assert check.landed_after_add("<title>Shopping Cart</title>", 7) == "cart"
    assert check.landed_after_add(f"<title>Joust Duffle Bag</title>{page}", 7) == "product"
    with pytest.raises(CheckFailed) as err:
        check.landed_after_add("<title>Customer Login</title>", 7)
    assert err.value.check == "landed_on" and "Customer Login" in err.value.reason


def test_the_browser_makes_its_own_form_key_once_per_store_host():
    jar = http.cookiejar.CookieJar()
    key = browser_form_key(jar, f"{BASE}/checkout/")
    assert len(key) == 16 and key.isalnum()
    assert browser_form_key(jar, BASE) == key                  # one per browser and host
    assert browser_form_key(jar, "http://127.0.0.1:8080") != key  # another host, another cookie
    assert {c.domain for c in jar} == {"shop.example.com", "127.0.0.1"}
    assert len({new_form_key() for _ in range(50)}) == 50
