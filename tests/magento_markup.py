"""Storefront markup shaped as Magento 2.4's own templates render it, for the contract tests and the fake store.

Each function follows one template of the public magento/magento2 repository (named beside it): its element
nesting, attribute names and their order, its text. Written from the templates, not copied. The parsers in
locustfiles/gl_checks.py are held to these in tests/test_magento_markup.py, and the replica's pages to the same
parsers in tests/replica/test_magento_behaviours.py: a drift on either side fails a test."""
from __future__ import annotations

import base64
import json
from html import escape


def uenc(url: str) -> str:
    """Magento\\Framework\\Url\\Encoder: base64 with + / = as - _ , (a URL path segment)."""
    return base64.b64encode(url.encode()).decode().translate(str.maketrans("+/=", "-_,"))


def product_form(base: str, product_id: int, sku: str, form_key: str) -> str:
    """Magento_Catalog/templates/product/view/form.phtml (the add-to-cart form of a simple product)."""
    page = f"{base}/catalog/product/view/id/{product_id}"
    action = f"{base}/checkout/cart/add/uenc/{uenc(page)}/product/{product_id}/"
    return (f'<div class="product-add-form">\n    <form data-product-sku="{escape(sku)}"\n'
            f'          action="{escape(action)}" method="post"\n          id="product_addtocart_form">\n'
            f'        <input type="hidden" name="product" value="{product_id}" />\n'
            '        <input type="hidden" name="selected_configurable_option" value="" />\n'
            '        <input type="hidden" name="related_product" id="related-products-field" value="" />\n'
            f'        <input type="hidden" name="item"  value="{product_id}" />\n'
            f'        <input name="form_key" type="hidden" value="{escape(form_key)}" />\n'
            '        <div class="box-tocart"><div class="fieldset"><div class="field qty">\n'
            '            <label class="label" for="qty"><span>Qty</span></label>\n'
            '            <div class="control"><input type="number" name="qty" id="qty" min="0" value="1" title="Qty"'
            ' class="input-text qty" data-validate="{&quot;required-number&quot;:true}" /></div></div>\n'
            '            <div class="actions"><button type="submit" title="Add to Cart" class="action primary tocart"'
            ' id="product-addtocart-button" disabled><span>Add to Cart</span></button></div></div></div>\n'
            '    </form>\n</div>\n')


def cart_item(base: str, item_id: int, product_id: int, sku: str, name: str, qty: float, price: float) -> str:
    """Magento_Checkout/templates/cart/item/default.phtml: one tbody per item, the qty input named by the item id."""
    shown = f"{qty:g}"
    return (f'<tbody class="cart item">\n    <tr class="item-info">\n'
            f'        <td data-th="Item" class="col item">\n'
            f'            <a href="{base}/catalog/product/view/id/{product_id}/" title="{escape(name)}" tabindex="-1"'
            ' class="product-item-photo"></a>\n'
            f'            <div class="product-item-details"><strong class="product-item-name">'
            f'<a href="{base}/catalog/product/view/id/{product_id}/">{escape(name)}</a></strong></div>\n        </td>\n'
            f'        <td class="col price" data-th="Price"><span class="price">${price:.2f}</span></td>\n'
            '        <td class="col qty" data-th="Qty">\n            <div class="field qty">\n'
            f'                <label class="label" for="cart-{item_id}-qty"><span>Qty</span></label>\n'
            '                <div class="control qty">\n'
            f'                    <input id="cart-{item_id}-qty"\n'
            f'                           name="cart[{item_id}][qty]"\n'
            f'                           data-cart-item-id="{escape(sku)}"\n'
            f'                           value="{shown}"\n'
            '                           type="number"\n                           size="4"\n'
            '                           step="any"\n                           title="Qty"\n'
            '                           class="input-text qty"\n'
            "                           data-validate=\"{required:true,'validate-greater-than-zero':true}\"\n"
            '                           data-item-qty="' + shown + '"\n'
            '                           data-role="cart-item-qty"/>\n'
            '                </div>\n            </div>\n        </td>\n'
            f'        <td class="col subtotal" data-th="Subtotal"><span class="price">${price * qty:.2f}</span></td>\n'
            '    </tr>\n</tbody>\n')


def cart_page(base: str, form_key: str, items: list[dict]) -> str:
    """Magento_Checkout/templates/cart/form.phtml around the items (an empty cart: cart/noItems.phtml)."""
    if not items:
        return '<div class="cart-empty"><p>You have no items in your shopping cart.</p></div>'
    rows = "".join(cart_item(base, **i) for i in items)
    return (f'<form action="{base}/checkout/cart/updatePost/" method="post" id="form-validate"'
            ' data-mage-init=\'{"Magento_Checkout/js/action/update-shopping-cart":{}}\' class="form form-cart">\n'
            f'    <input name="form_key" type="hidden" value="{escape(form_key)}" />\n'
            '    <div class="cart table-wrapper">\n        <table id="shopping-cart-table" class="cart items data table">\n'
            '            <caption class="table-caption">Shopping Cart Items</caption>\n'
            + rows + '        </table>\n    </div>\n</form>\n')


def checkout_script(config: dict) -> str:
    """Magento_Checkout/templates/onepage.phtml: the config, then the aliases customer.js reads, in one script."""
    return ('<div id="checkout" data-bind="scope:\'checkout\'" class="checkout-container">\n'
            '    <script type="text/x-magento-init">{"#checkout": {"Magento_Ui/js/core/app": {"components": {}}}}'
            '</script>\n    <script>\n'
            f"        window.checkoutConfig = {json.dumps(config)};\n"
            "        // Create aliases for customer.js model from customer module\n"
            "        window.isCustomerLoggedIn = window.checkoutConfig.isCustomerLoggedIn;\n"
            "        window.customerData = window.checkoutConfig.customerData;\n    </script>\n</div>\n")


def success_page(base: str, entity_id: int, increment_id: str, can_view_order: bool = True) -> str:
    """Magento_Checkout/templates/success.phtml (Block\\Onepage\\Success): the increment id, linked to the order's
    view page (by entity id) when the customer may view it, else in a plain span."""
    if can_view_order:
        number = (f'<p>Your order number is: <a href="{base}/sales/order/view/order_id/{entity_id}/" '
                  f'class="order-number"><strong>{escape(increment_id)}</strong></a>.</p>')
    else:
        number = f"<p>Your order # is: <span>{escape(increment_id)}</span>.</p>"
    return ('<div class="checkout-success">\n    ' + number + "\n"
            "    <p>We'll email you an order confirmation with details and tracking info.</p>\n"
            '    <div class="actions-toolbar"><div class="primary"><a class="action primary continue" '
            f'href="{base}/"><span>Continue Shopping</span></a></div></div>\n</div>\n')
