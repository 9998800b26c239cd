<?php
// Storefront pages with a PHPSESSID session in the shared Redis, form_key, and private content sections.
declare(strict_types=1);

function gl_session_start(): void
{
    gl_session_open();
    // Magento's page-cache plugin copies the form_key cookie into a session that lacks one, so a POST can
    // pass even after the session itself was lost.
    if (empty($_SESSION['_form_key'])) {
        $_SESSION['_form_key'] = $_COOKIE['form_key'] ?? substr(bin2hex(random_bytes(8)), 0, 16);
    }
    setcookie('form_key', $_SESSION['_form_key'], ['path' => '/', 'samesite' => 'Lax']);
}

function gl_static_url(string $path): string
{
    $v = @file_get_contents(GL_ROOT . '/pub/static/deployed_version.txt');
    return '/static/version' . trim((string)$v) . '/frontend/Greenlight/luma/en_US/' . $path;
}

/** A page. Public (cacheable) pages carry no customer data: the header's greeting comes from customer/section/load. */
function gl_page(string $title, string $body, bool $public = false): string
{
    $h = fn($s) => htmlspecialchars((string)$s, ENT_QUOTES);
    $banner = gl_config()['banner'] ? '<div class="banner">' . $h(gl_config()['banner']) . '</div>' : '';
    // A defect a real team ships: a block with customer data left cacheable (no cacheable="false"/private scope).
    $who = isset($_SESSION['customer_id']) && (!$public || gl_defect('greeting_in_cached_pages'))
        ? 'Welcome, ' . $h($_SESSION['customer_name'] ?? '')
        : '<span class="customer-name" data-bind="customer().fullname"></span><a href="/customer/account/login/">Sign In</a>';
    $links = '';
    foreach (gl_page_assets() as $asset) {
        $links .= str_ends_with($asset, '.css') ? '<link rel="stylesheet" href="' . gl_static_url($asset) . '">'
            : '<script src="' . gl_static_url($asset) . '"></script>';
    }
    // Magento_Customer/js/customer-data reloads the private-content sections when a page loads; `reloads` is what
    // this page's scripts fire, one request per entry, all at once as a browser does (a theme may split them).
    $init = ['*' => ['Magento_Customer/js/customer-data' => [
        'sectionLoadUrl' => '/customer/section/load/', 'expirableSectionLifetime' => 60,
        'reloads' => gl_config()['section_reloads'] ?? [['cart', 'customer']]]]];
    return '<!doctype html><html><head><meta charset="utf-8"><title>' . $h($title) . '</title>'
        . $links . '<script type="text/x-magento-init">' . json_encode($init, JSON_UNESCAPED_SLASHES) . '</script>'
        . '</head><body>'
        . $banner . '<header>' . $who . '</header><main>' . $body . '</main>'
        . '<input type="hidden" name="form_key" value="' . $h($_SESSION['_form_key']) . '">'
        . '</body></html>';
}

function gl_redirect(string $to): array
{
    return [302, ['Location' => $to], ''];
}

/** @return array{0:int,1:array,2:string} status, headers, body */
function gl_storefront(string $method, string $path): array
{
    gl_session_start();
    $h = fn($s) => htmlspecialchars((string)$s, ENT_QUOTES);
    if ($method === 'GET' && ($path === '/' || $path === '/index.php')) {
        $rows = gl_q('SELECT entity_id, sku, name, price FROM catalog_product_entity ORDER BY entity_id')->fetchAll();
        $list = implode('', array_map(fn($p) => '<li><a href="/catalog/product/view/id/' . $p['entity_id'] . '">'
            . $h($p['name']) . '</a> $' . $h($p['price']) . '</li>', $rows));
        return [200, [], gl_page('Home', "<ul class=\"products\">$list</ul>", true)];
    }
    if ($method === 'GET' && preg_match('#^/catalog/product/view/id/(\d+)/?$#', $path, $m)) {
        $p = gl_product_by_id((int)$m[1]);
        if (!$p) {
            return [404, [], gl_page('404 Not Found', '<h1>Whoops, our bad...</h1>')];
        }
        $broken = gl_defect('product_page_fails_above_id');
        if ($broken && $p['entity_id'] > $broken) {  // a template that throws; the error page goes out as 200
            return [200, [], gl_error_report_page()];
        }
        return [200, [], gl_page($p['name'], '<h1 class="product-name">' . $h($p['name']) . '</h1><span class="sku">'
            . $h($p['sku']) . '</span><span class="price">$' . $h($p['price']) . '</span>'
            . '<form method="post" action="/checkout/cart/add"><input type="hidden" name="product" value="' . $p['entity_id'] . '">'
            . '<input type="hidden" name="form_key" value="' . $h($_SESSION['_form_key']) . '"><input name="qty" value="1"></form>', true)];
    }
    if ($method === 'GET' && preg_match('#^/customer/account/login/?$#', $path)) {
        return [200, [], gl_page('Customer Login', '<form method="post" action="/customer/account/loginPost/">'
            . '<input type="hidden" name="form_key" value="' . $h($_SESSION['_form_key']) . '">'
            . '<input name="login[username]"><input type="password" name="login[password]"></form>')];
    }
    if ($method === 'POST' && preg_match('#^/customer/account/loginPost/?$#', $path)) {
        if (!gl_form_key_ok()) {
            return gl_redirect('/customer/account/login/');
        }
        $login = $_POST['login'] ?? [];
        $id = gl_authenticate((string)($login['username'] ?? ''), (string)($login['password'] ?? ''));
        if ($id === null) {
            gl_message('error', 'The account sign-in was incorrect or your account is disabled temporarily.');
            return gl_redirect('/customer/account/login/');
        }
        session_regenerate_id(true);
        $c = gl_customer($id);
        $_SESSION['customer_id'] = $id;
        $_SESSION['customer_name'] = $c['firstname'] . ' ' . $c['lastname'];
        $_SESSION['customer_firstname'] = $c['firstname'];
        gl_vary_cookie(1);
        // As Magento does at log-in: the customer's saved (active) cart becomes the session's cart.
        $saved = gl_customer_cart($id, false);
        if ($saved) {
            $_SESSION[gl_quote_key()] = (int)$saved['entity_id'];
        }
        return gl_redirect('/customer/account/');
    }
    if ($method === 'GET' && preg_match('#^/customer/account/?$#', $path)) {
        if (empty($_SESSION['customer_id'])) {
            return gl_redirect('/customer/account/login/');
        }
        return [200, [], gl_page('My Account', '<h1>My Account</h1>')];
    }
    if ($method === 'POST' && preg_match('#^/checkout/cart/add/?#', $path)) {
        if (!gl_form_key_ok()) {
            gl_message('error', 'Invalid Form Key. Please refresh the page.');
            return gl_redirect('/');
        }
        $p = gl_product_by_id((int)($_POST['product'] ?? 0));
        if (!$p) {
            gl_message('error', "The product that was requested doesn't exist.");
            return gl_redirect('/checkout/cart/');
        }
        $quote = gl_session_quote();
        try {
            gl_add_item($quote, $p['sku'], (float)($_POST['qty'] ?? 1));
        } catch (HttpError $e) {  // Magento: back to the product page with the reason as a message
            gl_message('error', $e->getMessage());
            return gl_redirect('/catalog/product/view/id/' . $p['entity_id']);
        }
        gl_message('success', 'You added ' . $p['name'] . ' to your shopping cart.');
        return gl_redirect('/checkout/cart/');
    }
    if ($method === 'GET' && preg_match('#^/checkout/cart/?$#', $path)) {
        $q = gl_session_active_quote();
        $items = $q ? gl_items((int)$q['entity_id']) : [];
        $rows = implode('', array_map(fn($i) => '<li>' . $h($i['sku']) . ' x ' . $i['qty'] . '</li>', $items));
        return [200, [], gl_page('Shopping Cart', "<ul class=\"cart\">$rows</ul>")];
    }
    if ($method === 'GET' && preg_match('#^/customer/section/load/?$#', $path)) {
        // A defect a real team ships: a section that calls a slow remote service (loyalty points from an ERP) while
        // the request holds the session lock, so every other request of that session waits behind it.
        $slow = (int)gl_defect('section_load_slow_ms', 0);
        if ($slow > 0) {
            usleep($slow * 1000);
        }
        return [200, ['Cache-Control' => 'no-store, no-cache, must-revalidate, max-age=0', 'Pragma' => 'no-cache',
                      'Content-Type' => 'application/json'], json_encode(gl_sections())];
    }
    $page = gl_checkout_pages($method, $path);
    return $page ?? [404, [], gl_page('404 Not Found', '<h1>Whoops, our bad...</h1>')];
}

function gl_form_key_ok(): bool
{
    return isset($_POST['form_key']) && hash_equals((string)$_SESSION['_form_key'], (string)$_POST['form_key']);
}

function gl_session_quote(): array
{
    if (!empty($_SESSION[gl_quote_key()])) {
        $q = gl_q('SELECT * FROM quote WHERE entity_id = ? AND is_active = 1', [$_SESSION[gl_quote_key()]])->fetch();
        if ($q) {
            return $q;
        }
    }
    if (!empty($_SESSION['customer_id'])) {
        $q = gl_customer_cart((int)$_SESSION['customer_id'], true);
    } else {
        $q = gl_cart_by_mask(gl_create_guest_cart());
    }
    $_SESSION[gl_quote_key()] = (int)$q['entity_id'];
    return $q;
}

function gl_sections(): array
{
    $customer = new stdClass();
    if (!empty($_SESSION['customer_id'])) {
        $customer = ['fullname' => $_SESSION['customer_name'], 'firstname' => $_SESSION['customer_firstname'], 'websiteId' => '1'];
    }
    $items = [];
    $sub = 0.0;
    $quote = gl_session_active_quote();
    if ($quote) {
        foreach (gl_items((int)$quote['entity_id']) as $i) {
            $items[] = ['product_sku' => $i['sku'], 'qty' => $i['qty'], 'product_name' => $i['name'], 'item_id' => $i['item_id']];
            $sub += $i['qty'] * $i['price'];
        }
    }
    return [
        'customer' => $customer,
        'cart' => ['summary_count' => array_sum(array_column($items, 'qty')), 'subtotalAmount' => number_format($sub, 2, '.', ''),
                   'items' => $items],
    ];
}
