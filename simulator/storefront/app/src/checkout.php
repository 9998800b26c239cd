<?php
// The checkout domain: carts (quotes), items, totals, shipping, orders, customers and tokens.
declare(strict_types=1);

const GL_SHIPPING_PER_ITEM = 5.0;

function gl_required(array $body, string $field)
{
    if (!array_key_exists($field, $body) || $body[$field] === null || $body[$field] === '') {
        throw new HttpError(400, '"%fieldName" is required. Enter and try again.', ['fieldName' => $field]);
    }
    return $body[$field];
}

function gl_no_cart(string $id): HttpError
{
    return new HttpError(404, 'No such entity with %fieldName = %fieldValue', ['fieldName' => 'cartId', 'fieldValue' => $id]);
}

function gl_cart_by_mask(string $masked): array
{
    $q = gl_q('SELECT * FROM quote WHERE masked_id = ? AND is_active = 1', [$masked])->fetch();
    if (!$q) {
        throw gl_no_cart($masked);
    }
    return $q;
}

function gl_cart_by_id(int $id): array
{
    $q = gl_q('SELECT * FROM quote WHERE entity_id = ? AND is_active = 1', [$id])->fetch();
    if (!$q) {
        throw gl_no_cart((string)$id);
    }
    return $q;
}

function gl_create_guest_cart(): string
{
    $masked = bin2hex(random_bytes(16));
    gl_q('INSERT INTO quote (masked_id, is_active, created_at) VALUES (?, 1, NOW(6))', [$masked]);
    return $masked;
}

function gl_customer_cart(int $customerId, bool $create): ?array
{
    $q = gl_q('SELECT * FROM quote WHERE customer_id = ? AND is_active = 1 ORDER BY entity_id DESC LIMIT 1', [$customerId])->fetch();
    if (!$q && $create) {
        gl_q('INSERT INTO quote (customer_id, is_active, created_at) VALUES (?, 1, NOW(6))', [$customerId]);
        $q = gl_cart_by_id((int)gl_db()->lastInsertId());
    }
    return $q ?: null;
}

function gl_product_by_sku(string $sku): array
{
    $p = gl_q('SELECT * FROM catalog_product_entity WHERE sku = ?', [$sku])->fetch();
    if (!$p) {
        throw new HttpError(404, "The product that was requested doesn't exist. Verify the product and try again.");
    }
    return $p;
}

function gl_product_by_id(int $id): ?array
{
    return gl_q('SELECT * FROM catalog_product_entity WHERE entity_id = ?', [$id])->fetch() ?: null;
}

function gl_add_item(array $quote, string $sku, float $qty): array
{
    if ($qty <= 0) {
        throw new HttpError(400, 'The quantity must be greater than 0.');
    }
    $required = gl_defect('requires_table');
    if ($required) { // the release's code uses a table its migrations never created
        gl_q("SELECT COUNT(*) FROM `$required`");
    }
    $p = gl_product_by_sku($sku);
    if ((float)$p['qty'] <= 0) {  // Magento\CatalogInventory: an out-of-stock product is not salable at all
        throw new HttpError(400, 'Product that you are trying to add is not available.');
    }
    $inCart = (float)gl_q('SELECT COALESCE(SUM(qty), 0) FROM quote_item WHERE quote_id = ? AND sku = ?',
        [$quote['entity_id'], $sku])->fetchColumn();
    $salable = gl_defect('salable_qty_below');  // a stock reservation bug: larger quantities are "not salable"
    if ((float)$p['qty'] < $inCart + $qty || ($salable && $qty >= $salable)) {  // the line's whole quantity
        throw new HttpError(400, 'The requested qty is not available');
    }
    if (gl_defect('guest_cart_keeps_last_line') && !empty($quote['masked_id'])) {
        // a guest cart saved from a stale item collection: the lines added before this one vanish
        gl_q('DELETE FROM quote_item WHERE quote_id = ? AND sku <> ?', [$quote['entity_id'], $sku]);
    }
    $existing = gl_q('SELECT item_id FROM quote_item WHERE quote_id = ? AND sku = ?', [$quote['entity_id'], $sku])->fetch();
    if ($existing) {
        gl_q('UPDATE quote_item SET qty = qty + ? WHERE item_id = ?', [$qty, $existing['item_id']]);
        $itemId = (int)$existing['item_id'];
    } elseif (gl_defect('quote_item_has_name', true)) {
        gl_q('INSERT INTO quote_item (quote_id, product_id, sku, name, price, qty) VALUES (?,?,?,?,?,?)',
            [$quote['entity_id'], $p['entity_id'], $sku, $p['name'], $p['price'], $qty]);
        $itemId = (int)gl_db()->lastInsertId();
    } else {
        gl_q('INSERT INTO quote_item (quote_id, product_id, sku, price, qty) VALUES (?,?,?,?,?)',
            [$quote['entity_id'], $p['entity_id'], $sku, $p['price'], $qty]);
        $itemId = (int)gl_db()->lastInsertId();
    }
    gl_q('UPDATE quote SET updated_at = NOW(6) WHERE entity_id = ?', [$quote['entity_id']]);
    $item = gl_items((int)$quote['entity_id'], $itemId)[0];
    $item['quote_id'] = $quote['masked_id'] ?? (string)$quote['entity_id'];
    return $item;
}

function gl_items(int $quoteId, ?int $itemId = null): array
{
    // Newer releases may read the name from the catalog instead of quote_item.name.
    $name = gl_defect('quote_item_has_name', true) ? 'qi.name' : 'p.name';
    $sql = "SELECT qi.item_id, qi.sku, qi.qty, $name AS name, qi.price FROM quote_item qi
            JOIN catalog_product_entity p ON p.entity_id = qi.product_id WHERE qi.quote_id = ?";
    $args = [$quoteId];
    if ($itemId !== null) {
        $sql .= ' AND qi.item_id = ?';
        $args[] = $itemId;
    }
    return array_map(fn($r) => [
        'item_id' => (int)$r['item_id'], 'sku' => $r['sku'], 'qty' => (float)$r['qty'], 'name' => $r['name'],
        'price' => (float)$r['price'], 'product_type' => 'simple', 'quote_id' => (string)$quoteId,
    ], gl_q($sql . ' ORDER BY qi.item_id', $args)->fetchAll());
}

function gl_cart_view(array $quote): array
{
    $items = gl_items((int)$quote['entity_id']);
    return [
        'id' => (int)$quote['entity_id'],
        'is_active' => (bool)$quote['is_active'],
        'items' => $items,
        'items_count' => count($items),
        'items_qty' => array_sum(array_column($items, 'qty')),
        'customer_is_guest' => $quote['customer_id'] === null,
        'currency' => ['quote_currency_code' => 'USD', 'base_currency_code' => 'USD'],
    ];
}

function gl_totals(array $quote): array
{
    $items = gl_items((int)$quote['entity_id']);
    $sub = 0.0;
    $qty = 0.0;
    $lines = [];
    foreach ($items as $i) {
        $sub += $i['price'] * $i['qty'];
        $qty += $i['qty'];
        $lines[] = ['item_id' => $i['item_id'], 'price' => $i['price'], 'qty' => $i['qty'],
                    'row_total' => $i['price'] * $i['qty'], 'name' => $i['name']];
    }
    $ship = $quote['shipping_method'] ? (float)$quote['shipping_amount'] : 0.0;
    return [
        'grand_total' => round($sub + $ship, 2), 'base_grand_total' => round($sub + $ship, 2),
        'subtotal' => round($sub, 2), 'shipping_amount' => $ship, 'items_qty' => $qty, 'items' => $lines,
        'total_segments' => [
            ['code' => 'subtotal', 'title' => 'Subtotal', 'value' => round($sub, 2)],
            ['code' => 'shipping', 'title' => 'Shipping & Handling', 'value' => $ship],
            ['code' => 'grand_total', 'title' => 'Grand Total', 'value' => round($sub + $ship, 2)],
        ],
        'quote_currency_code' => 'USD', 'base_currency_code' => 'USD',
    ];
}

function gl_shipping_methods(array $quote, array $body): array
{
    $address = gl_required($body, 'address');
    if (!is_array($address)) {
        throw new HttpError(400, '"%fieldName" is required. Enter and try again.', ['fieldName' => 'address']);
    }
    $delay = (int)gl_defect('shipping_estimate_ms', 0);  // a carrier rate API called synchronously
    if ($delay > 0) {
        usleep($delay * 1000);
    }
    $qty = array_sum(array_column(gl_items((int)$quote['entity_id']), 'qty'));
    $amount = GL_SHIPPING_PER_ITEM * max(1, $qty);
    return [[
        'carrier_code' => 'flatrate', 'method_code' => 'flatrate', 'carrier_title' => 'Flat Rate',
        'method_title' => 'Fixed', 'amount' => $amount, 'base_amount' => $amount, 'available' => true,
        'error_message' => '', 'price_excl_tax' => $amount, 'price_incl_tax' => $amount,
    ]];
}

function gl_set_shipping(array $quote, array $body): array
{
    $info = gl_required($body, 'addressInformation');
    if (!is_array($info)) {
        throw new HttpError(400, '"%fieldName" is required. Enter and try again.', ['fieldName' => 'addressInformation']);
    }
    $addr = gl_required($info, 'shipping_address');
    $carrier = gl_required($info, 'shipping_carrier_code');
    $method = gl_required($info, 'shipping_method_code');
    if ($carrier !== 'flatrate' || $method !== 'flatrate') {
        throw new HttpError(400, 'Carrier with such method not found: %1, %2', ['1' => $carrier, '2' => $method]);
    }
    if (!gl_items((int)$quote['entity_id'])) {
        throw new HttpError(400, 'The shipping method is missing. Select the shipping method and try again.');
    }
    $qty = array_sum(array_column(gl_items((int)$quote['entity_id']), 'qty'));
    gl_q('UPDATE quote SET shipping_method = ?, shipping_amount = ?, customer_email = COALESCE(?, customer_email) WHERE entity_id = ?',
        ["{$carrier}_{$method}", GL_SHIPPING_PER_ITEM * $qty, is_array($addr) ? ($addr['email'] ?? null) : null, $quote['entity_id']]);
    return [
        'payment_methods' => [['code' => 'checkmo', 'title' => 'Check / Money order']],
        'totals' => gl_totals(gl_cart_by_id((int)$quote['entity_id'])),
    ];
}

function gl_place_order(array $quote, array $body, ?string $email): int
{
    $payment = gl_required($body, 'paymentMethod');
    if (!is_array($payment) || ($payment['method'] ?? '') === '') {
        throw new HttpError(400, '"%fieldName" is required. Enter and try again.', ['fieldName' => 'method']);
    }
    if ($payment['method'] !== 'checkmo') {
        throw new HttpError(400, 'The requested Payment Method is not available.');
    }
    $items = gl_items((int)$quote['entity_id']);
    if (!$items) {
        throw new HttpError(400, 'Unable to place order: Cart does not contain any items.');
    }
    if (!$quote['shipping_method']) {
        throw new HttpError(400, 'The shipping method is missing. Select the shipping method and try again.');
    }
    $failQty = gl_defect('place_order_fails_at_qty');
    if ($failQty && max(array_column($items, 'qty')) >= $failQty) {
        throw new RuntimeException('Order total collector failed on a multi-quantity line');
    }
    $email = $email ?: $quote['customer_email'];
    if (!$email) {
        throw new HttpError(400, '"%fieldName" is required. Enter and try again.', ['fieldName' => 'email']);
    }
    $totals = gl_totals($quote);
    // A total collector sorted before shipping: the stored grand total leaves shipping out.
    $total = gl_defect('order_total_excludes_shipping') ? $totals['subtotal'] : $totals['grand_total'];
    $db = gl_db();
    $db->beginTransaction();
    try {
        // Lock the quote row: two concurrent place-order calls for one cart create one order.
        $locked = gl_q('SELECT is_active FROM quote WHERE entity_id = ? FOR UPDATE', [$quote['entity_id']])->fetch();
        if (!$locked || !$locked['is_active']) {
            throw gl_no_cart((string)($quote['masked_id'] ?? $quote['entity_id']));
        }
        // The increment id (what the shopper is shown) from the store's order sequence, as
        // Magento\SalesSequence\Model\Sequence formats it: prefix (none for store 1) + %09d.
        gl_q('INSERT INTO sequence_order_1 VALUES ()');
        $increment = sprintf('%09d', (int)$db->lastInsertId());
        gl_q('INSERT INTO sales_order (increment_id, quote_id, customer_id, customer_email, grand_total, created_at, release_id)
              VALUES (?, ?, ?, ?, ?, NOW(6), ?)',
            [$increment, $quote['entity_id'], $quote['customer_id'], $email, $total, gl_manifest()['release']]);
        $orderId = (int)$db->lastInsertId();
        // The order takes its stock (MSI's reservation), products in one order so concurrent orders never deadlock.
        $bySku = $items;
        usort($bySku, fn($a, $b) => strcmp($a['sku'], $b['sku']));
        foreach ($bySku as $i) {
            $taken = gl_q('UPDATE catalog_product_entity SET qty = qty - ? WHERE sku = ? AND qty >= ?',
                [$i['qty'], $i['sku'], $i['qty']])->rowCount();
            if ($taken !== 1) {
                throw new HttpError(400, 'The requested qty is not available');
            }
        }
        foreach ($items as $i) {
            gl_q('INSERT INTO sales_order_item (order_id, sku, qty_ordered, price, row_total) VALUES (?, ?, ?, ?, ?)',
                [$orderId, $i['sku'], $i['qty'], $i['price'], round($i['price'] * $i['qty'], 2)]);
        }
        gl_q('UPDATE quote SET is_active = 0, reserved_order_id = ? WHERE entity_id = ?', [$orderId, $quote['entity_id']]);
        gl_publish('greenlight.order.export', ['order_id' => $orderId]);
        $db->commit();
    } catch (Throwable $e) {
        $db->rollBack();
        throw $e;
    }
    gl_session_order_placed($orderId, $increment);
    return $orderId;
}

function gl_password_hash(string $password, string $salt): string
{
    return $salt . ':' . hash('sha256', $salt . $password);
}

function gl_create_customer(array $body): array
{
    $c = gl_required($body, 'customer');
    if (!is_array($c)) {
        throw new HttpError(400, '"%fieldName" is required. Enter and try again.', ['fieldName' => 'customer']);
    }
    foreach (['email', 'firstname', 'lastname'] as $f) {
        gl_required($c, $f);
    }
    $password = (string)gl_required($body, 'password');
    if (!filter_var($c['email'], FILTER_VALIDATE_EMAIL)) {
        throw new HttpError(400, '"%1" is not a valid email address.', ['1' => $c['email']]);
    }
    if (strlen($password) < 8) {
        throw new HttpError(400, 'The password needs at least %1 characters. Create a new password and try again.', ['1' => 8]);
    }
    try {
        gl_q('INSERT INTO customer_entity (email, firstname, lastname, password_hash, created_at) VALUES (?,?,?,?,NOW())',
            [$c['email'], $c['firstname'], $c['lastname'], gl_password_hash($password, bin2hex(random_bytes(4)))]);
    } catch (PDOException $e) {
        if ($e->errorInfo[1] === 1062) {
            throw new HttpError(400, 'A customer with the same email address already exists in an associated website.');
        }
        throw $e;
    }
    return gl_customer((int)gl_db()->lastInsertId());
}

function gl_customer(int $id): array
{
    $r = gl_q('SELECT * FROM customer_entity WHERE entity_id = ?', [$id])->fetch();
    if (!$r) {
        throw new HttpError(404, 'No such entity with %fieldName = %fieldValue', ['fieldName' => 'customerId', 'fieldValue' => $id]);
    }
    return ['id' => (int)$r['entity_id'], 'group_id' => 1, 'created_at' => $r['created_at'], 'email' => $r['email'],
            'firstname' => $r['firstname'], 'lastname' => $r['lastname'], 'store_id' => 1, 'website_id' => 1,
            'addresses' => [], 'disable_auto_group_change' => 0];
}

function gl_authenticate(string $email, string $password): ?int
{
    $r = gl_q('SELECT entity_id, password_hash FROM customer_entity WHERE email = ?', [$email])->fetch();
    if (!$r) {
        return null;
    }
    [$salt] = explode(':', $r['password_hash'], 2);
    return hash_equals($r['password_hash'], gl_password_hash($password, $salt)) ? (int)$r['entity_id'] : null;
}

function gl_issue_token(int $customerId): string
{
    return gl_jwt_issue($customerId);
}

function gl_customer_for_token(?string $authorization): int
{
    if ($authorization && preg_match('/^Bearer\s+([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)$/', trim($authorization), $m)) {
        $id = gl_jwt_customer($m[1]);
        if ($id !== null) {
            return $id;
        }
    } elseif (!$authorization && ($id = gl_session_customer_id()) !== null) {
        return $id;  // the storefront's checkout page calls REST with the customer's session
    }
    throw new HttpError(401, "The consumer isn't authorized to access %resources.", ['resources' => 'self']);
}
