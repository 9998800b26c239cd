<?php
// Storefront checkout pages a shopper walks through (Magento's checkout/index, checkout/onepage/success), the
// `mage-messages` cookie Magento uses to show a page's messages, and the customer-session authentication the
// checkout page's own REST calls use (Magento\Customer\Model\Authorization\CustomerSessionUserContext).
declare(strict_types=1);

/** Queue a message for the next page, as Magento does: JSON in the `mage-messages` cookie (read and cleared by JS). */
function gl_message(string $type, string $text): void
{
    $GLOBALS['gl_messages'][] = ['type' => $type, 'text' => $text];
    // Theme\Controller\Result\MessagePlugin: the JSON itself; PHP's setcookie URL-encodes it (once).
    setcookie('mage-messages', (string)json_encode($GLOBALS['gl_messages']), ['path' => '/', 'samesite' => 'Strict']);
}

/** The session's cart when it is still open (an ordered quote is inactive: the session then has no cart). */
/** The session key of the cart: Magento\Checkout\Model\Session::_getQuoteIdKey() is 'quote_id_' . website id. A
 * release that moves the store to another website id (`website_id`) no longer finds the carts of sessions the old
 * colour wrote: guests lose theirs; a logged-in customer's is found again through the account. */
function gl_quote_key(): string
{
    return 'quote_id_' . (int)gl_defect('website_id', 1);
}

function gl_session_active_quote(): ?array
{
    if (empty($_SESSION[gl_quote_key()])) {
        // Magento\Checkout\Model\Session::getQuote(): a logged-in customer without a quote id in the session
        // gets their active cart.
        return empty($_SESSION['customer_id']) ? null : gl_customer_cart((int)$_SESSION['customer_id'], false);
    }
    return gl_q('SELECT * FROM quote WHERE entity_id = ? AND is_active = 1', [$_SESSION[gl_quote_key()]])->fetch() ?: null;
}

/** REST calls from the storefront's own pages carry the session cookie instead of a bearer token. */
function gl_session_customer_id(): ?int
{
    if (empty($_COOKIE['PHPSESSID'])) {
        return null;
    }
    if (session_status() !== PHP_SESSION_ACTIVE) {
        gl_session_start();
    }
    return empty($_SESSION['customer_id']) ? null : (int)$_SESSION['customer_id'];
}

/** @return array{0:int,1:array,2:string}|null a checkout page, or null when the path is not one */
function gl_checkout_pages(string $method, string $path): ?array
{
    $h = fn($s) => htmlspecialchars((string)$s, ENT_QUOTES);
    if ($method === 'GET' && preg_match('#^/checkout(/index(/index)?)?/?$#', $path)) {
        $q = gl_session_active_quote();
        if (!$q || !gl_items((int)$q['entity_id'])) {
            return gl_redirect('/checkout/cart/');  // Magento sends an empty cart back to the cart page
        }
        if (empty($_SESSION['customer_id'])) {
            return gl_redirect('/customer/account/login/');  // guest checkout disabled on this store
        }
        $totals = gl_totals($q);
        $config = ['quoteData' => ['entity_id' => (string)$q['entity_id'], 'items_qty' => $totals['items_qty']],
                   'totalsData' => $totals, 'isCustomerLoggedIn' => true,
                   'customerData' => ['id' => (int)$_SESSION['customer_id']]];
        // Magento_Checkout's onepage.phtml: the config, then the aliases customer.js reads, in one script.
        return [200, [], gl_page('Checkout', '<div id="checkout" data-bind="scope:\'checkout\'" class="checkout-container">'
            . '<script type="text/x-magento-init">{"#checkout": {"Magento_Ui/js/core/app": {"components": {}}}}</script>'
            . "<script>\n    window.checkoutConfig = " . json_encode($config, JSON_UNESCAPED_SLASHES | JSON_HEX_TAG) . ";\n"
            . "    // Create aliases for customer.js model from customer module\n"
            . "    window.isCustomerLoggedIn = window.checkoutConfig.isCustomerLoggedIn;\n"
            . "    window.customerData = window.checkoutConfig.customerData;\n</script></div>")];
    }
    if ($method === 'GET' && preg_match('#^/checkout/onepage/success/?$#', $path)) {
        $order = $_SESSION['last_order_id'] ?? null;
        if (!$order) {
            return gl_redirect('/checkout/cart/');  // the success page shows once, then sends the shopper away
        }
        $increment = (string)($_SESSION['last_real_order_id'] ?? '');
        unset($_SESSION['last_order_id'], $_SESSION['last_real_order_id']);
        // Magento_Checkout's success.phtml (Block\Onepage\Success): the increment id; a customer who may view the
        // order gets it as a link to sales/order/view/order_id/<entity id>/, a guest as a plain span.
        $number = empty($_SESSION['customer_id'])
            ? 'Your order # is: <span>' . $h($increment) . '</span>.'
            : sprintf('Your order number is: <a href="%s" class="order-number"><strong>%s</strong></a>.',
                $h(gl_url('sales/order/view/order_id/' . (int)$order . '/')), $h($increment));
        return [200, [], gl_page('Success Page', '<h1 class="page-title"><span class="base" data-ui-id="page-title-wrapper">'
            . 'Thank you for your purchase!</span></h1><div class="checkout-success"><p>' . $number . '</p>'
            . "<p>We'll email you an order confirmation with details and tracking info.</p>"
            . '<div class="actions-toolbar"><div class="primary"><a class="action primary continue" href="'
            . $h(gl_url('')) . '"><span>Continue Shopping</span></a></div></div></div>')];
    }
    return null;
}

/** After an order placed from the storefront, the success page shows its number once and the cart is new. */
function gl_session_order_placed(int $orderId, string $incrementId): void
{
    if (session_status() === PHP_SESSION_ACTIVE) {
        $_SESSION['last_order_id'] = $orderId;
        $_SESSION['last_real_order_id'] = $incrementId;
        unset($_SESSION[gl_quote_key()]);
    }
}

/** Magento's pub/errors report page, as a shopper sees it. */
function gl_error_report_page(): string
{
    $report = substr(bin2hex(random_bytes(8)), 0, 12);
    return '<!doctype html><title>There has been an error processing your request</title>'
        . '<h1>There has been an error processing your request</h1>'
        . '<p>Exception printing is disabled by default for security reasons.</p>'
        . "<p>Error log record number: $report</p>";
}
